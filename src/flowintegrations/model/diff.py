"""What changed between two catalogs, and for whom it breaks: :class:`CatalogDiff`.

A change is judged from both ends of a scenario. It is **breaking for the engine** when
processes configured against the old catalog fail with an adapter built on the new one,
and **breaking for the adapter** when an adapter built on the old catalog fails against
processes configured on the new one. The request (output model) is sent by the engine, the
reply (input model) by the adapter, so one kind of change breaks a different side in each
direction. The rules are in :data:`RULES`; the docs page "AsyncAPI and catalog diff" shows
them as a table.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from flowintegrations.model.datamodel import DataModel, Property, PropertyType, json_path_step
from flowintegrations.model.integration import Integration, Scenario

__all__ = ["RULES", "CatalogDiff", "Change", "Impact", "diff_catalogs"]


class Impact(enum.Enum):
    """Whether a change breaks one side of a scenario."""

    BREAKING = "breaking"
    COMPATIBLE = "compatible"


B, C = Impact.BREAKING, Impact.COMPATIBLE

RULES: Mapping[str, tuple[Impact, Impact, str]] = {
    # rule: (for the engine, for the adapter, when)
    "integration-removed": (B, B, "an integration is removed"),
    "integration-added": (C, C, "an integration is added"),
    "scenario-removed": (B, B, "a scenario is removed"),
    "scenario-added": (C, C, "a scenario is added"),
    "topic-changed": (B, B, "an out or in topic of an environment changes"),
    "binding-removed": (B, B, "the topics of an environment are removed"),
    "binding-added": (C, C, "topics for another environment are added"),
    "header-added-mandatory": (B, C, "a mandatory header is added"),
    "header-made-mandatory": (B, C, "an optional header becomes mandatory"),
    "header-added-optional": (C, C, "an optional header is added"),
    "header-removed": (C, C, "a header is removed"),
    "error-reply-dropped": (B, C, "a scenario stops sending error replies"),
    "error-reply-added": (C, C, "a scenario starts sending error replies"),
    "request-property-added-mandatory": (B, C, "a mandatory request property is added"),
    "request-property-added-optional": (C, C, "an optional request property is added"),
    "request-property-added-optional-closed": (
        C,
        B,
        "an optional request property is added where the old model forbade other properties",
    ),
    "request-property-removed": (C, C, "a request property is removed"),
    "request-property-removed-closed": (
        B,
        C,
        "a request property is removed and the new model forbids other properties",
    ),
    "request-property-made-mandatory": (B, C, "an optional request property becomes mandatory"),
    "request-property-made-optional": (C, B, "a mandatory request property becomes optional"),
    "request-type-narrowed": (B, C, "a request property's type is narrowed (STRING to ENUM)"),
    "request-type-widened": (C, B, "a request property's type is widened (ENUM to STRING)"),
    "request-type-changed": (B, B, "a request property's type changes otherwise"),
    "request-enum-value-removed": (B, C, "a value is removed from a request ENUM"),
    "request-enum-value-added": (C, B, "a value is added to a request ENUM"),
    "request-closed": (B, C, "the request model stops allowing other properties"),
    "request-opened": (C, B, "the request model starts allowing other properties"),
    "reply-property-added-mandatory": (C, B, "a mandatory reply property is added"),
    "reply-property-added-optional": (C, C, "an optional reply property is added"),
    "reply-property-added-optional-closed": (
        B,
        C,
        "an optional reply property is added where the old model forbade other properties",
    ),
    "reply-property-removed": (B, C, "a reply property is removed"),
    "reply-property-removed-closed": (
        B,
        B,
        "a reply property is removed and the new model forbids other properties",
    ),
    "reply-property-made-mandatory": (C, B, "an optional reply property becomes mandatory"),
    "reply-property-made-optional": (B, C, "a mandatory reply property becomes optional"),
    "reply-type-narrowed": (C, B, "a reply property's type is narrowed (STRING to ENUM)"),
    "reply-type-widened": (B, C, "a reply property's type is widened (ENUM to STRING)"),
    "reply-type-changed": (B, B, "a reply property's type changes otherwise"),
    "reply-enum-value-removed": (C, B, "a value is removed from a reply ENUM"),
    "reply-enum-value-added": (B, C, "a value is added to a reply ENUM"),
    "reply-closed": (C, B, "the reply model stops allowing other properties"),
    "reply-opened": (B, C, "the reply model starts allowing other properties"),
    "codes-changed": (C, B, "the codes of the integration's system change"),
}
"""Every rule: (impact for the engine, impact for the adapter, when it applies)."""


@attrs.frozen
class Change:
    """One change to a scenario (or an integration), with its impact on each side.

    ``where`` is ``"integration"``, ``"scenario"``, ``"topics"``, ``"headers"``,
    ``"request"`` or ``"reply"``; ``path`` a JSON path inside it (``$.address.city``);
    ``used_by`` the processes that use the scenario, old and new.
    """

    integration: str
    scenario: str | None
    where: str
    path: str
    rule: str
    message: str
    used_by: tuple[str, ...] = ()

    @property
    def engine(self) -> Impact:
        """The impact on processes configured against the old catalog."""
        return RULES[self.rule][0]

    @property
    def adapter(self) -> Impact:
        """The impact on an adapter built on the old catalog."""
        return RULES[self.rule][1]

    @property
    def breaking(self) -> bool:
        """Whether the change breaks either side."""
        return Impact.BREAKING in (self.engine, self.adapter)

    @property
    def breaks(self) -> str:
        """``"engine"``, ``"adapter"``, ``"engine and adapter"`` or ``""``."""
        sides = [
            side
            for side, impact in (("engine", self.engine), ("adapter", self.adapter))
            if impact is Impact.BREAKING
        ]
        return " and ".join(sides)

    def to_json(self) -> dict[str, Any]:
        """This change as JSON data (the catalog's spelling: ``usedBy``)."""
        return {
            "integration": self.integration,
            "scenario": self.scenario,
            "where": self.where,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
            "engine": self.engine.value,
            "adapter": self.adapter.value,
            "breaking": self.breaking,
            "usedBy": list(self.used_by),
        }


@attrs.frozen
class CatalogDiff:
    """Every change from an old catalog to a new one (empty when they are equivalent)."""

    changes: tuple[Change, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    @property
    def breaking(self) -> tuple[Change, ...]:
        """The changes that break the engine or the adapter."""
        return tuple(c for c in self.changes if c.breaking)

    @property
    def affected_processes(self) -> tuple[str, ...]:
        """The processes that use a scenario with a breaking change, each once."""
        return tuple(dict.fromkeys(p for c in self.breaking for p in c.used_by))

    def to_json(self) -> dict[str, Any]:
        """This diff as JSON data."""
        return {
            "breaking": bool(self.breaking),
            "affectedProcesses": list(self.affected_processes),
            "changes": [c.to_json() for c in self.changes],
        }

    def render(self) -> str:
        """A report for people: per scenario, each change and whom it breaks."""
        if not self.changes:
            return "no changes\n"
        lines: list[str] = []
        current: tuple[str, str | None] | None = None
        for change in self.changes:
            if (change.integration, change.scenario) != current:
                current = (change.integration, change.scenario)
                title = change.integration + (f"/{change.scenario}" if change.scenario else "")
                if change.used_by:
                    title += f" (used by {', '.join(change.used_by)})"
                lines.append(title)
            label = f"BREAKING for the {change.breaks}" if change.breaking else "compatible"
            where = change.where if change.path == "$" else f"{change.where} {change.path}"
            lines.append(f"  {label}: {where}: {change.message} [{change.rule}]")
        count = len(self.breaking)
        summary = f"{len(self.changes)} change(s), {count} breaking"
        if self.affected_processes:
            summary += f"; processes affected: {', '.join(self.affected_processes)}"
        lines.append(summary)
        return "\n".join(lines) + "\n"


def diff_catalogs(old: Iterable[Integration], new: Iterable[Integration]) -> CatalogDiff:
    """The changes from the integrations of ``old`` to those of ``new`` (two catalogs)."""
    before = {i.identifier: i for i in old}
    after = {i.identifier: i for i in new}
    changes: list[Change] = []
    for identifier, integration in before.items():
        if identifier not in after:
            used = tuple(dict.fromkeys(p for s in integration.scenarios for p in s.used_by))
            changes.append(
                Change(identifier, None, "integration", "$", "integration-removed",
                       "integration removed", used)
            )  # fmt: skip
        else:
            changes.extend(_Integrations(integration, after[identifier]).changes())
    changes.extend(
        Change(identifier, None, "integration", "$", "integration-added", "integration added")
        for identifier in after
        if identifier not in before
    )
    return CatalogDiff(tuple(changes))


class _Integrations:
    """The changes between two versions of one integration."""

    def __init__(self, old: Integration, new: Integration) -> None:
        self.old = old
        self.new = new

    def changes(self) -> Iterator[Change]:
        old, new = self.old, self.new
        after = {s.identifier: s for s in new.scenarios}
        for scenario in old.scenarios:
            if scenario.identifier not in after:
                yield Change(
                    old.identifier, scenario.identifier, "scenario", "$", "scenario-removed",
                    "scenario removed", scenario.used_by,
                )  # fmt: skip
                continue
            yield from self.scenario(scenario, after[scenario.identifier])
        before = {s.identifier for s in old.scenarios}
        for scenario in new.scenarios:
            if scenario.identifier not in before:
                yield Change(
                    new.identifier, scenario.identifier, "scenario", "$", "scenario-added",
                    "scenario added", scenario.used_by,
                )  # fmt: skip

    def scenario(self, old: Scenario, new: Scenario) -> Iterator[Change]:
        used_by = tuple(dict.fromkeys((*old.used_by, *new.used_by)))

        def change(where: str, path: str, rule: str, message: str) -> Change:
            return Change(self.new.identifier, new.identifier, where, path, rule, message, used_by)

        yield from (change("topics", *found) for found in _topic_changes(old, new))
        yield from (change("headers", *found) for found in _header_changes(old, new))
        if old.error_reply and not new.error_reply:
            yield change("scenario", "$", "error-reply-dropped", "no longer sends error replies")
        elif new.error_reply and not old.error_reply:
            yield change("scenario", "$", "error-reply-added", "now sends error replies")
        for where, before, after in (
            ("request", old.output_model, new.output_model),
            ("reply", old.input_model, new.input_model),
        ):
            models = _Models(self.old, self.new, where)
            for path, rule, message in models.model(before, after, "$"):
                yield change(where, path, f"{where}-{rule}", message)
        system = self.new.system_name
        if (
            system is not None
            and system == self.old.system_name
            and _codes(self.old, system) != _codes(self.new, system)
        ):
            yield change("scenario", "$", "codes-changed", f"codes of system {system!r} changed")


def _codes(integration: Integration, system: str) -> dict[str, Mapping[str, str] | None]:
    return {e.name: e.codes_for(system) for e in integration.enumerations}


def _topic_changes(old: Scenario, new: Scenario) -> Iterator[tuple[str, str, str]]:
    after = {b.environment: b for b in new.topics}
    for binding in old.topics:
        env = binding.environment
        path = "$" if env is None else f"${json_path_step(env)}"
        label = "every environment" if env is None else f"environment {env!r}"
        if env not in after:
            yield path, "binding-removed", f"topics of {label} removed"
            continue
        now = after[env]
        for side, was, becomes in (
            ("out", binding.out_topic, now.out_topic),
            ("in", binding.in_topic, now.in_topic),
        ):
            if was != becomes:
                yield (
                    f"{path}.{side}",
                    "topic-changed",
                    f"{side} topic of {label} changed from {was!r} to {becomes!r}",
                )
    before = {b.environment for b in old.topics}
    for binding in new.topics:
        if binding.environment not in before:
            env = binding.environment
            label = "every environment" if env is None else f"environment {env!r}"
            path = "$" if env is None else f"${json_path_step(env)}"
            yield path, "binding-added", f"topics of {label} added"


def _header_changes(old: Scenario, new: Scenario) -> Iterator[tuple[str, str, str]]:
    before = {h.name: h for h in old.headers}
    after = {h.name: h for h in new.headers}
    for name, header in after.items():
        path = f"${json_path_step(name)}"
        if name not in before:
            if header.mandatory:
                yield path, "header-added-mandatory", "new mandatory header"
            else:
                yield path, "header-added-optional", "new optional header"
        elif header.mandatory and not before[name].mandatory:
            yield path, "header-made-mandatory", "header is now mandatory"
    for name in before:
        if name not in after:
            yield f"${json_path_step(name)}", "header-removed", "header removed"


class _Models:
    """Compares two data models property by property, references and enumerations resolved."""

    def __init__(self, old: Integration, new: Integration, where: str) -> None:
        self.old = old
        self.new = new
        self.where = where

    def model(self, old: DataModel, new: DataModel, path: str) -> Iterator[tuple[str, str, str]]:
        yield from self.object(
            old.properties,
            new.properties,
            old.additional_properties,
            new.additional_properties,
            path,
        )

    def object(
        self,
        old: tuple[Property, ...],
        new: tuple[Property, ...],
        old_open: bool,
        new_open: bool,
        path: str,
    ) -> Iterator[tuple[str, str, str]]:
        if old_open and not new_open:
            yield path, "closed", "no longer allows other properties"
        elif new_open and not old_open:
            yield path, "opened", "now allows other properties"
        before = {p.name: p for p in old}
        after = {p.name: p for p in new}
        for name, prop in after.items():
            here = path + json_path_step(name)
            if name not in before:
                kind = _describe(prop)
                if prop.mandatory:
                    yield here, "property-added-mandatory", f"new mandatory property ({kind})"
                elif not old_open:
                    yield here, "property-added-optional-closed", f"new optional property ({kind})"
                else:
                    yield here, "property-added-optional", f"new optional property ({kind})"
                continue
            yield from self.property(before[name], prop, old_open, new_open, here)
        for name, prop in before.items():
            if name not in after:
                here = path + json_path_step(name)
                rule = "property-removed" if new_open else "property-removed-closed"
                yield here, rule, f"property removed (was {_describe(prop)})"

    def property(
        self, old: Property, new: Property, old_open: bool, new_open: bool, path: str
    ) -> Iterator[tuple[str, str, str]]:
        if new.mandatory and not old.mandatory:
            yield path, "property-made-mandatory", "property is now mandatory"
        elif old.mandatory and not new.mandatory:
            yield path, "property-made-optional", "property is now optional"
        before, after = _describe(old), _describe(new)
        if before != after:
            kinds = {old.element_type, new.element_type}
            same_shape = (old.type is PropertyType.ARRAY) == (new.type is PropertyType.ARRAY)
            rule = "type-changed"
            if same_shape and kinds == {PropertyType.STRING, PropertyType.ENUM}:
                narrowed = new.element_type is PropertyType.ENUM
                rule = "type-narrowed" if narrowed else "type-widened"
            yield path, rule, f"type changed from {before} to {after}"
            return
        if old.element_type is PropertyType.ENUM:
            was, now = self.old.enum_values(old), self.new.enum_values(new)
            for value in was:
                if value not in now:
                    yield path, "enum-value-removed", f"value {value!r} removed"
            for value in now:
                if value not in was:
                    yield path, "enum-value-added", f"value {value!r} added"
        inner = f"{path}[*]" if old.type in (PropertyType.ARRAY, PropertyType.ARRAY_REF) else path
        if old.element_type is PropertyType.OBJECT:
            yield from self.object(old.properties, new.properties, old_open, new_open, inner)
        elif old.element_type is PropertyType.OBJECT_REF:
            assert old.ref is not None  # OBJECT_REF and ARRAY_REF have a reference
            assert new.ref is not None
            was_model, now_model = self.old.definitions[old.ref], self.new.definitions[new.ref]
            yield from self.model(was_model, now_model, inner)


def _describe(prop: Property) -> str:
    """The type of ``prop`` as people read it: ``STRING``, ``ARRAY of ENUM``, ``OBJECT_REF``."""
    if prop.type is PropertyType.ARRAY and prop.item_type is not None:
        return f"ARRAY of {prop.item_type.value}"
    return prop.type.value
