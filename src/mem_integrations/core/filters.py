r"""Mem0 v2 filter JSON -> validated tree -> LanceDB (DataFusion) SQL where-clause.

Filters come from callers (and LLM tool calls), so they are untrusted: every field, operator and
value is validated into a small tree first, and only the tree is turned into SQL. No input text
reaches SQL except as a quoted literal built by :func:`sql_string` (single quotes doubled, NUL
rejected); numbers are re-formatted from real ``int``/``float`` values; LIKE patterns escape
``\``, ``%`` and ``_`` and declare ``ESCAPE '\'``.

Missing-field semantics. NOTs are pushed down to the leaves and every negated leaf is made
two-valued (``NOT coalesce(..., false)``); what remains is monotone AND/OR, where WHERE's
"NULL is false" is exact. So boolean algebra holds exactly, and positive leaves stay bare so
LanceDB can use scalar indexes on them:

* ``eq``/``in``/``gt``/``contains``/... never match a row where the field (column, JSON key,
  or the whole metadata) is missing or null, nor a metadata value of another JSON type.
* ``ne``/``nin`` match exactly the rows the matching ``eq``/``in`` does not, so "not x"
  includes "has no value at all".
* ``NOT f`` matches exactly the rows ``f`` does not match. ``{"NOT": [f, g]}`` means neither.
* ``{"field": "*"}`` means present: not null; for ``categories`` non-empty; for a metadata key
  present with a non-null value. ``{"field": None}`` is its complement.

Dates: a bare date ``d`` is midnight UTC of ``d``, except ``eq`` (the whole day), ``lte``
(up to the end of ``d``) and ``gt`` (from the next day on). Naive datetimes are UTC.

SQL shape: DataFusion's parser has a recursion limit (~50 frames) and backtracks badly on
``(NOT (NOT ...))``, so NOTs are pushed down to the leaves (De Morgan), same-operator groups
are flattened and the deepest child is written first.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeAlias

from mem_integrations.core.errors import InvalidFilterError

__all__ = [
    "SCOPE_FIELDS",
    "And",
    "Leaf",
    "Node",
    "Not",
    "Or",
    "and_",
    "eq",
    "parse_filters",
    "scope_values",
    "sql_string",
    "sql_timestamp",
    "to_sql",
]

SCOPE_FIELDS = ("user_id", "agent_id", "run_id", "app_id")
MAX_DEPTH = 32
MAX_LEAVES = 1000
MAX_LIST = 1000
MAX_METADATA_KEY = 128
# Worst-case parser nesting we emit; measured limit is ~43 for simple leaves.
_MAX_SQL_COST = 40

_STRING_FIELDS = frozenset((*SCOPE_FIELDS, "actor_id", "role"))
_TIME_COLUMNS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "expiration_date": "expires_at",
    "expires_at": "expires_at",
}
_ALIASES = {"memory_id": "id"}
_OPS: dict[str, frozenset[str]] = {
    "string": frozenset({"eq", "ne", "in", "nin", "contains", "icontains", "exists", "missing"}),
    "id": frozenset({"eq", "ne", "in", "nin"}),
    "time": frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "exists", "missing"}),
    "categories": frozenset({"eq", "ne", "in", "nin", "contains", "exists", "missing"}),
    "keywords": frozenset({"contains", "icontains"}),
    "metadata": frozenset(
        {
            "eq",
            "ne",
            "gt",
            "gte",
            "lt",
            "lte",
            "in",
            "nin",
            "contains",
            "icontains",
            "exists",
            "missing",
        }
    ),
}
_USER_OPS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains"})
# Negative operators compile as NOT of their positive twin, which gives the missing-field rules.
_NEGATIVE = {"ne": "eq", "nin": "in", "missing": "exists"}
_CMP = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Leaf:
    """One comparison; ``key`` is the metadata key when ``field == "metadata"``."""

    field: str
    op: str
    value: Any
    key: str | None = None


@dataclass(frozen=True)
class And:
    """All children match."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one child matches."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """Exactly the rows the child does not match."""

    child: Node


Node: TypeAlias = And | Or | Not | Leaf


@dataclass
class _Budget:
    leaves: int = 0


def _fail(msg: str) -> InvalidFilterError:
    return InvalidFilterError(f"invalid filter: {msg}")


def sql_string(value: str) -> str:
    """Quote ``value`` as a SQL string literal; the only way text enters generated SQL."""
    if not isinstance(value, str):
        raise _fail(f"expected a string, got {type(value).__name__}")
    if "\x00" in value:
        raise _fail("strings may not contain NUL bytes")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates would fail later inside LanceDB
        raise _fail("strings must be valid Unicode") from exc
    return "'" + value.replace("'", "''") + "'"


