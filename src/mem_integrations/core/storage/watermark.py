"""Write sequence, writers, deletion log, watermark: recovery reads what may be unfinished.

Why: every write is two commits (memories, then history) and a writer killed between them
leaves history behind. The check for that at open used to read both tables whole into
Python (52 s and 3.5 GB at a million memories, issue 21). What could be unfinished is only
what was written since the last check, by a handle that did not close cleanly, so:

- every memories commit stamps its rows with ``seq``, a per-process strictly increasing
  wall-clock nanosecond count taken just before the commit, and ``writer``, the id of the
  store handle that made it (:func:`stamp`; a fresh random id per handle, so two handles in
  one process are two writers);
- every delete first logs the ids it removes, with their ``seq`` and ``writer``, in the
  ``deletions`` table (a deleted row leaves nothing else to find);
- the meta table keeps ``recovered_through``: every write stamped at or below it has its
  history (or a recovered event). A check reads the rows and log entries above it through
  the ``seq`` index, then moves it to the check's start minus :data:`GRACE_NS`, which covers
  a write stamped before the check whose commits land after it;
- a handle that closes cleanly, once everything it wrote has its history committed (queued
  adds and history flushed without error), records itself *settled* in the meta table
  (:meth:`Writer.settle`: key ``settled:<writer>``, value its close ``seq``). A check skips
  the rows and log entries of settled writers in the LanceDB filter (:func:`unsettled_sql`), so a
  store opened a minute after a clean bulk load of a million memories reads none of them.
  Rows with a null writer (written before migration ``m003``, or imported from another
  store) and rows of a writer that never settled (killed, or its flush failed) are checked
  as before. Once the watermark passes a settled writer's close ``seq`` none of its writes
  is above it any more, and the check that moves the watermark removes the entry, so the set
  stays as small as the handles closed within the grace. Past :data:`MAX_SETTLED` entries
  (thousands of short-lived handles within the grace) the filter is not built and every
  write above the watermark is checked, as before the writer column existed.

Migration ``m002_write_sequence`` adds ``seq`` (null, i.e. below any watermark, for the
rows already there) and the log, ``m003_writer_column`` the writer; a store with no
watermark yet is checked whole once. Stamps of different processes compare as well as their
clocks agree: within the grace.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pyarrow as pa

from ..clock import Clock
from ..errors import MemoryLayerError
from ..filters import sql_string
from .commits import retry_on_conflict
from .compaction import compact
from .recovery import reconcile, reconcile_since
from .schema import DELETIONS_SCHEMA, META, SEQ, WRITER, delete_meta, read_meta, write_meta

__all__ = [
    "GRACE_NS", "MAX_SETTLED", "SETTLED_PREFIX", "WATERMARK", "Writer", "check",
    "deletion_rows", "log_deletions", "new_writer", "next_seq", "settled_writers", "stamp",
    "unsettled_sql",
]  # fmt: skip

log = logging.getLogger(__name__)

WATERMARK = "recovered_through"
#: How long a write may take from its stamp to its history commit and still be found.
GRACE_NS = 5 * 60 * 1_000_000_000
#: Meta keys ``settled:<writer>``: that writer closed cleanly, every write of it has history.
SETTLED_PREFIX = "settled:"
#: Settled writers a check filters out at most; beyond, it checks them all (see the module).
MAX_SETTLED = 200
#: Fragments the meta table and the deletion log may have before a check merges them.
_MAX_FRAGMENTS = 32
#: What :func:`new_writer` makes; a settled entry naming anything else is ignored.
_WRITER_ID = re.compile(r"[0-9a-f]{32}")

_lock = threading.Lock()
_last = 0


def next_seq() -> int:
    """A write sequence number: wall-clock nanoseconds, strictly increasing in this process."""
    global _last
    with _lock:
        _last = max(time.time_ns(), _last + 1)
        return _last


def new_writer() -> str:
    """A fresh writer id for a store handle: random, so no two handles ever share one."""
    return uuid.uuid4().hex


def stamp(rows: pa.Table, seq: int, writer: str | None) -> pa.Table:
    """``rows`` with ``seq`` and ``writer`` set (the columns added when the caller has none).

    ``writer=None`` vouches for nothing: recovery always checks such rows. An import stamps
    its copy so (``Store.append(own=False)``): the source's history may not explain its rows.
    """
    out = rows
    for name, column in (
        (SEQ, pa.array([seq] * rows.num_rows, type=pa.int64())),
        (WRITER, pa.array([writer] * rows.num_rows, type=pa.string())),
    ):
        if name in out.column_names:
            out = out.set_column(out.column_names.index(name), name, column)
        else:
            out = out.append_column(pa.field(name, column.type), column)
    return out


def deletion_rows(ids: Sequence[str], seq: int, writer: str | None) -> pa.Table:
    """The log entries of one delete."""
    return pa.table(
        {
            "memory_id": pa.array(list(ids), pa.string()),
            SEQ: [seq] * len(ids),
            WRITER: pa.array([writer] * len(ids), pa.string()),
        },
        schema=DELETIONS_SCHEMA,
    )


def log_deletions(store: Any, where: str, seq: int, writer: str | None) -> None:
    """Log the ids ``where`` selects before they are deleted (one small commit).

    A delete leaves no row behind: without the log, recovery could not tell which deletes
    since its last check lack their history without reading all of history.
    """
    ids = store.query(where, ["id"])["id"].to_pylist()
    if ids:
        log_rows = deletion_rows(ids, seq, writer)
        retry_on_conflict(lambda: store.deletions.add(log_rows), "deletion log")


class Writer:
    """A store handle's writer id, and whether it has stamped anything yet."""

    def __init__(self) -> None:
        self.id = new_writer()
        self._wrote = False  # nothing stamped: nothing to settle, no meta commit at close

    def claim(self) -> str:
        """The id to stamp a commit with."""
        self._wrote = True
        return self.id

    def settle(self, db: Any) -> None:
        """Record that every write stamped with this id has its history (one meta commit).

        The caller's promise: the handle is closing, and its queued adds and history were
        committed without error. Anything written afterwards through the handle is stamped
        with a fresh id, which nobody has vouched for.
        """
        writer, wrote = self.id, self._wrote
        self.id, self._wrote = new_writer(), False
        if wrote:
            write_meta(db, {SETTLED_PREFIX + writer: str(next_seq())})


