"""Search through the store: vector, full-text and the scoped pair, from RAM or LanceDB.

A scope within the cache budget is answered from its snapshot in RAM (``scope_index``) at the
table's current version; a larger scope is two LanceDB queries gathered on the reader's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from ..expiry import live_sql
from .reader import SearchReader
from .rows import candidates
from .scope_index import ScopeCache, Snapshot

__all__ = ["Searcher"]


class Searcher:
    """The read side of a store.

    ``has_fts`` tells whether the full-text index exists; ``ensure_indexes`` (blocking) builds
    the missing indexes, which LanceDB can only do once the table has rows.
    """

    def __init__(
        self,
        reader: SearchReader,
        scopes: ScopeCache,
        has_fts: Callable[[], bool],
        ensure_indexes: Callable[[], None],
    ) -> None:
        self._reader = reader
        self.scopes = scopes
        self._has_fts = has_fts
        self._ensure_indexes = ensure_indexes

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
        self, table: Any, text: str, where: str | None, limit: int, columns: Sequence[str]
    ) -> pa.Table:
        if not self._has_fts():
            # Index creation is a blocking LanceDB call: keep it off the reader's event loop.
            await asyncio.get_running_loop().run_in_executor(None, self._ensure_indexes)
            if not self._has_fts():
                return pa.table({c: [] for c in [*columns, "_score"]})
            table = await self._reader.table()  # the index is a commit: query the version with it
        return await self._reader.text(table, text, where, limit, columns)

    def scoped_search(
        self,
        vector: npt.NDArray[np.float32],
        text: str,
        scope_where: str,
        now: datetime | None,
        limit: int,
        columns: Sequence[str],
        scope: Mapping[str, str] | None = None,
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
        re-reads the schema; gathered, 5.1 ms).
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
                q = table.query().where(scope_where).select(list(columns)).limit(cap + 1)
                rows = await q.to_arrow()
                if rows.num_rows <= cap:
                    return version, rows, None
                self.scopes.over_budget(scope_where)
            vec, fts = await asyncio.gather(
                self._reader.vector(table, vector, where, limit, columns),
                self._text(table, text, where, limit, columns),
            )
            return version, None, (vec, fts)

        version, found, tables = self._reader.run(go())
        if tables is not None:
            return candidates(tables[0]), candidates(tables[1])
        if isinstance(found, pa.Table):  # built here, off the reader's loop: it is CPU work
            found = Snapshot(version, found, scope)
            self.scopes.put(scope_where, found)
        assert isinstance(found, Snapshot)
        return found.candidates(vector, text, now, limit)
