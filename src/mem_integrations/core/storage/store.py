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
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

import lancedb
import pyarrow as pa

from ..errors import StoreError
from ..filters import sql_timestamp
from . import memtrim
from .annotations import FEEDBACK
from .commits import retry_on_conflict, store_error, write_lock
from .compaction import MERGE_EVERY, Housekeeper, cadence, compact, same_rows, small_fragments
from .freshness import fresh
from .indexes import INDEXED_COLUMNS, create_missing, index_once
from .reader import SearchReader, local_path, versions_dir
from .rows import ids_sql, in_scope_order
from .schema import (
    ACCESSES,
    ACCESSES_SCHEMA,
    DELETIONS,
    HISTORY,
    HISTORY_SCHEMA,
    MEMORIES,
    StoreStats,
    empty_tables,
    has_table,
    migrate,
)
from .scope_index import ScopeCache
from .search import Searcher
from .seen_hashes import SeenHashes
from .watermark import Writer, log_deletions, next_seq, stamp

__all__ = ["Store"]

log = logging.getLogger(__name__)

#: LanceDB's caches of opened indexes and of table metadata (manifests), shared by both
#: connections of a store.
INDEX_CACHE_BYTES = 256 * 2**20
META_CACHE_BYTES = 64 * 2**20


class Store:
    """Owns the LanceDB connection and the tables of one memory store."""

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
        search_cache_bytes: int | None = None,
    ) -> None:
        self.uri = uri
        self.dim = dim
        #: who this handle is to recovery, stamped on every memories commit (``watermark``)
        self.writer = Writer()
        self.model_id = model_id
        self.cleanup_older_than = cleanup_older_than
        self.housekeeping = Housekeeper(
            optimize_every, self._optimize_quietly, lambda: self._rows_at_optimize
        )
        # Bumped by every commit to the memories table made here; the search reader compares
        # it with the last one it saw, so this process's own writes are searchable at once.
        self.generation = 0
        self._lock = threading.Lock()
        #: run on the housekeeping thread after each background optimize (recovery's check)
        self.after_optimize: Callable[[], None] | None = None
        # One bounded cache for the sync and the search reader's connections: LanceDB's default
        # (6 GB index + 1 GB metadata per connection) fills with every version adds create.
        self.session = lancedb.Session(
            index_cache_size_bytes=INDEX_CACHE_BYTES, metadata_cache_size_bytes=META_CACHE_BYTES
        )
        # On object storage "always the latest" is checked once per table call (``freshness``).
        latest = read_consistency_interval == timedelta(0) and local_path(uri) is None
        try:
            self.db = lancedb.connect(
                uri,
                storage_options=storage_options,
                read_consistency_interval=None if latest else read_consistency_interval,
                session=self.session,
            )
        except Exception as exc:  # pragma: no cover - depends on the URI scheme
            raise StoreError(f"cannot open store at {uri!r}: {exc}") from exc
        try:
            migrate(self.db, uri, dim, model_id)
        except Exception as exc:
            raise store_error(exc, f"opening the store at {uri!r}") from exc
        #: held across duplicate check and append (``write.add``); see ``commits.write_lock``
        self.write_lock = write_lock(uri)
        self.memories, self.history, self.accesses, self.deletions = (
            fresh(self.db.open_table(n), latest) for n in (MEMORIES, HISTORY, ACCESSES, DELETIONS)
        )
        self._indexed: set[str] = {c for ix in self.memories.list_indices() for c in ix.columns}
        self._rows_at_optimize = self.memories.count_rows()
        self._reader = SearchReader(
            uri, storage_options, read_consistency_interval, lambda: self.generation, self.session
        )
        self.scopes = ScopeCache(search_cache_rows, search_cache_bytes)
        #: scopes' texts in RAM for the duplicate check of adds (``storage.seen_hashes``)
        self.seen = SeenHashes(
            versions_dir(uri), lambda: int(self.memories.version), self.query,
            lambda after, upto: same_rows(self.memories.to_lance(), after, upto))  # fmt: skip
        self.search = Searcher(
            self._reader, self.scopes, lambda: "memory" in self._indexed, self._ensure_indexes,
            self.housekeeping.estimate)  # fmt: skip
        #: vector, full-text and scoped searches (see ``storage.search``)
        self.vector_search = self.search.vector_search
        self.text_search = self.search.text_search
        self.scoped_search = self.search.scoped_search
        if optimize_every is None and small_fragments(self.memories.to_lance()) > MERGE_EVERY:
            self.housekeeping.merge_now()

    # -- writes -------------------------------------------------------------------------------

    def _after_commit(self, version: int | None = None, rows: pa.Table | None = None) -> None:
        """Count a commit to the memories table: the ``version`` it made and ``rows`` it wrote."""
        if version is not None:
            self.seen.committed(version, rows)
        with self._lock:
            self.generation += 1
            self._reader.committed(self.generation, version)
        self.housekeeping.committed()

    def optimize_due_after(self) -> int:
        """Commits between background index refreshes (``compaction.cadence``)."""
        return cadence(self.housekeeping.schedule.fixed, self.housekeeping.estimate())

    def _optimize_quietly(self, target: int, indexes: bool) -> None:
        try:
            self.optimize(target_rows=target, indexes=indexes)
            if indexes and self.after_optimize is not None:
                self.after_optimize()
            memtrim.trim()
        except Exception:  # background housekeeping must never take the app down
            log.warning("background optimize of %s failed", self.uri, exc_info=True)

    def append(self, rows: pa.Table, *, own: bool = True) -> None:
        """Insert new memories in one commit (``own=False``: no writer, see ``watermark``)."""
        if rows.num_rows == 0:
            return
        rows = stamp(in_scope_order(rows), next_seq(), self.writer.claim() if own else None)
        with self.seen.appending():  # until ``_after_commit`` has told ``seen`` the version
            result = retry_on_conflict(lambda: self.memories.add(rows), "append")
            version = int(result.version)
            self.scopes.appended(version, rows)
            self._ensure_indexes()
            self._after_commit(version, rows)

    def upsert(self, rows: pa.Table) -> None:
        """Replace whole rows by id in one commit (used by update and batch_update)."""
        if rows.num_rows == 0:
            return
        rows = stamp(rows, next_seq(), self.writer.claim())

        def commit() -> Any:
            q = self.memories.merge_insert("id").when_matched_update_all()
            return q.when_not_matched_insert_all().execute(rows)

        result = retry_on_conflict(commit, "upsert")
        version = int(result.version)
        self.scopes.appended(version, rows, replaces=True)  # held scopes follow, no re-read
        self._after_commit(version, rows)

    def merge(self, rows: pa.Table, delete_where: str | None = None) -> set[str]:
        """Rewrite existing rows by id and delete ``delete_where``: one commit, no insert.

        Only rows that still exist are rewritten: a row deleted after the caller read it stays
        deleted (an upsert would insert it again, undoing an acknowledged delete). Returns the
        ids that were rewritten. The LLM path's UPDATE / DELETE plan lands whole or not at all.
        """
        if rows.num_rows == 0 and not delete_where:
            return set()
        ids = rows.column("id").to_pylist()
        seq, writer = next_seq(), self.writer.claim()
        if delete_where:
            log_deletions(self, delete_where, seq, writer)
        stamped = stamp(rows, seq, writer)

        def commit() -> Any:
            builder = self.memories.merge_insert("id").when_matched_update_all()
            if delete_where:
                builder = builder.when_not_matched_by_source_delete(delete_where)
            return builder.execute(stamped)

        result = retry_on_conflict(commit, "update")
        version = int(result.version)
        if int(result.num_updated_rows) == len(ids):
            if not delete_where:  # every row rewritten, none deleted: held scopes follow
                self.scopes.appended(version, stamped, replaces=True)
            self._after_commit(version, stamped)
            return set(ids)
        self._after_commit(version, stamped)
        # Some rows were deleted concurrently: read which ones this commit found, at its version.
        at = self.db.open_table(MEMORIES)
        at.checkout(int(result.version))
        found = at.search().where(ids_sql(ids)).select(["id"]).limit(None).to_arrow()
        return set(found.column("id").to_pylist())

    def set_expiry(self, where: str, expires: datetime | None) -> int:
        """UPDATE ``expires_at`` of the rows matching ``where`` only: never inserts a row."""
        value = "NULL" if expires is None else sql_timestamp(expires)
        result = retry_on_conflict(
            lambda: self.memories.update(where=where, values_sql={"expires_at": value}), "expiry"
        )
        self._after_commit(int(result.version))
        return int(result.rows_updated)

    def delete(self, where: str) -> None:
        """Delete matching memories in one commit (after logging their ids for recovery)."""
        log_deletions(self, where, next_seq(), self.writer.claim())
        result = retry_on_conflict(lambda: self.memories.delete(where), "delete")
        self._after_commit(int(result.version))

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
        """Create scalar and full-text indexes once the table has rows (``storage.indexes``)."""
        if INDEXED_COLUMNS <= self._indexed:
            return
        with self._lock:
            self.generation += create_missing(self.memories, self._indexed)

    def optimize(
        self,
        cleanup_older_than: timedelta | None = None,
        target_rows: int | None = None,
        indexes: bool = True,
    ) -> None:
        """Compact fragments, fold new rows into the indexes (if ``indexes``), drop old versions.

        Many small commits fragment a Lance table and slow reads 5-7x; this brings it back,
        rewriting only the small fragments (under ``target_rows``: ``storage.compaction``).
        """
        older = self.cleanup_older_than if cleanup_older_than is None else cleanup_older_than
        for table in (self.memories, self.history, self.accesses):
            rows = table.count_rows()
            if table is self.memories:
                self._rows_at_optimize = rows
            if rows == 0:
                continue
            if table is self.history:
                index_once(table, "memory_id")  # recovery and history() look events up by id
            # A compaction loses the race to any concurrent update/delete of its fragments.
            merge = functools.partial(compact, table, older, target_rows, indexes)
            kept = retry_on_conflict(merge, f"optimize {table.name}")
            if table is self.memories:  # the same rows: held scopes and hash sets move on
                for version in kept:
                    self.seen.committed(version)
                    self.scopes.appended(version, table.schema.empty_table())
                with self._lock:
                    self.generation += 1

    def background(self, fn: Callable[[], None]) -> Future[None]:
        """Run ``fn`` on the housekeeping thread (serialised with background compaction)."""
        return self.housekeeping.submit(fn)

    def wait_for_housekeeping(self) -> None:
        """Block until background optimizes (if any) are finished; used by close and tests."""
        self.housekeeping.wait()

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
        """Empty every table but the settings (``Memory.reset``): see ``schema.empty_tables``."""
        self.wait_for_housekeeping()
        tables = [self.memories, self.history, self.accesses, self.deletions]
        if has_table(self.db, FEEDBACK):  # created by the first feedback (storage.annotations)
            tables.append(self.db.open_table(FEEDBACK))
        empty_tables(tables, self._after_commit)
        self.scopes.clear()
        self.seen.clear()

    def close(self) -> None:
        """Finish background work and let go of the scopes held in RAM.

        The connection itself holds no OS resources to release.
        """
        self.housekeeping.close()
        self.search.close()
        self._reader.close()
        self.scopes.clear()
