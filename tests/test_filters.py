from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import lancedb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from filter_cases import (
    ALL_IDS,
    FILTER_CASES,
    FILTER_ROWS,
    FilterCase,
    filter_row_metadata_json,
)
from mem_integrations.core.errors import InvalidFilterError
from mem_integrations.core.filters import (
    SCOPE_FIELDS,
    And,
    Leaf,
    Not,
    Or,
    and_,
    eq,
    parse_filters,
    scope_values,
    sql_string,
    sql_timestamp,
    to_sql,
)

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("memory", pa.string()),
        ("hash", pa.string()),
        ("vector", pa.list_(pa.float32(), 4)),
        ("user_id", pa.string()),
        ("agent_id", pa.string()),
        ("run_id", pa.string()),
        ("app_id", pa.string()),
        ("actor_id", pa.string()),
        ("role", pa.string()),
        ("categories", pa.list_(pa.string())),
        ("metadata", pa.json_(pa.utf8())),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("updated_at", pa.timestamp("us", tz="UTC")),
        ("expires_at", pa.timestamp("us", tz="UTC")),
    ]
)

OK_CASES = [c for c in FILTER_CASES if not isinstance(c.expected, type)]
BAD_CASES = [c for c in FILTER_CASES if isinstance(c.expected, type)]


def _arrow_rows() -> pa.Table:
    rows = []
    for i, row in enumerate(FILTER_ROWS):
        vector = [0.0] * 4
        vector[i % 4] = 1.0
        rows.append(
            {**row, "hash": f"h{i}", "vector": vector, "metadata": filter_row_metadata_json(row)}
        )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _make_table(path: Path) -> Any:
    db = lancedb.connect(str(path))
    return db.create_table("memories", _arrow_rows())


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _make_table(tmp_path_factory.mktemp("filters"))


def _ids_scan(table: Any, sql: str | None) -> set[str]:
    query = table.search()
    if sql is not None:
        query = query.where(sql)
    return {r["id"] for r in query.select(["id"]).limit(1000).to_list()}


def _ids_vector(table: Any, sql: str | None) -> set[str]:
    query = table.search([1.0, 0.0, 0.0, 0.0])
    if sql is not None:
        query = query.where(sql, prefilter=True)
    return {r["id"] for r in query.limit(100).to_list()}


def _compile(filters: Any) -> str | None:
    return to_sql(parse_filters(filters))


def test_fixture_table_is_complete(table: Any) -> None:
    assert table.count_rows() == len(FILTER_ROWS) == len(ALL_IDS)
    assert len({c.name for c in FILTER_CASES}) == len(FILTER_CASES)


@pytest.mark.parametrize("case", OK_CASES, ids=lambda c: c.name)
def test_case_matches(table: Any, case: FilterCase) -> None:
    assert isinstance(case.expected, frozenset)
    sql = _compile(case.filters)
    assert sql is not None
    assert _ids_scan(table, sql) == case.expected, sql
    assert _ids_vector(table, sql) == case.expected, sql
    assert table.count_rows(sql) == len(case.expected), sql


@pytest.mark.parametrize("case", BAD_CASES, ids=lambda c: c.name)
def test_case_rejected(case: FilterCase) -> None:
    assert isinstance(case.expected, type)
    with pytest.raises(case.expected):
        _compile(case.filters)


_LITERAL = re.compile(r"'(?:[^']|'')*'")
_INJECTED_WORDS = ("OR 1=1", "DROP", "--", ";", "1'", "TABLE", "memories")


@pytest.mark.parametrize("case", [c for c in OK_CASES if c.injection], ids=lambda c: c.name)
def test_injection_text_only_inside_literals(case: FilterCase) -> None:
    sql = _compile(case.filters)
    assert sql is not None
    outside = _LITERAL.sub("''", sql)
    assert outside.count("'") % 2 == 0
    for word in _INJECTED_WORDS:
        assert word not in outside, (word, sql)


