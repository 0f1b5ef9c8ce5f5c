"""AsyncAPI 3.0 export: documents the official schema accepts, with FLOWX's conventions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from flowintegrations.asyncapi import export
from flowintegrations.cli import main
from flowintegrations.model import (
    Catalog,
    DataModel,
    Example,
    Header,
    Integration,
    Property,
    PropertyType,
    Scenario,
    TopicBinding,
)
from flowintegrations.testing.strategies import catalogs
from flowintegrations.vocabulary import CORRELATION_HEADERS
from support.asyncapi import schema_errors, unresolved_refs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "catalog.json"
SNAPSHOT = ROOT / "docs" / "asyncapi-example.json"
SNAPSHOT_ARGS = {"environment": "dev", "bootstrap": "kafka.dev.example.com:9092"}

ADDRESS = DataModel([Property("city", PropertyType.STRING, mandatory=True)])
LOOKUP = Scenario(
    "Look up",
    "lookup",
    topics=[
        TopicBinding("crm.lookup.out", "crm.lookup.in"),
        TopicBinding("crm.lookup.prod.out", "crm.lookup.prod.in", environment="prod"),
    ],
    output_model=DataModel([Property("id", PropertyType.STRING, mandatory=True)]),
    input_model=DataModel([Property("home", PropertyType.OBJECT_REF, ref="Address")]),
    headers=[Header("processInstanceId", mandatory=True), Header("jwt", secret=True)],
    examples=[
        Example(
            name="found",
            request={"id": "7"},
            headers={"jwt": "t"},
            reply={"home": {"city": "Cluj"}},
        )
    ],
)
NOTIFY = Scenario("Notify", "notify", topics=[TopicBinding("crm.notify.out")])
CRM = Integration("CRM", "crm", scenarios=[LOOKUP, NOTIFY], definitions={"Address": ADDRESS})


def test_example_catalog_exports_a_document_the_official_schema_accepts() -> None:
    """The example catalog's document is valid AsyncAPI 3.0.0 and every $ref resolves."""
    document = export(Catalog.load(EXAMPLE), **SNAPSHOT_ARGS)
    assert (schema_errors(document), unresolved_refs(document)) == ([], [])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogs())
def test_generated_catalogs_export_documents_the_official_schema_accepts(found: Catalog) -> None:
    """Any valid catalog exports to valid AsyncAPI 3.0.0 whose $refs all resolve."""
    document = export(found, bootstrap="localhost:9092")
    assert (schema_errors(document), unresolved_refs(document)) == ([], [])


def test_docs_snapshot_is_the_current_export() -> None:
    """docs/asyncapi-example.json is what the example catalog exports today."""
    expected = export(Catalog.load(EXAMPLE), **SNAPSHOT_ARGS)
    assert json.loads(SNAPSHOT.read_text(encoding="utf-8")) == expected, (
        "regenerate: flowintegrations asyncapi examples/catalog.json --env dev "
        "--bootstrap kafka.dev.example.com:9092 --output docs/asyncapi-example.json"
    )


def test_one_channel_per_topic_of_the_environment() -> None:
    """The environment's own bindings win over the default; every topic is one channel."""
    channels = export([CRM], "prod")["channels"]
    assert {c["address"] for c in channels.values()} == {
        "crm.lookup.prod.out",
        "crm.lookup.prod.in",
        "crm.notify.out",
    }


def test_adapter_receives_on_out_and_replies_on_in() -> None:
    """Receive on the out topic, reply on the in topic, joined by the operation's reply."""
    operations = export([CRM])["operations"]
    assert operations["crm.lookup.receive"] == {
        "action": "receive",
        "channel": {"$ref": "#/channels/crm.lookup.out"},
        "title": "Look up",
        "summary": "Handle a 'Look up' request of CRM.",
        "messages": [{"$ref": "#/channels/crm.lookup.out/messages/crm.lookup.request"}],
        "reply": {
            "channel": {"$ref": "#/channels/crm.lookup.in"},
            "messages": [{"$ref": "#/channels/crm.lookup.in/messages/crm.lookup.reply"}],
        },
    }
    assert operations["crm.lookup.send-reply"]["action"] == "send"


def test_fire_and_forget_has_no_reply() -> None:
    """A scenario without an in topic has a receive operation and nothing else."""
    operations = export([CRM])["operations"]
    assert ("reply" in operations["crm.notify.receive"], "crm.notify.send-reply" in operations) == (
        False,
        False,
    )


