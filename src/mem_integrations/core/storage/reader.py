"""The search reader: LanceDB's async API on a loop thread of the store's own, kept fresh."""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import lancedb
import pyarrow as pa

from ..errors import StoreError
from .schema import MEMORIES

__all__ = ["FULL_REFRESH_S", "MANIFEST_NAMES", "SearchReader", "local_path", "versions_dir"]

T = TypeVar("T")

#: Handles fixed at a version kept by ``SearchReader.at`` (each holds that version's manifest).
_PINNED = 2

#: A local reader re-lists every version at least this often, whatever the cheap check says:
#: the check assumes version N+1 is still on disk when N+2 exists, which holds while no
#: process removes versions younger than this (ours keep them ``cleanup_older_than``).
FULL_REFRESH_S = 1.0

#: Lance's two manifest naming schemes (format spec): "V2" names sort newest first.
MANIFEST_NAMES: tuple[Callable[[int], str], ...] = (
    lambda v: f"{2**64 - 1 - v:020d}.manifest",
    lambda v: f"{v}.manifest",
)


def local_path(uri: str) -> str | None:
    """The folder of a store on a local disk, or None for object stores and other schemes."""
    if uri.startswith("file://"):
        return uri[len("file://") :]
    return None if "://" in uri else uri


def versions_dir(uri: str) -> str | None:
    """The memories table's ``_versions`` folder on a local disk (None elsewhere)."""
    local = local_path(uri)
    return None if local is None else os.path.join(local, f"{MEMORIES}.lance", "_versions")


