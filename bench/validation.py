"""Validation throughput: our engine vs bare fastjsonschema vs pydantic v2, one process.

    .venv/bin/python bench/validation.py [--rounds 5] [--scale 1.0] [--json FILE]

Payloads: the example catalog's OTP request (flat) and e-mail request (arrays of
objects), valid and invalid. Contenders, alternating inside every round (medians of the
rounds are reported):

* ``ours``: ``Validator.validate(dict)``: the compiled fastjsonschema call plus our wrapper;
  on an invalid payload it lists *every* violation with its JSON path.
* ``bare fastjsonschema``: the same schema compiled by fastjsonschema, called directly
  (first error only; ``fast_fail=False`` collects all, as a second row).
* ``pydantic``: an equivalent pydantic v2 model (strict, the same required/optional fields
  and enums). ``model_validate_json(bytes)`` parses JSON too, so for a fair comparison
  the table also shows ours and bare after ``json.loads(bytes)`` and after our
  ``JsonCodec.decode`` (what the App runs), and pydantic's ``model_validate(dict)``.

Target on the happy path: ours <= 1.15 x the time of bare fastjsonschema.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import fastjsonschema
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticError

from flowintegrations.codec import JsonCodec
from flowintegrations.errors import ValidationError
from flowintegrations.model import Catalog
from flowintegrations.validation import scenario_validators

ROOT = Path(__file__).resolve().parents[1]

OTP_OK = {
    "templateName": "otp-login",
    "recipient": "ana@example.com",
    "channel": "SMS",
    "length": 6,
}
OTP_BAD = {"templateName": 5, "channel": "FAX", "extra": True}
EMAIL_OK = {
    "templateName": "contract-ready",
    "language": "en",
    "recipients": [
        {"email": f"user{i}@example.com", "name": f"User {i}", "kind": "TO"} for i in range(10)
    ],
    "attachments": [{"fileName": f"f{i}.pdf", "documentUrl": f"/docs/{i}"} for i in range(3)],
    "data": {"customer": "Ana", "amount": 1200},
}
EMAIL_BAD = {**EMAIL_OK, "recipients": [{"kind": "X"}] * 10}


# Pydantic models equivalent to the catalog's: absent optional fields are fine, but a
# present one must have the right type (None is not allowed: the default is not validated).
class OtpRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    templateName: str
    recipient: str
    channel: Literal["EMAIL", "SMS"]
    language: str = None  # type: ignore[assignment]
    length: float = None  # type: ignore[assignment]


class Recipient(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    email: str
    name: str = None  # type: ignore[assignment]
    kind: Literal["TO", "CC", "BCC"] = None  # type: ignore[assignment]


class Attachment(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    fileName: str
    contentType: str = None  # type: ignore[assignment]
    documentUrl: str
    sizeBytes: float = None  # type: ignore[assignment]


class EmailRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    templateName: str
    language: str = None  # type: ignore[assignment]
    subject: str = None  # type: ignore[assignment]
    recipients: list[Recipient]
    data: dict[str, Any] = None  # type: ignore[assignment]
    attachments: list[Attachment] = None  # type: ignore[assignment]


def per_second(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def rejecting(fn: Callable[[], Any], errors: tuple[type[BaseException], ...]) -> Callable[[], None]:
    def call() -> None:
        try:
            fn()
        except errors:
            return
        raise AssertionError("payload was accepted")

    return call


def cases_for(scenario_id: str, ok: dict[str, Any], bad: dict[str, Any], model: type[BaseModel]):
    catalog = Catalog.load(ROOT / "examples" / "catalog.json")
    notifications = catalog.integration("notifications")
    ours, _ = scenario_validators(notifications, notifications.scenario(scenario_id))
    bare = fastjsonschema.compile(ours.schema)
    bare_all = fastjsonschema.compile(ours.schema, fast_fail=False)
    codec = JsonCodec()
    loads = json.loads
    ok_bytes, bad_bytes = json.dumps(ok).encode(), json.dumps(bad).encode()
    # Both sides agree on what they accept: a benchmark of validators that disagree is moot.
    model.model_validate_json(ok_bytes)
    ours.validate(ok)
    bare(ok)
    fjs_error = (fastjsonschema.JsonSchemaException,)
    happy = {
        "ours": functools.partial(ours.validate, ok),
        "bare fastjsonschema": functools.partial(bare, ok),
        "ours + json.loads": lambda: ours.validate(loads(ok_bytes)),
        "ours + JsonCodec.decode (the App's path)": lambda: ours.validate(codec.decode(ok_bytes)),
        "bare + json.loads": lambda: bare(loads(ok_bytes)),
        "pydantic model_validate_json(bytes)": functools.partial(
            model.model_validate_json, ok_bytes
        ),
        "pydantic model_validate(dict)": functools.partial(model.model_validate, ok),
    }
    error = {
        "ours (every violation, with paths)": rejecting(
            functools.partial(ours.validate, bad), (ValidationError,)
        ),
        "bare fastjsonschema (first error)": rejecting(functools.partial(bare, bad), fjs_error),
        "bare fast_fail=False (every error)": rejecting(
            functools.partial(bare_all, bad), fjs_error
        ),
        "ours + json.loads": rejecting(lambda: ours.validate(loads(bad_bytes)), (ValidationError,)),
        "pydantic model_validate_json(bytes)": rejecting(
            functools.partial(model.model_validate_json, bad_bytes), (PydanticError,)
        ),
        "pydantic model_validate(dict)": rejecting(
            functools.partial(model.model_validate, bad), (PydanticError,)
        ),
    }
    return happy, error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the call counts")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    lines = []
    for name, scenario_id, ok, bad, model, calls in (
        ("OTP request", "generate-otp", OTP_OK, OTP_BAD, OtpRequest, 100_000),
        ("e-mail request", "send-email", EMAIL_OK, EMAIL_BAD, EmailRequest, 20_000),
    ):
        n = max(1000, int(calls * args.scale))
        happy, error = cases_for(scenario_id, ok, bad, model)
        samples: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds):
            for kind, cases, runs in (("valid", happy, n), ("invalid", error, n // 5)):
                items = list(cases.items())
                if round_ % 2:
                    items.reverse()
                for label, fn in items:
                    samples.setdefault((kind, label), []).append(per_second(fn, runs))
        med = {key: statistics.median(v) for key, v in samples.items()}
        bare = med[("valid", "bare fastjsonschema")]
        fjs_all = med[("invalid", "bare fast_fail=False (every error)")]
        rows = []
        for (kind, label), value in med.items():
            reference = bare if kind == "valid" else fjs_all
            rows.append({"kind": kind, "case": label, "per_s": value, "time_x": reference / value})
        ratio = bare / med[("valid", "ours")]
        results[name] = {"rows": rows, "ours_over_bare_time": ratio, "calls": n}
        lines.append(f"\n{name}: ours/bare time on the happy path = {ratio:.3f} (target <= 1.15)")
        lines.append("| payload | case | validations/s | time x reference |\n|---|---|---|---|")
        lines.extend(
            f"| {row['kind']} | {row['case']} | {row['per_s']:,.0f} | {row['time_x']:.2f} |"
            for row in rows
        )
    version = sys.version.split()[0]
    import pydantic  # noqa: PLC0415

    print(
        f"python {version}, fastjsonschema {fastjsonschema.VERSION}, pydantic {pydantic.VERSION},"
        f" medians of {args.rounds} rounds; reference = bare fastjsonschema (valid) or"
        " bare fast_fail=False (invalid)"
    )
    print("\n".join(lines))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