def sql_timestamp(value: datetime) -> str:
    """Render a UTC microsecond timestamp literal (naive means UTC) for tz=UTC columns.

    A plain ``timestamp '...'`` literal is planned as nanoseconds and fails outside
    1677..2262, so the text is cast straight to the column's type instead.
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )
    return f"arrow_cast('{text}', 'Timestamp(Microsecond, Some(\"UTC\"))')"


def _sql_number(value: float) -> str:
    return repr(float(value))


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sql_string(f"%{escaped}%")


def parse_filters(filters: Mapping[str, Any] | None) -> Node | None:
    """Validate a Mem0 v2 filter into a tree; ``None`` or ``{}`` means no filter."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise _fail(f"filters must be a mapping, got {type(filters).__name__}")
    if not filters:
        return None
    return _parse_obj(filters, 1, _Budget())


def _parse_obj(obj: Any, depth: int, budget: _Budget) -> Node:
    if depth > MAX_DEPTH:
        raise _fail(f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(obj, Mapping) or not obj:
        raise _fail(f"each condition must be a non-empty mapping, got {obj!r:.80}")
    nodes: list[Node] = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise _fail(f"field names must be strings, got {key!r:.80}")
        if key in ("AND", "and", "OR", "or"):
            items = _items(key, value, allow_single=False)
            children = tuple(_parse_obj(item, depth + 1, budget) for item in items)
            nodes.append(And(children) if key.upper() == "AND" else Or(children))
        elif key in ("NOT", "not"):
            items = _items(key, value, allow_single=True)
            children = tuple(_parse_obj(item, depth + 1, budget) for item in items)
            nodes.append(Not(children[0] if len(children) == 1 else Or(children)))
        else:
            nodes.append(_parse_field(key, value, depth, budget))
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _items(key: str, value: Any, *, allow_single: bool) -> Sequence[Any]:
    if allow_single and isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list | tuple) or not value:
        raise _fail(f"{key} needs a non-empty list of conditions")
    if len(value) > MAX_LEAVES:
        raise _fail(f"{key} has more than {MAX_LEAVES} conditions")
    return value


def _kind(name: str) -> str:
    if name in _STRING_FIELDS:
        return "string"
    if name in _TIME_COLUMNS:
        return "time"
    if name in ("id", "categories", "keywords", "metadata"):
        return name
    raise _fail(f"unknown field {name!r:.80}")


def _parse_field(name: str, spec: Any, depth: int, budget: _Budget) -> Node:
    name = _ALIASES.get(name, name)
    kind = _kind(name)
    if kind == "metadata":
        if not isinstance(spec, Mapping) or not spec:
            raise _fail("metadata needs a non-empty mapping of key -> condition")
        parts = [_parse_conditions(name, k, v, budget) for k, v in spec.items()]
        return parts[0] if len(parts) == 1 else And(tuple(parts))
    return _parse_conditions(name, None, spec, budget)


def _parse_conditions(name: str, key: Any, spec: Any, budget: _Budget) -> Node:
    label = name
    if name == "metadata":
        key = _check_key(key)
        label = f"metadata.{key}"
    if isinstance(spec, Mapping):
        if not spec:
            raise _fail(f"{label}: empty operator mapping")
        leaves: list[Node] = []
        for op, value in spec.items():
            if not isinstance(op, str) or op not in _USER_OPS:
                raise _fail(f"{label}: unknown operator {op!r:.80}")
            leaves.append(_leaf(name, op, value, key, budget))
        return leaves[0] if len(leaves) == 1 else And(tuple(leaves))
    if spec is None:
        return _leaf(name, "missing", None, key, budget)
    if isinstance(spec, str) and spec == "*":
        return _leaf(name, "exists", None, key, budget)
    if name == "keywords":
        return _leaf(name, "icontains", spec, key, budget)
    return _leaf(name, "eq", spec, key, budget)


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise _fail(f"metadata keys must be non-empty strings, got {key!r:.80}")
    if len(key) > MAX_METADATA_KEY:
        raise _fail(f"metadata key longer than {MAX_METADATA_KEY} characters")
    sql_string(key)  # NUL / invalid Unicode
    return key


def eq(field: str, value: Any) -> Node:
    """Build a validated equality leaf (``"*"`` is literal here; ``None`` means missing)."""
    name = _ALIASES.get(field, field)
    if _kind(name) == "metadata":
        raise _fail("use parse_filters for metadata conditions")
    return _leaf(name, "eq", value, None, _Budget())


