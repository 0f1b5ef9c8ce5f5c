"""Query: a Flow list filter read against a type's columns, and what Query.apply means."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowintegrations.flow import (
    Comparison,
    Criterion,
    CriterionType,
    Filter,
    OrderBy,
    Page,
    Query,
    QueryError,
)
from flowintegrations.flow.query import SearchCriterion
from support.exact import exactly
from support.flowquery import COLUMNS, list_filters, reference, rows

ROWS = [
    {"id": "r000", "name": "Ana", "city": "Cluj", "age": 34, "vip": True, "tier": "GOLD"},
    {"id": "r001", "name": "Bogdan", "city": "Iasi", "age": 41, "vip": False},
    {"id": "r002", "name": "Carmen", "city": "", "age": 27.5},
    {"id": "r003", "name": "dana", "vip": True, "tier": "SILVER"},
]


def query(list_filter: Any) -> Query:
    """The query of ``list_filter`` over the test columns."""
    return Query.from_list_filter(
        list_filter, type_name="customer", columns=COLUMNS, id_property="id"
    )


def ids(page: Page) -> list[str]:
    """The ids of a page's rows."""
    return [row["id"] for row in page.objects]


def where(*criteria: tuple[str, str, Any], **fields: Any) -> dict[str, Any]:
    """A list filter of (column, criteriaType, contentValue) criteria."""
    entries = [{"columnName": c, "criteriaType": t, "contentValue": v} for c, t, v in criteria]
    return {"where": entries, **fields}


def test_no_list_filter_is_the_first_page_of_everything() -> None:
    """None reads as no criteria, no order, limit 20, offset 0."""
    found = query(None)
    assert (found.where, found.order_by, found.limit, found.offset, found.id) == (
        Filter(),
        (),
        20,
        0,
        None,
    )


@pytest.mark.parametrize("list_filter", [{}, {"limit": 0}, {"limit": None}, {"where": None}])
def test_a_list_filter_without_a_limit_has_no_limit(list_filter: dict[str, Any]) -> None:
    """A limit of 0 or none in a list filter is no limit (as Java's DatabaseLoadService)."""
    many = [{"id": f"r{n:03d}", "name": "x"} for n in range(45)]
    found = query(list_filter)
    assert (found.limit, found.fetch_limit, found.apply(many)) == (None, None, Page(many))


def test_a_limit_is_fetched_one_past_to_know_about_more() -> None:
    """fetch_limit is limit + 1, for a SQL adapter's LIMIT."""
    assert (query({"limit": 5}).limit, query({"limit": 5}).fetch_limit) == (5, 6)


def test_a_where_entry_with_only_the_deprecated_value_is_read() -> None:
    """`value` stands in for `contentValue` (still sent by the engine beside it)."""
    found = query({"where": [{"columnName": "age", "criteriaType": "EQUAL", "value": "41"}]})
    assert found.where == Filter(criteria=(Criterion("age", CriterionType.EQUAL, 41),))


def test_content_value_wins_over_value() -> None:
    """When both are sent, contentValue is the value."""
    entry = {"columnName": "name", "criteriaType": "EQUAL", "value": "a", "contentValue": "b"}
    assert query({"where": [entry]}).where.criteria[0].value == "b"


def test_enum_words_ignore_case() -> None:
    """criteriaType, comparisonType and direction match in any case, as Java's forValue."""
    found = query(
        {
            "comparisonType": "or",
            "where": [{"columnName": "age", "criteriaType": "greater_than", "contentValue": "40"}],
            "orderBy": [{"columnName": "name", "direction": "desc"}],
            "orderByPropertyDeveloperName": "age",
            "orderByDirectionType": "Asc",
        }
    )
    assert (found.where, found.order_by) == (
        Filter(Comparison.OR, (Criterion("age", CriterionType.GREATER_THAN, 40),)),
        (OrderBy("name", descending=True), OrderBy("age")),
    )


def test_search_criteria_offset_token_and_provided_objects_reach_the_query() -> None:
    """The searchCriteria (columns checked), offsetToken and filterByProvidedObjects are kept."""
    found = query(
        {
            "searchCriteria": [{"columnName": "name", "query": "an"}],
            "offsetToken": "page-2",
            "filterByProvidedObjects": True,
        }
    )
    assert (found.search_criteria, found.offset_token, found.filter_by_provided_objects) == (
        (SearchCriterion("name", "an"),),
        "page-2",
        True,
    )


