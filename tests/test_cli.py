"""The flowintegrations command: check, schema, list and their exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowintegrations.cli import engine_pattern_warnings, main
from flowintegrations.model import Catalog

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "catalog.json")
ADAPTER = str(ROOT / "examples" / "notifications_adapter.py")


def catalog_file(tmp_path: Path, data: object) -> str:
    """Write ``data`` as a catalog file and return its path."""
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def one_scenario(out: str, in_: str, environment: str | None = None) -> dict[str, object]:
    """A catalog with one scenario bound to ``out``/``in_``."""
    topic: dict[str, object] = {"out": out, "in": in_}
    if environment:
        topic["environment"] = environment
    return {
        "integrations": [
            {
                "name": "N",
                "identifier": "n",
                "scenarios": [{"name": "S", "identifier": "s", "topics": [topic]}],
            }
        ]
    }


def test_check_accepts_the_example_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    """A clean catalog exits 0 and says how much it holds."""
    assert main(["check", EXAMPLE]) == 0
    assert capsys.readouterr().out == (
        f"{EXAMPLE}: ok (3 integrations, 4 scenarios, 6 examples, 0 warnings)\n"
    )


def test_check_reports_every_problem_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken catalog exits 1 and lists each problem with its JSON path."""
    data = one_scenario("bad topic", "ai.flowx.dev.engine.receive.x")
    data["integrations"][0]["scenarios"][0]["inputModel"] = {  # type: ignore[index]
        "properties": [{"name": "a", "type": "ARRAY"}]
    }
    path = catalog_file(tmp_path, data)
    assert main(["check", path]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: 2 problem(s)",
        "  $.integrations[0].scenarios[0].topics[0].out: topic name 'bad topic' has illegal "
        "characters ' ' (only letters, digits, '.', '_' and '-')",
        "  $.integrations[0].scenarios[0].inputModel.properties[0].itemType: ARRAY property "
        "'a' needs an item type",
    ]


def test_check_warns_about_in_topics_the_engine_does_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An in topic outside the engine's receive pattern is a warning, not an error."""
    path = catalog_file(tmp_path, one_scenario("ai.flowx.dev.plugin.x.v1", "my.replies", "dev"))
    assert main(["check", path]) == 0
    err = capsys.readouterr().err
    assert err == (
        "warning: $.integrations[0].scenarios[0].topics[0].in: in topic 'my.replies' does not "
        "match the engine's receive pattern 'ai.flowx.dev.engine.receive.*'; the engine "
        "will not read these replies\n"
    )
    assert main(["check", "--strict", path]) == 1


def test_engine_pattern_uses_the_binding_environment() -> None:
    """{env} stands for the binding's environment: a dev topic in a prod binding is flagged."""
    catalog = Catalog.load(one_scenario("o", "ai.flowx.dev.engine.receive.x", "prod"))
    assert len(list(engine_pattern_warnings(catalog))) == 1
    assert list(engine_pattern_warnings(catalog, "ai.flowx.*")) == []


