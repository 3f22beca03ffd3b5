"""Write sequence, deletion log and the recovery watermark: recovery reads only recent writes.

Why: every write is two commits (memories, then history) and a writer killed between them
leaves history behind. The check for that at open used to read both tables whole into
Python (52 s and 3.5 GB at a million memories, issue 21). What could be unfinished is only
what was written since the last check, so:

- every memories commit stamps its rows with ``seq``, a per-process strictly increasing
  wall-clock nanosecond count taken just before the commit (:func:`stamp`);
- every delete first logs the ids it removes, with their ``seq``, in the ``deletions`` table
  (a deleted row leaves nothing else to find);
- the meta table keeps ``recovered_through``: every write stamped at or below it has its
  history (or a recovered event). A check reads the rows and log entries above it through
  the ``seq`` index, then moves it to the check's start minus :data:`GRACE_NS`, which covers
  a write stamped before the check whose commits land after it.

Migration ``m002_write_sequence`` adds the column (null, i.e. below any watermark, for the
rows already there) and the log; a store with no watermark yet is checked whole once.
Stamps of different processes compare as well as their clocks agree: within the grace.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from ..clock import Clock
from .commits import retry_on_conflict
from .recovery import reconcile, reconcile_since
from .schema import DELETIONS_SCHEMA, SEQ, read_meta, write_meta

__all__ = ["GRACE_NS", "WATERMARK", "check", "deletion_rows", "log_deletions", "next_seq", "stamp"]

log = logging.getLogger(__name__)

WATERMARK = "recovered_through"
#: How long a write may take from its stamp to its history commit and still be found.
GRACE_NS = 5 * 60 * 1_000_000_000

_lock = threading.Lock()
_last = 0


def next_seq() -> int:
    """A write sequence number: wall-clock nanoseconds, strictly increasing in this process."""
    global _last
    with _lock:
        _last = max(time.time_ns(), _last + 1)
        return _last


def stamp(rows: pa.Table, seq: int) -> pa.Table:
    """``rows`` with their ``seq`` column set to ``seq`` (added when the caller has none)."""
    column = pa.array([seq] * rows.num_rows, type=pa.int64())
    if SEQ in rows.column_names:
        return rows.set_column(rows.column_names.index(SEQ), SEQ, column)
    return rows.append_column(pa.field(SEQ, pa.int64()), column)


def deletion_rows(ids: Sequence[str], seq: int) -> pa.Table:
    """The log entries of one delete."""
    return pa.table(
        {"memory_id": pa.array(list(ids), pa.string()), SEQ: [seq] * len(ids)},
        schema=DELETIONS_SCHEMA,
    )


def log_deletions(store: Any, where: str, seq: int) -> None:
    """Log the ids ``where`` selects before they are deleted (one small commit).

    A delete leaves no row behind: without the log, recovery could not tell which deletes
    since its last check lack their history without reading all of history.
    """
    ids = store.query(where, ["id"])["id"].to_pylist()
    if ids:
        log_rows = deletion_rows(ids, seq)
        retry_on_conflict(lambda: store.deletions.add(log_rows), "deletion log")


def check(
    store: Any,
    clock: Clock,
    write_history: Callable[[list[dict[str, Any]]], None],
    *,
    settled_only: bool,
) -> int:
    """Recover what writes since the watermark left unfinished, then move the watermark.

    At open (``settled_only=False``) every write above the watermark is looked at, recent
    ones too: a crash is what is being looked for. On the housekeeping thread
    (``settled_only=True``) only writes older than the grace are, so this process's own
    writes in flight are not mistaken for lost ones. Returns the number of events recovered.
    """
    mark = next_seq() - GRACE_NS
    after = read_meta(store.db).get(WATERMARK)
    if after is None:
        events = reconcile(store.memories, store.history, clock)
    elif int(after) + (GRACE_NS if settled_only else 0) >= mark:
        return 0  # housekeeping moves it at most once per grace: one meta commit
    else:
        upto = mark if settled_only else None
        events = reconcile_since(
            store.memories, store.history, store.deletions, clock, int(after), upto
        )
    write_history(events)  # durable before the watermark passes the writes it explains
    write_meta(store.db, {WATERMARK: str(mark)})
    if after is not None and store.deletions.count_rows(f"{SEQ} <= {mark}"):
        store.deletions.delete(f"{SEQ} <= {mark}")  # never read again
    if events:
        log.warning("recovered %d history events in %s", len(events), store.uri)
    return len(events)
