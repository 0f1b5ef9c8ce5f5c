"""Data models: :class:`PropertyType`, :class:`Property`, :class:`DataModel`.

A data model describes the JSON object a message carries, property by property, with the
types the engine's admin UI offers. These classes check *structure* only (a name is not
empty, an ARRAY has an item type); checking payloads is the validation engine's job
(:mod:`flowintegrations.validation`), reached through :meth:`DataModel.validate`. That
includes the ``example`` of a property, which the constructors check through the seam of
:mod:`flowintegrations.model.checks` rather than by importing the validation layer.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, overload

import attrs

from flowintegrations.errors import CatalogError, CatalogProblem
from flowintegrations.model.checks import model_example_problems, property_example_problems

Definitions = Mapping[str, "DataModel"]
"""Shared data models by name, for ``*_REF`` properties (an integration's ``definitions``)."""

__all__ = [
    "DataModel",
    "Definitions",
    "FrozenDict",
    "JSONValue",
    "Property",
    "PropertyType",
    "json_path_step",
    "unresolved_message",
]

JSONValue = Any
"""A value as :func:`json.loads` returns it (dict, list, str, int, float, bool, None)."""


class PropertyType(str, enum.Enum):
    """The property types of the engine's data models."""

    STRING = "STRING"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    OBJECT = "OBJECT"
    OBJECT_REF = "OBJECT_REF"
    ARRAY = "ARRAY"
    ARRAY_REF = "ARRAY_REF"
    ENUM = "ENUM"

    def __str__(self) -> str:
        return self.value


_ITEM_TYPES = frozenset(
    {
        PropertyType.STRING,
        PropertyType.NUMBER,
        PropertyType.BOOLEAN,
        PropertyType.OBJECT,
        PropertyType.OBJECT_REF,
        PropertyType.ENUM,
    }
)


class FrozenDict(Mapping[str, Any]):
    """An immutable, hashable mapping (keeps insertion order), used inside frozen values."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        self._data: dict[str, Any] = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenDict):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"


if TYPE_CHECKING:
    # mypy sees the descriptor installed after the class (the shortcut on the class, the
    # values on an instance); at run time attrs, cattrs and the schema generator see a tuple.
    _EnumValues: TypeAlias = "_EnumAttribute"
else:
    _EnumValues = tuple[str, ...]


def _to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)):
        msg = f"expected a sequence, got a {type(value).__name__}: {value!r}"
        raise TypeError(msg)
    return tuple(value)


def _to_property_type(value: PropertyType | str) -> PropertyType:
    if isinstance(value, PropertyType):
        return value
    try:
        return PropertyType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in PropertyType)
        raise CatalogError(
            f"unknown property type {value!r} (expected one of {allowed})", "$.type"
        ) from None


def _to_optional_type(value: PropertyType | str | None) -> PropertyType | None:
    return None if value is None else _to_property_type(value)


@attrs.frozen(cache_hash=True)
class Property:
    """One property of a data model.

    ``properties`` describes the fields of an OBJECT (and of the items of an ARRAY whose
    ``item_type`` is OBJECT); ``item_type`` is required for ARRAY; ``ref`` names one of the
    integration's ``definitions`` for OBJECT_REF and ARRAY_REF (and for an ARRAY of
    OBJECT_REF); an ENUM (or an ARRAY of ENUM) takes its values from ``enum`` or from the
    integration's enumeration called ``enumeration``. An ``example`` must itself be valid;
    it is copied, so changing the value passed in later does not change the property.
    """

    name: str
    type: PropertyType = attrs.field(converter=_to_property_type)
    description: str = attrs.field(default="", kw_only=True)
    example: JSONValue = attrs.field(
        default=None, kw_only=True, hash=False, converter=copy.deepcopy
    )
    mandatory: bool = attrs.field(default=False, kw_only=True)
    properties: tuple[Property, ...] = attrs.field(default=(), kw_only=True, converter=_to_tuple)
    item_type: PropertyType | None = attrs.field(
        default=None, kw_only=True, converter=_to_optional_type
    )
    ref: str | None = attrs.field(default=None, kw_only=True)
    enum: _EnumValues = attrs.field(  # type: ignore[assignment]
        default=(), kw_only=True, converter=_to_tuple
    )
    enumeration: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = list(self._structure_problems())
        if problems:
            raise CatalogError(problems)

    @property
    def element_type(self) -> PropertyType:
        """The type that ``properties``, ``ref`` and ``enum`` describe.

        The property's own type, or, for an ARRAY, its item type (OBJECT_REF for ARRAY_REF).
        """
        if self.type is PropertyType.ARRAY and self.item_type is not None:
            return self.item_type
        if self.type is PropertyType.ARRAY_REF:
            return PropertyType.OBJECT_REF
        return self.type

    def _structure_problems(self) -> Iterator[CatalogProblem]:
        if not isinstance(self.name, str) or not self.name:
            yield CatalogProblem(
                "$.name",
                f"a property name must be a non-empty string, got {self.name!r}",
                self.name,
            )
        element = self.element_type
        if self.type is PropertyType.ARRAY:
            if self.item_type is None:
                yield CatalogProblem(
                    "$.itemType", f"ARRAY property {self.name!r} needs an item type", None
                )
            elif self.item_type not in _ITEM_TYPES:
                yield CatalogProblem(
                    "$.itemType",
                    f"ARRAY property {self.name!r} cannot have item type {self.item_type}; "
                    "wrap the inner array in an OBJECT",
                    self.item_type.value,
                )
        elif self.item_type is not None:
            yield CatalogProblem(
                "$.itemType",
                f"only an ARRAY property has an item type; {self.name!r} is {self.type}",
                self.item_type.value,
            )
        if element is PropertyType.OBJECT_REF:
            if not self.ref:
                yield CatalogProblem(
                    "$.ref",
                    f"{self.type} property {self.name!r} needs a ref to a definition",
                    self.ref,
                )
        elif self.ref is not None:
            yield CatalogProblem(
                "$.ref", f"{self.type} property {self.name!r} cannot have a ref", self.ref
            )
        if element is PropertyType.ENUM:
            if not self.enum and not self.enumeration:
                yield CatalogProblem(
                    "$.enum",
                    f"ENUM property {self.name!r} needs values (enum) or an enumeration name",
                    None,
                )
            if self.enum and self.enumeration:
                yield CatalogProblem(
                    "$.enumeration",
                    f"ENUM property {self.name!r} has both values and an enumeration; keep one",
                    self.enumeration,
                )
            values: tuple[object, ...] = self.enum  # checked: catalogs are untrusted data
            for index, value in enumerate(values):
                if not isinstance(value, str):
                    yield CatalogProblem(
                        f"$.enum[{index}]", f"enum values are strings, got {value!r}", value
                    )
            yield from _duplicates(self.enum, "$.enum", "enum value")
        else:
            if self.enum:
                yield CatalogProblem(
                    "$.enum",
                    f"{self.type} property {self.name!r} cannot have enum values",
                    list(self.enum),
                )
            if self.enumeration is not None:
                yield CatalogProblem(
                    "$.enumeration",
                    f"{self.type} property {self.name!r} cannot have an enumeration",
                    self.enumeration,
                )
        if element is not PropertyType.OBJECT and self.properties:
            yield CatalogProblem(
                "$.properties",
                f"{self.type} property {self.name!r} cannot have nested properties",
                None,
            )
        yield from _property_list_problems(self.properties, "$.properties")
        yield from property_example_problems(self, "$.example")

    # Shortcuts --------------------------------------------------------------------------

    @classmethod
    def string(cls, name: str, **kw: Any) -> Property:
        """A STRING property."""
        return cls(name, PropertyType.STRING, **kw)

    @classmethod
    def number(cls, name: str, **kw: Any) -> Property:
        """A NUMBER property (any JSON number, never a boolean)."""
        return cls(name, PropertyType.NUMBER, **kw)

    @classmethod
    def boolean(cls, name: str, **kw: Any) -> Property:
        """A BOOLEAN property (``true`` or ``false`` only)."""
        return cls(name, PropertyType.BOOLEAN, **kw)

    @classmethod
    def object(cls, name: str, properties: Iterable[Property] = (), **kw: Any) -> Property:
        """An OBJECT property with nested ``properties``."""
        return cls(name, PropertyType.OBJECT, properties=tuple(properties), **kw)

    @classmethod
    def object_ref(cls, name: str, ref: str, **kw: Any) -> Property:
        """An OBJECT_REF property: an object shaped like the definition ``ref``."""
        return cls(name, PropertyType.OBJECT_REF, ref=ref, **kw)

    @classmethod
    def array(cls, name: str, item_type: PropertyType | str, **kw: Any) -> Property:
        """An ARRAY property of ``item_type`` items.

        For an array of objects pass ``properties=``; of enum values, ``enum=``; of
        references, ``ref=``.
        """
        return cls(name, PropertyType.ARRAY, item_type=_to_property_type(item_type), **kw)

    @classmethod
    def array_ref(cls, name: str, ref: str, **kw: Any) -> Property:
        """An ARRAY_REF property: an array of objects shaped like the definition ``ref``."""
        return cls(name, PropertyType.ARRAY_REF, ref=ref, **kw)


def _enum_shortcut(name: str, values: Iterable[str] = (), **kw: Any) -> Property:
    """An ENUM property whose value must be one of ``values``.

    Pass ``enumeration="name"`` instead of values to use one of the integration's
    enumerations.
    """
    return Property(name, PropertyType.ENUM, enum=tuple(values), **kw)


class _EnumAttribute:
    """``Property.enum`` is the ENUM shortcut on the class and the values on an instance.

    DESIGN.md names both ``Property(..., enum=(...))`` and ``Property.enum(name, values)``;
    this data descriptor wraps the attrs slot so that both work.
    """

    def __init__(self, slot: Any) -> None:
        self._slot = slot

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Callable[..., Property]: ...

    @overload
    def __get__(self, obj: Property, owner: type[Any]) -> tuple[str, ...]: ...

    def __get__(self, obj: Property | None, owner: type[Any]) -> Any:
        if obj is None:
            return _enum_shortcut
        return self._slot.__get__(obj, owner)

    def __set__(self, obj: Property, value: tuple[str, ...]) -> None:
        self._slot.__set__(obj, value)


Property.enum = _EnumAttribute(Property.__dict__["enum"])


@attrs.frozen(cache_hash=True)
class DataModel:
    """The root object of a message: its properties, and whether unknown keys are allowed.

    ``additional_properties`` applies to nested OBJECTs too.
    """

    properties: tuple[Property, ...] = attrs.field(default=(), converter=_to_tuple)
    additional_properties: bool = attrs.field(default=True, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = list(_property_list_problems(self.properties, "$.properties"))
        if not problems and not self.additional_properties:
            # Each property checked its example alone; only the model knows that unknown
            # keys are not allowed.
            problems.extend(
                model_example_problems(self.properties, "$.properties", additional=False)
            )
        if problems:
            raise CatalogError(problems)

    @classmethod
    def from_json_sample(cls, sample: JSONValue) -> DataModel:
        """The model a JSON sample document describes (a "profile"; a list: several samples).

        Keys present in every sample are mandatory; conflicting samples raise
        :class:`~flowintegrations.errors.CatalogError` naming the JSON path.
        """
        from flowintegrations.model.profiles import model_from_json_sample  # noqa: PLC0415

        return model_from_json_sample(sample)

    @classmethod
    def from_json_schema(cls, schema: Mapping[str, Any]) -> DataModel:
        """The model a JSON Schema (draft-07, the subset :meth:`json_schema` emits) describes.

        A ``$ref`` to ``#/definitions/NAME`` becomes an OBJECT_REF (ARRAY_REF as items) to
        ``NAME``; anything outside the subset raises
        :class:`~flowintegrations.errors.CatalogError` naming its JSON path.
        """
        from flowintegrations.model.profiles import model_from_json_schema  # noqa: PLC0415

        return model_from_json_schema(schema)

    def property(self, name: str) -> Property:
        """The top-level property called ``name``; raises ``KeyError`` if there is none."""
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(name)

    def json_schema(
        self,
        definitions: Definitions | None = None,
        *,
        enumerations: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, Any]:
        """This model as a JSON Schema (draft-07) document, with descriptions and examples.

        ``definitions`` resolve OBJECT_REF / ARRAY_REF properties and ``enumerations``
        (name -> values) the ENUM properties that name an enumeration; a name that does
        not resolve raises ``LookupError``.
        """
        from flowintegrations.validation.schema import to_json_schema  # noqa: PLC0415

        return to_json_schema(self, definitions, enumerations)

    def validate(
        self,
        payload: JSONValue,
        *,
        definitions: Definitions | None = None,
        enumerations: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Check ``payload``; raise :class:`~flowintegrations.ValidationError` on violations.

        ``definitions`` and ``enumerations`` resolve names as in :meth:`json_schema`.
        """
        from flowintegrations.validation.validator import validator_for  # noqa: PLC0415

        validator_for(self, definitions, enumerations).validate(payload)