def test_bad_search_criteria_and_tokens_are_refused() -> None:
    """An unknown searchCriteria column and a non-text token are QueryErrors with paths."""
    with pytest.raises(QueryError) as raised:
        query(
            {
                "searchCriteria": [{"columnName": "salary", "query": "1"}],
                "offsetToken": 7,
                "filterByProvidedObjects": "yes",
            }
        )
    assert [(v.path, v.rule) for v in raised.value.violations] == [
        ("$.listFilter.offsetToken", "shape"),
        ("$.listFilter.filterByProvidedObjects", "shape"),
        ("$.listFilter.searchCriteria[0].columnName", "column"),
    ]


def test_values_are_converted_to_the_column_type() -> None:
    """Text "41" on a NUMBER is 41, "true" on a BOOLEAN is True, text stays text."""
    found = query(where(("age", "EQUAL", "41"), ("vip", "EQUAL", "true"), ("name", "EQUAL", "7")))
    assert found.where.criteria == (
        Criterion("age", CriterionType.EQUAL, 41),
        Criterion("vip", CriterionType.EQUAL, True),
        Criterion("name", CriterionType.EQUAL, "7"),
    )


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        (("city", "EQUAL", "Cluj"), ["r000"]),
        (("city", "NOT_EQUAL", "Cluj"), ["r001", "r002", "r003"]),
        (("age", "GREATER_THAN", "34"), ["r001"]),
        (("age", "GREATER_THAN_OR_EQUAL", "34"), ["r000", "r001"]),
        (("age", "LESS_THAN", "34"), ["r002"]),
        (("age", "LESS_THAN_OR_EQUAL", "34"), ["r000", "r002"]),
        (("name", "CONTAINS", "an"), ["r001", "r003"]),  # case-sensitive: not "Ana"
        (("name", "STARTS_WITH", "Ca"), ["r002"]),
        (("name", "ENDS_WITH", "a"), ["r000", "r003"]),
        (("city", "IS_EMPTY", "true"), ["r002", "r003"]),
        (("city", "IS_EMPTY", "false"), ["r000", "r001"]),
        (("tier", "IS_EMPTY", None), ["r001", "r002"]),
        (("vip", "EQUAL", "false"), ["r001"]),
    ],
)
def test_each_criteria_type_selects_as_documented(
    criterion: tuple[str, str, Any], expected: list[str]
) -> None:
    """Every criteriaType over the sample rows selects the documented ids."""
    assert ids(query(where(criterion)).apply(ROWS)) == expected


def test_or_selects_rows_meeting_any_criterion() -> None:
    """ComparisonType OR: either criterion is enough."""
    found = query(
        where(("city", "EQUAL", "Iasi"), ("tier", "EQUAL", "SILVER"), comparisonType="OR")
    )
    assert ids(found.apply(ROWS)) == ["r001", "r003"]


def test_nested_filters_combine_with_the_outer_comparison() -> None:
    """Vip AND (city = Cluj OR tier = SILVER)."""
    nested = where(("city", "EQUAL", "Cluj"), ("tier", "EQUAL", "SILVER"), comparisonType="OR")
    found = query(where(("vip", "EQUAL", "true"), listFilters=[nested]))
    assert found.where == Filter(
        Comparison.AND,
        (Criterion("vip", CriterionType.EQUAL, True),),
        (
            Filter(
                Comparison.OR,
                (
                    Criterion("city", CriterionType.EQUAL, "Cluj"),
                    Criterion("tier", CriterionType.EQUAL, "SILVER"),
                ),
            ),
        ),
    )
    assert ids(found.apply(ROWS)) == ["r000", "r003"]


def test_order_by_the_legacy_spelling() -> None:
    """OrderByPropertyDeveloperName + orderByDirectionType DESC; empty values last."""
    found = query({"orderByPropertyDeveloperName": "age", "orderByDirectionType": "DESC"})
    assert found.order_by == (OrderBy("age", descending=True),)
    assert ids(found.apply(ROWS)) == ["r001", "r000", "r002", "r003"]


def test_order_by_the_list_spelling() -> None:
    """orderBy: [{columnName, direction}], several keys, empty values last."""
    found = query(
        {
            "orderBy": [
                {"columnName": "vip", "direction": "ASC"},
                {"columnName": "age", "direction": "DESC"},
            ]
        }
    )
    assert ids(found.apply(ROWS)) == ["r001", "r000", "r003", "r002"]


def test_paging_says_whether_there_are_more() -> None:
    """Limit 2 offset 1 of 4 rows: rows 2 and 3, and more to come."""
    assert query({"limit": 2, "offset": 1}).apply(ROWS) == Page(ROWS[1:3], more=True)


def test_the_last_page_has_no_more() -> None:
    """Limit 2 offset 2 of 4 rows: the last two, no more."""
    assert query({"limit": 2, "offset": 2}).apply(ROWS) == Page(ROWS[2:4], more=False)