def _leaf(name: str, op: str, value: Any, key: str | None, budget: _Budget) -> Leaf:
    budget.leaves += 1
    if budget.leaves > MAX_LEAVES:
        raise _fail(f"more than {MAX_LEAVES} conditions")
    kind = _kind(name)
    label = f"metadata.{key}" if key is not None else name
    if value is None and op in ("eq", "ne"):
        op = "missing" if op == "eq" else "exists"
    if op not in _OPS[kind]:
        raise _fail(f"operator {op!r} is not supported on {label}")
    if op in ("exists", "missing"):
        return Leaf(name, op, None, key)
    where = f"{label} {op}"
    if kind in ("string", "id", "keywords"):
        if op in ("in", "nin"):
            return Leaf(name, op, _str_list(where, value), key)
        return Leaf(name, op, _str(where, value), key)
    if kind == "time":
        return Leaf(name, op, _time(where, value), key)
    if kind == "categories":
        if op in ("in", "nin") or (op in ("eq", "ne", "contains") and not isinstance(value, str)):
            return Leaf(name, op, _str_list(where, value), key)
        return Leaf(name, op, _str(where, value), key)
    return Leaf(name, op, _meta_value(where, op, value), key)


def _str(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(f"{where} needs a string, got {type(value).__name__}")
    sql_string(value)
    return value


def _str_list(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise _fail(f"{where} needs a non-empty list of strings")
    if len(value) > MAX_LIST:
        raise _fail(f"{where} has more than {MAX_LIST} values")
    return tuple(_str(where, v) for v in value)


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{where} needs a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError as exc:
        raise _fail(f"{where}: number out of range") from exc
    if not math.isfinite(number):
        raise _fail(f"{where}: number must be finite")
    return number


def _time(where: str, value: Any) -> datetime | date:
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_ONLY.match(text):
                return date.fromisoformat(text)
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise _fail(f"{where}: unparseable date/time {value!r:.80}") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise _fail(f"{where}: date/time out of range") from exc
    if isinstance(value, date):
        return value
    raise _fail(f"{where} needs a datetime, date or ISO-8601 string, got {type(value).__name__}")


def _meta_value(where: str, op: str, value: Any) -> Any:
    if op in ("contains", "icontains"):
        return _str(where, value)
    if op in ("in", "nin"):
        if not isinstance(value, list | tuple) or not value:
            raise _fail(f"{where} needs a non-empty list")
        if len(value) > MAX_LIST:
            raise _fail(f"{where} has more than {MAX_LIST} values")
        items = tuple(_meta_scalar(where, v) for v in value)
        if len({type(v) for v in items}) != 1:
            raise _fail(f"{where}: list items must all be strings, numbers or booleans")
        return items
    if op in ("gt", "gte", "lt", "lte"):
        return _number(where, value)
    return _meta_scalar(where, value)


def _meta_scalar(where: str, value: Any) -> str | bool | float:
    if isinstance(value, str | bool):
        return _str(where, value) if isinstance(value, str) else value
    if isinstance(value, int | float):
        return _number(where, value)
    raise _fail(f"{where}: nested or unsupported value type {type(value).__name__}")


def and_(*nodes: Node | None) -> Node | None:
    """AND the given nodes together, skipping ``None``; ``None`` if nothing is left."""
    kept: list[Node] = []
    for node in nodes:
        if isinstance(node, And):
            kept.extend(node.children)
        elif node is not None:
            kept.append(node)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else And(tuple(kept))


def scope_values(node: Node | None) -> dict[str, set[str]]:
    """Scope ids pinned by eq/in through top-level AND chains (never under OR/NOT)."""
    found: dict[str, set[str]] = {}
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, And):
            stack.extend(cur.children)
        elif isinstance(cur, Leaf) and cur.field in SCOPE_FIELDS and cur.op in ("eq", "in"):
            values = (cur.value,) if cur.op == "eq" else cur.value
            found.setdefault(cur.field, set()).update(values)
    return found


def to_sql(node: Node | None) -> str | None:
    """Compile a tree to a where-clause; ``None`` when there is no filter."""
    if node is None:
        return None
    sql, cost = _render(_normal(node, False))
    if cost > _MAX_SQL_COST:
        raise _fail("filter is nested too deeply to compile")
    return sql


# Normal form: ("leaf", sql) or ("AND"/"OR", [children]) with NOT folded into leaves.
_Norm: TypeAlias = tuple[str, Any]


def _normal(node: Node, neg: bool) -> _Norm:
    if isinstance(node, Not):
        return _normal(node.child, not neg)
    if isinstance(node, Leaf):
        positive = _NEGATIVE.get(node.op)
        sql = _leaf_sql(
            node if positive is None else Leaf(node.field, positive, node.value, node.key)
        )
        if neg != (positive is not None):
            # Only a negated leaf needs NULL made false: with NOT pushed to the leaves, the
            # rest is monotone, and WHERE already treats NULL as false. Leaving positive
            # leaves bare keeps them index-friendly (`user_id = 'x'` uses the bitmap index;
            # `coalesce(user_id = 'x', false)` scans the table).
            return ("leaf", f"NOT coalesce({sql}, false)")
        return ("leaf", f"({sql})")
    op = "AND" if isinstance(node, And) != neg else "OR"
    parts: list[_Norm] = []
    for child in node.children:
        norm = _normal(child, neg)
        parts.extend(norm[1] if norm[0] == op else [norm])
    return parts[0] if len(parts) == 1 else (op, parts)


def _render(norm: _Norm) -> tuple[str, int]:
    if norm[0] == "leaf":
        return norm[1], 1
    rendered = sorted((_render(part) for part in norm[1]), key=lambda r: -r[1])
    # A first operand costs the parser one frame per level, later operands two.
    cost = max([rendered[0][1] + 1] + [c + 2 for _, c in rendered[1:]])
    return "(" + f" {norm[0]} ".join(sql for sql, _ in rendered) + ")", cost


def _in_list(values: Sequence[Any]) -> str:
    return ", ".join(_literal(v) for v in values)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _sql_number(value)
    return sql_string(value)


def _leaf_sql(leaf: Leaf) -> str:
    """Positive operators only; the result may be NULL where the field is missing."""
    kind, op, value = _kind(leaf.field), leaf.op, leaf.value
    if kind == "metadata":
        assert leaf.key is not None
        return _meta_sql(leaf.key, op, value)
    col = _TIME_COLUMNS.get(leaf.field, leaf.field)
    if op == "exists":
        return (
            f"coalesce(cardinality({col}) > 0, false)"
            if kind == "categories"
            else f"({col} IS NOT NULL)"
        )
    if kind == "categories":
        if op == "in":
            expr = f"array_has_any({col}, make_array({_in_list(value)}))"
        elif isinstance(value, tuple):
            expr = f"array_has_all({col}, make_array({_in_list(value)}))"
        else:
            expr = f"array_has({col}, {sql_string(value)})"
    elif kind == "time":
        expr = _time_sql(col, op, value)
    elif kind == "keywords":
        expr = _like_sql("memory", op, value)
    elif op == "in":
        expr = f"{col} IN ({_in_list(value)})"
    elif op in ("contains", "icontains"):
        expr = _like_sql(col, op, value)
    else:
        expr = f"{col} = {sql_string(value)}"
    return expr


def _like_sql(col: str, op: str, value: str) -> str:
    if op == "icontains":
        return f"lower({col}) LIKE lower({_like(value)}) ESCAPE '\\'"
    return f"{col} LIKE {_like(value)} ESCAPE '\\'"


def _time_sql(col: str, op: str, value: datetime | date) -> str:
    if isinstance(value, datetime):
        return f"{col} {_CMP[op]} {sql_timestamp(value)}"
    start = f"{col} >= {sql_timestamp(datetime.combine(value, time(), UTC))}"
    try:
        end_day = datetime.combine(value + timedelta(days=1), time(), UTC)
        before_end = f"{col} < {sql_timestamp(end_day)}"
        after_end = f"{col} >= {sql_timestamp(end_day)}"
    except OverflowError:  # 9999-12-31: the day never ends
        before_end, after_end = f"({col} IS NOT NULL)", "false"
    if op == "eq":
        return f"{start} AND {before_end}"
    if op == "gt":
        return after_end
    if op == "lte":
        return before_end
    if op == "gte":
        return start
    return f"{col} < {sql_timestamp(datetime.combine(value, time(), UTC))}"


def _meta_sql(key: str, op: str, value: Any) -> str:
    path = sql_string("$[" + json.dumps(key, ensure_ascii=False) + "]")
    raw = f"json_extract(metadata, {path})"  # compact JSON text of the value, NULL if absent
    # Typed getters raise on values of another JSON type, so guard them by the raw text.
    text = (
        f"CASE WHEN starts_with({raw}, '\"') THEN json_get_string(metadata, {sql_string(key)}) END"
    )
    num = (
        f"CASE WHEN regexp_like({raw}, '^-?[0-9]') "
        f"THEN json_get_float(metadata, {sql_string(key)}) END"
    )
    if op == "exists":
        expr = f"{raw} <> 'null'"
    elif op in ("contains", "icontains"):
        expr = _like_sql(text, op, value)
        if op == "contains":
            element = sql_string(json.dumps(value, ensure_ascii=False))
            expr = f"{expr} OR json_array_contains(metadata, {path}, {element})"
    else:
        sample = value[0] if op == "in" else value
        subject = raw if isinstance(sample, bool) else text if isinstance(sample, str) else num
        if op == "in":
            values = [json.dumps(v) if isinstance(v, bool) else v for v in value]
            expr = f"{subject} IN ({_in_list(values)})"
        else:
            literal = sql_string(json.dumps(value)) if isinstance(value, bool) else _literal(value)
            expr = f"{subject} {_CMP[op]} {literal}"
    # Lance's planner rejects a bare CASE at the top of a predicate; coalesce wraps it.
    return f"coalesce({expr}, false)"
