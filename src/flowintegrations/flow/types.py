"""How the App's models look to Flow: :class:`Shape`, :class:`Field` and :class:`Action`.

Flow knows values only as typed properties (``ContentString``, ``ContentNumber``, ...) and
objects of named *types*. This module compiles the App's data models once into that form:
every object (OBJECT, OBJECT_REF, the items of an ARRAY of objects) becomes a :class:`Shape`
with a type name, every property a :class:`Field` with its ``contentType``. The value
converter (:mod:`flowintegrations.flow.values`) and the describe answer
(:mod:`flowintegrations.flow.describe`) both read these, so they cannot disagree.

Naming, decided here once:

- an action's ``uriPart`` is its scenario identifier; when two integrations of the service
  have a scenario with the same identifier, each of those is ``<integration>/<scenario>``
  instead (Flow allows ``/`` in a uriPart), so no two actions clash;
- a definition (OBJECT_REF / ARRAY_REF target) is the type named like the definition; when
  two integrations define the same name, each becomes ``<integration>.<name>``;
- an inline OBJECT is the type ``<uriPart> request|reply <dotted property path>``;
- an ARRAY of scalars (STRING, NUMBER, BOOLEAN, ENUM) has no Flow equivalent, since Flow
  lists hold objects only: it becomes a ``ContentList`` of one-property objects of the type
  ``Item (String)``, ``Item (Number)`` or ``Item (Boolean)``, the item in their ``value``
  property (``["a", "b"]`` is two objects whose ``value`` is ``"a"`` and ``"b"``).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping

import attrs

from flowintegrations.errors import FlowIntegrationsError
from flowintegrations.model import DataModel, Integration, Property, PropertyType, Scenario
from flowintegrations.validation import Violation

__all__ = [
    "CONTENT_TYPES",
    "ITEM_PROPERTY",
    "JSON_FORMAT",
    "MAX_DEPTH",
    "Action",
    "ContentType",
    "Field",
    "FieldKind",
    "FlowValueError",
    "Shape",
    "build_actions",
]


JSON_FORMAT = "application/json"
"""The ``contentFormat`` of an undeclared key's value, carried as JSON text."""

MAX_DEPTH = 64
"""Objects nested deeper than this are refused (a hostile request, not a model)."""


class FlowValueError(FlowIntegrationsError, ValueError):
    """Flow values that cannot be read (or a payload that cannot be written) as the model says.

    ``violations`` lists every problem with its path (``$.recipients[0].email``), rule
    ``contentType``, ``contentValue`` or ``shape``, and a sentence.
    """

    def __init__(self, violations: tuple[Violation, ...]) -> None:
        self.violations = violations
        lines = "; ".join(f"{v.path}: {v.message}" for v in violations)
        super().__init__(f"{len(violations)} problem(s) in the Flow values: {lines}")


class ContentType(str, enum.Enum):
    """Flow's content types (the ``contentType`` of a typed value)."""

    STRING = "ContentString"
    CONTENT = "ContentContent"
    PASSWORD = "ContentPassword"  # noqa: S105 - a type name, not a secret
    ENCRYPTED = "ContentEncrypted"
    NUMBER = "ContentNumber"
    BOOLEAN = "ContentBoolean"
    DATE_TIME = "ContentDateTime"
    OBJECT = "ContentObject"
    LIST = "ContentList"

    def __str__(self) -> str:
        return self.value


CONTENT_TYPES = frozenset(t.value for t in ContentType)
"""Every content type Flow sends."""

ITEM_PROPERTY = "value"
"""The one property of the objects an ARRAY of scalars becomes."""


class FieldKind(enum.Enum):
    """How a property travels: one scalar, one object, a list of objects, a list of scalars."""

    SCALAR = "scalar"
    OBJECT = "object"
    LIST = "list"
    SCALAR_LIST = "scalar-list"


