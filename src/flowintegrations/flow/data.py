"""Data actions on a type: :class:`DataType`, :class:`FlowObject`, :class:`FlowRequest`.

A *type* is a named :class:`~flowintegrations.DataModel`: a definition of one of the App's
integrations, or one declared for the service (``FlowService(app, types={...})``). A type
with a Load, Save or Delete handler is a *data type*: the describe answer gives it a
binding (so Flow's database map elements can use it), and ``/data`` loads, saves and
deletes its objects through the handlers.

Ids. An object's ``externalId`` is its *id property* (``"id"`` unless
``FlowService(id_properties={type: name})`` says otherwise), a scalar property of the type:
a loaded or saved row's externalId is that property's value as text. On save, an object
with an empty externalId is new (its id property may be missing even where the model makes
it mandatory: the handler assigns it), and an object with an externalId gets it in its id
property when that is missing.

Handlers are plain or ``async`` functions taking one argument (the query or the objects)
or two (and the :class:`FlowRequest`); plain ones run in a worker thread, so a blocking
database driver does not stall the server.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from flowintegrations.errors import HandlerRegistrationError, ValidationError
from flowintegrations.flow.configuration import ConfigurationValues, looks_secret
from flowintegrations.flow.echo import culture, uuid_text
from flowintegrations.flow.query import Page, Query
from flowintegrations.flow.types import Shape
from flowintegrations.flow.values import payloads_from_object_data
from flowintegrations.flow.writing import object_data
from flowintegrations.model import DataModel, PropertyType, json_path_step
from flowintegrations.validation import Violation, validator_for

__all__ = [
    "DEFAULT_ID_PROPERTY",
    "DataHandler",
    "DataType",
    "FlowObject",
    "FlowRequest",
    "LoadResult",
    "page_of",
]

DEFAULT_ID_PROPERTY = "id"
"""The property that holds a type's externalId unless the service is told another."""

LoadResult = Page | Iterable[Mapping[str, Any]]
"""What a Load handler returns: a :class:`Page`, or the rows (up to ``limit + 1`` of them
tell the service there are more)."""

_SCALARS = frozenset(
    {PropertyType.STRING, PropertyType.NUMBER, PropertyType.BOOLEAN, PropertyType.ENUM}
)


@attrs.frozen
class FlowRequest:
    """What comes with a data or file request besides its query or objects.

    ``culture`` is the request's Culture (its known fields; see
    :func:`~flowintegrations.flow.values.culture`). ``configuration_values`` are the
    service's settings as Flow sends them (name ->
    ``contentValue``; the repr hides a ``ContentPassword`` value and any whose name says
    password or secret, declared or not); ``properties`` the names of the properties the
    engine asks for (``objectDataType.properties``; empty: it named none, so every one);
    ``body`` is the whole request as JSON, for anything else.
    """

    type_name: str | None
    state_id: str | None = None
    tenant_id: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    culture: Any = None
    configuration_values: Mapping[str, Any] = attrs.field(factory=dict)
    body: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    properties: tuple[str, ...] = ()

    @classmethod
    def from_body(cls, type_name: str | None, body: Mapping[str, Any]) -> FlowRequest:
        """The request fields of a JSON body (wrongly typed ones are ``None``)."""

        def text(key: str) -> str | None:
            value = body.get(key)
            return value if isinstance(value, str) else None

        settings: dict[str, Any] = {}
        secret: set[str] = set()
        values = body.get("configurationValues")
        if isinstance(values, list):
            for value in values:
                if isinstance(value, dict) and isinstance(value.get("developerName"), str):
                    name = value["developerName"]
                    settings[name] = value.get("contentValue")
                    if looks_secret(name, value.get("contentType")):
                        secret.add(name)
        described = body.get("objectDataType")
        wanted = described.get("properties") if isinstance(described, dict) else None
        names = tuple(
            entry["developerName"]
            for entry in (wanted if isinstance(wanted, list) else ())
            if isinstance(entry, dict) and isinstance(entry.get("developerName"), str)
        )
        return cls(
            type_name,
            properties=names,
            state_id=text("stateId"),
            tenant_id=text("tenantId"),
            token=text("token"),
            culture=culture(body.get("culture")),
            configuration_values=ConfigurationValues(settings, secret),
            body=body,
        )


