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

Only what could be unfinished is looked at (:func:`reconcile_since`): every memories commit
stamps its rows with a write sequence (``seq``, added by migration ``m002``) and its writer
(``m003``), every delete first logs the ids it removes (``deletions``), and the store keeps
a watermark below which all is known consistent and the writers that closed cleanly, whose
writes are skipped (``storage.watermark``). A store that has no watermark yet (created or
upgraded before its first check) is checked whole once (:func:`reconcile`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..clock import Clock
from . import memtrim

__all__ = [
    "RECOVERED_PREFIX", "ROWS_READ", "reconcile", "reconcile_ids", "reconcile_since", "visible",
]  # fmt: skip

#: Recovered events' ids start with this; real events' ids are plain uuid4 strings.
RECOVERED_PREFIX = "recovered-"
_NS = uuid.UUID("6c1f0e0a-8a53-4b57-9d0e-6e6f7279a008")
_LIVE = ("ADD", "UPDATE")
_GONE = ("DELETE", "EXPIRE")
_SCOPE_COLS = ["user_id", "agent_id", "run_id", "app_id", "actor_id", "role"]
_HISTORY_COLS = ["id", "memory_id", "event", "old_memory", "new_memory", "created_at", *_SCOPE_COLS]
_MEMORY_COLS = ["id", "memory", "created_at", "updated_at", *_SCOPE_COLS]
#: Rows recovery brought into Python, by table name, since the process started: what tests
#: and ``bench/growth.py`` read to show a check looked only at what could be unfinished.
ROWS_READ: dict[str, int] = {}


def _read(table: Any, rows: pa.Table) -> pa.Table:
    ROWS_READ[table.name] = ROWS_READ.get(table.name, 0) + rows.num_rows
    return rows


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

    The tables are compared in Arrow, never as Python rows (at 1M memories the row-by-row
    pass peaked at 2.4 GB of RSS, ``bench/results/growth-scale.md``), and past
    :data:`_SLICE_ROWS` memories a slice of ids at a time (:data:`_SLICES`). Only the
    memories that do not plainly agree go through the exact check.
    """
    suspects: set[str] = set()
    cuts = _SLICES if memories.count_rows() > _SLICE_ROWS else []
    for lo, hi in zip([None, *cuts], [*cuts, None], strict=True):
        bounds = [*([f"{{c}} >= '{lo}'"] if lo else []), *([f"{{c}} < '{hi}'"] if hi else [])]
        where = " AND ".join(bounds) or None
        columns = ["memory_id", "event", "new_memory", "created_at"]
        events = _scan(history, columns, where and where.format(c="memory_id"))  # history first
        suspects |= _suspects(
            _scan(memories, ["id", "memory"], where and where.format(c="id")), events
        )
        del events
        memtrim.trim()  # each slice's scans are freed: give the pages back before the next
    return reconcile_ids(memories, history, clock, suspects) if suspects else []


def _scan(table: Any, columns: list[str], where: str | None) -> pa.Table:
    """``table``'s rows at its latest version, scanned without its scalar indexes.

    Why: the slices' range filters on ``id`` and ``memory_id`` were answered through the
    btree indexes, which loaded both whole into the store's index cache, shared with the
    searches, where they stayed: at 1M memories the cache held 109 MB after the check, 16
    without it (``bench/results/rss-round6.json``), for indexes no search uses. Read through
    a Lance dataset of its own, the scan's caches go with it; and every slice reads every
    row anyway.
    """
    dataset = table.to_lance()
    out: pa.Table = dataset.to_table(columns=columns, filter=where, use_scalar_index=False)
    return _read(table, out)


#: Boundaries of the id slices of the whole pass: ids are uuid4 strings, spread evenly over
#: their first hex digit (any other id still falls in exactly one slice).
_SLICES = list("123456789abcdef")
#: A table up to this many memories is compared in one slice (each slice is two queries).
_SLICE_ROWS = 100_000


def _suspects(rows: pa.Table, events: pa.Table) -> set[str]:
    """Ids whose history may not explain them: the rest provably needs no repair.

    A live memory plainly agrees when its latest event, alone at its timestamp, is an ADD or
    UPDATE to its current text; a memory with no row needs nothing when its latest event is
    not live. Everything else (ties included) is left to :func:`_repairs`.
    """
    latest = events.group_by("memory_id").aggregate([("created_at", "max")])
    latest = pa.table({"memory_id": latest["memory_id"], "created_at": latest["created_at_max"]})
    last = events.join(latest, keys=["memory_id", "created_at"], join_type="inner")
    counts = last.group_by("memory_id").aggregate([("event", "count")])
    tied = counts.filter(pc.greater(counts["event_count"], 1))["memory_id"]
    live = last.filter(pc.is_in(last["event"], value_set=pa.array(list(_LIVE))))
    joined = rows.join(live.select(["memory_id", "new_memory"]), keys="id", right_keys="memory_id")
    same = pc.fill_null(pc.equal(joined["memory"], joined["new_memory"]), False)
    agreed = joined.filter(same)["id"]
    out = set(rows.filter(pc.invert(pc.is_in(rows["id"], value_set=agreed)))["id"].to_pylist())
    gone = live.filter(pc.invert(pc.is_in(live["memory_id"], value_set=rows["id"])))
    out.update(gone["memory_id"].to_pylist())
    out.update(tied.to_pylist())
    return out


#: Ids per ``IN (...)`` list when reading the changed memories and their history.
_CHUNK = 2_000
#: Beyond this many recent writes (a bulk load within the grace), one pass over both tables
#: is cheaper than looking their history up by id (measured at 100k in ``bench/growth.py``:
#: 29 s by id against 5 s in one pass).
_WHOLE_AFTER = 5_000


def reconcile_since(
    memories: Any,
    history: Any,
    deletions: Any,
    clock: Clock,
    after: int,
    upto: int | None = None,
    only: str | None = None,
) -> list[dict[str, Any]]:
    """Like :func:`reconcile`, for the memories written or deleted with ``after < seq <= upto``.

    Those are found through the ``seq`` index and the deletion log, so the work is the
    number of writes since the watermark, not the size of the store. ``only`` is a further
    condition on the rows and log entries (the writers not known settled,
    ``watermark.unsettled_sql``): applied by LanceDB, what it leaves out never reaches Python.
    """
    cond = f"seq > {int(after)}" + ("" if upto is None else f" AND seq <= {int(upto)}")
    if only:
        cond += f" AND {only}"
    q = memories.search().where(cond).select(["id"]).limit(None)
    ids = set(_read(memories, q.to_arrow())["id"].to_pylist())
    q = deletions.search().where(cond).select(["memory_id"]).limit(None)
    ids.update(_read(deletions, q.to_arrow())["memory_id"].to_pylist())
    if not ids:
        return []
    if len(ids) > _WHOLE_AFTER:  # by-id lookups cost more than one pass over both tables
        return reconcile(memories, history, clock)
    return reconcile_ids(memories, history, clock, ids)


def reconcile_ids(memories: Any, history: Any, clock: Clock, ids: set[str]) -> list[dict[str, Any]]:
    """The exact check of ``ids``: their history is read before their rows, by id chunks."""
    chunks = [sorted(ids)[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]
    by_id: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for chunk in chunks:
        where = f"memory_id IN ({_quoted(chunk)})"
        found = history.search().where(where).select(_HISTORY_COLS).limit(None).to_arrow()
        for e in _read(history, found).to_pylist():
            by_id[e["memory_id"]].append(e)
    rows: list[dict[str, Any]] = []
    for chunk in chunks:
        q = memories.search().where(f"id IN ({_quoted(chunk)})").select(_MEMORY_COLS)
        rows += _read(memories, q.limit(None).to_arrow()).to_pylist()
    return _repairs(by_id, rows, clock.now())


def _quoted(ids: Iterable[str]) -> str:
    return ", ".join("'" + i.replace("'", "''") + "'" for i in ids)


def _repairs(
    by_id: dict[str, list[dict[str, Any]]], rows: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Events for ``rows`` (live memories) and for the ids of ``by_id`` that are gone."""
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