_SCALAR_CONTENT = {
    PropertyType.STRING: ContentType.STRING,
    PropertyType.ENUM: ContentType.STRING,
    PropertyType.NUMBER: ContentType.NUMBER,
    PropertyType.BOOLEAN: ContentType.BOOLEAN,
}
_ITEM_TYPE_NAMES = {
    ContentType.STRING: "Item (String)",
    ContentType.DATE_TIME: "Item (DateTime)",
    ContentType.NUMBER: "Item (Number)",
    ContentType.BOOLEAN: "Item (Boolean)",
}


@attrs.frozen(eq=False)
class Field:
    """One property as Flow sees it.

    ``content_type`` is the Flow type of the value (of each item's ``value`` for a
    SCALAR_LIST); ``shape`` is the object type of an OBJECT or LIST (and the item type of a
    SCALAR_LIST); ``scalar`` is the model type of a scalar (or of a SCALAR_LIST's items).
    ``wire`` is :attr:`wire_type` as text; ``plain`` says the value is a ContentString;
    ``keeps_empty`` says an empty ``contentValue`` is a value (``""`` of a STRING), not
    absent (the engine sends ``""`` for every unset property, numbers and enums too).
    """

    name: str
    kind: FieldKind
    content_type: ContentType
    scalar: PropertyType | None = None
    shape: Shape | None = None
    mandatory: bool = False
    description: str = ""
    wire: str = attrs.field(init=False, repr=False)
    plain: bool = attrs.field(init=False, repr=False)
    keeps_empty: bool = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Read for every value of every request: computed once.
        object.__setattr__(self, "wire", self.wire_type.value)
        object.__setattr__(self, "plain", self.content_type is ContentType.STRING)
        object.__setattr__(
            self,
            "keeps_empty",
            self.kind is FieldKind.SCALAR
            and self.content_type is ContentType.STRING
            and self.scalar in (PropertyType.STRING, None),
        )

    @property
    def wire_type(self) -> ContentType:
        """The ``contentType`` this field has on the wire (a list of items is a ContentList)."""
        return ContentType.LIST if self.kind is FieldKind.SCALAR_LIST else self.content_type


@attrs.frozen(eq=False)
class Shape:
    """An object type: its Flow name, its fields, and whether undeclared keys may travel.

    ``definition`` is true for an integration's definition (an OBJECT_REF target).
    """

    type_name: str
    fields: tuple[Field, ...]
    additional: bool = True
    summary: str = ""
    definition: bool = False
    by_name: Mapping[str, Field] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})


@attrs.frozen(eq=False)
class Action:
    """A message action: a handled scenario, its uriPart, and the shapes of its values.

    ``inputs`` is the request (the scenario's output model), ``outputs`` the reply (its
    input model); their type names are never sent (top-level values are EngineValues).
    """

    uri_part: str
    integration: Integration
    scenario: Scenario
    inputs: Shape
    outputs: Shape