@attrs.frozen
class FlowObject:
    """One object of a Save or Delete: its ``external_id`` (``None``: new) and payload.

    ``internal_id`` is the platform's id of the object in the flow state (``None`` when it
    sent none); a saved object answered as a FlowObject keeps it.
    """

    external_id: str | None
    payload: dict[str, Any]
    internal_id: str | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class DataHandler:
    """A Load, Save or Delete (or file) handler and how to call it.

    ``id_property`` is set for a Save handler: it names the property that pairs the rows
    the handler answers with the objects it was given (see :meth:`__call__`).
    """

    fn: Callable[..., Any]
    takes_request: bool
    is_async: bool
    id_property: str | None = None

    @classmethod
    def of(cls, fn: Any, what: str) -> DataHandler:
        """Read ``fn``'s signature; raises HandlerRegistrationError for a bad shape."""
        if not callable(fn):
            msg = f"a {what} handler must be callable, got {fn!r}"
            raise HandlerRegistrationError(msg)
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
        if len(params) not in (1, 2):
            name = getattr(fn, "__qualname__", repr(fn))
            msg = (
                f"{what} handler {name} must take one argument, or two (and the "
                f"FlowRequest), but takes {len(params)}"
            )
            raise HandlerRegistrationError(msg)
        return cls(fn, len(params) == 2, inspect.iscoroutinefunction(fn))

    async def __call__(self, argument: Any, request: FlowRequest) -> Any:
        """Call the handler (a plain one in a worker thread).

        A Save handler's dict rows keep the platform's ``internalId`` of the objects they
        answer: when it answers one row per object, in order (each row new, or with the
        object's externalId in its id property), each row becomes a :class:`FlowObject`
        carrying that object's ``internal_id``.
        """
        args = (argument, request) if self.takes_request else (argument,)
        if self.is_async:
            result = await self.fn(*args)
        else:
            result = await asyncio.to_thread(self.fn, *args)
        if self.id_property is not None and isinstance(argument, list):
            return _paired(result, argument, self.id_property)
        return result


def _rerooted(violations: Iterable[Violation], prefix: str) -> list[Violation]:
    return [attrs.evolve(v, path=prefix + v.path[1:]) for v in violations]


class DataType:
    """A named model served by data actions, with its handlers (see the module)."""

    def __init__(
        self,
        name: str,
        model: DataModel,
        *,
        definitions: Mapping[str, DataModel],
        enumerations: Mapping[str, tuple[str, ...]],
        id_property: str,
    ) -> None:
        self.name = name
        self.model = model
        self.definitions = definitions
        self.enumerations = enumerations
        self.id_property = id_property
        try:
            prop = model.property(id_property)
        except KeyError:
            names = ", ".join(p.name for p in model.properties) or "none"
            msg = (
                f"type {name!r} has no id property {id_property!r} (properties: {names}); "
                "name it with FlowService(id_properties={type: property})"
            )
            raise HandlerRegistrationError(msg) from None
        if prop.type not in _SCALARS:
            msg = (
                f"the id property {id_property!r} of type {name!r} must be a scalar, "
                f"not {prop.type}"
            )
            raise HandlerRegistrationError(msg)
        self.columns: dict[str, PropertyType] = {
            p.name: p.type for p in model.properties if p.type in _SCALARS
        }
        self.load: DataHandler | None = None
        self.save: DataHandler | None = None
        self.delete: DataHandler | None = None
        self.shape: Shape | None = None  # set when the service compiles its types
        self._validator = validator_for(model, definitions, enumerations)

    @property
    def handled(self) -> bool:
        """Whether any data action is registered for this type."""
        return any((self.load, self.save, self.delete))

    def register(self, action: str, fn: Any) -> None:
        """Register ``fn`` as the ``load``, ``save`` or ``delete`` handler (once each)."""
        if getattr(self, action) is not None:
            msg = f"type {self.name!r} already has a {action} handler"
            raise HandlerRegistrationError(msg)
        handler = DataHandler.of(fn, action)
        if action == "save":
            handler = attrs.evolve(handler, id_property=self.id_property)
        setattr(self, action, handler)

    def query(self, list_filter: Any, *, max_limit: int) -> Query:
        """The typed query of a Load's ``listFilter`` (raises ``QueryError``)."""
        return Query.from_list_filter(
            list_filter,
            type_name=self.name,
            columns=self.columns,
            id_property=self.id_property,
            max_limit=max_limit,
        )

    def external_id(self, payload: Mapping[str, Any]) -> str | None:
        """The externalId of a row: its id property as text."""
        value = payload.get(self.id_property)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def typed_id(self, external_id: str) -> Any:
        """``external_id`` as a value of the id property's type (text when it does not fit)."""
        kind = self.columns[self.id_property]
        if kind is PropertyType.NUMBER:
            try:
                return int(external_id)
            except ValueError:
                try:
                    return float(external_id)
                except ValueError:
                    return external_id
        if kind is PropertyType.BOOLEAN and external_id in ("true", "false"):
            return external_id == "true"
        return external_id

    def read_objects(self, data: Any, *, check_unicode: bool, validate: bool) -> list[FlowObject]:
        """The objects of a Save (``validate``) or Delete request.

        The id property is the object's ``externalId`` when it has one (the engine sends
        every property, the id one often ``""``); a new object's ``""`` id is no id. Raises
        ``FlowValueError`` for values that cannot be read, ``ValidationError`` with every
        violation (paths under ``$.objectData[i]``) for objects the model rejects, and for
        an object to delete that names no id.
        """
        assert self.shape is not None
        read = payloads_from_object_data(self.shape, data, check_unicode=check_unicode)
        found: list[FlowObject] = []
        problems: list[Violation] = []
        for index, (external_id, payload) in enumerate(read):
            if external_id is not None:
                # The engine sends every property, the id one often as "": the externalId
                # is the object's identity, whatever the id property says.
                payload[self.id_property] = self.typed_id(external_id)
            elif payload.get(self.id_property) == "":
                del payload[self.id_property]  # a new object: "" is no id yet
            if not validate and payload.get(self.id_property) is None:
                # A delete names what it deletes: by externalId (or the id property).
                problems.append(
                    Violation(
                        f"$.objectData[{index}].externalId",
                        "required",
                        f"an object to delete needs its externalId (or its "
                        f"{self.id_property!r} property)",
                    )
                )
            if validate:
                violations = self._validator.violations(payload)
                if external_id is None:
                    # A new object gets its id from the handler.
                    id_path = "$" + json_path_step(self.id_property)
                    violations = tuple(
                        v for v in violations if not (v.rule == "required" and v.path == id_path)
                    )
                problems.extend(_rerooted(violations, f"$.objectData[{index}].properties"))
            found.append(FlowObject(external_id, payload, internal_id=_internal_id(data[index])))
        if problems:
            raise ValidationError(problems, subject="objects")
        return found

    def answer_objects(self, rows: Iterable[Any], what: str) -> list[dict[str, Any]]:
        """The objects (MObjects) of rows a handler returned: payload dicts or FlowObjects.

        A ``None`` value is an absent property. Rows are validated: one the model rejects
        is a bug in the handler (``ValidationError``, subject ``what``). ``internalId`` is
        a FlowObject's ``internal_id`` (what the platform sent), else null.
        """
        assert self.shape is not None
        payloads: list[dict[str, Any]] = []
        ids: list[str | None] = []
        internal: list[str | None] = []
        problems: list[Violation] = []
        for index, row in enumerate(rows):
            source: Any
            if isinstance(row, FlowObject):
                external_id, source = row.external_id, row.payload
                internal_id = row.internal_id
            else:
                external_id, source, internal_id = None, row, None
            if not isinstance(source, Mapping):
                problems.append(
                    Violation(
                        f"$[{index}]", "type", f"expected a dict, got {type(source).__name__}"
                    )
                )
                continue
            payload = {k: v for k, v in source.items() if v is not None}
            if not self._validator.is_valid(payload):
                problems.extend(_rerooted(self._validator.violations(payload), f"$[{index}]"))
            payloads.append(payload)
            ids.append(external_id or self.external_id(payload))
            internal.append(internal_id)
        if problems:
            raise ValidationError(problems, subject=what)
        return object_data(self.shape, payloads, ids, internal)


