"""Rows and Flow list filters for the query tests, and a plain reference of what they mean."""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from flowintegrations import PropertyType

COLUMNS = {
    "id": PropertyType.STRING,
    "name": PropertyType.STRING,
    "city": PropertyType.STRING,
    "age": PropertyType.NUMBER,
    "vip": PropertyType.BOOLEAN,
    "tier": PropertyType.ENUM,
}
TEXT = st.text(alphabet="aAbé É", max_size=3)
NUMBERS = st.one_of(st.integers(-3, 3), st.sampled_from([-1.5, 0.5, 2.5]))
TIERS = ("GOLD", "SILVER", "BRONZE")


@st.composite
def rows(draw: st.DrawFn, max_rows: int = 12) -> list[dict[str, Any]]:
    """Customer rows with ids in order; any value may be missing (None)."""
    count = draw(st.integers(0, max_rows))
    found = []
    for index in range(count):
        row = {
            "id": f"r{index:03d}",
            "name": draw(st.none() | TEXT),
            "city": draw(st.none() | st.sampled_from(["Cluj", "Iasi", "", "cluj"])),
            "age": draw(st.none() | NUMBERS),
            "vip": draw(st.none() | st.booleans()),
            "tier": draw(st.none() | st.sampled_from(TIERS)),
        }
        found.append({k: v for k, v in row.items() if v is not None})
    return found


def _text_of(kind: PropertyType, value: Any) -> str:
    if kind is PropertyType.BOOLEAN:
        return "true" if value else "false"
    return str(value)


@st.composite
def criteria(draw: st.DrawFn) -> dict[str, Any]:
    """One where entry, valid for its column."""
    column = draw(st.sampled_from(sorted(COLUMNS)))
    kind = COLUMNS[column]
    text = kind in (PropertyType.STRING, PropertyType.ENUM)
    types = ["EQUAL", "NOT_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN"]
    types += ["LESS_THAN_OR_EQUAL", "IS_EMPTY"]
    if text:
        types += ["CONTAINS", "STARTS_WITH", "ENDS_WITH"]
    criteria_type = draw(st.sampled_from(types))
    if criteria_type == "IS_EMPTY":
        value: Any = draw(st.sampled_from(["true", "false", None]))
    elif kind is PropertyType.NUMBER:
        value = _text_of(kind, draw(NUMBERS))
    elif kind is PropertyType.BOOLEAN:
        value = _text_of(kind, draw(st.booleans()))
    elif column == "tier":
        value = draw(st.sampled_from(TIERS))
    elif column == "id":
        value = draw(st.sampled_from(["r000", "r001", "r005", "r", "0"]))
    elif column == "city":
        value = draw(st.sampled_from(["Cluj", "Iasi", "", "cl", "j"]))
    else:
        value = draw(TEXT)
    return {"columnName": column, "criteriaType": criteria_type, "contentValue": value}


def _filters(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    nested = st.just([]) if depth == 0 else st.lists(_filters(depth - 1), max_size=2)
    return st.fixed_dictionaries(
        {
            "comparisonType": st.sampled_from(["AND", "OR"]),
            "where": st.lists(criteria(), max_size=3),
            "listFilters": nested,
        }
    )


ORDER = st.fixed_dictionaries(
    {"columnName": st.sampled_from(sorted(COLUMNS)), "direction": st.sampled_from(["ASC", "DESC"])}
)


@st.composite
def list_filters(draw: st.DrawFn) -> dict[str, Any]:
    """A Flow ListFilter over COLUMNS: criteria, nesting, order, page and search."""
    found = draw(_filters(2))
    found["orderBy"] = draw(st.lists(ORDER, max_size=2, unique_by=lambda o: o["columnName"]))
    if draw(st.booleans()):
        found["orderByPropertyDeveloperName"] = draw(st.sampled_from(sorted(COLUMNS)))
        found["orderByDirectionType"] = draw(st.sampled_from(["ASC", "DESC"]))
    found["limit"] = draw(st.integers(0, 6))
    found["offset"] = draw(st.integers(0, 6))
    found["search"] = draw(st.none() | TEXT)
    if draw(st.integers(0, 9)) == 0:
        found["id"] = draw(st.sampled_from(["r000", "r003", "nope"]))
    return found


# The reference: the table of flowintegrations.flow.query, written out plainly -----------------


def _typed(column: str, text: str) -> Any:
    kind = COLUMNS[column]
    if kind is PropertyType.NUMBER:
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if kind is PropertyType.BOOLEAN:
        return text == "true"
    return text


def _meets(row: dict[str, Any], entry: dict[str, Any]) -> bool:
    column, kind, raw = entry["columnName"], entry["criteriaType"], entry["contentValue"]
    value = row.get(column)
    if kind == "IS_EMPTY":
        empty = value is None or value == ""
        return empty if raw in (None, "", "true") else not empty
    wanted = _typed(column, raw)
    if kind == "NOT_EQUAL":
        return value is None or value != wanted
    if value is None:
        return False
    checks = {
        "EQUAL": lambda: value == wanted,
        "GREATER_THAN": lambda: value > wanted,
        "GREATER_THAN_OR_EQUAL": lambda: value >= wanted,
        "LESS_THAN": lambda: value < wanted,
        "LESS_THAN_OR_EQUAL": lambda: value <= wanted,
        "CONTAINS": lambda: wanted in value,
        "STARTS_WITH": lambda: value[: len(wanted)] == wanted,
        "ENDS_WITH": lambda: len(wanted) == 0 or value[-len(wanted) :] == wanted,
    }
    return bool(checks[kind]())


def _passes(row: dict[str, Any], found: dict[str, Any]) -> bool:
    results = [_meets(row, entry) for entry in found.get("where", [])]
    results += [
        _passes(row, nested)
        for nested in found.get("listFilters", [])
        if nested.get("where") or nested.get("listFilters")
    ]
    if not results:
        return True
    return all(results) if found.get("comparisonType", "AND") == "AND" else any(results)


def _lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _compare(orders: list[tuple[str, bool]], a: dict[str, Any], b: dict[str, Any]) -> int:
    for column, descending in orders:
        x, y = a.get(column), b.get(column)
        if x is None and y is None:
            continue
        if x is None or y is None:
            return 1 if x is None else -1  # empty last, whatever the direction
        if x != y:
            smaller = -1 if x < y else 1
            return -smaller if descending else smaller
    return 0


def reference(found: dict[str, Any], table: list[dict[str, Any]]) -> tuple[list[str], bool]:
    """The ids of the page ``found`` selects from ``table``, and whether there are more."""
    selected = [row for row in table if _passes(row, found)]
    if found.get("id"):
        selected = [row for row in selected if row["id"] == found["id"]]
    if found.get("search"):
        words = _lower(found["search"])
        texts = [c for c, k in COLUMNS.items() if k in (PropertyType.STRING, PropertyType.ENUM)]
        selected = [
            row for row in selected if any(c in row and words in _lower(row[c]) for c in texts)
        ]
    orders = [(o["columnName"], o["direction"] == "DESC") for o in found.get("orderBy", [])]
    legacy = found.get("orderByPropertyDeveloperName")
    if legacy and all(column != legacy for column, _ in orders):
        orders.append((legacy, found.get("orderByDirectionType") == "DESC"))
    selected.sort(key=functools.cmp_to_key(functools.partial(_compare, orders)))
    # With a list filter (this one), limit 0 or none is no limit (Java's DatabaseLoadService).
    limit = found.get("limit") or len(selected)
    offset = found.get("offset") or 0
    page = selected[offset : offset + limit]
    return [row["id"] for row in page], len(selected) > offset + limit
