"""Catalog: the catalog file format, loading (with every problem's JSON path) and dumping."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from flowintegrations import (
    Catalog,
    CatalogError,
    DataModel,
    Header,
    Integration,
    Property,
    Scenario,
    TopicBinding,
)
from flowintegrations.errors import CatalogProblem
from flowintegrations.model import Enumeration
from support.exact import exactly

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.json"

SMALL = Catalog(
    [
        Integration(
            "Notifications",
            "notifications",
            system_name="SYS",
            scenarios=[
                Scenario(
                    "Send",
                    "send",
                    topics=[TopicBinding("out.dev", "in.dev", environment="dev")],
                    output_model=DataModel(
                        [Property.array("to", "STRING", mandatory=True, example=["a@b.c"])],
                        additional_properties=False,
                    ),
                    headers=[Header("jwt", secret=True, propagate=False)],
                )
            ],
            definitions={"file": DataModel([Property.string("url")])},
            enumerations=[Enumeration("status", ["OK"])],
        )
    ]
)

SMALL_JSON: dict[str, Any] = {
    "formatVersion": 1,
    "integrations": [
        {
            "name": "Notifications",
            "identifier": "notifications",
            "systemName": "SYS",
            "scenarios": [
                {
                    "name": "Send",
                    "identifier": "send",
                    "topics": [{"out": "out.dev", "in": "in.dev", "environment": "dev"}],
                    "outputModel": {
                        "properties": [
                            {
                                "name": "to",
                                "type": "ARRAY",
                                "example": ["a@b.c"],
                                "mandatory": True,
                                "itemType": "STRING",
                            }
                        ],
                        "additionalProperties": False,
                    },
                    "headers": [{"name": "jwt", "propagate": False, "secret": True}],
                }
            ],
            "definitions": {"file": {"properties": [{"name": "url", "type": "STRING"}]}},
            "enumerations": [{"name": "status", "values": ["OK"]}],
        }
    ],
}


def one_scenario(**scenario: Any) -> dict[str, Any]:
    """Catalog JSON with one integration holding one scenario with ``scenario``'s keys."""
    return {
        "integrations": [
            {
                "name": "N",
                "identifier": "n",
                "scenarios": [{"name": "S", "identifier": "s", **scenario}],
            }
        ]
    }


def problems_of(source: Any) -> list[tuple[str, str]]:
    """The (path, message) of every problem loading ``source`` reports."""
    with pytest.raises(CatalogError) as caught:
        Catalog.load(source)
    return [(p.path, p.message) for p in caught.value.problems]


# The file format ----------------------------------------------------------------------------


def test_dump_uses_the_admin_ui_keys() -> None:
    """dump() writes camelCase keys, formatVersion, and leaves defaults out."""
    assert SMALL.dump() == SMALL_JSON


def test_load_reads_the_admin_ui_keys() -> None:
    """load() of catalog JSON builds the same objects as the code."""
    assert Catalog.load(SMALL_JSON) == SMALL


def test_dump_then_load_is_the_same_catalog() -> None:
    """Catalog.load(c.dump()) == c."""
    assert Catalog.load(SMALL.dump()) == SMALL


def test_dumps_then_load_is_the_same_catalog() -> None:
    """A catalog written as JSON text loads back equal."""
    assert Catalog.load(SMALL.dumps()) == SMALL


def test_dumps_is_indented_json_text() -> None:
    """dumps() is the dump as indented JSON text ending in a newline."""
    assert SMALL.dumps() == json.dumps(SMALL_JSON, indent=2, ensure_ascii=False) + "\n"


def test_example_catalog_round_trips() -> None:
    """The example catalog file loads, and its dump loads back equal."""
    catalog = Catalog.load(EXAMPLE)
    assert Catalog.load(catalog.dump()) == catalog


def test_example_catalog_integrations() -> None:
    """The example catalog holds its three integrations, in order."""
    catalog = Catalog.load(EXAMPLE)
    assert [i.identifier for i in catalog] == ["notifications", "documents", "crm"]


def test_load_from_a_path_string(tmp_path: Path) -> None:
    """A str that is not JSON text is a file path."""
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(SMALL_JSON), encoding="utf-8")
    assert Catalog.load(str(path)) == SMALL


def test_load_from_a_path(tmp_path: Path) -> None:
    """A Path is read as UTF-8 JSON."""
    path = tmp_path / "catalog.json"
    path.write_text(SMALL.dumps(), encoding="utf-8")
    assert Catalog.load(path) == SMALL


