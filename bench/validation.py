"""Validation throughput: our engine against a bare compiled fastjsonschema validator.

Both validate the example catalog's OTP and e-mail requests, in the same process,
alternating, several rounds; the medians and the ratio ours/bare are printed (target on the
happy path: <= 1.15). Run: ``make bench`` or ``python bench/validation.py``.
"""

from __future__ import annotations

import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema

from flowintegrations.errors import ValidationError
from flowintegrations.model import Catalog
from flowintegrations.validation import scenario_validators

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 7

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


def per_second(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def rejecting(
    fn: Callable[[Any], Any], payload: Any, errors: tuple[type[BaseException], ...]
) -> Callable[[], None]:
    def call() -> None:
        try:
            fn(payload)
        except errors:
            return
        raise AssertionError("payload was accepted")

    return call


def main() -> int:
    catalog = Catalog.load(ROOT / "examples" / "catalog.json")
    notifications = catalog.integration("notifications")
    rows = []
    for name, scenario_id, payload, bad in (
        ("OTP request", "generate-otp", OTP_OK, OTP_BAD),
        (
            "e-mail request",
            "send-email",
            EMAIL_OK,
            {**EMAIL_OK, "recipients": [{"kind": "X"}] * 10},
        ),
    ):
        ours, _ = scenario_validators(notifications, notifications.scenario(scenario_id))
        bare = fastjsonschema.compile(ours.schema)
        bare_all = fastjsonschema.compile(ours.schema, fast_fail=False)
        n = 200_000 if scenario_id == "generate-otp" else 50_000
        cases = {
            "happy: ours": functools.partial(ours.validate, payload),
            "happy: bare": functools.partial(bare, payload),
            "error: ours (every violation)": rejecting(ours.validate, bad, (ValidationError,)),
            "error: bare (first error)": rejecting(
                bare, bad, (fastjsonschema.JsonSchemaException,)
            ),
            "error: bare fast_fail=False": rejecting(
                bare_all, bad, (fastjsonschema.JsonSchemaException,)
            ),
        }
        results: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(ROUNDS):
            for label, fn in cases.items():
                runs = n if label.startswith("happy") else n // 10
                results[label].append(per_second(fn, runs))
        med = {k: statistics.median(v) for k, v in results.items()}
        for label, value in med.items():
            rows.append((name, label, value))
        rows.append((name, "ratio happy ours/bare (time)", med["happy: bare"] / med["happy: ours"]))
        rows.append(
            (
                name,
                "ratio error ours/bare fast_fail=False (time)",
                med["error: bare fast_fail=False"] / med["error: ours (every violation)"],
            )
        )
    version = sys.version.split()[0]
    print(f"python {version}, fastjsonschema {fastjsonschema.VERSION}, medians of {ROUNDS} rounds")
    print("| payload | case | validations/s or ratio |\n|---|---|---|")
    for name, label, value in rows:
        shown = f"{value:.3f}" if "ratio" in label else f"{value:,.0f}"
        print(f"| {name} | {label} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