class _Builder:
    """Compiles models into shapes, naming each object type once (see the module doc)."""

    def __init__(
        self, integrations: Iterable[Integration], date_time_properties: Collection[str]
    ) -> None:
        self.integrations = tuple(integrations)
        self.date_time = frozenset(date_time_properties)
        counts: dict[str, int] = {}
        for integration in self.integrations:
            for name in integration.definitions:
                counts[name] = counts.get(name, 0) + 1
        self._clashing_definitions = {name for name, n in counts.items() if n > 1}
        self._definitions: dict[tuple[str, str], Shape] = {}
        self._items: dict[ContentType, Shape] = {}
        self.types: dict[str, Shape] = {}

    def definition_name(self, integration: Integration, name: str) -> str:
        if name in self._clashing_definitions:
            return f"{integration.identifier}.{name}"
        return name

    def definition(self, integration: Integration, name: str) -> Shape:
        key = (integration.identifier, name)
        found = self._definitions.get(key)
        if found is None:
            model = integration.definitions[name]
            found = self.shape(
                integration,
                model,
                self.definition_name(integration, name),
                f"The {name} type",
                definition=True,
            )
            self._definitions[key] = found
        return found

    def shape(
        self,
        integration: Integration,
        model: DataModel,
        type_name: str,
        summary: str,
        *,
        definition: bool = False,
    ) -> Shape:
        fields = tuple(
            self.field(integration, prop, model.additional_properties, type_name)
            for prop in model.properties
        )
        shape = Shape(type_name, fields, model.additional_properties, summary, definition)
        return self._register(shape)

    def _register(self, shape: Shape) -> Shape:
        self.types.setdefault(shape.type_name, shape)
        return shape

    def item(self, content_type: ContentType) -> Shape:
        found = self._items.get(content_type)
        if found is None:
            name = _ITEM_TYPE_NAMES[content_type]
            value = Field(ITEM_PROPERTY, FieldKind.SCALAR, content_type, mandatory=True)
            found = self._register(Shape(name, (value,), additional=False, summary=f"An {name}"))
            self._items[content_type] = found
        return found

    def field(
        self, integration: Integration, prop: Property, additional: bool, parent: str
    ) -> Field:
        element = prop.element_type
        listed = prop.type in (PropertyType.ARRAY, PropertyType.ARRAY_REF)
        mandatory, description = prop.mandatory, prop.description
        if element in _SCALAR_CONTENT:
            content = _SCALAR_CONTENT[element]
            if content is ContentType.STRING and prop.name in self.date_time:
                content = ContentType.DATE_TIME
            if listed:
                return Field(
                    prop.name,
                    FieldKind.SCALAR_LIST,
                    content,
                    scalar=element,
                    shape=self.item(content),
                    mandatory=mandatory,
                    description=description,
                )
            return Field(
                prop.name,
                FieldKind.SCALAR,
                content,
                scalar=element,
                mandatory=mandatory,
                description=description,
            )
        if element is PropertyType.OBJECT_REF:
            shape = self.definition(integration, prop.ref or "")
        else:
            inline = DataModel(prop.properties, additional_properties=additional)
            shape = self.shape(
                integration, inline, f"{parent} {prop.name}", prop.description or prop.name
            )
        kind = FieldKind.LIST if listed else FieldKind.OBJECT
        content = ContentType.LIST if listed else ContentType.OBJECT
        return Field(
            prop.name, kind, content, shape=shape, mandatory=mandatory, description=description
        )


def build_actions(
    handled: Iterable[tuple[Integration, Scenario]],
    *,
    integrations: Iterable[Integration] = (),
    date_time_properties: Collection[str] = (),
) -> tuple[tuple[Action, ...], tuple[Shape, ...]]:
    """The message actions of ``handled`` scenarios, and every object type they use.

    The types include every definition of ``integrations`` (and of the handled scenarios'
    integrations), definitions first.

    A STRING property (or ARRAY of STRING) named in ``date_time_properties`` travels as
    ``ContentDateTime``.
    """
    handled = tuple(handled)
    every = list(integrations)
    for integration, _ in handled:
        if integration not in every:
            every.append(integration)
    builder = _Builder(every, date_time_properties)
    for integration in every:
        for name in integration.definitions:
            builder.definition(integration, name)
    counts: dict[str, int] = {}
    for _, scenario in handled:
        counts[scenario.identifier] = counts.get(scenario.identifier, 0) + 1
    actions = []
    for integration, scenario in handled:
        uri_part = scenario.identifier
        if counts[uri_part] > 1:
            uri_part = f"{integration.identifier}/{scenario.identifier}"
        inputs = builder.shape(
            integration, scenario.output_model, f"{uri_part} request", scenario.name
        )
        outputs = builder.shape(
            integration, scenario.input_model, f"{uri_part} reply", scenario.name
        )
        actions.append(Action(uri_part, integration, scenario, inputs, outputs))
    # The top-level models are not types: their properties are the action's inputs/outputs.
    roots = {a.inputs.type_name for a in actions} | {a.outputs.type_name for a in actions}
    types = tuple(shape for name, shape in builder.types.items() if name not in roots)
    return tuple(actions), types