def test_load_from_json_text_with_leading_blanks() -> None:
    """A str whose first non-blank character is '{' is JSON text."""
    assert Catalog.load("\n  " + json.dumps(SMALL_JSON)) == SMALL


def test_load_does_not_change_its_input() -> None:
    """Loading a mapping leaves it untouched."""
    data = copy.deepcopy(SMALL_JSON)
    Catalog.load(data)
    assert data == SMALL_JSON


def test_format_version_may_be_left_out() -> None:
    """A catalog without formatVersion is read as version 1."""
    assert Catalog.load({"integrations": []}) == Catalog()


def test_catalog_is_frozen() -> None:
    """A Catalog cannot be changed once built."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        SMALL.integrations = ()  # type: ignore[misc]


def test_catalog_iterates_over_its_integrations() -> None:
    """Iterating a catalog yields its integrations."""
    assert list(SMALL) == list(SMALL.integrations)


def test_integration_lookup() -> None:
    """catalog.integration(identifier) returns that integration."""
    assert SMALL.integration("notifications") == SMALL.integrations[0]


def test_unknown_integration_lookup_names_the_known_ones() -> None:
    """An unknown integration identifier is a CatalogError listing the known ones."""
    message = "$.integrations: the catalog has no integration 'crm' (it has: 'notifications')"
    with pytest.raises(CatalogError, match=exactly(message)):
        SMALL.integration("crm")


def test_duplicate_integration_identifiers_are_rejected() -> None:
    """Integration identifiers are unique within a catalog."""
    message = (
        "$.integrations[1].identifier: duplicate integration identifier 'n' (first at index 0)"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog([Integration("A", "n"), Integration("B", "n")])


# Load errors --------------------------------------------------------------------------------


def test_missing_file() -> None:
    """A file that does not exist is a CatalogError naming it and the reason."""
    path = "/nonexistent/catalog.json"
    message = f"$: cannot read catalog file {path!r}: no such file"
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load(path)


def test_a_directory_is_not_a_catalog_file(tmp_path: Path) -> None:
    """A directory given as the catalog file is a CatalogError saying it is a directory."""
    message = f"$: cannot read catalog file {str(tmp_path)!r}: it is a directory"
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load(tmp_path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    """A file that is not UTF-8 is a CatalogError naming it and the bad byte."""
    path = tmp_path / "catalog.json"
    path.write_bytes(b'{"name": "\xff"}')
    message = (
        f"$: cannot read catalog file {str(path)!r}: it is not UTF-8 text ('utf-8' codec "
        "can't decode byte 0xff in position 10: invalid start byte)"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load(path)


def test_invalid_json_file_names_line_and_column(tmp_path: Path) -> None:
    """Invalid JSON in a file is reported with the file name, line and column."""
    path = tmp_path / "catalog.json"
    path.write_text('{\n  "integrations": [\n    {"name": "a",}\n  ]\n}\n', encoding="utf-8")
    message = (
        f"$: {path} is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 3, column 18"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load(path)


def test_invalid_json_text_names_line_and_column() -> None:
    """Invalid JSON text is reported as <string>, with line and column."""
    message = "$: <string> is not valid JSON: Expecting value at line 1, column 19"
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load('{"integrations": [}')


def test_duplicate_json_keys_are_rejected() -> None:
    """An object with a key twice is an error, naming the key and where it comes again."""
    message = "$: <string>: duplicate key 'integrations' in one object at line 1, column 22"
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load('{"integrations": [], "integrations": []}')


def test_a_nested_duplicate_key_in_a_file_names_its_line_and_column(tmp_path: Path) -> None:
    """A key twice in a nested object of a file is located at its second use."""
    path = tmp_path / "catalog.json"
    path.write_text(
        '{\n  "integrations": [\n    {"name": "a", "identifier": "b", "name" : "c"}\n  ]\n}\n',
        encoding="utf-8",
    )
    message = f"$: {path}: duplicate key 'name' in one object at line 3, column 38"
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load(path)


def test_the_innermost_duplicate_key_is_the_one_reported() -> None:
    """Of two duplicates, the one in the object that closes first is reported, as parsed."""
    message = "$: <string>: duplicate key 'k' in one object at line 1, column 16"
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load('{"a": {"k": 1, "k": 2}, "a": 3}')


def test_json_nested_too_deeply_is_a_catalog_error() -> None:
    """Nesting deeper than the parser can go is reported, not raised as RecursionError."""
    message = "$: <string> is not readable: its arrays and objects are nested too deeply"
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load('{"integrations": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_nan_is_rejected() -> None:
    """NaN is not JSON."""
    with pytest.raises(CatalogError, match=exactly("$: <string>: NaN is not valid JSON")):
        Catalog.load('{"formatVersion": NaN}')


def test_catalog_must_be_an_object() -> None:
    """JSON text that is not an object is not a catalog."""
    with pytest.raises(CatalogError, match=exactly("$: a catalog is a JSON object, got an array")):
        Catalog.load("[]")


@pytest.mark.parametrize("version", [0, 2])
def test_unsupported_format_version(version: int) -> None:
    """Only format version 1 is read; the message shows the version found."""
    message = (
        f"$.formatVersion: unsupported catalog format version {version!r} "
        "(this library reads version 1)"
    )
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load({"formatVersion": version})


@pytest.mark.parametrize(
    ("version", "found"),
    [
        ("1", "the string '1'"),
        (True, "the boolean true"),
        (None, "null"),
        (1.0, "the number 1.0"),
    ],
)
def test_a_format_version_that_is_not_an_integer_is_a_type_error(
    version: object, found: str
) -> None:
    """A formatVersion of another JSON type gets the type message, not "unsupported"."""
    message = f"$.formatVersion: expected an integer, got {found}"
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load({"formatVersion": version})


def test_unknown_top_level_key() -> None:
    """A key the format does not know is reported with its path."""
    assert problems_of({"integration": []}) == [
        ("$.integration", "unknown key 'integration' (did you mean 'integrations'?)")
    ]


def test_unknown_nested_keys() -> None:
    """Unknown keys are reported at every level, with the path of the key."""
    data = one_scenario(
        topics=[{"out": "o", "inn": "i"}],
        outputModel={"properties": [{"name": "x", "type": "STRING", "required": True}]},
    )
    data["integrations"][0]["systemname"] = "SYS"
    expected = [
        (
            "$.integrations[0].scenarios[0].topics[0].inn",
            "unknown key 'inn' (did you mean 'in'?)",
        ),
        (
            "$.integrations[0].scenarios[0].outputModel.properties[0].required",
            "unknown key 'required'",
        ),
        (
            "$.integrations[0].systemname",
            "unknown key 'systemname' (did you mean 'systemName'?)",
        ),
    ]
    assert problems_of(data) == expected


def test_a_misspelt_key_names_the_key_it_was_meant_as() -> None:
    """An unknown key close to a known one gets a "did you mean" naming it."""
    data = one_scenario(outputModle={"properties": []})
    assert problems_of(data) == [
        (
            "$.integrations[0].scenarios[0].outputModle",
            "unknown key 'outputModle' (did you mean 'outputModel'?)",
        )
    ]


def test_integrations_must_be_an_array() -> None:
    """Integrations is a JSON array."""
    assert problems_of({"integrations": {}}) == [
        ("$.integrations", "expected an array, got an object")
    ]


def test_integration_must_be_an_object() -> None:
    """Each integration is a JSON object; anything else says what it got."""
    expected = [
        ("$.integrations[0]", "expected an object, got null"),
        ("$.integrations[1]", "expected an object, got the number 3"),
    ]
    assert problems_of({"integrations": [None, 3]}) == expected


def test_missing_required_key() -> None:
    """A missing required key is reported at its path."""
    data = {"integrations": [{"name": "N"}]}
    assert problems_of(data) == [("$.integrations[0].identifier", "a required key is missing")]


@pytest.mark.parametrize(
    ("scenario", "path", "message"),
    [
        ({"identifier": 5}, "identifier", "expected a string, got the number 5"),
        ({"errorReply": "yes"}, "errorReply", "expected a boolean, got the string 'yes'"),
        ({"topics": "t"}, "topics", "expected an array, got the string 't'"),
        (
            {"headers": [{"name": "h", "secret": 1}]},
            "headers[0].secret",
            "expected a boolean, got the number 1",
        ),
        ({"outputModel": []}, "outputModel", "expected an object, got an array"),
        (
            {"inputModel": {"additionalProperties": None}},
            "inputModel.additionalProperties",
            "expected a boolean, got null",
        ),
    ],
)
def test_wrong_json_types(scenario: dict[str, Any], path: str, message: str) -> None:
    """A value of the wrong JSON type is reported with its path and what was found."""
    actual = problems_of(one_scenario(**scenario))
    assert actual == [(f"$.integrations[0].scenarios[0].{path}", message)]


def test_unknown_property_type() -> None:
    """An unknown property type is reported with the allowed ones."""
    data = one_scenario(outputModel={"properties": [{"name": "x", "type": "TEXT"}]})
    expected = [
        (
            "$.integrations[0].scenarios[0].outputModel.properties[0].type",
            "unknown property type 'TEXT' (expected one of STRING, NUMBER, BOOLEAN, OBJECT, "
            "OBJECT_REF, ARRAY, ARRAY_REF, ENUM)",
        )
    ]
    assert problems_of(data) == expected


def test_structural_problems_carry_the_catalog_path() -> None:
    """A structural rule broken deep in a file is reported under its full JSON path."""
    data = one_scenario(
        outputModel={
            "properties": [
                {
                    "name": "o",
                    "type": "OBJECT",
                    "properties": [{"name": "a", "type": "ARRAY"}],
                }
            ]
        }
    )
    expected = [
        (
            "$.integrations[0].scenarios[0].outputModel.properties[0].properties[0].itemType",
            "ARRAY property 'a' needs an item type",
        )
    ]
    assert problems_of(data) == expected


def test_cross_reference_problems_carry_the_catalog_path() -> None:
    """An unresolved reference in a file is reported under its full JSON path."""
    data = one_scenario(
        outputModel={"properties": [{"name": "r", "type": "OBJECT_REF", "ref": "nope"}]}
    )
    expected = [
        (
            "$.integrations[0].scenarios[0].outputModel.properties[0].ref",
            "reference 'nope' of property 'r' does not resolve (definitions: none)",
        )
    ]
    assert problems_of(data) == expected


def test_bad_definition_is_reported_under_its_name() -> None:
    """A problem inside a definition names the definition in the path."""
    data = {
        "integrations": [
            {
                "name": "N",
                "identifier": "n",
                "definitions": {"e-mail": {"properties": [{"name": "", "type": "STRING"}]}},
            }
        ]
    }
    expected = [
        (
            "$.integrations[0].definitions['e-mail'].properties[0].name",
            "a property name must be a non-empty string, got ''",
        )
    ]
    assert problems_of(data) == expected


def test_duplicate_identifiers_in_a_file() -> None:
    """Duplicate integration identifiers in a file are reported at the second one."""
    data = {"integrations": [{"name": "A", "identifier": "n"}, {"name": "B", "identifier": "n"}]}
    expected = [
        ("$.integrations[1].identifier", "duplicate integration identifier 'n' (first at index 0)")
    ]
    assert problems_of(data) == expected


def test_every_problem_is_reported_at_once() -> None:
    """Problems in different places of one file are all reported, each with its path."""
    data = {
        "formatVersion": 9,
        "extra": True,
        "integrations": [
            {
                "name": "N",
                "identifier": "n",
                "scenarios": [
                    {"name": "S", "identifier": 5, "topics": [{"out": "a b"}]},
                    {"name": "", "identifier": "t"},
                ],
            },
            {"name": "M", "identifier": ""},
        ],
    }
    expected = [
        (
            "$.formatVersion",
            "unsupported catalog format version 9 (this library reads version 1)",
        ),
        ("$.extra", "unknown key 'extra'"),
        ("$.integrations[0].scenarios[0].identifier", "expected a string, got the number 5"),
        (
            "$.integrations[0].scenarios[0].topics[0].out",
            "topic name 'a b' has illegal characters ' ' (only letters, digits, '.', '_' and '-')",
        ),
        (
            "$.integrations[0].scenarios[1].name",
            "a scenario name must be a non-empty string, got ''",
        ),
        (
            "$.integrations[1].identifier",
            "an integration identifier must be a non-empty string, got ''",
        ),
    ]
    assert problems_of(data) == expected


def test_error_message_lists_every_problem() -> None:
    """The message of an error with several problems lists each on its own line."""
    message = "2 problems:\n  $.a: unknown key 'a'\n  $.b: unknown key 'b'"
    with pytest.raises(CatalogError, match=exactly(message)):
        Catalog.load({"a": 1, "b": 2})


def test_catalog_error_is_a_value_error() -> None:
    """Code that knows nothing of this library can catch a CatalogError as a ValueError."""
    with pytest.raises(ValueError, match=exactly("$.a: unknown key 'a'")):
        Catalog.load({"a": 1})


def test_prefixed_re_roots_every_path() -> None:
    """CatalogError.prefixed puts every problem under a parent path."""
    error = CatalogError([CatalogProblem("$.name", "m"), CatalogProblem("$", "n")])
    expected = (
        CatalogProblem("$.integrations[2].name", "m"),
        CatalogProblem("$.integrations[2]", "n"),
    )
    assert error.prefixed("$.integrations[2]").problems == expected


def test_catalog_integrations_become_a_tuple() -> None:
    """A list of integrations is stored as a tuple."""
    integration = Integration("N", "n")
    assert Catalog([integration]).integrations == (integration,)