def test_an_id_selects_one_row() -> None:
    """listFilter.id selects the row whose id property has that value."""
    assert ids(query({"id": "r002"}).apply(ROWS)) == ["r002"]


def test_search_ignores_ascii_case_in_text_columns() -> None:
    """Search "DAN" finds 'dana' and 'Bogdan'."""
    assert ids(query({"search": "DAN"}).apply(ROWS)) == ["r001", "r003"]


def test_an_unknown_column_is_refused() -> None:
    """A criterion on a column the type does not have is a QueryError naming it."""
    with pytest.raises(
        QueryError,
        match=exactly(
            "1 problem(s) in the list filter: $.listFilter.where[0].columnName: no column "
            "'password' in this type (columns: id, name, city, age, vip, tier)"
        ),
    ):
        query(where(("password", "EQUAL", "x")))


def test_sql_in_a_column_name_is_just_an_unknown_column() -> None:
    """A column name carrying SQL is refused like any other unknown column."""
    with pytest.raises(QueryError) as caught:
        query({"orderBy": [{"columnName": "name; DROP TABLE customer", "direction": "ASC"}]})
    assert [v.path for v in caught.value.violations] == ["$.listFilter.orderBy[0].columnName"]


def test_a_value_of_the_wrong_type_is_refused() -> None:
    """Text "abc" on a NUMBER column and "yes" on a BOOLEAN are both reported."""
    with pytest.raises(QueryError) as caught:
        query(where(("age", "GREATER_THAN", "abc"), ("vip", "EQUAL", "yes")))
    assert [(v.path, v.message) for v in caught.value.violations] == [
        ("$.listFilter.where[0].contentValue", "column 'age' is a number, got 'abc'"),
        (
            "$.listFilter.where[1].contentValue",
            "column 'vip' is a boolean: 'true' or 'false', got 'yes'",
        ),
    ]


def test_a_text_criterion_on_a_number_is_refused() -> None:
    """CONTAINS on a NUMBER column is a QueryError."""
    with pytest.raises(QueryError, match="CONTAINS needs a text column; 'age' is NUMBER"):
        query(where(("age", "CONTAINS", "3")))


def test_an_unknown_criteria_type_is_refused() -> None:
    """A criteriaType Flow does not have is a QueryError."""
    with pytest.raises(QueryError, match=r"unknown criteriaType 'LIKE' \(one of EQUAL, "):
        query(where(("name", "LIKE", "%")))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"limit": -1}, "$.listFilter.limit: limit must be between 0 and 1000, got -1"),
        ({"limit": 10**12}, f"$.listFilter.limit: limit must be between 0 and 1000, got {10**12}"),
        ({"offset": -5}, "$.listFilter.offset: offset must be between 0 and 1000000000, got -5"),
        ({"limit": "many"}, "$.listFilter.limit: limit is a whole number, got 'many'"),
        ({"limit": 2.5}, "$.listFilter.limit: limit is a whole number, got 2.5"),
    ],
)
def test_absurd_pages_are_refused(fields: dict[str, Any], message: str) -> None:
    """Negative or huge limits and offsets, and non-numbers, are QueryErrors."""
    with pytest.raises(QueryError, match=exactly(f"1 problem(s) in the list filter: {message}")):
        query(fields)


def test_every_problem_is_reported_at_once() -> None:
    """Three bad entries give three violations."""
    with pytest.raises(QueryError) as caught:
        query({**where(("nope", "EQUAL", "1"), ("age", "EQUAL", "x")), "offset": -1})
    assert len(caught.value.violations) == 3


@settings(max_examples=300, deadline=None)
@given(rows(), list_filters())
def test_apply_agrees_with_the_reference(
    table: list[dict[str, Any]], found: dict[str, Any]
) -> None:
    """For random rows and list filters, apply selects the page the plain reference does."""
    page = query(found).apply(table)
    assert (ids(page), page.more) == reference(found, table)


@given(st.lists(st.integers(0, 30), max_size=30))
def test_paging_through_everything_sees_each_row_once(values: list[int]) -> None:
    """Pages of 4, followed while hasMoreResults, give back every row in order."""
    table = [{"id": f"r{i:03d}", "age": v} for i, v in enumerate(values)]
    seen: list[str] = []
    offset, more = 0, True
    while more:
        page = query({"limit": 4, "offset": offset, "orderBy": [{"columnName": "age"}]}).apply(
            table
        )
        seen += ids(page)
        offset, more = offset + 4, page.more
    assert seen == [row["id"] for row in sorted(table, key=lambda r: r["age"])]
