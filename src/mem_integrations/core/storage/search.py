"""Search through the store: vector, full-text and the scoped pair, from RAM or LanceDB.

A scope within the cache budget is answered from its snapshot in RAM (``scope_index``) at the
table's current version; a larger scope is two LanceDB queries gathered on the reader's loop.

Reading a scope costs more than searching it through LanceDB once: its rows are scattered
over the table (memories arrive interleaved across users), and every column is a random read
per row, then its text is analysed in Python. At 1M memories a cold 1k-row scope took ~4x a
raw LanceDB prefiltered search to read (``bench/results/growth-*.md``, scale case). So while
the whole table fits the budget, a scope is read at its first search, as before; in a larger
table a cold scope's first search goes through LanceDB's two indexed queries, and a scope
searched again while still remembered as missed is read on a background thread, so the
caller never waits for a scope read there (one read at a time, and at most one waiting: a
scope asked for meanwhile is asked for again at its next search). The price is that a cold
search in a large store ranks its text matches with the whole table's BM25 statistics, as
scopes over the budget always have, instead of the scope's own. Its full-text query selects
only what ranking reads, its vector query every column of its few nearest rows (the head,
``Searcher._cold``); the records of other rows kept are fetched afterwards (``storage.late``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..expiry import live_sql
from . import late, memtrim
from .late import LateRecords, expired
from .reader import SearchReader
from .rows import candidates
from .scope_index import ScopeCache, Snapshot

__all__ = ["Searcher"]

log = logging.getLogger(__name__)


class Searcher:
    """The read side of a store.

    ``has_fts`` tells whether the full-text index exists; ``ensure_indexes`` (blocking) builds
    the missing indexes, which LanceDB can only do once the table has rows; ``table_rows``
    estimates the table's size (whether every scope could be held at once).
    """

    def __init__(
        self,
        reader: SearchReader,
        scopes: ScopeCache,
        has_fts: Callable[[], bool],
        ensure_indexes: Callable[[], None],
        table_rows: Callable[[], int] = lambda: 0,
    ) -> None:
        self._reader = reader
        self.scopes = scopes
        self._has_fts = has_fts
        self._ensure_indexes = ensure_indexes
        self._table_rows = table_rows
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mem-scope-load")
        self._loading: set[str] = set()
        self._loading_lock = threading.Lock()

    def vector_search(
        self, vector: Sequence[float] | Any, where: str | None, limit: int, columns: Sequence[str]
    ) -> pa.Table:
        """Exact cosine search over the rows that pass ``where`` (a prefilter, never a postfilter).

        A postfilter would search the whole table first and could return fewer than
        ``limit`` rows of the caller's scope.
        """

        async def one() -> pa.Table:
            return await self._reader.vector(
                await self._reader.table(), vector, where, limit, columns
            )

        return self._reader.run(one())

    def text_search(
        self, text: str, where: str | None, limit: int, columns: Sequence[str]
    ) -> pa.Table:
        """BM25 over the memory text, through LanceDB's native full-text index."""

        async def one() -> pa.Table:
            return await self._text(await self._reader.table(), text, where, limit, columns)

        return self._reader.run(one())

    async def _text(
        self,
        table: Any,
        text: str,
        where: str | None,
        limit: int,
        columns: Sequence[str],
        row_ids: bool = False,
    ) -> pa.Table:
        if not self._has_fts():
            # Index creation is a blocking LanceDB call: keep it off the reader's event loop.
            await asyncio.get_running_loop().run_in_executor(None, self._ensure_indexes)
            if not self._has_fts():
                return pa.table({c: [] for c in [*columns, "_score"]})
            table = await self._reader.table()  # the index is a commit: query the version with it
        return await self._reader.text(table, text, where, limit, columns, row_ids)

    def scoped_search(
        self,
        vector: npt.NDArray[np.float32],
        text: str,
        scope_where: str,
        now: datetime | None,
        limit: int,
        columns: Sequence[str],
        scope: Mapping[str, str] | None = None,
        fetch_later: bool = True,
        head: int | None = None,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Vector and full-text candidates (``rows.candidates``) of the rows in one scope.

        ``scope_where`` selects the scope (scope ids and filters); rows expired at ``now`` are
        left out unless it is None. ``scope``, the scope ids, says that ``scope_where`` is
        exactly their equalities: a held snapshot then takes this process's appends in.

        From the scope's snapshot in RAM when there is one for the table's current version
        (``scope_index``); with no trip to the reader's loop when a ``stat`` vouches for the
        version. Else one trip that reads the scope, or, for a scope over the budget, gathers
        a vector and a full-text query (measured on a 50-row scope, the sync API cost 7.2 ms
        for the pair, as each sync call hops to LanceDB's loop thread several times and
        re-reads the schema; gathered, 5.1 ms). Those two queries select only what ranking
        reads, and ``rows.materialize`` fetches the kept rows' other columns at the same
        version (``storage.late``); ``fetch_later=False`` selects every column at once (the
        retry when that version is gone: ``late.VersionGone``). ``head``: the vector query of
        a cold search returns only its ``head`` nearest rows, with every column (see
        ``_cold``); the caller checks that the rows past them could not change its result.
        """
        version = self._reader.settled_version()
        snap = None if version is None else self.scopes.get(scope_where, version)
        if snap is not None:  # the common case costs no trip to the reader's loop at all
            return snap.candidates(vector, text, now, limit)
        where = scope_where if now is None else f"({scope_where}) AND {live_sql(now)}"
        cap = self.scopes.max_rows

        async def go() -> tuple[int, Snapshot | pa.Table | None, tuple[pa.Table, pa.Table] | None]:
            table = await self._reader.table()
            version = int(await table.version())  # before any read: data is never older
            snap = self.scopes.get(scope_where, version)
            if snap is not None:
                return version, snap, None
            if self.scopes.may_hold(scope_where):
                if self._table_rows() > cap:  # a large table: read the scope if it is hot
                    if self.scopes.missed(scope_where):
                        self._load_later(scope_where, columns, scope)
                else:
                    rows = await self._read_scope(table, scope_where, columns)
                    if rows is not None:
                        return version, rows, None
            if not fetch_later:
                return version, None, await self._pair(table, vector, text, where, limit, columns)
            pinned = await self._reader.at(version)  # the take must read this version too
            cold = await self._cold(pinned, vector, text, scope_where, now, limit, columns, head)
            return version, None, cold

        version, found, tables = self._reader.run(go())
        if tables is not None:
            if not fetch_later:
                return candidates(tables[0]), candidates(tables[1])
            source = LateRecords(self._reader, version, columns)
            by_vector = candidates(tables[0]) if head else source.candidates(tables[0])
            return by_vector, source.candidates(tables[1])
        if isinstance(found, pa.Table):  # built here, off the reader's loop: it is CPU work
            found = Snapshot(version, found, scope)
            self.scopes.put(scope_where, found)
        assert isinstance(found, Snapshot)
        return found.candidates(vector, text, now, limit)

    async def _cold(
        self,
        table: Any,
        vector: npt.NDArray[np.float32],
        text: str,
        scope_where: str,
        now: datetime | None,
        limit: int,
        columns: Sequence[str],
        head: int | None,
    ) -> tuple[pa.Table, pa.Table]:
        """The two queries of a cold search, cheaper than the one-step ``_pair``, same rows.

        Expiry is checked on what they return rather than in their filter: in the filter it
        is read for every row of the scope (~1.5 ms at 1k rows, measured at 1M memories);
        here it is one more column of the candidates. If none is expired, the lists are those
        the filtered queries return (each is its scope's top rows, all live; full-text scores
        use the whole index's statistics, whatever the filter); else both run again filtered.

        With ``head``, the vector query returns its ``head`` nearest rows with every column,
        so the rows kept from it need no take (``storage.late``): one take of 10 rows cost
        ~4 ms, as much as the whole full-text query, and selecting 20 rows' columns ~2 ms.
        """
        vcols = list(columns) if head else late.RANK_COLUMNS
        live = None if now is None else f"({scope_where}) AND {live_sql(now)}"
        for where in (scope_where, live):
            assert where is not None
            # If the full-text index is created here (``_text``), the text query reads the
            # version that commit made: the index moves no row, so row ids are still valid.
            vec, fts = await asyncio.gather(
                self._reader.vector(table, vector, where, head or limit, vcols, not head),
                self._text(table, text, where, limit, late.RANK_COLUMNS, True),
            )
            if live is None or where == live or not (expired(vec, now) or expired(fts, now)):
                break
        return vec, fts

    async def _pair(
        self,
        table: Any,
        vector: npt.NDArray[np.float32],
        text: str,
        where: str,
        limit: int,
        columns: Sequence[str],
    ) -> tuple[pa.Table, pa.Table]:
        """The vector and full-text queries in one step, every column, gathered."""
        vec, fts = await asyncio.gather(
            self._reader.vector(table, vector, where, limit, columns),
            self._text(table, text, where, limit, columns),
        )
        return vec, fts

    async def _read_scope(self, table: Any, where: str, columns: Sequence[str]) -> pa.Table | None:
        """The rows of a scope, or None (and noted) when it holds more than the budget."""
        cap = self.scopes.max_rows
        rows = await table.query().where(where).select(list(columns)).limit(cap + 1).to_arrow()
        if rows.num_rows <= cap:
            return rows
        self.scopes.over_budget(where)
        return None

    def _load_later(
        self, where: str, columns: Sequence[str], scope: Mapping[str, str] | None
    ) -> None:
        """Read a scope into RAM on the loader thread, unless a read is queued or running.

        At most one read is pending: under uniform access over more scopes than the budget
        holds, queuing every re-missed scope kept a core busy reading scopes that were
        evicted before their next search. A request dropped here leaves its scope noted as
        missed, so its next search asks again.
        """
        with self._loading_lock:
            busy = bool(self._loading)
            if not busy:
                self._loading.add(where)
        if busy:
            self.scopes.missed(where)
            return
        try:
            self._loader.submit(self._load, where, list(columns), scope)
        except RuntimeError:  # closing: nothing more to load
            with self._loading_lock:
                self._loading.discard(where)

    def _load(self, where: str, columns: list[str], scope: Mapping[str, str] | None) -> None:
        async def read() -> tuple[int, pa.Table | None]:
            table = await self._reader.table()
            version = int(await table.version())  # before the read: data is never older
            if self.scopes.get(where, version) is not None:
                return version, None
            return version, await self._read_scope(table, where, columns)

        try:
            version, rows = self._reader.run(read())
            if rows is not None:  # built here, on the loader thread: it is CPU work
                self.scopes.put(where, Snapshot(version, rows, scope))
        except Exception:  # a cache fill must never take the app down; the next search reads
            log.warning("background read of a scope failed", exc_info=True)
        finally:
            with self._loading_lock:
                self._loading.discard(where)
            memtrim.trim()  # a scope read frees as much as it keeps (``storage.memtrim``)

    def wait_for_loads(self) -> None:
        """Block until the scope reads already queued are done (tests, benchmarks, close)."""
        self._loader.submit(lambda: None).result()

    def close(self) -> None:
        """Finish queued scope reads; no new ones start."""
        self._loader.shutdown(wait=True)
