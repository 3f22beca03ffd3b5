"""Selecting rows: scope + filters into one where-clause, and rows by id within a scope."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import filters as F
from ..engine import Engine
from ..errors import MemoryNotFoundError, ScopeRequiredError, ValidationError
from ..expiry import live_sql
from ..records import Scope
from ..storage.rows import RECORD_COLUMNS, ids_sql, scope_sql

__all__ = ["fetch", "get_row", "get_rows", "where"]


def where(
    engine: Engine,
    scope: Scope,
    filters: Mapping[str, Any] | None,
    *,
    show_expired: bool = False,
    extra: Sequence[F.Node | None] = (),
) -> str:
    """Compile scope + filters into one where-clause; refuse a call that names no scope."""
    node = F.parse_filters(filters)
    if scope.is_empty() and not F.is_scoped(node):
        raise ScopeRequiredError(
            "name at least one of user_id, agent_id, run_id or app_id (as an argument, or in "
            'filters as an id, an "in" list or "*", under AND or in every branch of an OR)'
        )
    scoped = [F.eq(k, v) for k, v in scope.as_dict().items()]
    sql = F.to_sql(F.and_(*scoped, node, *extra)) or "true"
    if not show_expired:
        sql = f"({sql}) AND {live_sql(engine.clock.now())}"
    return sql


def fetch(
    engine: Engine, ids: Sequence[str], columns: Sequence[str] | None = None
) -> dict[str, Any]:
    """Rows by id, whatever their scope (callers have checked it); all columns by default."""
    if not ids:
        return {}
    cols = list(columns) if columns is not None else [*RECORD_COLUMNS, "vector"]
    rows = engine.store.query(ids_sql(ids), cols).to_pylist()
    return {r["id"]: r for r in rows}


def get_rows(
    engine: Engine, memory_ids: Sequence[Any], scope: Scope, *, show_expired: bool = False
) -> dict[str, dict[str, Any]]:
    """Fetch rows by id in one query; every id must exist in the scope, or nothing happens."""
    for mid in memory_ids:
        if not isinstance(mid, str) or not mid:
            raise ValidationError(f"memory_id must be a non-empty string, got {mid!r}")
    sql = ids_sql(memory_ids) + scope_sql(scope)
    if not show_expired:
        sql += f" AND {live_sql(engine.clock.now())}"
    rows = {r["id"]: r for r in engine.store.query(sql, [*RECORD_COLUMNS, "vector"]).to_pylist()}
    missing = [m for m in memory_ids if m not in rows]
    if missing:
        raise MemoryNotFoundError(f"no memory with id {missing[0]!r} in this scope")
    return rows


def get_row(
    engine: Engine, memory_id: Any, scope: Scope, *, show_expired: bool = False
) -> dict[str, Any]:
    """One row by id within the scope (``MemoryNotFoundError`` otherwise)."""
    return get_rows(engine, [memory_id], scope, show_expired=show_expired)[memory_id]