def test_schema_prints_the_request_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """`schema` prints a scenario's request schema, with definitions for references."""
    assert main(["schema", EXAMPLE, "notifications", "send-email"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"]["attachments"] == {
        "type": "array",
        "items": {"$ref": "#/definitions/attachment"},
    }
    assert schema["required"] == ["templateName", "recipients"]


def test_schema_direction_in_prints_the_reply_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """`--direction in` prints the reply schema, with named enumerations resolved."""
    assert main(["schema", EXAMPLE, "notifications", "send-email", "--direction", "in"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"]["status"]["enum"] == ["QUEUED", "SENT", "FAILED"]


def test_schema_of_an_unknown_scenario_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown scenario exits 1 and names the scenarios there are."""
    assert main(["schema", EXAMPLE, "notifications", "nope"]) == 1
    assert (
        "has no scenario 'nope' (it has: 'generate-otp', 'send-email')" in capsys.readouterr().err
    )


def test_list_prints_handlers_and_topics(capsys: pytest.CaptureFixture[str]) -> None:
    """`list` prints one line per handler with its out and in topics, then its Flow endpoints."""
    assert main(["list", f"{ADAPTER}:app"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "notifications\tgenerate-otp\tenv=(default)\t"
        "out=ai.flowx.dev.plugin.notification.otp.generate.v1\t"
        "in=ai.flowx.dev.engine.receive.plugin.notification.otp.generate.results.v1",
        "notifications\tsend-email\tenv=(default)\t"
        "out=ai.flowx.dev.plugin.notification.email.send.v1\t"
        "in=ai.flowx.dev.engine.receive.plugin.notification.email.send.results.v1",
        "flow\tPOST /metadata",
        "flow\tPOST /metadata/install",
        "flow\tPOST /actions/generate-otp\tnotifications/generate-otp",
        "flow\tPOST /actions/send-email\tnotifications/send-email",
        "flow\tGET /health",
    ]


def test_list_of_a_missing_app_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A MODULE:APP that names nothing exits 1 with the reason."""
    assert main(["list", f"{ADAPTER}:nothing"]) == 1
    assert "has no attribute 'nothing'" in capsys.readouterr().err


def test_demo_runs_end_to_end_in_memory(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo` answers every request and dead-letters the invalid one."""
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert '<- {"notificationId"' in out
    assert "$.recipient: is mandatory but missing" in out
    assert "$.channel: must be one of 'EMAIL', 'SMS'; got 'FAX'" in out
    assert out.rstrip().endswith("== done: every request answered, the invalid one dead-lettered")


def test_check_accepts_an_app_and_checks_its_integrations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`check MODULE:APP` checks the integrations (and examples) an app was made with."""
    assert main(["check", f"{ADAPTER}:app"]) == 0
    assert capsys.readouterr().out == (
        f"{ADAPTER}:app: ok (1 integration, 2 scenarios, 6 examples, 0 warnings)\n"
    )


def test_check_reports_problems_of_examples_declared_in_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An example written in code whose reply breaks the model is reported with its path."""
    module = tmp_path / "coded_adapter.py"
    module.write_text(
        "from flowintegrations import App, DataModel, Example, Integration, Property, Scenario\n"
        "S = Scenario('S', 's', input_model=DataModel([Property.number('n')]),\n"
        "             examples=[Example(name='e', request={}, reply={'n': 'one'})])\n"
        "app = App(Integration('I', 'i', scenarios=[S]))\n",
        encoding="utf-8",
    )
    assert main(["check", f"{module}:app"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{module}:app: 1 problem(s)",
        "  $.integrations[0].scenarios[0].examples[0].reply.n: the expected reply breaks the "
        "scenario's input model: must be a number, got 'one'",
    ]


def test_diff_exits_1_and_names_the_processes_of_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``diff OLD NEW`` prints each change; a breaking one means exit 1."""
    data = json.loads(Path(EXAMPLE).read_text(encoding="utf-8"))
    scenario = data["integrations"][0]["scenarios"][0]
    scenario["usedBy"] = ["onboarding"]
    old = catalog_file(tmp_path, data)
    scenario["outputModel"]["properties"].append(
        {"name": "locale", "type": "STRING", "mandatory": True}
    )
    new = tmp_path / "new.json"
    new.write_text(json.dumps(data), encoding="utf-8")
    assert main(["diff", old, str(new)]) == 1
    assert capsys.readouterr().out == (
        "notifications/generate-otp (used by onboarding)\n"
        "  BREAKING for the engine: request $.locale: new mandatory property (STRING) "
        "[request-property-added-mandatory]\n"
        "1 change(s), 1 breaking; processes affected: onboarding\n"
    )


def test_diff_exits_0_for_compatible_changes_in_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``diff --format json`` with only compatible changes exits 0."""
    assert main(["diff", EXAMPLE, EXAMPLE, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "breaking": False,
        "affectedProcesses": [],
        "changes": [],
    }


def test_check_lists_every_kind_of_problem_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad topic, an unresolved ref and a bad example: one run names all three and the file."""
    data = one_scenario("bad topic!", "ai.flowx.engine.receive.x")
    integration: Any = data["integrations"]
    integration[0]["scenarios"][0]["outputModel"] = {
        "properties": [
            {"name": "a", "type": "OBJECT_REF", "ref": "Missing"},
            {"name": "n", "type": "NUMBER", "example": "one"},
        ]
    }
    path = catalog_file(tmp_path, data)
    assert main(["check", path]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: 3 problem(s)",
        "  $.integrations[0].scenarios[0].topics[0].out: topic name 'bad topic!' has illegal "
        "characters ' !' (only letters, digits, '.', '_' and '-')",
        "  $.integrations[0].scenarios[0].outputModel.properties[1].example: example does not "
        "match property 'n': must be a number, got 'one'",
        "  $.integrations[0].scenarios[0].outputModel.properties[0].ref: reference 'Missing' "
        "of property 'a' does not resolve (definitions: none)",
    ]


def test_schema_of_an_app_has_only_the_definitions_it_uses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``schema MODULE:APP`` works like ``check``; a scenario without refs has no definitions."""
    assert main(["schema", f"{ADAPTER}:app", "notifications", "generate-otp"]) == 0
    assert "definitions" not in json.loads(capsys.readouterr().out)


def test_schema_for_a_system_gives_its_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """``schema --system CRM`` lists CRM's codes where the engine has its values."""
    assert (
        main(["schema", EXAMPLE, "crm", "search-customer", "--direction", "in", "--system", "CRM"])
        == 0
    )
    schema = json.loads(capsys.readouterr().out)
    segment = schema["properties"]["customers"]["items"]["properties"]["segment"]
    assert segment["enum"] == ["R01", "S02", "C03"]


def test_check_accepts_a_scenario_with_an_in_topic_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario with no request side (in topic only, for App.send) passes check."""
    data = one_scenario("unused", "ai.flowx.dev.engine.receive.signed.v1", "dev")
    del data["integrations"][0]["scenarios"][0]["topics"][0]["out"]  # type: ignore[index]
    path = catalog_file(tmp_path, data)
    assert main(["check", path]) == 0
    assert capsys.readouterr().out == (
        f"{path}: ok (1 integration, 1 scenario, 0 examples, 0 warnings)\n"
    )