def settled_writers(meta: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """The settled writers in ``meta`` with their close ``seq``, and the keys to ignore.

    An entry whose id is not one :func:`new_writer` makes, or whose value is not a number,
    was not written by a close: it vouches for nothing (its rows are checked) and is
    returned among the keys to remove.
    """
    writers: dict[str, int] = {}
    junk: list[str] = []
    for key, value in meta.items():
        if not key.startswith(SETTLED_PREFIX):
            continue
        writer = key[len(SETTLED_PREFIX) :]
        if _WRITER_ID.fullmatch(writer) and value.isdigit():
            writers[writer] = int(value)
            continue
        log.warning("ignoring a malformed settled-writer entry %r in the meta table", key)
        try:
            sql_string(key)
            junk.append(key)
        except MemoryLayerError:  # not even removable through SQL: left, and still ignored
            pass
    return writers, junk


def unsettled_sql(writers: Sequence[str]) -> str | None:
    """A filter keeping rows whose writer is not in ``writers``; None to keep every row.

    Past :data:`MAX_SETTLED` writers no filter is built (the check reads what it read
    before writers were recorded) rather than a SQL string of unbounded length. Ids enter
    the SQL only through ``sql_string``.
    """
    if not writers or len(writers) > MAX_SETTLED:
        return None
    listed = ", ".join(sql_string(w) for w in sorted(writers))
    return f"({WRITER} IS NULL OR {WRITER} NOT IN ({listed}))"


def _tidy(table: Any, older: timedelta) -> None:
    """Merge a small table's fragments once they are many (each commit leaves one).

    Why: every clean close that wrote, every check and every prune is a commit to the meta
    table, every delete one to the log, and nothing else compacts them: after 1,000 closes
    reading the meta table (which every open does) took 211 ms instead of 5 (measured with
    the store's own ``write_meta``/``delete_meta``, 501 fragments).
    """
    if len(table.to_lance().get_fragments()) > _MAX_FRAGMENTS:
        retry_on_conflict(lambda: compact(table, older, indexes=False), f"optimize {table.name}")


def check(
    store: Any,
    clock: Clock,
    write_history: Callable[[list[dict[str, Any]]], int],
    *,
    settled_only: bool,
) -> int:
    """Recover what writes since the watermark left unfinished, then move the watermark.

    At open (``settled_only=False``) every write above the watermark is looked at, recent
    ones too: a crash is what is being looked for. On the housekeeping thread
    (``settled_only=True``) only writes older than the grace are, so this process's own
    writes in flight are not mistaken for lost ones. ``write_history`` writes the events
    found and returns how many it wrote: at open it leaves out this handle's own writes in
    flight (``Engine._write_recovered``), which are not lost. Returns that number; it alone is
    logged, or a fresh store's first check warned of recoveries that were its own adds.
    """
    mark = next_seq() - GRACE_NS
    meta = read_meta(store.db)
    after = meta.get(WATERMARK)
    writers, junk = settled_writers(meta)
    if after is None:
        events = reconcile(store.memories, store.history, clock)
    elif int(after) + (GRACE_NS if settled_only else 0) >= mark:
        return 0  # housekeeping moves it at most once per grace: one meta commit
    else:
        upto = mark if settled_only else None
        events = reconcile_since(
            store.memories, store.history, store.deletions, clock, int(after), upto,
            unsettled_sql(list(writers)),
        )  # fmt: skip
    written = write_history(events)  # durable before the watermark passes what it explains
    write_meta(store.db, {WATERMARK: str(mark)})
    # a settled writer's writes are all at or below its close seq: now below the watermark
    delete_meta(store.db, junk + [SETTLED_PREFIX + w for w, at in writers.items() if at <= mark])
    if after is not None and store.deletions.count_rows(f"{SEQ} <= {mark}"):
        store.deletions.delete(f"{SEQ} <= {mark}")  # never read again
    for table in (store.db.open_table(META), store.deletions):
        _tidy(table, store.cleanup_older_than)
    if written:
        log.warning("recovered %d history events in %s", written, store.uri)
    return written
