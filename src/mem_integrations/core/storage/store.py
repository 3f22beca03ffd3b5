"""The store: one LanceDB connection, its tables, and exactly one commit per call.

It is the only code that writes to LanceDB. Operations hand it where-clauses built by
``core.filters`` and Arrow tables they have validated. Its interface is synchronous:
``AsyncMemory`` runs it on worker threads, as LanceDB releases the GIL while it does I/O. Only
the search queries go through LanceDB's async API inside, on the store's own loop thread
(``storage.reader``, ``storage.search``).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import lancedb
import pyarrow as pa
from lancedb.index import FTS, Bitmap, BTree

from ..errors import StoreError
from .commits import retry_on_conflict
from .reader import SearchReader
from .schema import (
    ACCESSES,
    ACCESSES_SCHEMA,
    HISTORY,
    HISTORY_SCHEMA,
    MEMORIES,
    META,
    StoreStats,
    has_table,
    migrate,
)
from .scope_index import ScopeCache
from .search import Searcher

__all__ = ["Store"]

log = logging.getLogger(__name__)

#: Scope columns with a bitmap index (run ids are many and short-lived: a BTree suits them).
SCOPE_INDEXED = ("user_id", "agent_id", "app_id")


class Store:
    """Owns the LanceDB connection and the four tables of one memory store."""

    def __init__(
        self,
        uri: str,
        *,
        dim: int,
        model_id: str,
        storage_options: dict[str, str] | None = None,
        read_consistency_interval: timedelta | None = timedelta(0),
        optimize_every: int | None = None,
        cleanup_older_than: timedelta = timedelta(minutes=2),
        search_cache_rows: int = 0,
    ) -> None:
        self.uri = uri
        self.dim = dim
        self.model_id = model_id
        self._optimize_every = optimize_every
        self.cleanup_older_than = cleanup_older_than
        self._commits = 0
        # Bumped by every commit to the memories table made here; the search reader compares
        # it with the last one it saw, so this process's own writes are searchable at once.
        self.generation = 0
        self._lock = threading.Lock()
        self._bg = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mem-optimize")
        self._optimizing: Future[None] | None = None
        try:
            self.db = lancedb.connect(
                uri,
                storage_options=storage_options,
                read_consistency_interval=read_consistency_interval,
            )
        except Exception as exc:  # pragma: no cover - depends on the URI scheme
            raise StoreError(f"cannot open store at {uri!r}: {exc}") from exc
        migrate(self.db, uri, dim, model_id)
        self.memories = self.db.open_table(MEMORIES)
        self.history = self.db.open_table(HISTORY)
        self.accesses = self.db.open_table(ACCESSES)
        self._indexed: set[str] = {c for ix in self.memories.list_indices() for c in ix.columns}
        self._rows_at_optimize = self.memories.count_rows()
        self._reader = SearchReader(
            uri, storage_options, read_consistency_interval, lambda: self.generation
        )
        self.scopes = ScopeCache(search_cache_rows)
        self.search = Searcher(
            self._reader, self.scopes, lambda: "memory" in self._indexed, self._ensure_indexes
        )
        #: vector, full-text and scoped searches (see ``storage.search``)
        self.vector_search = self.search.vector_search
        self.text_search = self.search.text_search
        self.scoped_search = self.search.scoped_search

    # -- writes -------------------------------------------------------------------------------

    def _after_commit(self, version: int | None = None) -> None:
        """Count a commit to the memories table; ``version`` is the one it created, if known."""
        with self._lock:
            self.generation += 1
            self._reader.committed(self.generation, version)
            self._commits += 1
            due = self._commits >= self.optimize_due_after()
            running = self._optimizing is not None and not self._optimizing.done()
            if due and not running:
                self._commits = 0
                self._optimizing = self._bg.submit(self._optimize_quietly)

    def optimize_due_after(self) -> int:
        """Commits between background optimizes: fixed, or scaled with the table (see config).

        The row count is the one seen at the last optimize plus one per commit since, which
        is cheap and close enough for picking a cadence.
        """
        if self._optimize_every is not None:
            return self._optimize_every
        rows = self._rows_at_optimize + self._commits
        return min(250, max(10, round(math.sqrt(rows) / 4)))

    def _optimize_quietly(self) -> None:
        try:
            self.optimize()
        except Exception:  # background housekeeping must never take the app down
            log.warning("background optimize of %s failed", self.uri, exc_info=True)

    def append(self, rows: pa.Table) -> None:
        """Insert new memories in one commit."""
        if rows.num_rows == 0:
            return
        result = retry_on_conflict(lambda: self.memories.add(rows), "append")
        version = int(result.version)
        self.scopes.appended(version, rows)
        self._ensure_indexes()
        self._after_commit(version)

    def upsert(self, rows: pa.Table) -> None:
        """Replace whole rows by id in one commit (used by update and batch_update)."""
        if rows.num_rows == 0:
            return
        retry_on_conflict(
            lambda: (
                self.memories.merge_insert("id")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute(rows)
            ),
            "upsert",
        )
        self._after_commit()

    def merge(self, rows: pa.Table, delete_where: str | None = None) -> None:
        """Insert new rows, rewrite existing ones and delete ``delete_where``: one commit.

        The LLM path's ADD / UPDATE / DELETE plan lands whole or not at all.
        """
        builder = (
            self.memories.merge_insert("id").when_matched_update_all().when_not_matched_insert_all()
        )
        if delete_where:
            builder = builder.when_not_matched_by_source_delete(delete_where)
        builder.execute(rows)
        self._after_commit()

    def delete(self, where: str) -> None:
        """Delete matching memories in one commit."""
        retry_on_conflict(lambda: self.memories.delete(where), "delete")
        self._after_commit()

    def add_history(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append history events in one commit; history rows are never rewritten."""
        if rows:
            data = pa.Table.from_pylist(list(rows), schema=HISTORY_SCHEMA)
            retry_on_conflict(lambda: self.history.add(data), "history append")

    def add_accesses(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append a batch of access records (decay) in one commit."""
        if rows:
            data = pa.Table.from_pylist(list(rows), schema=ACCESSES_SCHEMA)
            retry_on_conflict(lambda: self.accesses.add(data), "access append")

    # -- reads -------------------------------------------------------------------------------

    def query(
        self, where: str | None, columns: Sequence[str] | None = None, limit: int | None = None
    ) -> pa.Table:
        """Plain (non-vector) scan with a pushed-down filter."""
        q = self.memories.search()
        if where:
            q = q.where(where)
        if columns is not None:
            q = q.select(list(columns))
        q = q.limit(limit) if limit is not None else q.limit(None)
        return q.to_arrow()

    def count(self, where: str | None = None) -> int:
        """Number of memories matching ``where``."""
        return int(self.memories.count_rows(where))

    def history_rows(self, where: str) -> list[dict[str, Any]]:
        """History events matching ``where``, oldest first."""
        rows: list[dict[str, Any]] = (
            self.history.search().where(where).limit(None).to_arrow().to_pylist()
        )
        rows.sort(key=lambda r: r["created_at"])
        return rows

    def access_rows(self, where: str) -> pa.Table:
        """Access records matching ``where``."""
        return self.accesses.search().where(where).limit(None).to_arrow()

    # -- maintenance --------------------------------------------------------------------------

    def _ensure_indexes(self) -> None:
        """Create scalar and full-text indexes once the table has rows (LanceDB needs data)."""
        # hash: the duplicate check of every add looks rows up by content hash.
        wanted: list[tuple[str, Any]] = [("id", BTree()), ("run_id", BTree()), ("hash", BTree())]
        wanted += [(c, Bitmap()) for c in SCOPE_INDEXED]
        wanted.append(("memory", FTS(with_position=False)))
        missing = [(c, cfg) for c, cfg in wanted if c not in self._indexed]
        if not missing:
            return
        with self._lock:
            for column, cfg in missing:
                if column in self._indexed:
                    continue
                try:
                    self.memories.create_index(column, config=cfg, replace=False)
                    self.generation += 1
                except Exception as exc:
                    # Another process may have created it first; anything else is logged and
                    # retried on the next write, since reads stay correct without an index.
                    if "already exists" not in str(exc).lower():
                        log.debug("index on %s not created yet: %s", column, exc)
                        continue
                self._indexed.add(column)

    def optimize(self, cleanup_older_than: timedelta | None = None) -> None:
        """Compact fragments, fold new rows into the indexes, drop superseded versions.

        Many small commits fragment a Lance table and slow reads 5-7x; this brings it back.
        """
        older = self.cleanup_older_than if cleanup_older_than is None else cleanup_older_than
        for table in (self.memories, self.history, self.accesses):
            rows = table.count_rows()
            if table is self.memories:
                self._rows_at_optimize = rows
            if rows == 0:
                continue
            # A compaction loses the race to any concurrent update/delete of its fragments.
            retry_on_conflict(
                functools.partial(table.optimize, cleanup_older_than=older),
                f"optimize {table.name}",
            )
            if table is self.memories:
                with self._lock:
                    self.generation += 1

    def background(self, fn: Callable[[], None]) -> Future[None]:
        """Run ``fn`` on the housekeeping thread (serialised with background compaction)."""
        return self._bg.submit(fn)

    def wait_for_housekeeping(self) -> None:
        """Block until a background optimize (if any) is finished; used by close and tests."""
        fut = self._optimizing
        if fut is not None:
            fut.result()

    def stats(self) -> StoreStats:
        """Counts, size, fragments, version and index state of the memories table."""
        s: Any = self.memories.stats()
        indices = self.memories.list_indices()
        return StoreStats(
            memories=self.memories.count_rows(),
            history=self.history.count_rows(),
            accesses=self.accesses.count_rows(),
            fragments=int(s["fragment_stats"]["num_fragments"]),
            version=int(self.memories.version),
            bytes=int(s["total_bytes"]),
            indices=[f"{ix.name}:{ix.index_type}" for ix in indices],
            unindexed_rows=max((int(ix.num_unindexed_rows or 0) for ix in indices), default=0),
        )

    def reset(self) -> None:
        """Drop and recreate every table (``Memory.reset``)."""
        self.wait_for_housekeeping()
        for name in (MEMORIES, HISTORY, ACCESSES, META):
            if has_table(self.db, name):
                self.db.drop_table(name)
        self._indexed = set()
        migrate(self.db, self.uri, self.dim, self.model_id)
        self.memories = self.db.open_table(MEMORIES)
        self.history = self.db.open_table(HISTORY)
        self.accesses = self.db.open_table(ACCESSES)
        self._reader.reopen()
        self.scopes.clear()  # the new table's versions start again from 1

    def close(self) -> None:
        """Finish background work and let go of the scopes held in RAM.

        The connection itself holds no OS resources to release.
        """
        self.wait_for_housekeeping()
        self._bg.shutdown(wait=True)
        self._reader.close()
        self.scopes.clear()