@pytest.mark.parametrize(
    "case", [c for c in OK_CASES if c.injection and not c.expected], ids=lambda c: c.name
)
def test_delete_with_injection_filter_deletes_nothing(tmp_path: Path, case: FilterCase) -> None:
    table = _make_table(tmp_path)
    sql = _compile(case.filters)
    table.delete(sql)
    assert table.count_rows() == len(FILTER_ROWS)
    assert _ids_scan(table, None) == ALL_IDS


def test_not_is_exact_complement_for_every_case(table: Any) -> None:
    for case in OK_CASES:
        assert isinstance(case.expected, frozenset)
        sql = _compile({"NOT": case.filters})
        assert _ids_scan(table, sql) == ALL_IDS - case.expected, (case.name, sql)


def test_or_and_of_cases(table: Any) -> None:
    simple = [c for c in OK_CASES if not c.injection][:40]
    for left, right in zip(simple, simple[1:], strict=False):
        assert isinstance(left.expected, frozenset) and isinstance(right.expected, frozenset)
        both = {"AND": [left.filters, right.filters]}
        either = {"OR": [left.filters, right.filters]}
        assert _ids_scan(table, _compile(both)) == left.expected & right.expected
        assert _ids_scan(table, _compile(either)) == left.expected | right.expected


# ---------------------------------------------------------------------------- limits


def _chain(depth: int, leaf: dict[str, Any]) -> dict[str, Any]:
    node = leaf
    for level in range(depth - 1):
        node = {("AND" if level % 2 else "OR"): [node, leaf]}
    return node


_HEAVY_LEAF = {"metadata": {"type": {"contains": "e"}}}


@pytest.mark.parametrize("leaf", [{"user_id": "alex"}, _HEAVY_LEAF, {"created_at": "2024-07-01"}])
def test_depth_32_compiles_and_runs(table: Any, leaf: dict[str, Any]) -> None:
    sql = _compile(_chain(32, leaf))
    single = _ids_scan(table, _compile(leaf))
    assert _ids_scan(table, sql) == single
    assert table.count_rows(sql) == len(single)
    negated = _compile({"NOT": _chain(31, leaf)})
    assert _ids_scan(table, negated) == ALL_IDS - single


def test_depth_32_with_branching_compiles(table: Any) -> None:
    def tree(depth: int, branch: int) -> dict[str, Any]:
        if depth == 1:
            return _HEAVY_LEAF
        op = "AND" if depth % 2 else "OR"
        if branch > 0:
            return {op: [tree(depth - 1, branch - 1), tree(depth - 1, branch - 1)]}
        return {op: [_HEAVY_LEAF, tree(depth - 1, 0)]}

    filters = tree(32, 4)
    sql = _compile({"NOT": tree(31, 4)})
    assert _ids_scan(table, sql) == ALL_IDS - _ids_scan(table, _compile(_HEAVY_LEAF))
    combined = to_sql(and_(eq("user_id", "alex"), parse_filters(filters)))
    assert _ids_scan(table, combined) == {"m01"}


def test_depth_33_rejected() -> None:
    with pytest.raises(InvalidFilterError, match="nested deeper"):
        parse_filters(_chain(33, {"user_id": "a"}))
    assert parse_filters(_chain(32, {"metadata": {"k": "v"}})) is not None
    node: dict[str, Any] = {"user_id": "a"}
    for _ in range(40):
        node = {"NOT": node}
    with pytest.raises(InvalidFilterError):
        parse_filters(node)


def test_1000_leaves_ok_1001_rejected(table: Any) -> None:
    leaves = [{"user_id": f"u{i}"} for i in range(999)] + [{"user_id": "bo"}]
    sql = _compile({"OR": leaves})
    assert _ids_scan(table, sql) == {"m03"}
    assert _ids_scan(table, _compile({"NOT": {"OR": leaves}})) == ALL_IDS - {"m03"}
    with pytest.raises(InvalidFilterError, match="1000"):
        parse_filters({"OR": [*leaves, {"user_id": "x"}]})
    with pytest.raises(InvalidFilterError, match="1000"):
        parse_filters({"created_at": {"gte": "2024-01-01"}, "OR": leaves})


