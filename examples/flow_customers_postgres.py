"""A customer directory served to Boomi Flow from PostgreSQL: Load, Save and Delete.

Serve it with ``flowintegrations serve examples/flow_customers_postgres.py:service``. It
connects to ``$FLOW_CUSTOMERS_DSN`` (default: the local PostgreSQL, user ``postgres``,
database ``test``) and keeps its table in the schema ``$FLOW_CUSTOMERS_SCHEMA`` (default
``flow_customers``), creating both on first use.

It serves customer data, so Flow must authenticate: the basic-auth username and token come
from ``$FLOW_CUSTOMERS_USERNAME`` and ``$FLOW_CUSTOMERS_TOKEN`` (set both; never put the
token on a command line). With neither set the service has no credentials, and ``serve``
then refuses any host but loopback unless told ``--no-auth``.

The Load handler turns the typed :class:`~flowintegrations.flow.Query` into one
parameterised SELECT (:func:`select`) meaning exactly what ``query.apply(rows)`` means
(the tests hold it to that): column names come from the type's declared columns and are
quoted as identifiers, every value travels as a parameter, nothing from the request is
ever spliced into SQL text. Text columns use the "C" collation so that text compares and
sorts by code point, as in Python.
"""

from __future__ import annotations

import os
import string
import threading
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from flowintegrations import App, DataModel, Property, PropertyType, ValidationError
from flowintegrations.flow import (
    Comparison,
    Criterion,
    CriterionType,
    Filter,
    FlowObject,
    FlowService,
    Page,
    Query,
    QueryError,
)
from flowintegrations.validation import Violation

DSN = os.environ.get(
    "FLOW_CUSTOMERS_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"
)
SCHEMA = os.environ.get("FLOW_CUSTOMERS_SCHEMA", "flow_customers")
TABLE = "customer"

CUSTOMER = DataModel(
    (
        Property.string("id", description="The customer's id, assigned on create"),
        Property.string("name", mandatory=True),
        Property.string("email", mandatory=True),
        Property.string("city"),
        Property.number("age"),
        Property.boolean("vip"),
        Property.enum("tier", ("GOLD", "SILVER", "BRONZE")),
    ),
    additional_properties=False,
)

_SQL_TYPES = {
    PropertyType.STRING: sql.SQL('text COLLATE "C"'),
    PropertyType.ENUM: sql.SQL('text COLLATE "C"'),
    PropertyType.NUMBER: sql.SQL("double precision"),
    PropertyType.BOOLEAN: sql.SQL("boolean"),
}
_COMPARE = {
    CriterionType.EQUAL: "=",
    CriterionType.NOT_EQUAL: "IS DISTINCT FROM",
    CriterionType.GREATER_THAN: ">",
    CriterionType.GREATER_THAN_OR_EQUAL: ">=",
    CriterionType.LESS_THAN: "<",
    CriterionType.LESS_THAN_OR_EQUAL: "<=",
}
_TEXT = (PropertyType.STRING, PropertyType.ENUM)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class _Select:
    """Builds one SELECT for a query: SQL pieces with placeholders, and their parameters."""

    def __init__(self, query: Query) -> None:
        self.query = query
        self.params: list[Any] = []

    def column(self, name: str) -> sql.Identifier:
        if name not in self.query.columns:  # the query checked it; checked again here
            msg = f"column {name!r} is not one of the type's"
            raise ValueError(msg)
        return sql.Identifier(name)

    def value(self, value: Any) -> sql.Placeholder:
        if isinstance(value, str) and "\x00" in value:
            raise QueryError((Violation("$.listFilter", "contentValue", "text holds a NUL"),))
        self.params.append(value)
        return sql.Placeholder()

    def criterion(self, criterion: Criterion) -> sql.Composable:
        column = self.column(criterion.column)
        kind = criterion.type
        if kind is CriterionType.IS_EMPTY:
            text = self.query.columns[criterion.column] in _TEXT
            if criterion.value:
                form = "({c} IS NULL OR {c} = '')" if text else "{c} IS NULL"
            else:
                form = "({c} IS NOT NULL AND {c} <> '')" if text else "{c} IS NOT NULL"
            return sql.SQL(form).format(c=column)
        if kind in _COMPARE:
            return sql.SQL("{} " + _COMPARE[kind] + " {}").format(
                column, self.value(criterion.value)
            )
        if kind is CriterionType.CONTAINS:
            return sql.SQL("strpos({}, {}) > 0").format(column, self.value(criterion.value))
        if kind is CriterionType.STARTS_WITH:
            return sql.SQL("starts_with({}, {})").format(column, self.value(criterion.value))
        return sql.SQL("right({}, char_length({})) = {}").format(
            column, self.value(criterion.value), self.value(criterion.value)
        )

    def filter(self, where: Filter) -> sql.Composable:
        parts = [self.criterion(c) for c in where.criteria]
        parts += [sql.SQL("({})").format(self.filter(f)) for f in where.filters if not f.empty]
        if not parts:
            return sql.SQL("TRUE")
        joiner = " AND " if where.comparison is Comparison.AND else " OR "
        return sql.SQL(joiner).join(parts)

    def build(self, table: sql.Composable, id_column: str) -> sql.Composed:
        query = self.query
        conditions = [sql.SQL("({})").format(self.filter(query.where))]
        if query.id is not None:
            conditions.append(
                sql.SQL("{} = {}").format(self.column(id_column), self.value(query.id))
            )
        if query.search:
            words = query.search.translate(_ASCII_LOWER)
            matches = [
                sql.SQL("strpos(lower({}), {}) > 0").format(self.column(c), self.value(words))
                for c in query.text_columns
            ]
            conditions.append(
                sql.SQL("({})").format(sql.SQL(" OR ").join(matches or [sql.SQL("FALSE")]))
            )
        order = [
            sql.SQL("{} {} NULLS LAST").format(
                self.column(o.column), sql.SQL("DESC" if o.descending else "ASC")
            )
            for o in query.order_by
        ]
        order.append(sql.SQL("{} ASC").format(self.column(id_column)))
        limit, offset = self.value(query.fetch_limit), self.value(query.offset)
        return sql.SQL("SELECT * FROM {} WHERE {} ORDER BY {} LIMIT {} OFFSET {}").format(
            table, sql.SQL(" AND ").join(conditions), sql.SQL(", ").join(order), limit, offset
        )