def test_an_in_topic_only_scenario_has_a_send_operation_and_no_receive() -> None:
    """A scenario with no out topic (fed by App.send) only sends, and the schema accepts it."""
    signed = Scenario(
        "Signed",
        "signed",
        topics=[TopicBinding(None, "crm.signed.in")],
        input_model=DataModel([Property("ok", PropertyType.BOOLEAN)]),
    )
    document = export([Integration("CRM", "crm", scenarios=[signed])])
    assert (sorted(document["operations"]), schema_errors(document)) == (
        ["crm.signed.send-reply"],
        [],
    )


def test_headers_are_the_declared_ones_plus_the_correlation_headers() -> None:
    """The header schema lists correlation and declared headers; mandatory ones are required."""
    headers = export([CRM])["components"]["messages"]["crm.lookup.request"]["headers"]
    assert (list(headers["properties"]), headers["required"]) == (
        [*CORRELATION_HEADERS, "jwt"],
        ["processInstanceId"],
    )


def test_definitions_live_under_components_and_are_referenced_there() -> None:
    """OBJECT_REF definitions move to components.schemas, and references follow them."""
    components = export([CRM])["components"]
    payload = components["messages"]["crm.lookup.reply"]["payload"]
    assert (payload["properties"]["home"], components["schemas"]["crm.Address"]["required"]) == (
        {"$ref": "#/components/schemas/crm.Address"},
        ["city"],
    )


def test_examples_come_from_the_example_exchanges() -> None:
    """Request and reply messages carry the scenario's example exchanges."""
    messages = export([CRM])["components"]["messages"]
    assert (
        messages["crm.lookup.request"]["examples"],
        messages["crm.lookup.reply"]["examples"],
    ) == (
        [{"name": "found", "payload": {"id": "7"}, "headers": {"jwt": "t"}}],
        [{"name": "found", "payload": {"home": {"city": "Cluj"}}, "headers": {"jwt": "t"}}],
    )


def test_servers_only_with_a_bootstrap() -> None:
    """A bootstrap becomes the environment's Kafka server; without one there is none."""
    assert ("servers" in export([CRM]), export([CRM], "prod", bootstrap="k:9092")["servers"]) == (
        False,
        {
            "prod": {
                "host": "k:9092",
                "protocol": "kafka",
                "description": "The Kafka cluster of environment 'prod'.",
            }
        },
    )


def test_cli_writes_the_document_of_an_app(tmp_path: Path) -> None:
    """``asyncapi MODULE:APP --output FILE`` writes the app's document."""
    output = tmp_path / "asyncapi.json"
    adapter = str(ROOT / "examples" / "notifications_adapter.py") + ":app"
    assert main(["asyncapi", adapter, "--env", "dev", "--output", str(output)]) == 0
    document: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    assert (document["asyncapi"], schema_errors(document)) == ("3.0.0", [])


DEV_ONLY = Scenario("Audit", "audit", topics=[TopicBinding("crm.audit.dev.out", environment="dev")])
"""A scenario with a binding for ``dev`` only: other environments leave it out."""


def test_description_counts_only_what_the_document_holds() -> None:
    """A scenario with no topics in the environment is neither exported nor counted."""
    other = Integration("Audit", "audit", scenarios=[DEV_ONLY])
    description = export([CRM, other], "prod")["info"]["description"]
    assert description.startswith(
        "The Kafka messages of 2 scenarios of 1 integration in environment 'prod', "
    )


def test_cli_refuses_an_unknown_environment_naming_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`asyncapi --env prd` is one error line listing the catalog's environments, exit 1."""
    path = tmp_path / "catalog.json"
    path.write_text(Catalog([CRM, Integration("A", "a", scenarios=[DEV_ONLY])]).dumps())
    assert main(["asyncapi", str(path), "--env", "prd"]) == 1
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "",
        "error: --env prd: the catalog has no environment 'prd' (it has: 'dev', 'prod')\n",
    )


def test_cli_names_each_scenario_it_leaves_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --env, a scenario with no default topics is named in a warning, then left out."""
    path = tmp_path / "catalog.json"
    path.write_text(Catalog([CRM, Integration("A", "a", scenarios=[DEV_ONLY])]).dumps())
    assert main(["asyncapi", str(path)]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert (captured.err, sorted(document["operations"])) == (
        "warning: a/audit is left out: it has no topics for the default environment (it has: "
        "'dev'); pick an environment with --env\n",
        ["crm.lookup.receive", "crm.lookup.send-reply", "crm.notify.receive"],
    )