def _paired(result: Any, sent: list[FlowObject], id_property: str) -> Any:
    """A Save's rows, dicts paired with the objects ``sent`` (see DataHandler.__call__)."""
    if result is None or isinstance(result, (str, bytes, Mapping)):
        return result
    rows = list(result)
    if len(rows) != len(sent):
        return rows
    paired: list[Any] = []
    for row, origin in zip(rows, sent, strict=True):
        answer = row
        if isinstance(row, Mapping) and origin.internal_id is not None:
            answered = row.get(id_property)
            if origin.external_id is None or str(answered) == origin.external_id:
                answer = FlowObject(None, dict(row), internal_id=origin.internal_id)
        paired.append(answer)
    return paired


def _internal_id(item: Any) -> str | None:
    """The ``internalId`` an object of a request carries: a UUID's text, else ``None``.

    The platform's ids are UUIDs (its MObject schema says so); anything else sent there
    is not echoed, so an answer never carries an id the platform would refuse.
    """
    return uuid_text(item.get("internalId")) if isinstance(item, dict) else None


def page_of(result: Any, query: Query) -> Page:
    """A handler's Load result as a page of at most ``query.limit`` rows.

    More rows than the limit mean there are more (the handler fetched ``limit + 1``); a
    :class:`Page` that says so keeps its word. Without a limit every row is the page.
    """
    if isinstance(result, Page):
        rows, more = list(result.objects), result.more
    elif result is None:
        rows, more = [], False
    else:
        rows, more = list(result), False
    token = result.offset_token if isinstance(result, Page) else None
    if query.limit is not None and len(rows) > query.limit:
        rows, more = rows[: query.limit], True
    return Page(rows, more=more, offset_token=token)
