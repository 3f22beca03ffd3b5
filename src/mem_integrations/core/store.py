"""LanceDB tables, schema versions, indexes and housekeeping.

The store is the only module that talks to LanceDB. ``Memory`` hands it where-clauses built by
``core.filters`` and Arrow tables it has validated; the store turns them into exactly one
commit per call. Its interface is synchronous: ``AsyncMemory`` runs it on worker threads, as
LanceDB releases the GIL while it does I/O. Only the search queries go through LanceDB's async
API inside, on the store's own loop thread (see ``_SearchReader``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import lancedb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from lancedb.index import FTS, Bitmap, BTree

from .errors import ConfigurationError, SchemaVersionError, StoreError
from .expiry import live_sql
from .filters import sql_timestamp
from .rows import candidates
from .scope_index import ScopeCache, Snapshot

__all__ = [
    "HISTORY_SCHEMA",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Store",
    "StoreStats",
    "memories_schema",
]

log = logging.getLogger(__name__)

MEMORIES = "memories"
HISTORY = "history"
ACCESSES = "accesses"
META = "meta"

T = TypeVar("T")

# -- commit conflicts (added by the reliability work, issue 8) ---------------------------------
# Lance commits optimistically and rebases most concurrent commits by itself. The ones it
# cannot rebase fail with "Retryable commit conflict ... preempted by concurrent transaction":
# measured with 4 writer processes, that is a compaction (Rewrite) losing to an update, delete
# or index build that touched the same fragments, several times per 100 operations, and even
# within one process (background optimize vs foreground delete). A failed commit applied
# nothing, so running the same call again on the new version is safe.
CONFLICT_ATTEMPTS = 8
CONFLICT_FIRST_DELAY_S = 0.02  # doubled per attempt up to 1 s, with jitter: ~4 s at most


def is_commit_conflict(exc: BaseException) -> bool:
    """True for LanceDB's retryable optimistic-concurrency failures (they carry no type)."""
    text = str(exc).lower()
    return "commit conflict" in text or "preempted by concurrent transaction" in text


def retry_on_conflict(fn: Callable[[], T], what: str) -> T:
    """Run a commit, retrying with jittered exponential backoff while it loses races."""
    delay = CONFLICT_FIRST_DELAY_S
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_commit_conflict(exc):
                raise
            if attempt == CONFLICT_ATTEMPTS:
                raise StoreError(
                    f"{what} lost {attempt} commit races in a row to concurrent writers; "
                    "nothing was changed, try again"
                ) from exc
            log.debug("%s lost a commit race (attempt %d), retrying: %s", what, attempt, exc)
            time.sleep(delay * (1.0 + random.random()))
            delay = min(delay * 2.0, 1.0)
    raise AssertionError("unreachable")  # pragma: no cover


TS = pa.timestamp("us", tz="UTC")


def memories_schema(dim: int) -> pa.Schema:
    """Scope ids are real columns (not metadata keys) so filters on them push down to indexes."""
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("memory", pa.string(), nullable=False),
            pa.field("hash", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
            pa.field("user_id", pa.string()),
            pa.field("agent_id", pa.string()),
            pa.field("run_id", pa.string()),
            pa.field("app_id", pa.string()),
            pa.field("actor_id", pa.string()),
            pa.field("role", pa.string()),
            pa.field("categories", pa.list_(pa.string())),
            # Lance's JSON type: stored as JSONB so json_get_* filters push down.
            pa.field("metadata", pa.json_(pa.utf8())),
            pa.field("created_at", TS, nullable=False),
            pa.field("updated_at", TS, nullable=False),
            pa.field("expires_at", TS),
        ]
    )


HISTORY_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("memory_id", pa.string(), nullable=False),
        pa.field("event", pa.string(), nullable=False),
        pa.field("old_memory", pa.string()),
        pa.field("new_memory", pa.string()),
        pa.field("actor_id", pa.string()),
        pa.field("role", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("agent_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("app_id", pa.string()),
        pa.field("created_at", TS, nullable=False),
        pa.field("is_deleted", pa.bool_(), nullable=False),
    ]
)

