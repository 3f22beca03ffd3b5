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
with the rule of ``expiry.live_sql``. This process's own appends create a version that is
the one before plus known rows, so held scopes are carried over to it (``ScopeCache
.appended``): an agent that searches, adds and searches again never re-reads its scope.
Updates, deletes, compactions and other processes' commits make the next search re-read.

Every scope of at most ``max_rows`` memories is searched this way, whether or not it is
already in RAM, so a search's scores never depend on what happened to be cached: BM25's
statistics are always the scope's own (see ``text_index``). Larger scopes go to LanceDB,
whose full-text statistics are the whole table's.
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
from .text_index import TextIndex

__all__ = ["ScopeCache", "Snapshot"]

#: How long a scope found over the budget is sent to LanceDB before it is counted again.
RECOUNT_S = 60.0
#: Over-budget scopes remembered (a few dozen bytes each).
_TRACKED = 10_000


class _Index:
    """What searching a snapshot needs besides its vectors, built from its rows on first use."""

    def __init__(self, rows: pa.Table, vectors: npt.NDArray[np.float32]) -> None:
        self.ids: list[str] = rows.column("id").to_pylist()
        norms = np.linalg.norm(vectors, axis=1)
        self.inv_norms = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        expires = rows.column("expires_at").cast(pa.timestamp("us", tz="UTC"))
        self.expires = expires.to_numpy(zero_copy_only=False).astype("datetime64[us]")
        self.no_expiry = bool(np.isnat(self.expires).all())
        self.text = TextIndex(rows.column("memory").to_pylist())


