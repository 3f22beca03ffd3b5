"""Removing memories: by id, by scope and filters, by entity, and expired ones (housekeeping).

Every removal is one memories commit plus its DELETE / EXPIRE history events; history keeps
the last text after the memory is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import filters as F
from ..engine import Engine
from ..errors import ScopeRequiredError
from ..expiry import expired_sql
from ..read.select import get_rows, where
from ..records import Scope
from ..storage.rows import RECORD_COLUMNS, history_event, ids_sql

__all__ = [
    "delete_by_ids",
    "delete_entities",
    "delete_matching",
    "delete_rows",
    "housekeeping",
    "purge_expired",
]


def housekeeping(engine: Engine) -> None:
    """Purge expired memories at most once per ``purge_interval``: no cron job needed."""
    now = engine.clock.now()
    if engine.last_purge is None or now - engine.last_purge >= engine.config.purge_interval:
        engine.last_purge = now
        purge_expired(engine)


def purge_expired(engine: Engine) -> dict[str, Any]:
    """Physically delete every expired memory (history event EXPIRE)."""
    now = engine.clock.now()
    sql = expired_sql(now)
    rows = engine.store.query(sql, RECORD_COLUMNS).to_pylist()
    if not rows:
        return {"purged": 0}
    ids = [r["id"] for r in rows]
    engine.store.delete(f"{sql} AND {ids_sql(ids)}")
    engine.history([history_event(r, "EXPIRE", r["memory"], None, now, True) for r in rows])
    return {"purged": len(rows)}


def delete_rows(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> None:
    """Delete these rows in one commit and record a DELETE event for each."""
    if not rows:
        return
    now = engine.clock.now()
    engine.store.delete(ids_sql([r["id"] for r in rows]))
    engine.history([history_event(r, "DELETE", r["memory"], None, now, True) for r in rows])


def delete_by_ids(engine: Engine, memory_ids: Sequence[str], scope: Scope) -> int:
    """Delete memories by id, expired ones included; one id outside the scope fails them all."""
    rows = list(get_rows(engine, memory_ids, scope, show_expired=True).values())
    delete_rows(engine, rows)
    return len(rows)


def delete_matching(
    engine: Engine, scope: Scope, filters: Mapping[str, Any] | None
) -> int:
    """Delete every memory of a scope, optionally narrowed by filters."""
    sql = where(engine, scope, filters, show_expired=True)
    rows = engine.store.query(sql, RECORD_COLUMNS).to_pylist()
    delete_rows(engine, rows)
    return len(rows)


def delete_entities(engine: Engine, scope: Scope) -> int:
    """Delete every memory of each named entity (each id independently, not their AND)."""
    if scope.is_empty():
        raise ScopeRequiredError("delete_users needs a user_id, agent_id, run_id or app_id")
    sql = " OR ".join(f"{k} = {F.sql_string(v)}" for k, v in scope.as_dict().items())
    rows = engine.store.query(f"({sql})", RECORD_COLUMNS).to_pylist()
    delete_rows(engine, rows)
    return len(rows)
