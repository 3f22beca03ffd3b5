"""Crash recovery: make history agree with memories after a writer died between two commits.

Every write is two LanceDB commits, memories first and history second, because Lance has no
transaction spanning two tables. Each commit is atomic, so a batch is always stored entirely or
not at all; but a process killed (SIGKILL, OOM, power cut) between the two commits leaves
memories whose last change has no history event. :func:`reconcile` runs when a store is opened
and appends the missing events, marked as recovered:

- a live memory with no event, or whose last event is a DELETE/EXPIRE, gets an ADD;
- a live memory whose last event carries another text gets an UPDATE to its current text;
- a vanished memory whose last event is an ADD/UPDATE gets a DELETE.

A writer in another process may be *between* its two commits while we look; then its own event
lands after ours. Recovered events therefore have deterministic ids (two processes recovering
at once write the same id) and :func:`visible` hides a recovered event as soon as the writer's
real event for the same change exists. History rows are never rewritten or deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..clock import Clock

__all__ = ["RECOVERED_PREFIX", "reconcile", "visible"]

#: Recovered events' ids start with this; real events' ids are plain uuid4 strings.
RECOVERED_PREFIX = "recovered-"
_NS = uuid.UUID("6c1f0e0a-8a53-4b57-9d0e-6e6f7279a008")
_LIVE = ("ADD", "UPDATE")
_GONE = ("DELETE", "EXPIRE")
_SCOPE_COLS = ["user_id", "agent_id", "run_id", "app_id", "actor_id", "role"]
_HISTORY_COLS = ["id", "memory_id", "event", "old_memory", "new_memory", "created_at", *_SCOPE_COLS]
_MEMORY_COLS = ["id", "memory", "created_at", "updated_at", *_SCOPE_COLS]


def _recovered(e: Mapping[str, Any]) -> bool:
    return str(e["id"]).startswith(RECOVERED_PREFIX)


def visible(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events of one memory, oldest first, without recovered events a real event explains."""
    seen: set[str] = set()
    rows = []
    for e in sorted(events, key=lambda e: e["created_at"]):
        if e["id"] not in seen:
            seen.add(e["id"])
            rows.append(e)
    real = [e for e in rows if not _recovered(e)]
    out = []
    for e in rows:
        if _recovered(e):
            if e["event"] in _LIVE and any(
                r["event"] in _LIVE
                and r["created_at"] == e["created_at"]
                and r["new_memory"] == e["new_memory"]
                for r in real
            ):
                continue
            last_live = max((r["created_at"] for r in real if r["event"] in _LIVE), default=None)
            if e["event"] in _GONE and any(
                r["event"] in _GONE and (last_live is None or r["created_at"] >= last_live)
                for r in real
            ):
                continue
        out.append(e)
    return out


def _event(
    row: Mapping[str, Any],
    memory_id: str,
    event: str,
    old: str | None,
    new: str | None,
    at: datetime,
    key: str,
) -> dict[str, Any]:
    return {
        "id": RECOVERED_PREFIX + str(uuid.uuid5(_NS, f"{memory_id}|{event}|{key}")),
        "memory_id": memory_id, "event": event, "old_memory": old, "new_memory": new,
        "actor_id": row.get("actor_id"), "role": row.get("role"), "user_id": row.get("user_id"),
        "agent_id": row.get("agent_id"), "run_id": row.get("run_id"),
        "app_id": row.get("app_id"), "created_at": at, "is_deleted": event in _GONE,
    }  # fmt: skip


def reconcile(memories: Any, history: Any, clock: Clock) -> list[dict[str, Any]]:
    """The events that make ``history`` explain ``memories``; empty for a consistent store.

    Reads history *before* memories: a change whose memories commit we see but whose history
    commit we missed is then either lost (we recover it) or in flight (its real event hides
    ours). Reading in the other order could mistake a later, complete change for a lost one.
    """
    by_id: dict[str, list[dict[str, Any]]] = {}
    for e in history.search().select(_HISTORY_COLS).limit(None).to_arrow().to_pylist():
        by_id.setdefault(e["memory_id"], []).append(e)
    rows = memories.search().select(_MEMORY_COLS).limit(None).to_arrow().to_pylist()
    now = clock.now()
    repairs: list[dict[str, Any]] = []
    for row in rows:
        events = visible(by_id.pop(row["id"], []))
        last = events[-1] if events else None
        if last is None or last["event"] not in _LIVE:
            key = row["created_at"].isoformat()
            at = row["created_at"]
            repairs.append(_event(row, row["id"], "ADD", None, row["memory"], at, key))
        elif last["new_memory"] != row["memory"]:
            key = f"{row['updated_at'].isoformat()}|{row['memory']}"
            repairs.append(
                _event(row, row["id"], "UPDATE", last["new_memory"], row["memory"],
                       row["updated_at"], key)
            )  # fmt: skip
    for memory_id, raw in by_id.items():
        events = visible(raw)
        last = events[-1] if events else None
        if last is not None and last["event"] in _LIVE:
            at = max(now, last["created_at"])
            repairs.append(
                _event(last, memory_id, "DELETE", last["new_memory"], None, at, str(last["id"]))
            )
    return repairs
