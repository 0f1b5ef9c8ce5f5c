"""Catalog files are data, not code: hostile strings compile, validate, round-trip, run nothing.

fastjsonschema generates Python source from a schema and executes it, so every string a
catalog author controls (property names, descriptions, examples, enum values, definition and
enumeration names) is a candidate for code injection. Each string below is put everywhere a
catalog allows a string; the tests check that nothing ran (a sentinel file and a builtins
flag), that validation behaves exactly as for a plain name, and that dump/load is exact.
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from flowintegrations import Catalog, Header, ValidationError
from flowintegrations.model import json_path_step
from flowintegrations.validation import decode_headers, scenario_validators, to_json_schema

FLAG = "FLOWINTEGRATIONS_PWNED"


def hostile_strings(sentinel: Path) -> list[str]:
    """Strings that would run code (touch ``sentinel``, set FLAG) if pasted into source."""
    touch = f"__import__('pathlib').Path({str(sentinel)!r}).touch()"
    flag = f"__import__('builtins').__setattr__({FLAG!r}, 1)"
    return [
        'double"quote',
        "single'quote",
        "new\nline\r\n",
        "back\\slash\\",
        "{}{0}{x}",
        "%s%(x)s%%",
        '"""',
        "'''",
        '\\"""',
        touch,
        flag,
        f"'); {touch} #",
        f'"); {touch} #',
        f"'''); {flag} #",
        f'"""); {flag} #',
        f"\\'); {touch} #",
        f"' + {flag} + '",
        "'); import os; os._exit(3) #",
        '"); import os; os._exit(3) #',
        f"\n{touch}\n",
        "#/definitions/d0",
        "http://127.0.0.1:9/x.json#",
        "~0~1/%25",
        "\x00\t\u2028\U0001f600",
    ]


CASES = [pytest.param(i, id=f"hostile-{i}") for i in range(len(hostile_strings(Path("x"))))]


def hostile_catalog(s: str) -> dict[str, Any]:
    """Catalog JSON that uses ``s`` for every name, description, example and value it can."""
    return {
        "formatVersion": 1,
        "integrations": [
            {
                "name": s,
                "identifier": s,
                "systemName": s,
                "description": s,
                "scenarios": [
                    {
                        "name": s,
                        "identifier": s,
                        "description": s,
                        "topics": [{"out": "t.out", "in": "t.in", "environment": s}],
                        "outputModel": {
                            "additionalProperties": False,
                            "properties": [
                                {
                                    "name": s,
                                    "type": "STRING",
                                    "mandatory": True,
                                    "description": s,
                                    "example": s,
                                },
                                {
                                    "name": s + "|enum",
                                    "type": "ENUM",
                                    "enum": [s, "x"],
                                    "example": s,
                                },
                                {"name": s + "|named", "type": "ENUM", "enumeration": s},
                                {
                                    "name": s + "|obj",
                                    "type": "OBJECT",
                                    "properties": [
                                        {"name": s, "type": "NUMBER", "mandatory": True}
                                    ],
                                    "example": {s: 1},
                                },
                                {
                                    "name": s + "|ref",
                                    "type": "ARRAY_REF",
                                    "ref": s,
                                    "example": [{s: s}],
                                },
                            ],
                        },
                        "headers": [{"name": s, "mandatory": True, "description": s}],
                    }
                ],
                "definitions": {s: {"properties": [{"name": s, "type": "STRING", "example": s}]}},
                "enumerations": [{"name": s, "values": [s], "description": s}],
            }
        ],
    }


def hostile(index: int, tmp_path: Path) -> tuple[str, Path]:
    """The hostile string number ``index``, aimed at a sentinel file under ``tmp_path``."""
    sentinel = tmp_path / "pwned"
    return hostile_strings(sentinel)[index], sentinel


def nothing_ran(sentinel: Path) -> bool:
    """Whether no injected code ran: no sentinel file, no builtins flag."""
    return not sentinel.exists() and not hasattr(builtins, FLAG)


