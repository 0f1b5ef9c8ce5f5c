"""Every Python code block in README.md and docs/ runs, as written, in order per page.

A block fenced as ```` ```python ```` is executed; the only other Python fence allowed is
```` ```{.python .no-run} ````, for the rare block that cannot run on its own (a test file
that imports the page's module, code that needs a package another part provides).

Getting started is run as a reader would: each block alone, in a fresh directory, after
saving the files the page asks to save (blocks whose first line is ``# <file name>``); its
project is also run with pytest.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PYTHON_FENCES = {"python", "{.python .no-run}"}
GETTING_STARTED = ROOT / "docs" / "getting-started.md"


def all_pages() -> list[Path]:
    """README.md and every docs page."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


def pages() -> list[Path]:
    """README.md and every docs page that holds Python code."""
    return [p for p in all_pages() if BLOCK.search(p.read_text(encoding="utf-8"))]


def test_the_readme_has_code_to_run() -> None:
    """The README shows runnable Python (so the collection below is not vacuous)."""
    assert ROOT / "README.md" in pages()


def test_every_docs_page_with_python_is_collected() -> None:
    """The guide's pages with Python code are among the pages whose code runs."""
    expected = {
        "getting-started.md",
        "catalog.md",
        "topics.md",
        "validation.md",
        "delivery.md",
        "long-running.md",
        "testing.md",
        "configuration.md",
        "exceptions.md",
        "flow.md",
        "engine-client.md",
        "declaring.md",
        "transports.md",
    }
    assert expected <= {p.name for p in pages()}


def test_no_python_block_escapes_the_docs_test() -> None:
    """Python is fenced as ```python (run) or ```{.python .no-run}, never as py or pycon."""
    odd = [
        f"{page.relative_to(ROOT)}: ```{info}"
        for page in all_pages()
        for info, _ in FENCE.findall(page.read_text(encoding="utf-8"))
        if "py" in info and info not in PYTHON_FENCES
    ]
    assert odd == []


@pytest.mark.parametrize(
    "page", [p for p in pages() if p != GETTING_STARTED], ids=lambda p: str(p.relative_to(ROOT))
)
def test_code_blocks_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's blocks execute in order, sharing one namespace, from the repository root."""
    monkeypatch.chdir(ROOT)
    text = page.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 2
        name = f"{page.relative_to(ROOT)}:{line}"
        exec(compile(match.group(1), name, "exec"), namespace)


def file_name(body: str) -> str | None:
    """The file a block asks the reader to save it as (its first line ``# <name>``), if any."""
    first = body.split("\n", 1)[0]
    return first[2:] if re.fullmatch(r"# [\w.-]+\.(py|toml)", first) else None


def project_files(page: Path) -> dict[str, str]:
    """The blocks of ``page`` whose first line is ``# <file name>``, by file name."""
    return {
        name: body
        for _, body in FENCE.findall(page.read_text(encoding="utf-8"))
        if (name := file_name(body)) is not None
    }


def test_every_getting_started_snippet_runs_alone(tmp_path: Path) -> None:
    """Each Python block of Getting started runs by itself, in order, in a fresh directory."""
    text = GETTING_STARTED.read_text(encoding="utf-8")
    ran, failed = [], []
    for match in FENCE.finditer(text):
        info, body = match.groups()
        name = file_name(body)
        if name is not None:
            (tmp_path / name).write_text(body, encoding="utf-8")
        if info != "python":
            continue
        where = f"getting-started.md:{text.count(chr(10), 0, match.start()) + 2}"
        command = [sys.executable, name] if name else [sys.executable, "-c", body]
        result = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
        )
        ran.append(name or where)
        if result.returncode != 0:
            failed.append(f"{where}: exit {result.returncode}\n{result.stderr}")
    assert failed == []
    assert len(ran) == 3
    assert ran[0] == "greeter.py"


def test_the_getting_started_project_passes_its_tests(pytester: pytest.Pytester) -> None:
    """The guide's greeter.py, test_greeter.py and pyproject.toml give five passing tests."""
    files = project_files(ROOT / "docs" / "getting-started.md")
    assert sorted(files) == ["call_greeter.py", "greeter.py", "pyproject.toml", "test_greeter.py"]
    for name, body in files.items():
        (pytester.path / name).write_text(body, encoding="utf-8")
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess("-v")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            "test_greeter.py::test_greets_in_romanian PASSED*",
            "test_greeter.py::test_nothing_is_dead_lettered PASSED*",
            "greeter:app::greeter/greet/example-1-english-by-default PASSED*",
            "greeter:app::greeter/greet/example-2-romanian PASSED*",
            "greeter:app::greeter/greet/example-3-a-name-is-needed PASSED*",
        ]
    )


def test_the_user_guide_builds_without_warnings(docs_site: Path) -> None:
    """`mkdocs build --strict` succeeds: no broken link, no page left out of the nav."""
    assert (docs_site / "getting-started" / "index.html").is_file()
