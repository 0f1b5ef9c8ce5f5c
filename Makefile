# Everything here works on a fresh machine with only python3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck unit docs bench bench-quick bench-transport bench-telemetry bench-nats profile fuzz fuzz-flow clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples docs/*.py
	$(BIN)/ruff format --check src tests bench examples docs/*.py

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) chromium
	$(BIN)/pytest

test: lint typecheck unit

demo: $(STAMP)
	$(BIN)/flowintegrations demo

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

.PHONY: chromium screenshots

# Debian's Chromium, for the docs' browser test (tests/test_docs_site.py) and the screenshots.
chromium:
	test -x /usr/bin/chromium || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

# One screenshot per page (getting started, an API page), taken from a fresh build in
# headless Chromium: docs/assets/*.png. Commit what it writes, never hand-made images.
screenshots: $(STAMP) chromium
	$(BIN)/python tests/support/docs_site.py docs/assets

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Every benchmark, one report: bench/results/latest.md (about 5 minutes on 2 cores).
bench: $(BENCH_STAMP)
	$(BIN)/python bench/run_all.py

bench-quick: $(BENCH_STAMP)
	$(BIN)/python bench/run_all.py --quick

bench-transport: $(BENCH_STAMP)
	$(BIN)/python bench/transport.py --messages 100000 --rounds 3

# The App over NATS JetStream vs a hand-written nats-py at-least-once loop, and Kafka's
# pair (App vs raw-alo) in the same run (about 3 minutes; needs NATS at 127.0.0.1:4222).
bench-nats: $(BENCH_STAMP)
	$(BIN)/python bench/jetstream.py --messages 20000 --rounds 3

# The cost of observability in memory (telemetry off vs before, metrics, traced); about 3
# minutes. Through a broker: $(BIN)/python bench/pipeline.py overhead
bench-telemetry: $(BENCH_STAMP)
	$(BIN)/python bench/telemetry.py

# pyinstrument's report of the App draining a backlog: bench/results/profile-ours.txt
profile: $(BENCH_STAMP)
	$(BIN)/python bench/profile.py

# A million hostile records through an App in memory (tests/support/fuzz.py; about 3 minutes).
# Other runs: FUZZ_ARGS="--records 200000 --seed 7 --without-surrogates --skip huge".
fuzz: $(STAMP)
	cd tests && ../$(BIN)/python support/fuzz.py $(FUZZ_ARGS)

# Requests generated from two Flow services' OpenAPI documents, in process
# (tests/flow/test_http_fuzz.py): 20,000 seeded requests an operation (tests/support/flowgen.py)
# and 1,000 schemathesis examples, about 313,000 in all (make test: 2,500 and 100, about
# 39,000). About 11 minutes on 2 cores. Another seed: FLOW_FUZZ_SEED=7 make fuzz-flow.
fuzz-flow: $(STAMP)
	FLOW_FUZZ_REQUESTS=20000 FLOW_FUZZ_EXAMPLES=1000 $(BIN)/pytest tests/flow/test_http_fuzz.py \
		-q -s -p no:cacheprovider --show-capture=no

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis site