class Snapshot:
    """One scope's rows at one table version; searched through an index built on first use.

    ``scope`` is the scope's ids when ``where`` selects exactly the rows with them (no other
    filter): then this process's own appends can be added without reading the scope again
    (``advanced``). None means the snapshot is re-read after any commit.
    """

    def __init__(
        self,
        version: int,
        rows: pa.Table,
        scope: Mapping[str, str] | None = None,
        vectors: npt.NDArray[np.float32] | None = None,
    ) -> None:
        self.version = version
        # The vectors live only in the matrix: kept in the table too, they would be held twice.
        if vectors is None:
            vectors = np.ascontiguousarray(vector_matrix(rows), dtype=np.float32)
            rows = rows.drop_columns(["vector"])
        self.vectors = vectors
        self.rows = rows
        self.size = rows.num_rows
        self.scope = dict(scope) if scope else None
        self._index: _Index | None = None
        self._lock = threading.Lock()
        # Rows converted to Python so far: a scope's hits repeat, and converting them costs
        # more than scoring the whole scope. Row numbers never change (appends go at the
        # end), so an advanced snapshot shares this. A race converts a row twice, harmlessly.
        self._records: dict[int, dict[str, Any]] = {}

    def advanced(self, version: int, appended: pa.Table) -> Snapshot | None:
        """The scope at ``version``, which appended ``appended`` (a whole commit) to this one.

        None when the commit's rows of this scope cannot be told here (other filters).
        """
        if self.scope is None:
            return None
        keep = None
        for column, value in self.scope.items():
            match = pc.equal(appended.column(column), pa.scalar(value, pa.string()))
            keep = match if keep is None else pc.and_(keep, match)
        mine = appended.filter(pc.fill_null(keep, False)) if keep is not None else appended
        if mine.num_rows == 0:
            out = Snapshot(version, self.rows, self.scope, self.vectors)
            out._index = self._index
        else:
            more = mine.select(self.rows.column_names).cast(self.rows.schema)
            out = Snapshot(
                version,
                pa.concat_tables([self.rows, more]),
                self.scope,
                np.vstack([self.vectors, vector_matrix(mine)]).astype(np.float32, copy=False),
            )
        out._records = self._records
        return out

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
        if self.size == 0:
            return [], []
        ix = self._built()
        live = None
        if now is not None and not ix.no_expiry:
            cutoff = np.datetime64(utc(now).replace(tzinfo=None), "us")
            live = np.isnat(ix.expires) | (ix.expires > cutoff)
        qnorm = float(np.linalg.norm(query_vector))
        cos = (self.vectors @ query_vector) * ix.inv_norms * (1.0 / qnorm if qnorm else 0.0)
        bm25 = ix.text.scores(query)
        by_text = _top(bm25, limit, bm25 > 0 if live is None else live & (bm25 > 0))
        vecs, ids = self.vectors, ix.ids
        return (
            [candidate(ids[n], vecs[n], None, self, n) for n in _top(cos, limit, live)],
            [candidate(ids[n], vecs[n], float(bm25[n]), self, n) for n in by_text],
        )

    def records(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Full rows (without the vector) by row number, for ``rows.materialize``."""
        missing = [n for n in numbers if n not in self._records]
        if missing:
            taken = self.rows.take(missing).to_pylist()
            self._records.update(zip(missing, taken, strict=True))
        return [self._records[n] for n in numbers]

    def _built(self) -> _Index:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = _Index(self.rows, self.vectors)
        return self._index


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
    """Snapshots by where-clause, least recently used out first, within a row budget.

    Thread-safe; a snapshot is immutable once built (its record cache only fills in), so a
    search may go on using one that another thread has just evicted.
    """

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()
        self._rows = 0
        self._too_big: OrderedDict[str, float] = OrderedDict()  # where -> when it was counted
        self._lock = threading.Lock()

    def get(self, where: str, version: int) -> Snapshot | None:
        """The snapshot of ``where`` if it was read at ``version``: any other is stale."""
        with self._lock:
            snap = self._snapshots.get(where)
            if snap is None or snap.version != version:
                return None
            self._snapshots.move_to_end(where)
            return snap

    def may_hold(self, where: str) -> bool:
        """False while ``where`` is known to select more than the budget (re-counted later)."""
        if self.max_rows <= 0:
            return False
        with self._lock:
            counted = self._too_big.get(where)
            if counted is None:
                return True
            if time.monotonic() - counted < RECOUNT_S:
                return False
            del self._too_big[where]
            return True

    def over_budget(self, where: str) -> None:
        """Note that ``where`` selected more than the budget (``may_hold`` says no a while)."""
        with self._lock:
            self._too_big[where] = time.monotonic()
            self._too_big.move_to_end(where)
            while len(self._too_big) > _TRACKED:
                self._too_big.popitem(last=False)

    def put(self, where: str, snap: Snapshot) -> None:
        """Keep ``snap``, evicting the least recently used beyond the budget."""
        with self._lock:
            self._drop(where)
            self._snapshots[where] = snap
            self._rows += snap.size
            self._evict()

    def appended(self, version: int, rows: pa.Table) -> None:
        """Carry the held scopes over to ``version``, which this process made by appending.

        A snapshot of the version just before is that version plus the commit's rows of its
        scope, so an agent that adds and then searches does not read its scope again. Older
        ones are stale now and go (a search of their scope would re-read it anyway).
        """
        with self._lock:
            held = [(w, s) for w, s in self._snapshots.items() if s.version < version]
        for where, snap in held:
            nxt = snap.advanced(version, rows) if snap.version == version - 1 else None
            with self._lock:
                if self._snapshots.get(where) is not snap:
                    continue  # a search replaced it meanwhile
                if nxt is None or nxt.size > self.max_rows:
                    self._drop(where)
                else:
                    self._snapshots[where] = nxt
                    self._rows += nxt.size - snap.size
        with self._lock:
            self._evict()

    def clear(self) -> None:
        """Forget everything (the table was dropped and recreated)."""
        with self._lock:
            self._snapshots.clear()
            self._too_big.clear()
            self._rows = 0

    @property
    def rows(self) -> int:
        """Memories held now, across snapshots."""
        return self._rows

    def _evict(self) -> None:
        """Drop the least recently used snapshots beyond the budget (always keep the newest)."""
        while self._rows > self.max_rows and len(self._snapshots) > 1:
            self._drop(next(iter(self._snapshots)))

    def _drop(self, where: str) -> None:
        old = self._snapshots.pop(where, None)
        if old is not None:
            self._rows -= old.size
