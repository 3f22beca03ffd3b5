"""Recency decay: a soft ranking bias that favours memories used lately.

Nothing is hidden or deleted. At search time each candidate's relevance is multiplied by a
factor between ``floor`` (0.3) and ``ceiling`` (1.5) computed from its last accesses; the
result is clamped to [0, 1]. The curve is base-level activation from ACT-R squashed into the
band::

    x      = sum over the last 20 accesses j of (half_life / (weight * age_j)) ** shape
    factor = floor + (ceiling - floor) * x / (1 + x)

A single touch ``half_life`` ago lands halfway between floor and ceiling; just now gives the
ceiling; the tail falls like a power law, so "idle for weeks" is near the floor but a memory
used many times keeps more of its boost than one used once. A memory never accessed counts its
``updated_at`` as one touch. ``weight`` comes from the memory's categories (0 stops time for
that category, 0.5 halves its speed); it is the slowest of the listed categories, 1 otherwise.

:func:`decay_factor` and :func:`decay_score` are the pure curve. :class:`DecayEngine` applies
it to search hits, keeps a bounded per-process cache of access times so search pays no extra
query for memories it has seen, and records accesses on one background thread that writes them
in batches to the separate ``accesses`` table (never the memories table).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from lancedb.index import BTree
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .clock import Clock, utc
from .errors import ConfigurationError
from .filters import sql_string, sql_timestamp
from .records import SearchHit

__all__ = [
    "DecayEngine",
    "DecaySettings",
    "category_weight",
    "decay_factor",
    "decay_score",
    "item_from_record",
]

log = logging.getLogger(__name__)

#: Ages are floored at this fraction of the half-life, so the power never overflows.
_MIN_RATIO = 1e-9
#: Ids per ``memory_id IN (...)`` query when loading access history.
_LOAD_CHUNK = 500


class DecaySettings(BaseModel):
    """The band, speed and bookkeeping of decay; the defaults are Mem0's behaviour.

    ``half_life`` is the idle time after which a memory touched once sits halfway between
    floor and ceiling (0.9× by default); ``shape`` is how sharply it falls around that point.
    ``category_weights`` scales the clock per category: ``{"health": 0.0}`` never decays,
    ``{"health": 0.25}`` decays four times slower, ``{"small_talk": 3.0}`` three times faster.
    The remaining fields tune the access recorder and rarely need changing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    floor: float = Field(default=0.3, gt=0.0, le=1.0)
    ceiling: float = Field(default=1.5, ge=1.0, le=10.0)
    half_life: timedelta = timedelta(days=3)
    shape: float = Field(default=1.0, ge=0.2, le=5.0)
    max_accesses: int = Field(default=20, ge=1, le=1000)
    category_weights: dict[str, float] = Field(default_factory=dict)
    #: write buffered access records once this many are waiting...
    flush_rows: int = Field(default=512, ge=1, le=100_000)
    #: ...or after this long, whichever comes first.
    flush_interval: timedelta = timedelta(seconds=2)
    #: at most this many unwritten records are held; beyond it the oldest are dropped.
    max_pending: int = Field(default=20_000, ge=1)
    #: memories whose access times are cached per process (0 disables the cache).
    cache_size: int = Field(default=20_000, ge=0)
    #: cached access times are re-read after this long, to see other processes' accesses.
    cache_ttl: timedelta = timedelta(minutes=15)
    #: the accesses table is compacted (and its index refreshed) after this many writes.
    compact_every: int = Field(default=50, ge=1)
    #: the accesses table is pruned to ``max_accesses`` per memory after this many writes.
    prune_every: int = Field(default=50_000, ge=1)

    @field_validator("half_life")
    @classmethod
    def _half_life_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(days=3650):
            raise ValueError("half_life must be between 1 second and 10 years")
        return value

    @field_validator("flush_interval", "cache_ttl")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration")
        return value

    @field_validator("category_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if not name.strip():
                raise ValueError("category names must be non-empty")
            if not math.isfinite(weight) or not 0.0 <= weight <= 100.0:
                raise ValueError(f"weight of {name!r} must be in [0, 100], got {weight!r}")
        return value

    @model_validator(mode="after")
    def _buffer(self) -> DecaySettings:
        if self.max_pending < self.flush_rows:
            raise ValueError("max_pending must be at least flush_rows")
        return self

    @classmethod
    def coerce(cls, value: Any) -> DecaySettings:
        """Accept ``None`` (defaults), a ``DecaySettings`` or a dict of its fields."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            try:
                return cls.model_validate(dict(value))
            except ValueError as exc:
                raise ConfigurationError(f"invalid decay_settings: {exc}") from exc
        raise ConfigurationError(
            f"decay_settings must be a DecaySettings, a dict or None, got {type(value).__name__}"
        )


DEFAULT_SETTINGS = DecaySettings()


# ---------------------------------------------------------------------------------------------
# The curve (pure)
# ---------------------------------------------------------------------------------------------


def category_weight(categories: Iterable[str], settings: DecaySettings = DEFAULT_SETTINGS) -> float:
    """How fast a memory's clock runs: the slowest of its weighted categories, else 1."""
    weights = [settings.category_weights[c] for c in categories if c in settings.category_weights]
    return min(weights) if weights else 1.0


def _factor(times: Iterable[float], now: float, weight: float, s: DecaySettings) -> float:
    """The curve on epoch seconds; ``times`` are the (at most ``max_accesses``) touches."""
    half = s.half_life.total_seconds()
    x = 0.0
    for t in times:
        ratio = max(now - t, 0.0) * weight / half
        if ratio <= 0.0:
            return s.ceiling
        x += max(ratio, _MIN_RATIO) ** -s.shape
    if x == 0.0:
        return 1.0  # no evidence at all: leave relevance alone
    return s.floor + (s.ceiling - s.floor) / (1.0 + 1.0 / x)


def _epoch(value: datetime) -> float:
    return utc(value).timestamp()


def _memory_factor(
    times: Sequence[float],
    updated_at: datetime | None,
    now: float,
    categories: Iterable[str],
    s: DecaySettings,
) -> float:
    """The factor from sorted access times, falling back to ``updated_at`` as one touch."""
    recent = list(times[-s.max_accesses :])
    if not recent and updated_at is not None:
        recent = [_epoch(updated_at)]
    return _factor(recent, now, category_weight(categories, s), s)


def decay_factor(
    accessed_at: Sequence[datetime],
    updated_at: datetime | None,
    now: datetime,
    *,
    categories: Iterable[str] = (),
    settings: DecaySettings | None = None,
) -> float:
    """The multiplier in ``[floor, ceiling]`` for a memory with these access times.

    Only the latest ``max_accesses`` times count. With no accesses, ``updated_at`` is one
    touch; with neither, the factor is 1 (no evidence, no bias).
    """
    s = settings or DEFAULT_SETTINGS
    times = sorted(_epoch(t) for t in accessed_at)
    return _memory_factor(times, updated_at, _epoch(now), categories, s)


def decay_score(
    relevance: float,
    accessed_at: Sequence[datetime],
    updated_at: datetime | None,
    now: datetime,
    *,
    categories: Iterable[str] = (),
    settings: DecaySettings | None = None,
) -> float:
    """Relevance times :func:`decay_factor`, clamped to [0, 1] (the public score's range)."""
    factor = decay_factor(accessed_at, updated_at, now, categories=categories, settings=settings)
    return min(1.0, max(0.0, float(relevance) * factor))


#: Relevance assumed for an item that carries neither ``relevance`` nor a score.
NEUTRAL_RELEVANCE = 0.5

RescoreItem = tuple[str, float, datetime | None, list[str]]


def item_from_record(memory_id: str, record: Mapping[str, Any], score: Any = None) -> RescoreItem:
    """What :meth:`DecayEngine.rescore` needs, read from a record dict that crossed a framework.

    The reranker nodes get documents or nodes whose metadata is a Mem0-shaped record. The
    relevance is the pre-decay ``relevance`` when present, else ``score``, else
    :data:`NEUTRAL_RELEVANCE`; ``updated_at`` may be an ISO string; anything unusable is
    ignored, so an item that did not come from the store keeps a factor of 1.
    """
    relevance = record.get("relevance", score if score is not None else record.get("score"))
    if (
        isinstance(relevance, bool)
        or not isinstance(relevance, (int, float))
        or not math.isfinite(relevance)
    ):
        relevance = NEUTRAL_RELEVANCE
    updated = record.get("updated_at")
    if isinstance(updated, str):
        try:
            updated = datetime.fromisoformat(updated)
        except ValueError:
            updated = None
    cats = record.get("categories")
    categories = [c for c in cats if isinstance(c, str)] if isinstance(cats, list) else []
    when = updated if isinstance(updated, datetime) else None
    return memory_id, float(relevance), when, categories


# ---------------------------------------------------------------------------------------------
# The engine: cache, background recorder, pruning
# ---------------------------------------------------------------------------------------------


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
        now = _epoch(self.clock.now())
        history = self._access_times([i[0] for i in items])
        out = []
        for memory_id, relevance, updated_at, categories in items:
            times = history.get(memory_id, [])
            if before_retrieval and times:
                last = self._recorded.get(memory_id)
                if last is not None and last in times:
                    times = list(times)
                    del times[len(times) - 1 - times[::-1].index(last)]
            factor = _memory_factor(times, updated_at, now, categories, s)
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
            pending = Counter((m, _epoch(t)) for m, t in self._pending if m in wanted)
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
        ts = _epoch(now)
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
