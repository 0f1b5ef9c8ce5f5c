"""AsyncAPI 3.0 documents of integrations, from the adapter's point of view: :func:`export`.

For one environment, every topic its scenarios use becomes a channel. Each scenario gives
the adapter two operations: it **receives** the request on the out topic, and its reply
(``reply`` of that operation) is **sent** on the in topic, which is also an operation of
its own. Messages carry our JSON Schemas as payloads (definitions of ``OBJECT_REF`` /
``ARRAY_REF`` properties under ``components.schemas``), the scenario's declared headers
plus the engine's correlation headers as the header schema, ``processInstanceId`` as the
correlation id, and the scenario's example exchanges as examples. With a bootstrap, the
environment's Kafka cluster is the document's server.

The document validates against the official AsyncAPI 3.0.0 JSON Schema (the npm package
``@asyncapi/specs``); the test suite checks that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from flowintegrations.errors import CatalogError
from flowintegrations.model import Example, Integration, Scenario, TopicBinding
from flowintegrations.model.examples import find_matchers
from flowintegrations.validation import enumeration_values, to_json_schema
from flowintegrations.vocabulary import CORRELATION_HEADERS, PROCESS_INSTANCE_ID

__all__ = ["ASYNCAPI_VERSION", "export"]

ASYNCAPI_VERSION = "3.0.0"
"""The AsyncAPI version of the exported documents."""

_NOT_AN_ID = re.compile(r"[^A-Za-z0-9._-]")


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def export(
    integrations: Iterable[Integration],
    environment: str | None = None,
    *,
    bootstrap: str | None = None,
    title: str = "flowintegrations adapter",
    version: str = "1.0.0",
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``integrations`` in ``environment`` (a JSON-ready dict).

    ``environment`` picks each scenario's topics as the runtime does (its own binding, else
    the default one); a scenario with neither is left out, and ``info.description`` counts
    only the scenarios and integrations that are in. ``bootstrap`` (``HOST:PORT``) adds the
    environment's Kafka cluster as the server.
    """
    return _Document(environment, bootstrap, title, version).build(tuple(integrations))


