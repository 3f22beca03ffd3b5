"""Searched scopes held in RAM, each exactly as the table was at one version.

Why: a search through LanceDB is two queries (vector and full-text), each with a fixed cost
before a row is read (the plan, a file open per fragment, the hop to LanceDB's runtime) and
a growing one while the store is fragmented or its full-text index lags behind the latest
appends. One user's memories (hundreds to thousands of rows) are searched in numpy in well
under a millisecond, so a scope is read once, with one scan, and searched here until the
table moves on.

Correctness rests on versions: a LanceDB table at version V never changes, and the store's
reader finds the latest version before every search (a ``stat`` on a local disk, see
``store._SearchReader``). A snapshot answers only for the version it was read at, so a
search sees exactly the rows the two queries would have seen, writes of any process
included. Expiry is the one thing that moves without a commit; it is applied per search,
with the rule of ``expiry.live_sql``. This process's own appends and updates create a
version that is the one before plus known rows (minus the rows an update replaced), so held
scopes are carried over to it (``ScopeCache.appended``) at the cost of the commit's rows,
not the scope's: the vectors, norms and postings grow in place (``scope_chain.Chain``,
``TextIndex.extend``) and nothing held is analysed again. An agent that searches, adds and
searches again never re-reads its scope (before, the index was rebuilt from every row on the first
search after each write: 2.7 s at 50,000 memories in one scope, ``bench/growth.py``).
Deletes, compactions and other processes' commits make the next search re-read.

Every scope within the budget (``max_rows`` memories and ``max_bytes``: ``scope_chain`` says
what a held row costs) is searched this way, whether or not it is already in RAM, so a
search's scores never depend on what happened to be cached: BM25's statistics are always the
scope's own (see ``text_index``). Larger scopes go to LanceDB, whose full-text statistics
are the whole table's.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ..clock import utc
from .rows import candidate, vector_matrix
from .scope_chain import Chain, compact, own_matrix

__all__ = ["ScopeCache", "Snapshot"]

#: How long a scope found over the budget is sent to LanceDB before it is counted again.
RECOUNT_S = 60.0
#: Over-budget scopes remembered (a few dozen bytes each).
_TRACKED = 10_000


class Snapshot:
    """One scope's rows at one table version: a prefix of its chain, searched in numpy.

    ``scope`` is the scope's ids when ``where`` selects exactly the rows with them (no other
    filter): then this process's own appends and updates can be applied without reading the
    scope again (``advanced``). None means the snapshot is re-read after any commit.
    ``size`` counts the slots it spans (dead ones too: they hold RAM until the next read).
    """

    def __init__(
        self,
        version: int,
        rows: pa.Table,
        scope: Mapping[str, str] | None = None,
        *,
        chain: Chain | None = None,
        seq: int = 0,
        n: int = 0,
        live: int = 0,
        live_length: float = 0.0,
    ) -> None:
        self.version = version
        if chain is None:
            # The vectors live only in the matrix: kept in the table too, they would be held
            # twice. Both are copies: what LanceDB returned pins the pages it was cut from.
            chain = Chain(compact(rows.drop_columns(["vector"])), own_matrix(rows))
            n = live = chain.n
            live_length = chain.text.total_length
        self.chain = chain
        self.seq = seq
        self.size = n
        self.live = live
        self.live_length = live_length
        self.scope = dict(scope) if scope else None

    @property
    def nbytes(self) -> int:
        """RAM held by this scope now: its chain's (rows it converted since included)."""
        return self.chain.nbytes

    def advanced(
        self, version: int, written: pa.Table, *, replaces: bool = False
    ) -> Snapshot | None:
        """The scope at ``version``, made by this process's commit of ``written`` on this one.

        ``replaces`` says the commit replaced rows by id (an upsert): rows of this scope with
        those ids are gone from it, and the new rows of this scope are in it. None when this
        snapshot cannot be carried over (other filters, or it is not the chain's newest).
        """
        if self.scope is None:
            return None
        keep = None
        for column, value in self.scope.items():
            match = pc.equal(written.column(column), pa.scalar(value, pa.string()))
            keep = match if keep is None else pc.and_(keep, match)
        mine = written.filter(pc.fill_null(keep, False)) if keep is not None else written
        chain = self.chain
        with chain.lock:
            if chain.tip != self.seq or chain.n != self.size:
                return None
            kill: list[str] = written.column("id").to_pylist() if replaces else []
            dead = [chain.slot_of[i] for i in kill if i in chain.slot_of]
            lost = sum(chain.text.length(k) for k in dead)
            rows: list[dict[str, Any]] = []
            vectors = np.zeros((0, chain.vectors.shape[1]), dtype=np.float32)
            if mine.num_rows:
                vectors = vector_matrix(mine).astype(np.float32, copy=False)
                base = chain.base.schema
                rows = mine.select(base.names).cast(base).to_pylist()
            before = chain.text.total_length
            seq = self.seq + 1
            chain.extend(seq, kill, rows, vectors)
            gained = chain.text.total_length - before
            return Snapshot(
                version,
                chain.base,
                self.scope,
                chain=chain,
                seq=seq,
                n=chain.n,
                live=self.live - len(dead) + len(rows),
                live_length=self.live_length - lost + gained,
            )

    def candidates(
        self,
        query_vector: npt.NDArray[np.float32],
        query: str,
        now: datetime | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The ``limit`` best rows by cosine and by BM25, as ``rows.candidates``.

        What the two LanceDB queries of ``Store.scoped_search`` would return, rows expired
        at ``now`` left out (``None`` keeps them, for ``show_expired``).
        """
        n, chain = self.size, self.chain
        if self.live == 0:
            return [], []
        vectors, inv_norms = chain.vectors, chain.inv_norms  # one read each: growth swaps them
        alive = None if chain.kills == 0 else chain.killed_at[:n] > self.seq
        live = alive
        if now is not None and chain.expiring:
            cutoff = np.datetime64(utc(now).replace(tzinfo=None), "us")
            exp = chain.expires[:n]
            unexpired = np.isnat(exp) | (exp > cutoff)
            live = unexpired if live is None else live & unexpired
        qnorm = float(np.linalg.norm(query_vector))
        vecs = vectors[:n]
        cos = (vecs @ query_vector) * inv_norms[:n] * (1.0 / qnorm if qnorm else 0.0)
        bm25 = chain.text.scores(query, n, alive, self.live, self.live_length)
        by_text = _top(bm25, limit, bm25 > 0 if live is None else live & (bm25 > 0))
        ids = chain.ids
        return (
            [candidate(ids[k], vecs[k], None, self, k) for k in _top(cos, limit, live)],
            [candidate(ids[k], vecs[k], float(bm25[k]), self, k) for k in by_text],
        )

    def records(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Full rows (without the vector) by slot, for ``rows.materialize``."""
        held = self.chain.records
        missing = [k for k in numbers if k not in held]
        if missing:  # a race converts a row twice, harmlessly
            taken = self.chain.base.take(missing).to_pylist()
            held.update(zip(missing, taken, strict=True))
        return [held[k] for k in numbers]


def _top(
    scores: npt.NDArray[np.float32], limit: int, keep: npt.NDArray[np.bool_] | None
) -> list[int]:
    """Row numbers of the ``limit`` highest scores among ``keep``; ties by row number."""
    idx = np.arange(len(scores)) if keep is None else np.flatnonzero(keep)
    if len(idx) > limit:
        part = np.argpartition(-scores[idx], limit - 1)[:limit]
        idx = np.sort(idx[part])
    order = np.lexsort((idx, -scores[idx]))
    return idx[order].tolist()  # type: ignore[no-any-return]


class ScopeCache:
    """Snapshots by where-clause, least recently used out first, within a row and a byte budget.

    ``max_rows`` caps the memories held, ``max_bytes`` (None: no cap) what they really cost
    (``Snapshot.nbytes``: with 384-d vectors ~2.1 KB a row, with 1536-d ~6.7 KB), so one
    budget holds in RAM whatever the embedder's dimension. A snapshot's bytes grow as its
    searches convert rows; its charge is brought up to date whenever the cache touches it.

    Thread-safe; a snapshot is immutable once built (its record cache only fills in), so a
    search may go on using one that another thread has just evicted.
    """

    def __init__(self, max_rows: int, max_bytes: int | None = None) -> None:
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()
        self._rows = 0
        self._bytes = 0
        self._charged: dict[str, int] = {}  # where -> bytes counted in ``_bytes``
        self._too_big: OrderedDict[str, float] = OrderedDict()  # where -> when it was counted
        self._missed: OrderedDict[str, None] = OrderedDict()  # scopes searched cold once
        self._lock = threading.Lock()

    def get(self, where: str, version: int) -> Snapshot | None:
        """The snapshot of ``where`` if it was read at ``version``: any other is stale."""
        with self._lock:
            snap = self._snapshots.get(where)
            if snap is None or snap.version != version:
                return None
            self._snapshots.move_to_end(where)
            self._charge(where, snap)
            self._evict()  # never this one: it is the newest
            return snap

    def may_hold(self, where: str) -> bool:
        """False while ``where`` is known to select more than the budget (re-counted later)."""
        if self.max_rows <= 0 or self.max_bytes == 0:
            return False
        with self._lock:
            counted = self._too_big.get(where)
            if counted is None:
                return True
            if time.monotonic() - counted < RECOUNT_S:
                return False
            del self._too_big[where]
            return True

    def missed(self, where: str) -> bool:
        """Note a search of ``where`` that found it not held; True if one was noted before."""
        with self._lock:
            if where in self._missed:
                del self._missed[where]
                return True
            self._missed[where] = None
            while len(self._missed) > _TRACKED:
                self._missed.popitem(last=False)
            return False

    def over_budget(self, where: str) -> None:
        """Note that ``where`` selected more than the budget (``may_hold`` says no a while)."""
        with self._lock:
            self._note_too_big(where)

    def _note_too_big(self, where: str) -> None:
        self._too_big[where] = time.monotonic()
        self._too_big.move_to_end(where)
        while len(self._too_big) > _TRACKED:
            self._too_big.popitem(last=False)

    def put(self, where: str, snap: Snapshot) -> None:
        """Keep ``snap`` unless a newer one is held, evicting the least recently used."""
        with self._lock:
            held = self._snapshots.get(where)
            if held is not None and held.version > snap.version:
                return
            self._drop(where)
            if self._too_heavy(snap):
                self._note_too_big(where)  # alone over the byte budget: LanceDB's
                return
            self._snapshots[where] = snap
            self._rows += snap.size
            self._charge(where, snap)
            self._evict()

    def appended(self, version: int, rows: pa.Table, *, replaces: bool = False) -> None:
        """Carry the held scopes over to ``version``, which this process made by writing ``rows``.

        A snapshot of the version just before is that version plus the commit's rows of its
        scope (minus the rows they replace, for an upsert), so an agent that adds and then
        searches does not read its scope again: the cost is the commit's rows, not the
        scope's. Older ones are stale now and go (a search of their scope re-reads it).
        """
        with self._lock:
            held = [(w, s) for w, s in self._snapshots.items() if s.version < version]
        for where, snap in held:
            nxt = None
            if snap.version == version - 1:
                nxt = snap.advanced(version, rows, replaces=replaces)
            with self._lock:
                if self._snapshots.get(where) is not snap:
                    continue  # a search replaced it meanwhile
                if nxt is None or nxt.size > self.max_rows or self._too_heavy(nxt):
                    self._drop(where)
                else:
                    self._snapshots[where] = nxt
                    self._rows += nxt.size - snap.size
                    self._charge(where, nxt)
        with self._lock:
            self._evict()

    def clear(self) -> None:
        """Forget everything (the table was dropped and recreated)."""
        with self._lock:
            self._snapshots.clear()
            self._too_big.clear()
            self._missed.clear()
            self._charged.clear()
            self._rows = self._bytes = 0

    @property
    def rows(self) -> int:
        """Memories held now, across snapshots."""
        return self._rows

    @property
    def nbytes(self) -> int:
        """Bytes held now, across snapshots, as last counted (``Snapshot.nbytes``)."""
        return self._bytes

    def _over(self) -> bool:
        return self._rows > self.max_rows or (
            self.max_bytes is not None and self._bytes > self.max_bytes
        )

    def _too_heavy(self, snap: Snapshot) -> bool:
        return self.max_bytes is not None and snap.nbytes > self.max_bytes

    def _evict(self) -> None:
        """Drop the least recently used snapshots beyond the budget (always keep the newest)."""
        while self._over() and len(self._snapshots) > 1:
            self._drop(next(iter(self._snapshots)))

    def _charge(self, where: str, snap: Snapshot) -> None:
        now = snap.nbytes
        self._bytes += now - self._charged.get(where, 0)
        self._charged[where] = now

    def _drop(self, where: str) -> None:
        old = self._snapshots.pop(where, None)
        if old is not None:
            self._rows -= old.size
            self._bytes -= self._charged.pop(where, 0)