#: Access records for recency decay live in their own table: a write per search would
#: otherwise fragment the memories table and slow every read.
ACCESSES_SCHEMA = pa.schema(
    [
        pa.field("memory_id", pa.string(), nullable=False),
        pa.field("accessed_at", TS, nullable=False),
    ]
)

META_SCHEMA = pa.schema([pa.field("key", pa.string()), pa.field("value", pa.string())])

SCOPE_INDEXED = ("user_id", "agent_id", "app_id")


@dataclass(frozen=True)
class StoreStats:
    """What ``stats()`` reports: enough to decide whether to optimize."""

    memories: int
    history: int
    accesses: int
    fragments: int
    version: int
    bytes: int
    indices: list[str]
    unindexed_rows: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the CLI and logs."""
        return dict(self.__dict__)


# ---------------------------------------------------------------------------------------------
# Migrations: named, ordered, each brings the store from version N-1 to N. Never drop data.
# ---------------------------------------------------------------------------------------------


def m001_create_tables(store: Store) -> None:
    """Create memories, history, accesses and the meta table."""
    db = store.db
    db.create_table(MEMORIES, schema=memories_schema(store.dim), exist_ok=True)
    db.create_table(HISTORY, schema=HISTORY_SCHEMA, exist_ok=True)
    db.create_table(ACCESSES, schema=ACCESSES_SCHEMA, exist_ok=True)


MIGRATIONS: list[tuple[int, Callable[[Store], None]]] = [(1, m001_create_tables)]
SCHEMA_VERSION = MIGRATIONS[-1][0]


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
        self._migrate()
        self.memories = self.db.open_table(MEMORIES)
        self.history = self.db.open_table(HISTORY)
        self.accesses = self.db.open_table(ACCESSES)
        self._indexed: set[str] = {c for ix in self.memories.list_indices() for c in ix.columns}
        self._rows_at_optimize = self.memories.count_rows()
        self._reader = _SearchReader(
            uri, storage_options, read_consistency_interval, lambda: self.generation
        )
        self.scopes = ScopeCache(search_cache_rows)

    # -- schema -------------------------------------------------------------------------------

    def _has_table(self, name: str) -> bool:
        names: set[str] = set()
        token = None
        while True:
            resp = self.db.list_tables(page_token=token)
            names.update(resp.tables)
            token = resp.page_token
            if not token:
                return name in names

    def _meta(self) -> dict[str, str]:
        if not self._has_table(META):
            return {}
        rows = self.db.open_table(META).to_arrow().to_pylist()
        return {r["key"]: r["value"] for r in rows}

    def _write_meta(self, values: dict[str, str]) -> None:
        table = self.db.create_table(META, schema=META_SCHEMA, exist_ok=True)
        data = pa.Table.from_pylist(
            [{"key": k, "value": v} for k, v in values.items()], schema=META_SCHEMA
        )
        table.merge_insert("key").when_matched_update_all().when_not_matched_insert_all().execute(
            data
        )

    def _migrate(self) -> None:
        meta = self._meta()
        if not meta and self._has_table(MEMORIES):
            raise SchemaVersionError(
                f"{self.uri!r} holds a 'memories' table without a schema stamp; refusing to "
                "touch data this package did not create"
            )
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"store at {self.uri!r} has schema version {version}, newer than this "
                f"package's {SCHEMA_VERSION}; upgrade mem-integrations"
            )
        if meta:
            stored_dim = int(meta.get("dim", "0"))
            if stored_dim != self.dim or meta.get("model_id") != self.model_id:
                raise ConfigurationError(
                    f"store at {self.uri!r} was built with embedder {meta.get('model_id')!r} "
                    f"(dim {stored_dim}); this Memory uses {self.model_id!r} (dim {self.dim}). "
                    "Vectors from different models are not comparable: use another uri or "
                    "re-import with `mem-integrations export`/`import`."
                )
        for target, migration in MIGRATIONS:
            if target > version:
                log.info("migrating %s to schema %d (%s)", self.uri, target, migration.__name__)
                migration(self)
                self._write_meta(
                    {
                        "schema_version": str(target),
                        "dim": str(self.dim),
                        "model_id": self.model_id,
                    }
                )

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

    def set_expiry(self, where: str, expires: datetime | None) -> int:
        """UPDATE ``expires_at`` of the rows matching ``where`` only: never inserts a row."""
        value = "NULL" if expires is None else sql_timestamp(expires)
        result = retry_on_conflict(
            lambda: self.memories.update(where=where, values_sql={"expires_at": value}), "expiry"
        )
        self._after_commit()
        return int(result.rows_updated)

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

    # -- reads --------------------------------------------------------------------------------

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
        if "memory" not in self._indexed:
            # Index creation is a blocking LanceDB call: keep it off the reader's event loop.
            await asyncio.get_running_loop().run_in_executor(None, self._ensure_indexes)
            if "memory" not in self._indexed:
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
            if self._has_table(name):
                self.db.drop_table(name)
        self._indexed = set()
        self._migrate()
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


#: A local reader re-lists every version at least this often, whatever the cheap check says:
#: the check assumes version N+1 is still on disk when N+2 exists, which holds while no
#: process removes versions younger than this (ours keep them ``cleanup_older_than``).
FULL_REFRESH_S = 1.0

#: Lance's two manifest naming schemes (format spec): "V2" names sort newest first.
_MANIFEST_NAMES: tuple[Callable[[int], str], ...] = (
    lambda v: f"{2**64 - 1 - v:020d}.manifest",
    lambda v: f"{v}.manifest",
)


def local_path(uri: str) -> str | None:
    """The folder of a store on a local disk, or None for object stores and other schemes."""
    if uri.startswith("file://"):
        return uri[len("file://") :]
    return None if "://" in uri else uri


class _SearchReader:
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
    ) -> None:
        self._uri = uri
        self._storage_options = storage_options
        self._generation = generation
        self._seen_generation = -1
        local = local_path(uri)
        self._versions_dir = (
            None if local is None else os.path.join(local, f"{MEMORIES}.lance", "_versions")
        )
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

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
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
            for name in _MANIFEST_NAMES:
                if os.path.exists(os.path.join(self._versions_dir, name(self._version))):
                    self._manifest_name = name
                    break

    async def _open(self) -> Any:
        db = await lancedb.connect_async(
            self._uri,
            storage_options=self._storage_options,
            read_consistency_interval=self._rci,
        )
        self._seen_generation = self._generation()
        table = await db.open_table(MEMORIES)
        await self._note_version(table)
        return table

    @staticmethod
    async def vector(
        table: Any,
        vector: Sequence[float] | Any,
        where: str | None,
        limit: int,
        columns: Sequence[str],
    ) -> pa.Table:
        q = table.vector_search(list(vector)).distance_type("cosine")
        if where:
            q = q.where(where)  # a prefilter: the async API filters before the search
        result: pa.Table = await q.select([*columns, "_distance"]).limit(limit).to_arrow()
        return result

    @staticmethod
    async def text(
        table: Any, text: str, where: str | None, limit: int, columns: Sequence[str]
    ) -> pa.Table:
        q = table.query().nearest_to_text(text, columns="memory")
        if where:
            q = q.where(where)
        result: pa.Table = await q.select([*columns, "_score"]).limit(limit).to_arrow()
        return result

    def reopen(self) -> None:
        """Forget the table handle (after ``reset`` dropped and recreated the table)."""
        self._opening = None
        self._seen_generation = -1
        self._manifest_name = None

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