class _Document:
    def __init__(
        self, environment: str | None, bootstrap: str | None, title: str, version: str
    ) -> None:
        self.environment = environment
        self.bootstrap = bootstrap
        self.title = title
        self.version = version
        self.channels: dict[str, dict[str, Any]] = {}
        self.channel_ids: dict[str, str] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        self.taken: set[str] = set()

    def build(self, integrations: tuple[Integration, ...]) -> dict[str, Any]:
        exported: set[str] = set()
        scenarios = 0
        for integration in integrations:
            refs = self.definitions(integration)
            for scenario in integration.scenarios:
                binding = self.binding(scenario)
                if binding is not None:
                    self.scenario(integration, scenario, binding, refs)
                    exported.add(integration.identifier)
                    scenarios += 1
        env = self.environment or "default"
        description = (
            f"The Kafka messages of {_counted(scenarios, 'scenario')} of "
            f"{_counted(len(exported), 'integration')} in environment {env!r}, from the "
            "adapter's side: it receives requests on the out topics and sends replies on the "
            "in topics."
        )
        document: dict[str, Any] = {
            "asyncapi": ASYNCAPI_VERSION,
            "info": {"title": self.title, "version": self.version, "description": description},
            "defaultContentType": "application/json",
        }
        if self.bootstrap:
            document["servers"] = {
                _id(env): {
                    "host": self.bootstrap,
                    "protocol": "kafka",
                    "description": f"The Kafka cluster of environment {env!r}.",
                }
            }
        document["channels"] = self.channels
        document["operations"] = self.operations
        document["components"] = {
            "schemas": self.schemas,
            "messages": self.messages,
            "correlationIds": {
                PROCESS_INSTANCE_ID: {
                    "description": "The engine correlates a reply by the request's headers.",
                    "location": f"$message.header#/{PROCESS_INSTANCE_ID}",
                }
            },
        }
        return document

    def binding(self, scenario: Scenario) -> TopicBinding | None:
        """The scenario's topics in this environment, as at run time; ``None`` when it has none."""
        try:
            return scenario.binding(self.environment)
        except CatalogError:
            return None

    def unique(self, wanted: str) -> str:
        """``wanted`` as an id (``[A-Za-z0-9._-]``), made unique in this document."""
        base = _id(wanted)
        candidate, n = base, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base}-{n}"
        self.taken.add(candidate)
        return candidate

    def definitions(self, integration: Integration) -> dict[str, str]:
        """Put the integration's definitions under components.schemas; name -> new $ref."""
        refs: dict[str, str] = {}
        names: dict[str, str] = {}
        for name in integration.definitions:
            key = self.unique(f"{integration.identifier}.{name}")
            names[name] = key
            refs[name] = f"#/components/schemas/{key}"
        if names:
            # One document per definition: its own refs point at the other definitions.
            values = enumeration_values(integration)
            for name, model in integration.definitions.items():
                schema = to_json_schema(model, integration.definitions, values)
                self.schemas[names[name]] = _relinked(_without_head(schema), refs)
        return refs

    def channel(self, topic: str) -> str:
        if topic not in self.channel_ids:
            channel_id = self.unique(topic)
            self.channel_ids[topic] = channel_id
            self.channels[channel_id] = {"address": topic, "messages": {}}
        return self.channel_ids[topic]

    def scenario(
        self,
        integration: Integration,
        scenario: Scenario,
        binding: TopicBinding,
        refs: Mapping[str, str],
    ) -> None:
        base = f"{integration.identifier}.{scenario.identifier}"
        values = enumeration_values(integration)
        if binding.out_topic is None:
            # An in topic only: the adapter sends (App.send) to a process's receive task.
            self.reply_side(integration, scenario, binding, refs, None)
            return
        request_id = self.unique(f"{base}.request")
        self.messages[request_id] = self.message(
            scenario,
            f"{scenario.name}: request",
            "What the engine sends the adapter (the scenario's output model).",
            _relinked(
                _without_head(
                    to_json_schema(scenario.output_model, integration.definitions, values)
                ),
                refs,
            ),
            [_example(e, e.request, e.headers) for e in scenario.examples],
        )
        out_channel = self.channel(binding.out_topic)
        self.channels[out_channel]["messages"][request_id] = {
            "$ref": f"#/components/messages/{request_id}"
        }
        receive: dict[str, Any] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{out_channel}"},
            "title": scenario.name,
            "summary": f"Handle a {scenario.name!r} request of {integration.name}.",
            "messages": [{"$ref": f"#/channels/{out_channel}/messages/{request_id}"}],
        }
        if scenario.description:
            receive["description"] = scenario.description
        receive_id = self.unique(f"{base}.receive")
        self.operations[receive_id] = receive
        if binding.in_topic is None:
            return
        self.reply_side(integration, scenario, binding, refs, receive)

    def reply_side(
        self,
        integration: Integration,
        scenario: Scenario,
        binding: TopicBinding,
        refs: Mapping[str, str],
        receive: dict[str, Any] | None,
    ) -> None:
        """The in topic's message and send operation; ``receive`` (if any) gets its reply."""
        assert binding.in_topic is not None
        base = f"{integration.identifier}.{scenario.identifier}"
        values = enumeration_values(integration)
        reply_id = self.unique(f"{base}.reply")
        reply_examples = [
            _example(e, e.reply, e.headers)
            for e in scenario.examples
            # A reply with matchers is a pattern, not a message: not an example.
            if e.reply is not None and next(find_matchers(e.reply), None) is None
        ]
        self.messages[reply_id] = self.message(
            scenario,
            f"{scenario.name}: reply",
            "What the adapter sends back to the engine (the scenario's input model).",
            _relinked(
                _without_head(
                    to_json_schema(scenario.input_model, integration.definitions, values)
                ),
                refs,
            ),
            reply_examples,
        )
        in_channel = self.channel(binding.in_topic)
        self.channels[in_channel]["messages"][reply_id] = {
            "$ref": f"#/components/messages/{reply_id}"
        }
        reply_messages = [{"$ref": f"#/channels/{in_channel}/messages/{reply_id}"}]
        if receive is not None:
            receive["reply"] = {
                "channel": {"$ref": f"#/channels/{in_channel}"},
                "messages": reply_messages,
            }
        self.operations[self.unique(f"{base}.send-reply")] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{in_channel}"},
            "title": f"{scenario.name}: reply",
            "summary": f"Reply to a {scenario.name!r} request of {integration.name}.",
            "messages": reply_messages,
        }

    def message(
        self,
        scenario: Scenario,
        title: str,
        summary: str,
        payload: dict[str, Any],
        examples: list[dict[str, Any]],
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "name": title,
            "title": title,
            "summary": summary,
            "contentType": "application/json",
            "headers": _headers_schema(scenario),
            "payload": payload,
            "correlationId": {"$ref": f"#/components/correlationIds/{PROCESS_INSTANCE_ID}"},
        }
        if examples:
            message["examples"] = examples
        return message


def _id(text: str) -> str:
    return _NOT_AN_ID.sub("_", text) or "_"


def _without_head(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema document without ``$schema`` and ``definitions`` (they move out)."""
    return {k: v for k, v in schema.items() if k not in ("$schema", "definitions")}


def _relinked(value: Any, refs: Mapping[str, str]) -> Any:
    """``value`` with every ``#/definitions/<name>`` reference pointing into components."""
    by_pointer = {f"#/definitions/{_pointer(name)}": ref for name, ref in refs.items()}
    return _replace_refs(value, by_pointer)


def _replace_refs(value: Any, by_pointer: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: by_pointer.get(v, v)
            if k == "$ref" and isinstance(v, str)
            else _replace_refs(v, by_pointer)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_replace_refs(v, by_pointer) for v in value]
    return value


def _pointer(name: str) -> str:
    """``name`` as the schema builder writes it into a ``$ref`` (RFC 6901 and RFC 3986)."""
    return quote(name.replace("~", "~0").replace("/", "~1"), safe="")


def _headers_schema(scenario: Scenario) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name in CORRELATION_HEADERS:
        properties[name] = {
            "type": "string",
            "description": "Set by the engine; copied onto the reply.",
        }
    for header in scenario.headers:
        schema: dict[str, Any] = {"type": "string"}
        notes = [header.description] if header.description else []
        if not header.propagate:
            notes.append("Not copied onto the reply.")
        if header.secret:
            notes.append("Secret: never logged.")
        if notes:
            schema["description"] = " ".join(notes)
        properties[header.name] = schema
    required = [h.name for h in scenario.headers if h.mandatory]
    headers: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        headers["required"] = required
    return headers


def _example(example: Example, payload: Any, headers: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {"name": example.name, "payload": payload}
    if headers:
        found["headers"] = dict(headers)
    if example.description:
        found["summary"] = example.description
    return found
