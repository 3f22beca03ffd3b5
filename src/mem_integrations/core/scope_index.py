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
with the rule of ``expiry.live_sql``.

Every scope of at most ``max_rows`` memories is searched this way, whether or not it is
already in RAM, so a search's scores never depend on what happened to be cached: BM25's
statistics are always the scope's own (see ``text_index``). Larger scopes go to LanceDB,
whose full-text statistics are the whole table's.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from .clock import utc
from .rows import candidate, vector_matrix
from .text_index import TextIndex

__all__ = ["ScopeCache", "Snapshot"]

#: How long a scope found over the budget is sent to LanceDB before it is counted again.
RECOUNT_S = 60.0
#: Over-budget scopes remembered (a few dozen bytes each).
_TRACKED = 10_000


class Snapshot:
    """One scope's rows at one table version, with what searching them needs."""

    def __init__(self, version: int, rows: pa.Table) -> None:
        self.version = version
        self.rows = rows
        self.size = rows.num_rows
        self.ids: list[str] = rows.column("id").to_pylist()
        self.vectors = vector_matrix(rows)
        norms = np.linalg.norm(self.vectors, axis=1)
        self._inv_norms = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0).astype(
            np.float32
        )
        expires = rows.column("expires_at").cast(pa.timestamp("us", tz="UTC"))
        self._expires = expires.to_numpy(zero_copy_only=False).astype("datetime64[us]")
        self._no_expiry = bool(np.isnat(self._expires).all())
        self.text = TextIndex(rows.column("memory").to_pylist())
        # Rows converted to Python so far: a scope's hits repeat, and converting them costs
        # more than scoring the whole scope. Filled in under the GIL; a race converts twice.
        self._records: dict[int, dict[str, Any]] = {}

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
        live = self._live(now)
        qnorm = float(np.linalg.norm(query_vector))
        cos = (self.vectors @ query_vector) * self._inv_norms * (1.0 / qnorm if qnorm else 0.0)
        bm25 = self.text.scores(query)
        by_text = _top(bm25, limit, bm25 > 0 if live is None else live & (bm25 > 0))
        vecs, ids = self.vectors, self.ids
        return (
            [candidate(ids[n], vecs[n], None, self, n) for n in _top(cos, limit, live)],
            [candidate(ids[n], vecs[n], float(bm25[n]), self, n) for n in by_text],
        )

    def records(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Full rows (without the vector) by row number, for ``rows.materialize``."""
        missing = [n for n in numbers if n not in self._records]
        if missing:
            taken = self.rows.take(missing).drop_columns(["vector"]).to_pylist()
            self._records.update(zip(missing, taken, strict=True))
        return [self._records[n] for n in numbers]

    def _live(self, now: datetime | None) -> npt.NDArray[np.bool_] | None:
        if now is None or self._no_expiry:
            return None
        cutoff = np.datetime64(utc(now).replace(tzinfo=None), "us")
        live: npt.NDArray[np.bool_] = np.isnat(self._expires) | (self._expires > cutoff)
        return live


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
            while self._rows > self.max_rows and len(self._snapshots) > 1:
                self._drop(next(iter(self._snapshots)))

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

    def _drop(self, where: str) -> None:
        old = self._snapshots.pop(where, None)
        if old is not None:
            self._rows -= old.size