def test_in_list_of_1000(table: Any) -> None:
    values = [f"v{i}' OR '1'='1" for i in range(999)] + ["bo"]
    assert _ids_scan(table, _compile({"user_id": {"in": values}})) == {"m03"}


# ---------------------------------------------------------------------------- API units


def test_none_and_empty() -> None:
    assert parse_filters(None) is None
    assert parse_filters({}) is None
    assert to_sql(None) is None
    with pytest.raises(InvalidFilterError):
        parse_filters(["user_id"])  # type: ignore[arg-type]


def test_tree_shape() -> None:
    node = parse_filters({"user_id": "a", "NOT": {"OR": [{"run_id": "r"}, {"app_id": "x"}]}})
    assert node == And(
        (
            Leaf("user_id", "eq", "a"),
            Not(Or((Leaf("run_id", "eq", "r"), Leaf("app_id", "eq", "x")))),
        )
    )
    assert parse_filters({"user_id": None}) == Leaf("user_id", "missing", None)
    assert parse_filters({"user_id": "*"}) == Leaf("user_id", "exists", None)
    assert parse_filters({"memory_id": "x"}) == Leaf("id", "eq", "x")
    assert parse_filters({"metadata": {"k": 1}}) == Leaf("metadata", "eq", 1.0, "k")


def test_error_messages_name_field_and_op() -> None:
    with pytest.raises(InvalidFilterError, match="user_id") as err:
        parse_filters({"user_id": {"gt": "a"}})
    assert "gt" in str(err.value)
    with pytest.raises(InvalidFilterError, match="bogus_field"):  # a metadata key (issue 16)
        parse_filters({"bogus_field": {"bogus_op": 1}})
    with pytest.raises(InvalidFilterError, match="metadata.priority"):
        parse_filters({"metadata": {"priority": {"gt": ["x"]}}})


def test_scope_values() -> None:
    node = parse_filters(
        {
            "AND": [
                {"user_id": "alex"},
                {"agent_id": {"in": ["a", "b"]}},
                {"OR": [{"run_id": "r1"}, {"app_id": "x"}]},
            ],
            "NOT": {"app_id": "y"},
            "actor_id": "alex",
        }
    )
    assert scope_values(node) == {"user_id": {"alex"}, "agent_id": {"a", "b"}}
    assert scope_values(None) == {}
    assert scope_values(parse_filters({"user_id": {"ne": "a"}})) == {}
    assert scope_values(parse_filters({"user_id": "*"})) == {}
    assert scope_values(parse_filters({"OR": [{"user_id": "a"}, {"user_id": "b"}]})) == {}
    assert scope_values(and_(eq("run_id", "r"), parse_filters({"user_id": "u"}))) == {
        "run_id": {"r"},
        "user_id": {"u"},
    }
    assert set(SCOPE_FIELDS) == {"user_id", "agent_id", "run_id", "app_id"}


def test_and_and_eq(table: Any) -> None:
    assert and_() is None
    assert and_(None, None) is None
    leaf = eq("user_id", "alex")
    assert and_(None, leaf) is leaf
    combined = and_(leaf, None, parse_filters({"run_id": "r1", "app_id": "app1"}))
    assert isinstance(combined, And) and len(combined.children) == 3
    assert _ids_scan(table, to_sql(combined)) == {"m01"}
    assert _ids_scan(table, to_sql(eq("user_id", "*"))) == set()
    assert _ids_scan(table, to_sql(eq("user_id", None))) == {"m04", "m10"}
    assert _ids_scan(table, to_sql(eq("memory_id", "m02"))) == {"m02"}
    for bad in (5, ["a"], {"x": 1}, "a\x00"):
        with pytest.raises(InvalidFilterError):
            eq("user_id", bad)
    with pytest.raises(InvalidFilterError):
        eq("nope", "x")


