"""The decay engine: applies the curve to hits, caches access times, records accesses.

See the package docstring for the curve itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from lancedb.index import BTree

from ..clock import Clock
from ..filters import sql_string, sql_timestamp
from ..records import SearchHit
from .curve import epoch_seconds, memory_factor
from .settings import DecaySettings

__all__ = ["DecayEngine"]

log = logging.getLogger(__name__)

#: Ids per ``memory_id IN (...)`` query when loading access history.
_LOAD_CHUNK = 500


class DecayEngine:
    """Applies the curve to search hits and records accesses without slowing search.

    Accesses go to an in-memory buffer (bounded by ``max_pending``) that one background
    thread writes to the ``accesses`` table in batches of ``flush_rows`` or every
    ``flush_interval``. A crash loses at most that buffer; memories are never touched.
    """

    def __init__(self, store: Any, clock: Clock, settings: Any, enabled: bool) -> None:
        self.store = store
        self.clock = clock
        self.settings = DecaySettings.coerce(settings)
        self.enabled = bool(enabled)
        #: access records dropped because the buffer was full (the writer could not keep up).
        self.dropped = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._io = threading.Lock()  # one writer or pruner at a time
        self._pending: list[tuple[str, datetime]] = []
        self._writing = 0  # the head of _pending that a writer is committing right now
        self._cache: OrderedDict[str, tuple[float, list[float]]] = OrderedDict()
        self._table: Any = None  # the accesses table the cache describes
        self._recorded: OrderedDict[str, float] = OrderedDict()  # latest access we recorded
        self._since_prune = 0
        self._since_compact = 0
        self._indexed: Any = None  # the accesses table known to have its memory_id index
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- scoring ------------------------------------------------------------------------------

    def rescore(
        self,
        items: Sequence[tuple[str, float, datetime | None, Sequence[str]]],
        *,
        settings: DecaySettings | None = None,
        before_retrieval: bool = False,
    ) -> list[float]:
        """Decayed scores for ``(memory_id, relevance, updated_at, categories)`` items.

        The entry point of the LangChain and LlamaIndex reranker nodes: same curve, same
        access history as ``Memory.search``. A node runs after the search that produced its
        items, and that search already counted them as accessed "now", which would lift every
        item to the ceiling; ``before_retrieval=True`` leaves out the latest access this
        engine recorded for each item, so the scores are those the search itself would give.
        """
        s = settings or self.settings
        now = epoch_seconds(self.clock.now())
        history = self._access_times([i[0] for i in items])
        out = []
        for memory_id, relevance, updated_at, categories in items:
            times = history.get(memory_id, [])
            if before_retrieval and times:
                last = self._recorded.get(memory_id)
                if last is not None and last in times:
                    times = list(times)
                    del times[len(times) - 1 - times[::-1].index(last)]
            factor = memory_factor(times, updated_at, now, categories, s)
            out.append(min(1.0, max(0.0, float(relevance) * factor)))
        return out

    def rerank(self, hits: list[SearchHit], limit: int | None = None) -> list[SearchHit]:
        """Re-sort hits by decayed score, keeping the first ``limit`` (default: all).

        ``relevance`` is kept as it was; ``score`` becomes the decayed score.
        """
        if not hits:
            return hits
        scores = self.rescore([(h.id, h.relevance, h.updated_at, h.categories) for h in hits])
        order = sorted(range(len(hits)), key=lambda i: (-scores[i], -hits[i].relevance, hits[i].id))
        return [hits[i].model_copy(update={"score": scores[i]}) for i in order[:limit]]

    def _access_times(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """Latest access times per id, from the cache or one batched query for the misses."""
        s = self.settings
        ttl = s.cache_ttl.total_seconds()
        mono = time.monotonic()
        out: dict[str, list[float]] = {}
        with self._lock:
            self._check_table()
            for i in ids:
                entry = self._cache.get(i)
                if entry is not None and mono - entry[0] < ttl:
                    self._cache.move_to_end(i)
                    out[i] = entry[1]
            missing = [i for i in dict.fromkeys(ids) if i not in out]
            if not missing:
                return out
            wanted = set(missing)
            pending = Counter((m, epoch_seconds(t)) for m, t in self._pending if m in wanted)
        stored = Counter(self._read_store(missing))
        # A record being written can be in both; a multiset union counts it once.
        merged: dict[str, list[float]] = {i: [] for i in missing}
        for (mid, ts), n in (stored | pending).items():
            merged[mid].extend([ts] * n)
        with self._lock:
            for mid, times in merged.items():
                times.sort()
                del times[: -s.max_accesses]
                out[mid] = times
                if s.cache_size:
                    self._cache[mid] = (mono, times)
                    self._cache.move_to_end(mid)
            while len(self._cache) > s.cache_size:
                self._cache.popitem(last=False)
        return out

    def _read_store(self, ids: Sequence[str]) -> list[tuple[str, float]]:
        rows: list[tuple[str, float]] = []
        for start in range(0, len(ids), _LOAD_CHUNK):
            chunk = ids[start : start + _LOAD_CHUNK]
            where = "memory_id IN (" + ", ".join(sql_string(i) for i in chunk) + ")"
            try:
                table = self.store.access_rows(where)
            except Exception:  # a soft bias must never fail a search
                log.warning("could not read access history; decay uses updated_at", exc_info=True)
                return rows
            micros = pc.cast(table.column("accessed_at"), pa.int64()).to_pylist()
            rows.extend(
                (m, us / 1e6)
                for m, us in zip(table.column("memory_id").to_pylist(), micros, strict=True)
            )
        return rows

    def _check_table(self) -> None:
        """Forget the cache when the store's accesses table was replaced (``reset``)."""
        table = getattr(self.store, "accesses", None)
        if table is not self._table:
            self._table = table
            self._cache.clear()

    # -- recording ----------------------------------------------------------------------------

    def record_access(self, ids: Sequence[str]) -> None:
        """Count these memories as accessed now; returns at once (the write is batched)."""
        if not ids:
            return
        now = self.clock.now()
        ts = epoch_seconds(now)
        s = self.settings
        with self._lock:
            if self._closed:
                return
            self._check_table()
            self._pending.extend((i, now) for i in ids)
            over = len(self._pending) - s.max_pending
            if over > 0:  # drop the oldest records that no writer has taken yet
                del self._pending[self._writing : self._writing + over]
                self.dropped += over
            for i in ids:
                entry = self._cache.get(i)
                if entry is not None:
                    entry[1].append(ts)
                    del entry[1][: -s.max_accesses]
                self._recorded[i] = ts
                self._recorded.move_to_end(i)
            while len(self._recorded) > max(s.cache_size, len(ids)):
                self._recorded.popitem(last=False)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mem-decay-recorder", daemon=True
                )
                self._thread.start()
            if len(self._pending) - self._writing >= s.flush_rows:
                self._wake.notify()

    def _run(self) -> None:
        interval = self.settings.flush_interval.total_seconds()
        while True:
            with self._lock:
                if not self._closed and len(self._pending) < self.settings.flush_rows:
                    self._wake.wait(timeout=interval)
                stop = self._closed
            try:
                if self._drain():
                    self._maintain()
                if self._since_prune >= self.settings.prune_every:
                    self.prune()
            except Exception:  # the recorder must never take the app down
                log.warning("writing access records failed", exc_info=True)
            if stop:
                return

    def _drain(self) -> int:
        """Write every buffered record in one commit; returns how many were written."""
        with self._io:
            with self._lock:
                batch = list(self._pending)
                self._writing = len(batch)
            try:
                if batch:
                    self.store.add_accesses([{"memory_id": m, "accessed_at": t} for m, t in batch])
            finally:
                with self._lock:
                    del self._pending[: len(batch)]  # on failure they are lost, like a crash
                    self._writing = 0
                    self._since_prune += len(batch)
                    self._since_compact += 1 if batch else 0
            return len(batch)

    def _maintain(self) -> None:
        """Index the accesses table once and compact it now and then (writer thread).

        Loading a memory's history is an ``IN`` lookup on ``memory_id``: at 30k records a BTREE
        index takes it from 20-70 ms to about 3 ms, and compaction undoes the fragment that
        each batch append leaves behind.
        """
        with self._io:
            table = self.store.accesses
            if table is not self._indexed:
                if "memory_id" not in {c for ix in table.list_indices() for c in ix.columns}:
                    try:
                        table.create_index("memory_id", config=BTree(), replace=False)
                    except Exception as exc:  # another process may have built it first
                        if "already exists" not in str(exc).lower():
                            raise
                self._indexed = table
            elif self._since_compact >= self.settings.compact_every:
                self._since_compact = 0
                table.optimize(cleanup_older_than=self.store.cleanup_older_than)

    def flush(self) -> None:
        """Write buffered access records now (``optimize``, ``reset`` and ``close`` call it)."""
        if self._drain():
            self._maintain()
        if self._since_prune >= self.settings.prune_every:
            self.prune()

    def pending(self) -> int:
        """How many access records are buffered and not yet written."""
        with self._lock:
            return len(self._pending)

    def prune(self) -> int:
        """Keep only the latest ``max_accesses`` records per live memory; returns rows removed.

        One atomic commit. Records newer than the snapshot it read (written meanwhile by
        another process) are never removed.
        """
        with self._io:
            table = self.store.accesses
            snap = table.to_arrow()
            self._since_prune = 0
            if snap.num_rows == 0:
                return 0
            live = self.store.query(None, ["id"]).column("id")
            snap = snap.sort_by([("memory_id", "ascending"), ("accessed_at", "descending")])
            ids = snap.column("memory_id").to_pylist()
            keep_idx: list[int] = []
            run_id, run_len = None, 0
            for idx, mid in enumerate(ids):
                run_len = run_len + 1 if mid == run_id else 1
                run_id = mid
                if run_len <= self.settings.max_accesses:
                    keep_idx.append(idx)
            keep = snap.take(pa.array(keep_idx, pa.int64()))
            keep = keep.filter(pc.is_in(keep.column("memory_id"), value_set=live))
            removed = int(snap.num_rows - keep.num_rows)
            if removed == 0:
                return 0
            newest = pc.max(snap.column("accessed_at")).as_py()
            keep = keep.group_by(["memory_id", "accessed_at"]).aggregate([])
            (
                table.merge_insert(["memory_id", "accessed_at"])
                .when_not_matched_by_source_delete(f"accessed_at <= {sql_timestamp(newest)}")
                .execute(keep.select(["memory_id", "accessed_at"]).cast(snap.schema))
            )
            table.optimize(cleanup_older_than=self.store.cleanup_older_than)
        return removed

    def close(self) -> None:
        """Stop the recorder after writing what is buffered."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        self._drain()
