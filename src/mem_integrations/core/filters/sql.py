"""Compile a validated filter tree to a LanceDB (DataFusion) where-clause.

See the package docstring for the missing-field semantics and the SQL shape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeAlias

from .literals import fail, like_pattern, sql_number, sql_string, sql_timestamp
from .tree import CMP, NEGATIVE, TIME_COLUMNS, And, Leaf, Node, Not, kind_of

__all__ = ["to_sql"]

# Worst-case parser nesting we emit; measured limit is ~43 for simple leaves.
_MAX_SQL_COST = 40


def to_sql(node: Node | None) -> str | None:
    """Compile a tree to a where-clause; ``None`` when there is no filter."""
    if node is None:
        return None
    sql, cost = _render(_normal(node, False))
    if cost > _MAX_SQL_COST:
        raise fail("filter is nested too deeply to compile")
    return sql


# Normal form: ("leaf", sql) or ("AND"/"OR", [children]) with NOT folded into leaves.
_Norm: TypeAlias = tuple[str, Any]


def _normal(node: Node, neg: bool) -> _Norm:
    if isinstance(node, Not):
        return _normal(node.child, not neg)
    if isinstance(node, Leaf):
        positive = NEGATIVE.get(node.op)
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
        return sql_number(value)
    return sql_string(value)


def _leaf_sql(leaf: Leaf) -> str:
    """Positive operators only; the result may be NULL where the field is missing."""
    kind, op, value = kind_of(leaf.field), leaf.op, leaf.value
    if kind == "metadata":
        assert leaf.key is not None
        return _meta_sql(leaf.key, op, value)
    col = TIME_COLUMNS.get(leaf.field, leaf.field)
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
        return f"lower({col}) LIKE lower({like_pattern(value)}) ESCAPE '\\'"
    return f"{col} LIKE {like_pattern(value)} ESCAPE '\\'"


def _time_sql(col: str, op: str, value: datetime | date) -> str:
    if isinstance(value, datetime):
        return f"{col} {CMP[op]} {sql_timestamp(value)}"
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
            expr = f"{subject} {CMP[op]} {literal}"
    # Lance's planner rejects a bare CASE at the top of a predicate; coalesce wraps it.
    return f"coalesce({expr}, false)"
