"""LangGraph's value filters: pushed down to LanceDB where exact, checked in Python otherwise.

LangGraph's stores agree on the core of the filter language and differ at the edges; we take
``InMemoryStore``'s rules (the reference every backend is tested against) and SQLite's for
dotted paths:

- ``{"f": scalar}``: equal (JSON-typed: ``True`` is not ``1``); ``{"f": None}``: missing or null.
- ``{"f": [..]}`` / ``{"f": {..}}`` without operators: the list is equal element-wise; the
  dict matches when each of its keys matches recursively.
- ``{"f": {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|"$lte": v}}``: comparisons are numeric for numbers
  (infinities included, NaN never equal), lexicographic for two strings, false otherwise.
- ``"a.b"``: the top-level key ``"a.b"`` when the value has one, else the path ``a`` -> ``b``.

A condition is pushed down to LanceDB as a core metadata filter only when the core computes
exactly the same answer (top-level key, scalar string/bool/finite number); everything else is
decided here, on rows the pushed-down part already narrowed. So no condition is ever dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import InvalidFilterError

__all__ = ["VALUE", "ValueFilter", "compile_filter"]

VALUE = "value."
_OPS = {"$eq": "eq", "$ne": "ne", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_MAX_KEY = 120  # the core's metadata key limit (128) minus the "value." prefix


@dataclass(frozen=True)
class ValueFilter:
    """A compiled LangGraph filter: what LanceDB checks, and what is left for Python."""

    pushdown: list[dict[str, Any]] = field(default_factory=list)
    residual: dict[str, Any] = field(default_factory=dict)

    def matches(self, value: Mapping[str, Any]) -> bool:
        """The conditions LanceDB could not check exactly, on one item's value."""
        return all(_match(_lookup(value, k), c) for k, c in self.residual.items())


def compile_filter(flt: Mapping[str, Any] | None) -> ValueFilter:
    """Validate a LangGraph filter and split it; bad keys and operators raise at once."""
    if flt is None:
        return ValueFilter()
    if not isinstance(flt, Mapping):
        raise InvalidFilterError(f"store filter must be a dict, got {type(flt).__name__}")
    out = ValueFilter()
    for key, cond in flt.items():
        if not isinstance(key, str) or not key:
            raise InvalidFilterError(f"store filter keys must be non-empty strings: {key!r:.80}")
        _check(key, cond)
        pushed = _pushdown(key, cond)
        if pushed is None:
            out.residual[key] = cond
        else:
            out.pushdown.extend(pushed)
    return out


def _is_ops(cond: Any) -> bool:
    return isinstance(cond, Mapping) and bool(cond) and all(str(k).startswith("$") for k in cond)


def _check(key: str, cond: Any) -> None:
    if _is_ops(cond):
        bad = sorted(str(k) for k in cond if k not in _OPS)
        if bad:
            raise InvalidFilterError(
                f"store filter on {key!r}: unknown operators {bad}; use {sorted(_OPS)}"
            )
    elif isinstance(cond, Mapping):
        for sub, inner in cond.items():
            _check(f"{key}.{sub}", inner)


def _scalar(v: Any) -> bool:
    if isinstance(v, bool | str):
        return "\x00" not in v if isinstance(v, str) else True
    return isinstance(v, int | float) and math.isfinite(v) and abs(v) < 2.0**53


def _pushdown(key: str, cond: Any) -> list[dict[str, Any]] | None:
    """Core conditions equivalent to ``cond`` on ``key``, or None when only Python can decide."""
    if "." in key or len(key) > _MAX_KEY:
        return None
    name = VALUE + key
    if cond is None:
        return [{"metadata": {name: None}}]
    if _scalar(cond):
        return [{"metadata": {name: {"eq": cond}}}]
    if not _is_ops(cond):
        return None
    out = []
    for op, v in cond.items():
        ordered = op in ("$gt", "$gte", "$lt", "$lte")
        if not _scalar(v) or (ordered and isinstance(v, bool | str)):
            return None
        out.append({"metadata": {name: {_OPS[op]: v}}})
    return out


def _lookup(value: Mapping[str, Any], key: str) -> Any:
    if key in value:
        return value[key]
    node: Any = value
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: bools are not numbers, 1 == 1.0, containers compare element-wise."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _order(a: Any, op: str, b: Any) -> bool:
    num = (int, float)
    same = (isinstance(a, num) and isinstance(b, num)) or (
        isinstance(a, str) and isinstance(b, str)
    )
    if not same or isinstance(a, bool) or isinstance(b, bool):
        return False
    if op == "$gt":
        return bool(a > b)
    if op == "$gte":
        return bool(a >= b)
    if op == "$lt":
        return bool(a < b)
    return bool(a <= b)


def _match(actual: Any, cond: Any) -> bool:
    if _is_ops(cond):
        for op, v in cond.items():
            if op == "$eq" and not _equal(actual, v):
                return False
            if op == "$ne" and _equal(actual, v):
                return False
            if op not in ("$eq", "$ne") and not _order(actual, op, v):
                return False
        return True
    if isinstance(cond, Mapping):
        return isinstance(actual, Mapping) and all(
            _match(actual.get(k), c) for k, c in cond.items()
        )
    if cond is None:
        return actual is None
    return _equal(actual, cond)