def test_sql_string() -> None:
    assert sql_string("abc") == "'abc'"
    assert sql_string("o'brien") == "'o''brien'"
    assert sql_string("'") == "''''"
    assert sql_string("\\") == "'\\'"
    assert sql_string("") == "''"
    for bad in ("a\x00", "\ud800"):
        with pytest.raises(InvalidFilterError):
            sql_string(bad)
    with pytest.raises(InvalidFilterError):
        sql_string(5)  # type: ignore[arg-type]


def test_sql_timestamp(table: Any) -> None:
    moment = datetime(2024, 7, 2, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    cast = "'Timestamp(Microsecond, Some(\"UTC\"))')"
    assert sql_timestamp(moment) == f"arrow_cast('2024-07-02 00:00:00.000000', {cast}"
    assert sql_timestamp(datetime(1, 2, 3, 4, 5, 6, 7)) == (
        f"arrow_cast('0001-02-03 04:05:06.000007', {cast}"
    )
    sql = f"created_at = {sql_timestamp(moment)}"
    assert _ids_scan(table, sql) == {"m03"}
    exact = f"created_at = {sql_timestamp(datetime(2024, 7, 1, 23, 59, 59, 999999))}"
    assert _ids_scan(table, exact) == {"m02"}


def test_date_edges_do_not_overflow(table: Any) -> None:
    assert _ids_scan(table, _compile({"created_at": {"lte": date.max}})) == ALL_IDS
    assert _ids_scan(table, _compile({"created_at": {"gt": "9999-12-31"}})) == set()
    assert _ids_scan(table, _compile({"created_at": {"gte": "0001-01-01"}})) == ALL_IDS
    assert _ids_scan(table, _compile({"created_at": {"gt": datetime.max}})) == set()
    aware = datetime(2024, 7, 1, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert _ids_scan(table, _compile({"created_at": {"gte": aware}})) == {
        "m06",
        "m07",
        "m08",
        "m09",
    }
    assert datetime.now(UTC) > datetime(2024, 1, 1, tzinfo=UTC)


def test_negated_leaves_are_two_valued(table: Any) -> None:
    # A NULL under NOT would drop rows where the field is missing; positive leaves may be NULL
    # (WHERE treats that as false, and bare leaves keep scalar indexes usable).
    for filters in (
        {"user_id": "alex"},
        {"metadata": {"type": "pref"}},
        {"categories": "travel"},
        {"expiration_date": {"gt": "2024-01-01"}},
        {"metadata": {"priority": {"gt": 1}}},
    ):
        sql = _compile({"NOT": filters})
        assert "coalesce" in sql
        rows = table.search().where("true").select({"v": sql}).limit(100).to_list()
        assert all(r["v"] is not None for r in rows), filters


def test_programmatic_tree_too_deep_for_sql_is_rejected() -> None:
    node: Any = eq("user_id", "a")
    for level in range(60):
        node = (And if level % 2 else Or)((eq("run_id", "r"), node))
    with pytest.raises(InvalidFilterError, match="too deeply"):
        to_sql(node)


_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=40)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_text)
def test_arbitrary_text_is_only_ever_a_literal(table: Any, value: str) -> None:
    assume(value != "*")  # the "field is present" wildcard, not a literal
    users = {r["id"] for r in FILTER_ROWS if r["user_id"] == value}
    assert _ids_scan(table, _compile({"user_id": value})) == users
    assert _ids_scan(table, _compile({"user_id": {"ne": value}})) == ALL_IDS - users
    hits = {r["id"] for r in FILTER_ROWS if value in r["memory"]}
    assert _ids_scan(table, _compile({"keywords": {"contains": value}})) == hits
    keyed = {
        r["id"]
        for r in FILTER_ROWS
        if value and r["metadata"] and r["metadata"].get(value) is not None
    }
    if value:
        assert _ids_scan(table, _compile({"metadata": {value: "*"}})) == keyed