def select(
    query: Query, table: sql.Composable, id_column: str = "id"
) -> tuple[sql.Composed, list[Any]]:
    """The parameterised SELECT of ``query`` (one row past the page: are there more?)."""
    builder = _Select(query)
    statement = builder.build(table, id_column)
    return statement, builder.params


def _row(record: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in record.items() if v is not None}
    age = row.get("age")
    if isinstance(age, float) and age.is_integer():
        row["age"] = int(age)
    return row


class CustomerDirectory:
    """The customers table: created on first use, reached through one connection."""

    def __init__(self, dsn: str = DSN, schema: str = SCHEMA) -> None:
        self.dsn = dsn
        self.schema = schema
        self.table = sql.Identifier(schema, TABLE)
        self._connection: psycopg.Connection[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def connection(self) -> psycopg.Connection[dict[str, Any]]:
        """The connection (autocommit), opened and the table created on first use."""
        with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row)
                self._create(self._connection)
            return self._connection

    def _create(self, connection: psycopg.Connection[dict[str, Any]]) -> None:
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(p.name), _SQL_TYPES[p.type])
            for p in CUSTOMER.properties
        ]
        with connection.transaction():
            connection.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            connection.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY (id))").format(
                    self.table, sql.SQL(", ").join(columns)
                )
            )

    def insert(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add ``rows`` as they are (ids included)."""
        names = [p.name for p in CUSTOMER.properties]
        statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            self.table,
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
        )
        connection = self.connection()
        with connection.transaction(), connection.cursor() as cursor:
            cursor.executemany(statement, [[row.get(n) for n in names] for row in rows])

    def rows(self) -> list[dict[str, Any]]:
        """Every customer, by id."""
        statement = sql.SQL("SELECT * FROM {} ORDER BY id").format(self.table)
        return [_row(r) for r in self.connection().execute(statement).fetchall()]

    def load(self, query: Query) -> Page:
        """The page of customers ``query`` asks for."""
        statement, params = select(query, self.table)
        records = self.connection().execute(statement, params).fetchall()
        rows = [_row(r) for r in records]
        more = query.limit is not None and len(rows) > query.limit
        return Page(rows[: query.limit], more=more)

    def save(self, objects: Sequence[FlowObject]) -> list[dict[str, Any]]:
        """Create (a new id) or update each customer, in one transaction; the saved rows."""
        names = [p.name for p in CUSTOMER.properties]
        problems = [
            Violation(f"$.objectData[{i}].properties.{k}", "contentValue", "text holds a NUL")
            for i, obj in enumerate(objects)
            for k, v in obj.payload.items()
            if isinstance(v, str) and "\x00" in v
        ]
        if problems:
            raise ValidationError(problems, subject="objects")
        statement = sql.SQL(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {} RETURNING *"
        ).format(
            self.table,
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
            sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(n), sql.Identifier(n))
                for n in names
                if n != "id"
            ),
        )
        saved = []
        connection = self.connection()
        with connection.transaction():
            for obj in objects:
                row = dict(obj.payload)
                if obj.external_id is None:
                    row["id"] = uuid.uuid4().hex
                record = connection.execute(statement, [row.get(n) for n in names]).fetchone()
                assert record is not None
                saved.append(_row(record))
        return saved

    def delete(self, objects: Sequence[FlowObject]) -> None:
        """Remove the customers (by id; gone already is fine)."""
        ids = [str(obj.payload["id"]) for obj in objects if obj.payload.get("id") is not None]
        statement = sql.SQL("DELETE FROM {} WHERE id = ANY({})").format(
            self.table, sql.Placeholder()
        )
        self.connection().execute(statement, [ids])

    def drop(self) -> None:
        """Drop the schema and everything in it, and close the connection."""
        self.connection().execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
        )
        self.close()

    def close(self) -> None:
        """Close the connection (the next use opens another)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def build(
    directory: CustomerDirectory, *, username: str | None = None, token: str | None = None
) -> FlowService:
    """The Flow service of ``directory``: the ``customer`` type with Load, Save, Delete."""
    service = FlowService(App(), types={"customer": CUSTOMER}, username=username, token=token)
    service.load("customer")(directory.load)
    service.save("customer")(directory.save)
    service.delete("customer")(directory.delete)
    return service


directory = CustomerDirectory()
service = build(
    directory,
    username=os.environ.get("FLOW_CUSTOMERS_USERNAME") or None,
    token=os.environ.get("FLOW_CUSTOMERS_TOKEN") or None,
)