@pytest.mark.parametrize("index", CASES)
def test_hostile_catalog_validates_a_good_payload(index: int, tmp_path: Path) -> None:
    """A hostile catalog loads, compiles, accepts a valid payload, and runs nothing."""
    s, sentinel = hostile(index, tmp_path)
    integration = Catalog.load(json.dumps(hostile_catalog(s))).integration(s)
    request, _ = scenario_validators(integration, integration.scenario(s))
    payload = {s: s, s + "|enum": s, s + "|named": s, s + "|obj": {s: 1.5}, s + "|ref": [{s: s}]}
    assert (request.validate(payload), nothing_ran(sentinel)) == (None, True)


@pytest.mark.parametrize("index", CASES)
def test_hostile_catalog_reports_every_violation(index: int, tmp_path: Path) -> None:
    """Violations in a payload of a hostile catalog carry the hostile names in exact paths."""
    s, sentinel = hostile(index, tmp_path)
    integration = Catalog.load(hostile_catalog(s)).integration(s)
    request, _ = scenario_validators(integration, integration.scenario(s))
    payload = {
        s + "|enum": "y",
        s + "|named": "y",
        s + "|obj": {s: s},
        s + "|ref": [{s: 1}],
        s + "|extra": s,
    }
    with pytest.raises(ValidationError) as caught:
        request.validate(payload)
    step = json_path_step
    expected = [
        (f"${step(s)}", "required", None),
        (f"${step(s + '|enum')}", "enum", "y"),
        (f"${step(s + '|named')}", "enum", "y"),
        (f"${step(s + '|obj')}{step(s)}", "type", s),
        (f"${step(s + '|ref')}[0]{step(s)}", "type", 1),
        (f"${step(s + '|extra')}", "additionalProperties", s),
    ]
    actual = [(v.path, v.rule, v.value) for v in caught.value.violations]
    assert (actual, nothing_ran(sentinel)) == (expected, True)


@pytest.mark.parametrize("index", CASES)
def test_hostile_catalog_round_trips_exactly(index: int, tmp_path: Path) -> None:
    """A hostile catalog dumps to the JSON it was loaded from, and loads back equal."""
    s, sentinel = hostile(index, tmp_path)
    catalog = Catalog.load(hostile_catalog(s))
    reloaded = Catalog.load(catalog.dumps())
    assert (catalog.dump() == hostile_catalog(s), reloaded == catalog, nothing_ran(sentinel)) == (
        True,
        True,
        True,
    )


@pytest.mark.parametrize("index", CASES)
def test_hostile_schema_document_compiles_and_runs_nothing(index: int, tmp_path: Path) -> None:
    """The schema document of a hostile model (its annotations included) is safe to compile."""
    s, sentinel = hostile(index, tmp_path)
    integration = Catalog.load(hostile_catalog(s)).integration(s)
    model = integration.scenario(s).output_model
    enumerations = {e.name: e.values for e in integration.enumerations}
    document = to_json_schema(model, integration.definitions, enumerations)
    check = fastjsonschema.compile(document)
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        check({s: 1})
    assert nothing_ran(sentinel)


@pytest.mark.parametrize("index", CASES)
def test_hostile_header_names_are_checked(index: int, tmp_path: Path) -> None:
    """A hostile header name is just a name: missing, it is reported at its quoted path."""
    s, sentinel = hostile(index, tmp_path)
    integration = Catalog.load(hostile_catalog(s)).integration(s)
    declared = integration.scenario(s).headers
    with pytest.raises(ValidationError) as caught:
        decode_headers([], declared)
    actual = [(v.path, v.rule) for v in caught.value.violations]
    assert (actual, declared, nothing_ran(sentinel)) == (
        [(f"${json_path_step(s)}", "required")],
        (Header(s, mandatory=True, description=s),),
        True,
    )


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("email", ".email"),
        ("_x1", "._x1"),
        ("e-mail", "['e-mail']"),
        ("a.b", "['a.b']"),
        ("it's", "['it\\'s']"),
        ("back\\slash", "['back\\\\slash']"),
        ("a[0]", "['a[0]']"),
        ("1st", "['1st']"),
        ("a\nb", "['a\\nb']"),
        ("tab\there\r", "['tab\\there\\r']"),
        ("\x00\x7f\u2028", "['\\u0000\\u007f\\u2028']"),
        ("zoë", ".zoë"),
    ],
)
def test_json_path_step_quotes_what_is_not_an_identifier(name: str, step: str) -> None:
    """A key that is a Python identifier is .key; any other is ['key'], quotes escaped."""
    assert json_path_step(name) == step