def _property_list_problems(
    properties: tuple[Property, ...], path: str
) -> Iterator[CatalogProblem]:
    untrusted: tuple[object, ...] = properties
    for index, prop in enumerate(untrusted):
        if not isinstance(prop, Property):
            yield CatalogProblem(f"{path}[{index}]", f"expected a Property, got {prop!r}", prop)
    names = [p.name for p in properties if isinstance(p, Property)]
    yield from _duplicates(names, path, "property name", key=".name")


def _duplicates(
    values: Iterable[Any], path: str, what: str, key: str = ""
) -> Iterator[CatalogProblem]:
    seen: dict[Any, int] = {}
    for index, value in enumerate(values):
        try:
            first = seen.setdefault(value, index)
        except TypeError:  # unhashable: reported by the type check instead
            continue
        if first != index:
            yield CatalogProblem(
                f"{path}[{index}]{key}",
                f"duplicate {what} {value!r} (first at index {first})",
                value,
            )


_PATH_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _path_char(char: str) -> str:
    if char in _PATH_ESCAPES:
        return _PATH_ESCAPES[char]
    code = ord(char)
    if code < 0x20 or 0x7F <= code < 0xA0 or char in "\u2028\u2029":
        return f"\\u{code:04x}"
    return char


def unresolved_message(
    prop: Property, kind: Literal["reference", "enumeration"], known: Iterable[str]
) -> str:
    """Why the ``ref`` (or ``enumeration``) name of ``prop`` does not resolve.

    ``known`` are the names that would: the definitions for a reference, the enumerations
    for an ENUM property that names one.
    """
    if kind == "reference":
        name, listed = prop.ref, "definitions"
    else:
        name, listed = prop.enumeration, "enumerations"
    names = ", ".join(repr(k) for k in known) or "none"
    return f"{kind} {name!r} of property {prop.name!r} does not resolve ({listed}: {names})"


def json_path_step(name: str) -> str:
    """The JSON-path step for key ``name``: ``.name``, or ``['na.me']`` when it needs quoting.

    Inside quotes, backslashes, quotes and control characters are escaped, so a path is
    always one line: keys come from payloads and headers, and must not forge log lines.
    """
    if name.isidentifier():
        return f".{name}"
    escaped = "".join(_path_char(char) for char in name)
    return f"['{escaped}']"
