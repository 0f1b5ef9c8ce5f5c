"""A Load's list filter as a typed query: :class:`Query`, and :meth:`Query.apply`.

Flow asks a data action for objects with a *ListFilter* (``FLOW-SERVICES.md``): an ``id``,
``where`` criteria combined by ``comparisonType`` with nested ``listFilters``, an order
(``orderByPropertyDeveloperName`` + ``orderByDirectionType`` and/or ``orderBy``),
``limit``, ``offset`` and a free-text ``search``. :meth:`Query.from_list_filter` reads that
JSON against the type's properties, strictly: a column the type does not have (or that is
not a scalar), a value that does not fit the column's type (``"abc"`` for a number), a
text criterion on a non-text column, a negative or absurd limit or offset are a
:class:`QueryError` listing every problem with its path, which the service answers 400.
Nothing of the request survives unchecked: columns are names the type declares, values are
typed Python values.

What each criterion means, exactly (:meth:`Query.apply` is the reference; a database
adapter must mean the same, and the tests compare the PostgreSQL example against it). A
row's value is ``row.get(column)``; absent and ``None`` are the same, *empty*.

========================  =================================================================
EQUAL                     the value is not empty and equals the criterion's
NOT_EQUAL                 the opposite of EQUAL: an empty value matches (SQL's
                          ``IS DISTINCT FROM``)
GREATER_THAN ...          the value is not empty and compares so (``LESS_THAN``,
                          ``..._OR_EQUAL`` alike); text compares by code point
CONTAINS                  text columns only: the value is not empty and contains the text,
                          case-sensitively (``STARTS_WITH``, ``ENDS_WITH`` alike)
IS_EMPTY                  ``"true"`` (or no value): the value is empty (or ``""`` for text);
                          ``"false"``: it is not
========================  =================================================================

``search`` matches rows where some text column contains the words, ignoring ASCII case.

Ordering is stable and puts empty values last in both directions; rows come in the order
they were given otherwise. The page is ``limit`` rows after ``offset``: 20 when there is no
list filter at all, every row when a list filter's ``limit`` is 0 or missing.
"""

from __future__ import annotations

import enum
import math
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from flowintegrations.errors import FlowIntegrationsError
from flowintegrations.model import PropertyType
from flowintegrations.validation import Violation

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "Comparison",
    "Criterion",
    "CriterionType",
    "Filter",
    "OrderBy",
    "Page",
    "Query",
    "QueryError",
    "Scalar",
    "SearchCriterion",
]

DEFAULT_PAGE_SIZE = 20
"""The page size of a Load without any list filter, as the Java SDK has it.

With a list filter, a ``limit`` of ``0`` (or none) means *no limit* (Java's
``DatabaseLoadService``): :attr:`Query.limit` is then ``None``."""

MAX_PAGE_SIZE = 1000
"""The largest ``limit`` a query accepts by default (more is a 400, not a table scan)."""

MAX_OFFSET = 1_000_000_000
"""The largest ``offset`` a query accepts."""

Scalar = str | int | float | bool
"""A typed value of a column."""

_TEXT = frozenset({PropertyType.STRING, PropertyType.ENUM})
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d{1,30}")


class QueryError(FlowIntegrationsError, ValueError):
    """A list filter that cannot become a query; ``violations`` has every problem and path."""

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations = tuple(violations)
        lines = "; ".join(f"{v.path}: {v.message}" for v in self.violations)
        super().__init__(f"{len(self.violations)} problem(s) in the list filter: {lines}")


class CriterionType(str, enum.Enum):
    """Flow's ``criteriaType`` values."""

    EQUAL = "EQUAL"
    NOT_EQUAL = "NOT_EQUAL"
    GREATER_THAN = "GREATER_THAN"
    GREATER_THAN_OR_EQUAL = "GREATER_THAN_OR_EQUAL"
    LESS_THAN = "LESS_THAN"
    LESS_THAN_OR_EQUAL = "LESS_THAN_OR_EQUAL"
    CONTAINS = "CONTAINS"
    STARTS_WITH = "STARTS_WITH"
    ENDS_WITH = "ENDS_WITH"
    IS_EMPTY = "IS_EMPTY"

    def __str__(self) -> str:
        return self.value


