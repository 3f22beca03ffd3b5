"""Mem0 v2 filter JSON -> a validated tree: the parser half of the filter language.

The package docstring states the semantics; :mod:`.sql` compiles the tree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeAlias

from .literals import fail, sql_string

__all__ = [
    "SCOPE_FIELDS",
    "And",
    "Leaf",
    "Node",
    "Not",
    "Or",
    "and_",
    "eq",
    "is_scoped",
    "kind_of",
    "parse_filters",
    "scope_values",
]

SCOPE_FIELDS = ("user_id", "agent_id", "run_id", "app_id")
MAX_DEPTH = 32
MAX_LEAVES = 1000
MAX_LIST = 1000
MAX_METADATA_KEY = 128

_STRING_FIELDS = frozenset((*SCOPE_FIELDS, "actor_id", "role"))
TIME_COLUMNS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "expiration_date": "expires_at",
    "expires_at": "expires_at",
}
_ALIASES = {"memory_id": "id", "memory_ids": "id", "timestamp": "created_at"}
_FIELDS = frozenset((*_STRING_FIELDS, *TIME_COLUMNS, "id", "categories", "keywords", "metadata"))
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
NEGATIVE = {"ne": "eq", "nin": "in", "missing": "exists"}
CMP = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
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


def parse_filters(filters: Mapping[str, Any] | None) -> Node | None:
    """Validate a Mem0 v2 filter into a tree; ``None`` or ``{}`` means no filter."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise fail(f"filters must be a mapping, got {type(filters).__name__}")
    if not filters:
        return None
    return _parse_obj(filters, 1, _Budget())


def _parse_obj(obj: Any, depth: int, budget: _Budget) -> Node:
    if depth > MAX_DEPTH:
        raise fail(f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(obj, Mapping) or not obj:
        raise fail(f"each condition must be a non-empty mapping, got {obj!r:.80}")
    nodes: list[Node] = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise fail(f"field names must be strings, got {key!r:.80}")
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
        raise fail(f"{key} needs a non-empty list of conditions")
    if len(value) > MAX_LEAVES:
        raise fail(f"{key} has more than {MAX_LEAVES} conditions")
    return value


def kind_of(name: str) -> str:
    """The field's kind, which decides its operators, value types and SQL."""
    if name in _STRING_FIELDS:
        return "string"
    if name in TIME_COLUMNS:
        return "time"
    if name in ("id", "categories", "keywords", "metadata"):
        return name
    raise fail(f"unknown field {name!r:.80}")


def _parse_field(name: str, spec: Any, depth: int, budget: _Budget) -> Node:
    """One top-level key: a field, ``metadata.<key>``, or (Mem0 OSS grammar) a metadata key.

    ``memory_ids`` takes a list (Mem0 platform); any key that is not a known field names a
    metadata key, so ``{"priority": {"gte": 5}}`` means ``{"metadata": {"priority": ...}}``.
    """
    if name == "memory_ids":
        if isinstance(spec, list | tuple):
            spec = {"in": list(spec)}
        elif not isinstance(spec, Mapping):
            raise fail("memory_ids needs a list of memory ids")
    if name.startswith("metadata."):
        return _parse_conditions("metadata", name[len("metadata.") :], spec, budget)
    name = _ALIASES.get(name, name)
    if name not in _FIELDS:
        return _parse_conditions("metadata", name, spec, budget)
    kind = kind_of(name)
    if kind == "metadata":
        if not isinstance(spec, Mapping) or not spec:
            raise fail("metadata needs a non-empty mapping of key -> condition")
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
            raise fail(f"{label}: empty operator mapping")
        leaves: list[Node] = []
        for op, value in spec.items():
            if not isinstance(op, str) or op not in _USER_OPS:
                raise fail(f"{label}: unknown operator {op!r:.80}")
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
        raise fail(f"metadata keys must be non-empty strings, got {key!r:.80}")
    if len(key) > MAX_METADATA_KEY:
        raise fail(f"metadata key longer than {MAX_METADATA_KEY} characters")
    sql_string(key)  # NUL / invalid Unicode
    return key


def eq(field: str, value: Any) -> Node:
    """Build a validated equality leaf (``"*"`` is literal here; ``None`` means missing)."""
    name = _ALIASES.get(field, field)
    if kind_of(name) == "metadata":
        raise fail("use parse_filters for metadata conditions")
    return _leaf(name, "eq", value, None, _Budget())


def _leaf(name: str, op: str, value: Any, key: str | None, budget: _Budget) -> Leaf:
    budget.leaves += 1
    if budget.leaves > MAX_LEAVES:
        raise fail(f"more than {MAX_LEAVES} conditions")
    kind = kind_of(name)
    label = f"metadata.{key}" if key is not None else name
    if value is None and op in ("eq", "ne"):
        op = "missing" if op == "eq" else "exists"
    if op not in _OPS[kind]:
        raise fail(f"operator {op!r} is not supported on {label}")
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
        raise fail(f"{where} needs a string, got {type(value).__name__}")
    sql_string(value)
    return value


def _str_list(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise fail(f"{where} needs a non-empty list of strings")
    if len(value) > MAX_LIST:
        raise fail(f"{where} has more than {MAX_LIST} values")
    return tuple(_str(where, v) for v in value)


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"{where} needs a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError as exc:
        raise fail(f"{where}: number out of range") from exc
    if not math.isfinite(number):
        raise fail(f"{where}: number must be finite")
    return number


def _time(where: str, value: Any) -> datetime | date:
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_ONLY.match(text):
                return date.fromisoformat(text)
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise fail(f"{where}: unparseable date/time {value!r:.80}") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise fail(f"{where}: date/time out of range") from exc
    if isinstance(value, date):
        return value
    raise fail(f"{where} needs a datetime, date or ISO-8601 string, got {type(value).__name__}")


def _meta_value(where: str, op: str, value: Any) -> Any:
    if op in ("contains", "icontains"):
        return _str(where, value)
    if op in ("in", "nin"):
        if not isinstance(value, list | tuple) or not value:
            raise fail(f"{where} needs a non-empty list")
        if len(value) > MAX_LIST:
            raise fail(f"{where} has more than {MAX_LIST} values")
        items = tuple(_meta_scalar(where, v) for v in value)
        if len({type(v) for v in items}) != 1:
            raise fail(f"{where}: list items must all be strings, numbers or booleans")
        return items
    if op in ("gt", "gte", "lt", "lte"):
        # strings compare as text (ISO dates order correctly), numbers as numbers
        return _str(where, value) if isinstance(value, str) else _number(where, value)
    return _meta_scalar(where, value)


def _meta_scalar(where: str, value: Any) -> str | bool | float:
    if isinstance(value, str | bool):
        return _str(where, value) if isinstance(value, str) else value
    if isinstance(value, int | float):
        return _number(where, value)
    raise fail(f"{where}: nested or unsupported value type {type(value).__name__}")


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


def is_scoped(node: Node | None) -> bool:
    """Whether every row the filter can match belongs to a named entity (or to ``"*"``).

    A scope leaf (``eq``, ``in``, or ``"*"`` on user/agent/run/app id) scopes; an AND is
    scoped when one child is, an OR when all are (Mem0's top-level OR across entities); a
    NOT or a negative operator never is.
    """
    if isinstance(node, Leaf):
        return node.field in SCOPE_FIELDS and node.op in ("eq", "in", "exists")
    if isinstance(node, And):
        return any(is_scoped(c) for c in node.children)
    if isinstance(node, Or):
        return all(is_scoped(c) for c in node.children)
    return False


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
