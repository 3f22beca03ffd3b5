"""Compaction that rewrites the small fragments single writes leave, not the whole table.

Why: LanceDB's ``Table.optimize`` compacts with Lance's default target of 1,048,576 rows per
fragment, and every fragment under the target is a candidate. A store of a million memories
is one such fragment, so each background optimize after a few single adds merged them into
it: the whole table (1.6 GB at 1M) rewritten every time. Lance's own compaction options fix
that: fragments of at least :data:`TARGET_ROWS` are left alone, and the small ones after them
are merged until they reach it. So a compaction costs at most about ``TARGET_ROWS`` rows of
I/O, whatever the table's size, and a store of a million memories keeps ~4 big fragments.
Deleted rows are still materialised once they pass 10 % of a fragment (Lance's default).

Background compactions go further, in tiers (:func:`tier_target`): most merge only the
newest small fragments into fragments of :data:`BASE_ROWS`, every :data:`FANOUT`-th merges
those into ones ``FANOUT`` times bigger, and so on up to :data:`TARGET_ROWS`. With one
target for all, every background compaction of a stream of single adds rewrote every row
written since the last big fragment: quadratic in the stream, which is what the disk peak
during 1,000 single adds was made of (5x raw LanceDB's, ``bench/growth.py``). In tiers a row
is rewritten about ``FANOUT / 2`` times per tier. An explicit ``optimize`` still merges
everything small up to :data:`TARGET_ROWS`.

Merging and indexing run on different clocks (:class:`Schedule`). Merging the small fragments
costs about the rows merged, whatever the table's size (0.2 s for the 253 fragments 240
single adds left in a 1M store), while folding new rows into the indexes costs with the
table (4.9 s there, for eight indexes). Fragments are what searches pay for: that store searched
in 163 ms p50 after the 240 single adds, 65 ms once they were merged, and 57 ms once also
indexed (raw LanceDB, compacting every 100 adds: 44, 38, 31 ms; ``bench/merge_cost.py``,
``bench/results/merge-cost.json``). So background compactions merge every :data:`MERGE_EVERY`
commits at most, and fold rows into the indexes only as often as :func:`cadence` says.

The options are Lance's (``pylance``, which LanceDB uses for the same call); new rows are
then folded into the existing indexes (no retraining), and versions older than the
store's ``cleanup_older_than`` are dropped, as ``Table.optimize`` does; on object storage at
most once per quarter of that age per table: the cleanup reads the manifest of every kept
version (manifest reads were 43 % of the requests of a two-server round on S3, measured),
and run more often it mostly re-reads them to find nothing old enough to drop. On a local
disk that read is cheap, and the disk held by old versions during a stream of adds is not.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

__all__ = [
    "BASE_ROWS", "FANOUT", "MERGE_EVERY", "TARGET_ROWS", "Housekeeper", "Schedule", "cadence",
    "compact",
    "same_rows", "small_fragments", "tier_target",
]  # fmt: skip

#: Rows per fragment compaction aims at; fragments this big are never rewritten again. Every
#: fragment costs each search of a scope spread over the table a read (at 1M memories, 15
#: fragments of 65,536 rows searched 1.2x slower than one), so the top tier is a quarter of
#: Lance's own default: a 1M store keeps ~4 big fragments, and the largest merge rewrites a
#: quarter of it, once every ~65,000 single adds.
TARGET_ROWS = 262_144
#: The smallest tier of background compaction, and how much bigger each next tier is.
BASE_ROWS = 64
FANOUT = 4
#: Commits between background merges of small fragments, at most (without ``optimize_every``).
MERGE_EVERY = 16


#: When each table (by ``id``) was last cleaned up in this process (``time.monotonic``).
_CLEANED: dict[int, float] = {}


def tier_target(n: int) -> int:
    """The target rows of the ``n``-th background compaction (1, 2, ...): its tier's size.

    ``BASE_ROWS`` usually; ``FANOUT`` times more when ``n`` is a multiple of ``FANOUT``, and
    again for each further power (a counter's carries); never over :data:`TARGET_ROWS`.
    """
    target = BASE_ROWS
    while n > 0 and n % FANOUT == 0 and target < TARGET_ROWS:
        n //= FANOUT
        target *= FANOUT
    return min(target, TARGET_ROWS)


def compact(
    table: Any, cleanup_older_than: timedelta, target: int | None = None, indexes: bool = True
) -> list[int]:
    """Merge small fragments, index new rows (unless not ``indexes``), drop old versions.

    A few commits. Fragments under ``target`` rows are small (default :data:`TARGET_ROWS`).
    Rows left out of the indexes are still found: LanceDB searches them without the index.
    Returns the new versions that provably hold the same rows as the one before
    (:func:`same_rows`), so what is held in RAM can move on to them without a re-read.
    """
    table.checkout_latest()
    rows = TARGET_ROWS if target is None else target
    start = int(table.version)
    table.to_lance().optimize.compact_files(target_rows_per_fragment=rows)
    table.checkout_latest()
    dataset = table.to_lance()
    if indexes:
        dataset.optimize.optimize_indices()
    now = time.monotonic()
    local = "://" not in str(dataset.uri) or str(dataset.uri).startswith("file://")
    if local or now - _CLEANED.get(id(table), -math.inf) >= cleanup_older_than.total_seconds() / 4:
        dataset.cleanup_old_versions(older_than=cleanup_older_than)
        _CLEANED[id(table)] = now
    table.checkout_latest()
    return same_rows(table.to_lance(), start, int(table.version))


#: Operations that change how rows are stored, never which rows there are. ``BaseOperation``
#: is what pylance returns for the fragment-id reservation a compaction commits first (it
#: has no class for it); every operation that changes rows has one (Append, Delete, ...).
_SAME_ROWS = frozenset({"Rewrite", "CreateIndex", "BaseOperation"})


def same_rows(dataset: Any, after: int, upto: int) -> list[int]:
    """The versions in (``after``, ``upto``] that kept the rows, up to the first that may not.

    That is another writer's append, or a transaction this pylance cannot read. Why: a
    compaction is two or three commits, and each used to send held scopes and the duplicate
    check's hash sets back to LanceDB; after a bulk load within the grace ``seen_hashes``
    then re-reads the whole table's hashes, under the write lock. Only the prefix counts:
    past a version that changed rows, what is held is stale anyway.
    """
    out: list[int] = []
    for version in range(after + 1, upto + 1):
        try:
            name = type(dataset.read_transaction(version).operation).__name__
        except Exception:  # an operation this pylance cannot decode: assume it changed rows
            break
        if name not in _SAME_ROWS:
            break
        out.append(version)
    return out


def small_fragments(dataset: Any) -> int:
    """Fragments under :data:`BASE_ROWS` rows: what an open merges when there are many.

    Read from the manifest, no data. A process that stops between background merges leaves
    up to a merge's worth, and one whose index refresh outlasted its writes many more: at 1M
    memories 115 of them made every search of a cold scope 2.5x slower (each unindexed
    fragment is scanned), and merging them took 0.15 s.
    """
    return sum(1 for f in dataset.get_fragments() if f.metadata.num_rows < BASE_ROWS)


def cadence(optimize_every: int | None, rows: int) -> int:
    """Commits between background optimizes: fixed, or scaled with the table (see config).

    ``rows`` is the count seen at the last optimize plus one per commit since, which is cheap
    and close enough for picking a cadence: ``clamp(sqrt(rows) / 4, 10, 250)``.
    """
    if optimize_every is not None:
        return optimize_every
    return min(250, max(10, round(math.sqrt(rows) / 4)))


class Schedule:
    """When the next background compaction is due, and whether it also refreshes the indexes.

    ``optimize_every`` (the config's) makes every background compaction a full one, every
    that many commits. Without it, merges come every ``min(MERGE_EVERY, cadence)`` commits
    and index refreshes every ``cadence`` commits (:func:`cadence`, which grows with the
    table because a refresh costs with its size).
    """

    def __init__(self, optimize_every: int | None) -> None:
        self.fixed = optimize_every
        self.unmerged = 0  # commits since the last background compaction started
        self.unindexed = 0  # commits since the last index refresh started
        self.runs = 0

    def commit(self, rows: int) -> bool:
        """Count one commit to a table of about ``rows`` rows; True when a merge is due."""
        self.unmerged += 1
        self.unindexed += 1
        return self.due(rows)

    def due(self, rows: int) -> bool:
        """Whether the commits counted since the last start call for a merge now."""
        every = cadence(self.fixed, rows)
        return self.unmerged >= (every if self.fixed is not None else min(MERGE_EVERY, every))

    def start(self, rows: int) -> tuple[int, bool]:
        """A background compaction starts: its tier's target rows, and whether it indexes."""
        self.unmerged = 0
        self.runs += 1
        full = self.unindexed >= cadence(self.fixed, rows)
        if full:
            self.unindexed = 0
        return tier_target(self.runs), full


class Housekeeper:
    """A store's one background thread: compactions when the :class:`Schedule` says, other jobs.

    ``run(target, indexes)`` is one compaction (it must not raise); ``rows()`` is the table's
    row count at its last compaction (the schedule adds the commits since). Jobs run one at a
    time, so a compaction never races recovery's check or another compaction.
    """

    def __init__(
        self, optimize_every: int | None, run: Callable[[int, bool], None], rows: Callable[[], int]
    ) -> None:
        self.schedule = Schedule(optimize_every)
        self._run = run
        self._rows = rows
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mem-optimize")
        self._current: Future[None] | None = None
        self._lock = threading.Lock()

    def estimate(self) -> int:
        """Rows in the table now, about: at the last compaction plus one per commit since."""
        return self._rows() + self.schedule.unmerged

    def committed(self) -> None:
        """Count one commit; start a compaction if one is due and none is running."""
        with self._lock:
            due = self.schedule.commit(self.estimate())
            if due and (self._current is None or self._current.done()):
                self._start()

    def merge_now(self) -> None:
        """Merge the smallest fragments in the background, without touching the indexes."""
        with self._lock:
            self._submit(self._run, BASE_ROWS, False)

    def submit(self, fn: Callable[[], None]) -> Future[None]:
        """Run ``fn`` on the housekeeping thread, after what is queued there."""
        return self._pool.submit(fn)

    def wait(self) -> None:
        """Block until the compactions started so far, and any they started, are finished."""
        fut = self._current
        while fut is not None:
            fut.result()
            with self._lock:
                fut = None if self._current is fut else self._current

    def close(self) -> None:
        """Finish what runs; nothing new starts (the next open merges what is left)."""
        self.wait()
        self._pool.shutdown(wait=True)

    def _start(self) -> None:
        target, indexes = self.schedule.start(self._rows())
        self._submit(self._job, target, indexes)

    def _submit(self, fn: Callable[[int, bool], None], target: int, indexes: bool) -> None:
        try:
            self._current = self._pool.submit(fn, target, indexes)
        except RuntimeError:  # closing: the next open merges what is left
            pass

    def _job(self, target: int, indexes: bool) -> None:
        self._run(target, indexes)
        # Commits made meanwhile (an index refresh takes seconds at 1M) found it running and
        # started nothing: merge them now, not at some later commit that may never come.
        with self._lock:
            if self.schedule.due(self.estimate()):
                self._start()