_TEXT_ONLY = frozenset({CriterionType.CONTAINS, CriterionType.STARTS_WITH, CriterionType.ENDS_WITH})


class Comparison(str, enum.Enum):
    """How a filter combines its criteria and nested filters."""

    AND = "AND"
    OR = "OR"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class Criterion:
    """One ``where`` entry: ``column`` (a declared scalar property), what, and the typed value.

    ``value`` is of the column's type; for IS_EMPTY it is a bool (whether empty is wanted).
    """

    column: str
    type: CriterionType
    value: Scalar

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` meets this criterion (see the module's table)."""
        value = row.get(self.column)
        kind = self.type
        if kind is CriterionType.IS_EMPTY:
            return (value is None or value == "") is self.value
        if kind is CriterionType.NOT_EQUAL:
            return value is None or value != self.value
        if value is None:
            return False
        wanted: Any = self.value
        if kind is CriterionType.EQUAL:
            return bool(value == wanted)
        if kind is CriterionType.GREATER_THAN:
            return bool(value > wanted)
        if kind is CriterionType.GREATER_THAN_OR_EQUAL:
            return bool(value >= wanted)
        if kind is CriterionType.LESS_THAN:
            return bool(value < wanted)
        if kind is CriterionType.LESS_THAN_OR_EQUAL:
            return bool(value <= wanted)
        if kind is CriterionType.CONTAINS:
            return wanted in value
        if kind is CriterionType.STARTS_WITH:
            return bool(value.startswith(wanted))
        return bool(value.endswith(wanted))


@attrs.frozen
class Filter:
    """Criteria and nested filters, combined by ``comparison``; an empty filter matches all."""

    comparison: Comparison = Comparison.AND
    criteria: tuple[Criterion, ...] = ()
    filters: tuple[Filter, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether this filter has neither criteria nor nested filters."""
        return not self.criteria and not self.filters

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` meets this filter (an empty one matches every row)."""
        parts = [c.matches(row) for c in self.criteria]
        parts.extend(f.matches(row) for f in self.filters if not f.empty)
        if not parts:
            return True
        return all(parts) if self.comparison is Comparison.AND else any(parts)


@attrs.frozen
class OrderBy:
    """Sort by ``column``; ``descending`` or not. Empty values go last either way."""

    column: str
    descending: bool = False


def _objects(objects: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    return tuple(objects)


@attrs.frozen
class SearchCriterion:
    """One ``searchCriteria`` entry of a list filter: search ``query`` in ``column``."""

    column: str
    query: str


@attrs.frozen
class Page:
    """What a Load answers: ``objects`` (payload dicts) and whether there are ``more``.

    ``offset_token`` is the token of the next page, for a handler that pages by token
    (Flow sends it back as the list filter's ``offsetToken``).
    """

    objects: tuple[dict[str, Any], ...] = attrs.field(converter=_objects)
    more: bool = False
    offset_token: str | None = None


@attrs.frozen
class Query:
    """A Load's typed list filter. Build it with :meth:`from_list_filter`.

    ``type_name`` is the type loaded; ``id`` the externalId asked for (a load of one
    object), typed like ``id_property``; ``where`` the filter; ``order_by`` the order;
    ``limit`` and ``offset`` the page (``limit`` is ``None`` for *no limit*: a list
    filter with ``limit`` 0 or none; 20 when there is no list filter at all); ``search``
    free text matched in ``text_columns``. ``columns`` maps every column a criterion may
    name to its type.

    Passed through for the handler, unused by :meth:`apply`: ``search_criteria`` (the
    filter's ``searchCriteria``, columns checked), ``offset_token`` (its ``offsetToken``,
    for paging by token) and ``filter_by_provided_objects`` (its
    ``filterByProvidedObjects``).
    """

    type_name: str
    columns: Mapping[str, PropertyType] = attrs.field(repr=False)
    id: Scalar | None = None
    id_property: str | None = None
    where: Filter = Filter()
    order_by: tuple[OrderBy, ...] = ()
    limit: int | None = DEFAULT_PAGE_SIZE
    offset: int = 0
    search: str | None = None
    search_criteria: tuple[SearchCriterion, ...] = ()
    offset_token: str | None = None
    filter_by_provided_objects: bool = False

    @property
    def fetch_limit(self) -> int | None:
        """How many rows to fetch to know whether there are more: ``limit + 1``.

        ``None`` for no limit (SQL's ``LIMIT NULL`` is no limit too).
        """
        return None if self.limit is None else self.limit + 1

    @property
    def text_columns(self) -> tuple[str, ...]:
        """The text columns a ``search`` looks in, in declaration order."""
        return tuple(name for name, kind in self.columns.items() if kind in _TEXT)

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` is one the query asks for (id, where and search; no paging)."""
        if (
            self.id is not None
            and self.id_property is not None
            and row.get(self.id_property) != self.id
        ):
            return False
        if self.search:
            words = self.search.translate(_ASCII_LOWER)
            if not any(
                isinstance(row.get(c), str) and words in row[c].translate(_ASCII_LOWER)
                for c in self.text_columns
            ):
                return False
        return self.where.matches(row)

    def apply(self, rows: Iterable[Mapping[str, Any]]) -> Page:
        """Filter, sort and page ``rows`` (dicts keyed by property name) as Flow means it."""
        found = [dict(row) for row in rows if self.matches(row)]
        for order in reversed(self.order_by):
            found.sort(key=_sort_key(order), reverse=order.descending)
        if self.limit is None:
            return Page(found[self.offset :], more=False)
        end = self.offset + self.limit
        return Page(found[self.offset : end], more=len(found) > end)

    @classmethod
    def from_list_filter(
        cls,
        list_filter: Any,
        *,
        type_name: str,
        columns: Mapping[str, PropertyType],
        id_property: str | None = None,
        max_limit: int = MAX_PAGE_SIZE,
    ) -> Query:
        """Read Flow's ListFilter JSON (``None`` for none) against ``columns``.

        Raises :class:`QueryError` with every problem (paths under ``$.listFilter``).
        """
        reader = _Reader(columns, max_limit)
        query = reader.query(list_filter, type_name, id_property)
        if reader.problems:
            raise QueryError(reader.problems)
        return query


def _sort_key(order: OrderBy) -> Any:
    column = order.column

    def key(row: Mapping[str, Any]) -> tuple[bool, Any]:
        value = row.get(column)
        if value is None:
            # Empty last in both directions: reverse=True flips the flag's meaning too.
            return (not order.descending, 0)
        return (order.descending, value)

    return key


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Reader:
    """Reads a ListFilter, collecting every problem."""

    def __init__(self, columns: Mapping[str, PropertyType], max_limit: int) -> None:
        self.columns = columns
        self.max_limit = max_limit
        self.problems: list[Violation] = []

    def problem(self, path: str, rule: str, message: str) -> None:
        self.problems.append(Violation(path, rule, message))

    def query(self, data: Any, type_name: str, id_property: str | None) -> Query:
        path = "$.listFilter"
        if data is None:
            return Query(type_name, self.columns, id_property=id_property)
        if not isinstance(data, dict):
            self.problem(path, "shape", f"a list filter is an object, got {_shown(data)}")
            return Query(type_name, self.columns, id_property=id_property)
        identifier: Scalar | None = None
        raw_id = data.get("id")
        if raw_id not in (None, ""):
            if id_property is None:
                self.problem(f"{path}.id", "id", f"type {type_name!r} has no id property")
            else:
                identifier = self.value(id_property, raw_id, f"{path}.id")
        search = self.text(data, "search", path)
        token = self.text(data, "offsetToken", path)
        provided = data.get("filterByProvidedObjects")
        if provided is not None and not isinstance(provided, bool):
            self.problem(
                f"{path}.filterByProvidedObjects",
                "shape",
                f"filterByProvidedObjects is true or false, got {_shown(provided)}",
            )
            provided = None
        return Query(
            type_name,
            self.columns,
            id=identifier,
            id_property=id_property,
            where=self.filter(data, path, 0),
            order_by=self.order(data, path),
            # With a list filter, 0 or no limit is no limit (Java's DatabaseLoadService).
            limit=self.number(data.get("limit"), f"{path}.limit", self.max_limit, "limit") or None,
            offset=self.number(data.get("offset"), f"{path}.offset", MAX_OFFSET, "offset"),
            search=search or None,
            search_criteria=self.search_criteria(data.get("searchCriteria"), path),
            offset_token=token or None,
            filter_by_provided_objects=bool(provided),
        )

    def text(self, data: dict[str, Any], key: str, path: str) -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            self.problem(f"{path}.{key}", "shape", f"{key} is text, got {_shown(value)}")
            return None
        return value

    def search_criteria(self, entries: Any, path: str) -> tuple[SearchCriterion, ...]:
        here = f"{path}.searchCriteria"
        if entries is None:
            return ()
        if not isinstance(entries, list):
            self.problem(here, "shape", f"searchCriteria is a list, got {_shown(entries)}")
            return ()
        found = []
        for index, entry in enumerate(entries):
            at = f"{here}[{index}]"
            if not isinstance(entry, dict):
                self.problem(at, "shape", f"a search criterion is an object, got {_shown(entry)}")
                continue
            column = entry.get("columnName")
            known = self.column(column, f"{at}.columnName") is not None
            query = entry.get("query")
            if query is not None and not isinstance(query, str):
                self.problem(f"{at}.query", "shape", f"query is text, got {_shown(query)}")
                continue
            if known:
                assert isinstance(column, str)
                found.append(SearchCriterion(column, query or ""))
        return tuple(found)

    def number(self, value: Any, path: str, most: int, what: str) -> int:
        if value is None:
            return 0
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(path, "shape", f"{what} is a whole number, got {_shown(value)}")
            return 0
        if not 0 <= value <= most:
            self.problem(path, "range", f"{what} must be between 0 and {most}, got {value}")
            return 0
        return value

    def column(self, name: Any, path: str) -> PropertyType | None:
        if not isinstance(name, str) or name not in self.columns:
            known = ", ".join(self.columns) or "none"
            self.problem(
                path,
                "column",
                f"no column {_shown(name)} in this type (columns: {known})",
            )
            return None
        return self.columns[name]

    def value(self, column: str, raw: Any, path: str) -> Scalar | None:
        kind = self.columns[column]
        if not isinstance(raw, str):
            self.problem(path, "contentValue", f"a value is text, got {_shown(raw)}")
            return None
        if kind in _TEXT:
            return raw
        if kind is PropertyType.BOOLEAN:
            if raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            self.problem(
                path,
                "contentValue",
                f"column {column!r} is a boolean: 'true' or 'false', got {_shown(raw)}",
            )
            return None
        text = raw.strip()
        if _NUMBER.fullmatch(text):
            if _INTEGER.fullmatch(text):
                return int(text)
            try:
                number = float(text)
            except ValueError:  # pragma: no cover - the pattern admits floats only
                number = math.nan
            if math.isfinite(number):
                return number
        self.problem(path, "contentValue", f"column {column!r} is a number, got {_shown(raw)}")
        return None

    def filter(self, data: dict[str, Any], path: str, depth: int) -> Filter:
        comparison = data.get("comparisonType") or "AND"
        if isinstance(comparison, str):
            comparison = comparison.upper()  # enum words ignore case, as Java's forValue
        if comparison not in ("AND", "OR"):
            self.problem(
                f"{path}.comparisonType",
                "shape",
                f"comparisonType is AND or OR, got {_shown(comparison)}",
            )
            comparison = "AND"
        criteria = []
        where = data.get("where") or []
        if not isinstance(where, list):
            self.problem(f"{path}.where", "shape", f"where is a list, got {_shown(where)}")
            where = []
        for index, entry in enumerate(where):
            found = self.criterion(entry, f"{path}.where[{index}]")
            if found is not None:
                criteria.append(found)
        nested = data.get("listFilters") or []
        filters = []
        if not isinstance(nested, list):
            self.problem(
                f"{path}.listFilters", "shape", f"listFilters is a list, got {_shown(nested)}"
            )
            nested = []
        elif nested and depth >= 16:
            self.problem(f"{path}.listFilters", "shape", "list filters nest deeper than 16 levels")
            nested = []
        for index, entry in enumerate(nested):
            here = f"{path}.listFilters[{index}]"
            if not isinstance(entry, dict):
                self.problem(here, "shape", f"a list filter is an object, got {_shown(entry)}")
                continue
            filters.append(self.filter(entry, here, depth + 1))
        return Filter(Comparison(comparison), tuple(criteria), tuple(filters))

    def criterion(self, entry: Any, path: str) -> Criterion | None:
        if not isinstance(entry, dict):
            self.problem(path, "shape", f"a criterion is an object, got {_shown(entry)}")
            return None
        column = entry.get("columnName")
        kind = self.column(column, f"{path}.columnName")
        raw_type = entry.get("criteriaType")
        try:
            criterion_type = CriterionType(
                raw_type.upper() if isinstance(raw_type, str) else raw_type
            )
        except ValueError:
            known = ", ".join(t.value for t in CriterionType)
            self.problem(
                f"{path}.criteriaType",
                "criteriaType",
                f"unknown criteriaType {_shown(raw_type)} (one of {known})",
            )
            return None
        if kind is None:
            return None
        assert isinstance(column, str)  # a known column
        raw = entry.get("contentValue")
        if raw is None:
            raw = entry.get("value")  # the deprecated spelling, still sent
        if criterion_type is CriterionType.IS_EMPTY:
            if raw in (None, "") or (isinstance(raw, str) and raw.lower() == "true"):
                return Criterion(column, criterion_type, True)
            if isinstance(raw, str) and raw.lower() == "false":
                return Criterion(column, criterion_type, False)
            self.problem(
                f"{path}.contentValue",
                "contentValue",
                f"IS_EMPTY takes 'true' or 'false', got {_shown(raw)}",
            )
            return None
        if criterion_type in _TEXT_ONLY and kind not in _TEXT:
            self.problem(
                f"{path}.criteriaType",
                "criteriaType",
                f"{criterion_type.value} needs a text column; {column!r} is {kind.value}",
            )
            return None
        if raw is None:
            self.problem(
                f"{path}.contentValue", "contentValue", f"{criterion_type.value} needs a value"
            )
            return None
        value = self.value(column, raw, f"{path}.contentValue")
        return None if value is None else Criterion(column, criterion_type, value)

    def order(self, data: dict[str, Any], path: str) -> tuple[OrderBy, ...]:
        found: list[OrderBy] = []
        entries = data.get("orderBy") or []
        if not isinstance(entries, list):
            self.problem(f"{path}.orderBy", "shape", f"orderBy is a list, got {_shown(entries)}")
            entries = []
        for index, entry in enumerate(entries):
            here = f"{path}.orderBy[{index}]"
            if not isinstance(entry, dict):
                self.problem(here, "shape", f"an order is an object, got {_shown(entry)}")
                continue
            order = self.one_order(
                entry.get("columnName"), entry.get("direction"), here, "direction"
            )
            if order is not None:
                found.append(order)
        legacy = data.get("orderByPropertyDeveloperName")
        if legacy:
            order = self.one_order(
                legacy, data.get("orderByDirectionType"), path, "orderByDirectionType"
            )
            if order is not None and all(o.column != order.column for o in found):
                found.append(order)
        return tuple(found)

    def one_order(self, column: Any, direction: Any, path: str, key: str) -> OrderBy | None:
        name_key = "columnName" if key == "direction" else "orderByPropertyDeveloperName"
        if self.column(column, f"{path}.{name_key}") is None:
            return None
        if direction in (None, ""):
            direction = "ASC"
        if not isinstance(direction, str) or direction.upper() not in ("ASC", "DESC"):
            self.problem(
                f"{path}.{key}", "shape", f"a direction is ASC or DESC, got {_shown(direction)}"
            )
            return None
        assert isinstance(column, str)
        return OrderBy(column, descending=direction.upper() == "DESC")
