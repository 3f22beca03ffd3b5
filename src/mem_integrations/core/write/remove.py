"""Removing memories: by id, by scope and filters, by entity, and expired ones (housekeeping).

Every removal is one memories commit plus its DELETE / EXPIRE history events; history keeps
the last text after the memory is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from .. import filters as F
from ..engine import Engine
from ..errors import MemoryLayerError, ScopeRequiredError
from ..expiry import expired_sql
from ..read.select import get_rows, where
from ..records import Scope
from ..storage.rows import RECORD_COLUMNS, history_event, ids_sql

__all__ = [
    "delete_by_ids",
    "delete_entities",
    "delete_everything",
    "delete_matching",
    "delete_rows",
    "housekeeping",
    "purge_expired",
]

log = logging.getLogger(__name__)


def housekeeping(engine: Engine) -> None:
    """Purge what expired over ``expired_retention`` ago, at most once per ``purge_interval``.

    No cron job needed: write calls do it, after their own checks, just before their own
    commit. Memories expired more recently are kept (hidden from search and lists, returned by
    ``get``, revivable), as in Mem0. It never fails the call that runs it: a purge that cannot
    commit (full disk) is logged and tried again by a later call.
    """
    interval, retention = engine.config.purge_interval, engine.config.expired_retention
    if interval is None or retention is None:
        return
    now = engine.clock.now()
    if engine.last_purge is None or now - engine.last_purge >= interval:
        engine.last_purge = now
        try:
            purge_expired(engine, older_than=retention)
        except MemoryLayerError:
            engine.last_purge = None
            log.warning("purging expired memories of %s failed", engine.store.uri, exc_info=True)


def purge_expired(engine: Engine, *, older_than: timedelta = timedelta(0)) -> dict[str, Any]:
    """Physically delete every memory expired ``older_than`` ago or more (history EXPIRE)."""
    now = engine.clock.now()
    sql = expired_sql(now - older_than)
    rows = engine.store.query(sql, RECORD_COLUMNS).to_pylist()
    if not rows:
        return {"purged": 0}
    ids = [r["id"] for r in rows]
    engine.store.delete(f"{sql} AND {ids_sql(ids)}")
    later = engine.clock.now()  # stamped after the commit, like every removal (delete_rows)
    events = [history_event(r, "EXPIRE", r["memory"], None, later, True) for r in rows]
    result = {"purged": len(rows)}
    engine.history_after(events, result=result)
    return result


def delete_rows(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> None:
    """Delete these rows in one commit and record a DELETE event for each.

    The events are stamped after the commit, while writes that add or change a memory stamp
    theirs before their commit: an update that landed before this delete then always reads
    before its DELETE in history, whichever process or thread made it.
    """
    if not rows:
        return
    ids = [r["id"] for r in rows]
    engine.store.delete(ids_sql(ids))
    now = engine.clock.now()
    events = [history_event(r, "DELETE", r["memory"], None, now, True) for r in rows]
    engine.history_after(events, result=len(rows))


def delete_by_ids(engine: Engine, memory_ids: Sequence[str], scope: Scope) -> int:
    """Delete memories by id, expired ones included; one id outside the scope fails them all."""
    rows = list(get_rows(engine, memory_ids, scope, show_expired=True).values())
    delete_rows(engine, rows)
    return len(rows)


def delete_matching(
    engine: Engine,
    scope: Scope,
    filters: Mapping[str, Any] | None,
    *,
    wildcards: Sequence[str] = (),
) -> int:
    """Delete every memory of a scope, optionally narrowed by filters.

    ``wildcards`` are the scope fields given as ``"*"``: alone they mean "every entity of
    these kinds" (their OR: all four wipe the store); beside concrete ids, "has one".
    """
    if wildcards:
        present = [{field: "*"} for field in wildcards]
        joined = {"OR": present} if scope.is_empty() else {"AND": present}
        filters = {"AND": [filters, joined]} if filters else joined
    sql = where(engine, scope, filters, show_expired=True)
    rows = engine.store.query(sql, RECORD_COLUMNS).to_pylist()
    delete_rows(engine, rows)
    return len(rows)


def delete_everything(engine: Engine) -> int:
    """Delete every memory of the store (Mem0's ``delete_users()`` with no argument)."""
    rows = engine.store.query(None, RECORD_COLUMNS).to_pylist()
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
