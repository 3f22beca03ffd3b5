"""Reads that list: a page of a scope, the entities that own memories, a memory's history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .. import filters as F
from ..engine import Engine
from ..errors import LimitExceededError, ValidationError
from ..expiry import live_sql
from ..records import HistoryEvent, MemoryRecord, Page, Scope
from ..storage.recovery import visible
from ..storage.rows import RECORD_COLUMNS, scope_sql, to_record
from .select import fetch, where

__all__ = ["history_events", "page", "users", "window"]


def _keys(
    engine: Engine,
    scope: Scope,
    filters: Mapping[str, Any] | None,
    categories: Sequence[str] | None,
    keywords: str | None,
    show_expired: bool,
) -> list[dict[str, Any]]:
    """Ids of every match, newest first (ties broken by id, so pages are stable)."""
    extra: list[F.Node | None] = []
    if categories is not None:
        cats = engine.check.categories(categories)
        if cats:
            extra.append(F.parse_filters({"categories": {"in": cats}}))
    if keywords is not None:
        extra.append(F.parse_filters({"keywords": {"icontains": engine.check.text(keywords)}}))
    sql = where(engine, scope, filters, show_expired=show_expired, extra=extra)
    keys: list[dict[str, Any]] = engine.store.query(sql, ["id", "created_at"]).to_pylist()
    keys.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return keys


def _records(engine: Engine, keys: list[dict[str, Any]]) -> list[MemoryRecord]:
    ids = [r["id"] for r in keys]
    rows = fetch(engine, ids, RECORD_COLUMNS)
    return [to_record(rows[i]) for i in ids if i in rows]


def _check_size(engine: Engine, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "positive" if minimum else "non-negative"
        raise ValidationError(f"{name} must be a {kind} integer, got {value!r}")


def page(
    engine: Engine,
    scope: Scope,
    *,
    filters: Mapping[str, Any] | None = None,
    categories: Sequence[str] | None = None,
    keywords: str | None = None,
    page: int = 1,
    page_size: int = 100,
    show_expired: bool = False,
) -> Page:
    """One page of a scope's memories, newest first."""
    _check_size(engine, "page", page, 1)
    _check_size(engine, "page_size", page_size, 1)
    if page_size > engine.limits.max_page_size:
        raise LimitExceededError(f"page_size must be at most {engine.limits.max_page_size}")
    keys = _keys(engine, scope, filters, categories, keywords, show_expired)
    start = (page - 1) * page_size
    return Page(
        count=len(keys), page=page, page_size=page_size,
        next=page + 1 if start + page_size < len(keys) else None,
        previous=page - 1 if page > 1 else None,
        results=_records(engine, keys[start : start + page_size]),
    )  # fmt: skip


def window(
    engine: Engine,
    scope: Scope,
    *,
    filters: Mapping[str, Any] | None = None,
    categories: Sequence[str] | None = None,
    keywords: str | None = None,
    offset: int = 0,
    size: int = 100,
    show_expired: bool = False,
) -> dict[str, Any]:
    """``size`` memories after the first ``offset``, in the page envelope.

    Mem0 OSS ``get_all(top_k=, offset=)``; ``next``/``previous`` are then offsets.
    """
    _check_size(engine, "offset", offset, 0)
    _check_size(engine, "top_k", size, 1)
    if size > engine.limits.max_page_size:
        raise LimitExceededError(f"top_k must be at most {engine.limits.max_page_size}")
    keys = _keys(engine, scope, filters, categories, keywords, show_expired)
    end = offset + size
    return {
        "count": len(keys), "offset": offset,
        "next": end if end < len(keys) else None,
        "previous": max(0, offset - size) if offset > 0 else None,
        "results": [r.to_dict() for r in _records(engine, keys[offset:end])],
    }  # fmt: skip


def history_events(engine: Engine, memory_id: str, scope: Scope) -> list[HistoryEvent]:
    """Every change of one memory, oldest first; another scope's memory has none."""
    if not isinstance(memory_id, str) or not memory_id:
        raise ValidationError("memory_id must be a non-empty string")
    engine.settle_history()  # recovered at open and queued by this process: all in first
    sql = f"memory_id = {F.sql_string(memory_id)}" + scope_sql(scope)
    return [HistoryEvent(**r) for r in visible(engine.store.history_rows(sql))]


def users(engine: Engine, *, show_expired: bool = False) -> dict[str, Any]:
    """Every entity (user, agent, run, app) that owns memories, with counts."""
    sql = None if show_expired else live_sql(engine.clock.now())
    cols = ["user_id", "agent_id", "run_id", "app_id", "created_at", "updated_at"]
    table: pa.Table = engine.store.query(sql, cols)
    out: list[dict[str, Any]] = []
    for field, kind in (("user_id", "user"), ("agent_id", "agent"), ("run_id", "run"),
                        ("app_id", "app")):  # fmt: skip
        sub = table.filter(pc.is_valid(table[field]))
        if sub.num_rows == 0:
            continue
        agg = sub.group_by(field).aggregate(
            [("created_at", "min"), ("updated_at", "max"), (field, "count")]
        )
        for r in agg.to_pylist():
            out.append({
                "id": r[field], "name": r[field], "type": kind,
                "total_memories": r[f"{field}_count"],
                "created_at": r["created_at_min"].isoformat(),
                "updated_at": r["updated_at_max"].isoformat(),
            })  # fmt: skip
    out.sort(key=lambda e: (e["type"], e["name"]))
    return {"count": len(out), "next": None, "previous": None, "results": out}