class SearchReader:
    """The search path on LanceDB's async API, on an event-loop thread owned by this store.

    Each call of LanceDB's sync API is a round trip to its loop thread, and a sync search
    makes several (schema reads, blob checks, the query itself); on a small scope those trips
    cost more than the search. Here one search is one trip. The async connection is opened
    lazily, so it is never older than the tables the sync API has written.

    Freshness: LanceDB's ``read_consistency_interval=0`` finds the latest version by listing
    every kept version before each query (and the two queries of a search list twice), so a
    search slowed by ~2.5 ms per 1,000 versions, measured, and a burst of single adds keeps
    thousands for ``cleanup_older_than``. On a local disk a commit of version N+1 creates
    that version's manifest file, so one ``stat`` tells whether the table moved on since the
    version held here; only then, or once per ``FULL_REFRESH_S``, does the reader re-list.
    Every search still sees every commit made before it started, from any process. On object
    stores other processes' commits are found by LanceDB's own check, every
    ``read_consistency_interval``. This process's own commits are seen at once everywhere,
    whatever that interval: ``Store.generation`` counts them.
    """

    def __init__(
        self,
        uri: str,
        storage_options: dict[str, str] | None,
        read_consistency_interval: timedelta | None,
        generation: Callable[[], int],
        session: Any = None,
    ) -> None:
        self._uri = uri
        self._session = session
        self._storage_options = storage_options
        self._generation = generation
        self._seen_generation = -1
        self._versions_dir = versions_dir(uri)
        # A local table is refreshed here, so LanceDB need not check before every query.
        self._rci = None if self._versions_dir is not None else read_consistency_interval
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mem-search", daemon=True
        )
        self._thread.start()
        # The open is shared: the two gathered queries of the first search both await it.
        self._opening: asyncio.Future[Any] | None = None
        self._version = 0
        self._refreshed_at = -math.inf
        self._manifest_name: Callable[[int], str] | None = None
        self._own: tuple[int, int | None] = (-1, None)
        self._db: Any = None
        self._pinned: OrderedDict[int, Any] = OrderedDict()  # version -> a handle fixed there

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the reader's loop and wait: one trip per search."""
        if self._loop.is_closed():
            coro.close()
            raise StoreError("the store is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def table(self) -> Any:
        """The memories table, at the latest version committed before this call."""
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        try:
            table = await self._opening
        except Exception:
            self._opening = None  # a failed open is tried again by the next search
            raise
        if self._moved_on():
            seen = self._generation()  # read first: a commit during the checkout is not lost
            await table.checkout_latest()
            await self._note_version(table)
            self._seen_generation = seen
        return table

    def committed(self, generation: int, version: int | None) -> None:
        """Note that commit number ``generation`` of this process made ``version`` (or None)."""
        self._own = (generation, version)

    def settled_version(self) -> int | None:
        """The latest version, when one ``stat`` can vouch for it without the loop; else None.

        Only on a local disk (elsewhere LanceDB's own check decides) and once the table is
        open. The candidate is the version last refreshed to, or the one this process's
        latest commit created; it is the latest if the manifest of the next does not exist.
        """
        opening = self._opening
        if self._versions_dir is None or self._must_list():
            return None
        if opening is None or not opening.done() or opening.cancelled():
            return None
        if opening.exception() is not None:
            return None
        generation, own = self._own
        if self._generation() == self._seen_generation:
            version = self._version
        elif generation == self._generation() and own is not None:
            version = own
        else:
            return None
        return None if self._has_successor(version) else version

    def _moved_on(self) -> bool:
        if self._generation() != self._seen_generation:
            return True  # this process committed since
        if self._versions_dir is None:
            return False  # other processes: LanceDB's read_consistency_interval applies
        return self._must_list() or self._has_successor(self._version)

    def _must_list(self) -> bool:
        """True when a ``stat`` cannot vouch: the periodic re-list is due, or naming unknown."""
        return (
            self._manifest_name is None or time.monotonic() - self._refreshed_at >= FULL_REFRESH_S
        )

    def _has_successor(self, version: int) -> bool:
        """Whether version ``version + 1`` of the local table exists: one ``stat``."""
        assert self._versions_dir is not None and self._manifest_name is not None
        return os.path.exists(os.path.join(self._versions_dir, self._manifest_name(version + 1)))

    async def _note_version(self, table: Any) -> None:
        self._version = int(await table.version())
        self._refreshed_at = time.monotonic()
        if self._manifest_name is None and self._versions_dir is not None:
            # Learn the table's naming scheme; an unknown one means re-listing every time.
            for name in MANIFEST_NAMES:
                if os.path.exists(os.path.join(self._versions_dir, name(self._version))):
                    self._manifest_name = name
                    break

    async def _open(self) -> Any:
        db = await lancedb.connect_async(
            self._uri,
            storage_options=self._storage_options,
            read_consistency_interval=self._rci,
            session=self._session,
        )
        self._seen_generation = self._generation()
        self._db = db
        table = await db.open_table(MEMORIES)
        await self._note_version(table)
        return table

    async def at(self, version: int) -> Any:
        """The memories table fixed at ``version``: a handle of its own that never moves.

        The shared handle of ``table`` moves to the latest version whenever another search
        on this loop finds one, even between a query's version check and its read; a search
        whose rows are read in two steps (``storage.late``) must read both at one version.
        Opening one costs ~0.5 ms (a 1M-row store, the session's caches warm), once per
        version: the last few are kept.
        """
        held = self._pinned.get(version)
        if held is not None:
            self._pinned.move_to_end(version)
            return held
        if self._db is None:
            await self.table()  # opens the connection
        handle = await self._db.open_table(MEMORIES)
        await handle.checkout(version)
        self._pinned[version] = handle
        while len(self._pinned) > _PINNED:
            self._pinned.popitem(last=False)  # a search still using it keeps its reference
        return handle

    @staticmethod
    async def vector(
        table: Any,
        vector: Sequence[float] | Any,
        where: str | None,
        limit: int,
        columns: Sequence[str],
        row_ids: bool = False,
    ) -> pa.Table:
        """Exact cosine search with ``where`` as a prefilter (never a postfilter)."""
        q = table.vector_search(list(vector)).distance_type("cosine")
        if where:
            q = q.where(where)  # a prefilter: the async API filters before the search
        if row_ids:
            q = q.with_row_id()
        result: pa.Table = await q.select([*columns, "_distance"]).limit(limit).to_arrow()
        return result

    @staticmethod
    async def text(
        table: Any,
        text: str,
        where: str | None,
        limit: int,
        columns: Sequence[str],
        row_ids: bool = False,
    ) -> pa.Table:
        """BM25 through LanceDB's full-text index, prefiltered by ``where``."""
        q = table.query().nearest_to_text(text, columns="memory")
        if where:
            q = q.where(where)
        if row_ids:
            q = q.with_row_id()
        result: pa.Table = await q.select([*columns, "_score"]).limit(limit).to_arrow()
        return result

    def close(self) -> None:
        """Stop the loop thread; later searches raise ``StoreError``."""
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
