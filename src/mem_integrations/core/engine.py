"""The engine: what every operation works with, built once per ``Memory``.

Operations (``read/`` and ``write/``) are plain functions of an :class:`Engine`; the facade
(``memory.py``) only normalises Mem0's arguments and calls one of them. Keeping the resources in
one small object, rather than on the facade, is what lets the operations live apart from it.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import Future
from datetime import datetime
from typing import Any

import pyarrow as pa

from .clock import Clock, SystemClock
from .config import MemoryConfig
from .decay import DecayEngine
from .embeddings import Embedder, resolve_embedder
from .errors import ConfigurationError, PartialWriteError
from .storage.add_log import AddLog, Queued, log_folder, orphans
from .storage.annotations import read_settings
from .storage.history_queue import HistoryQueue
from .storage.recovery import reconcile_ids
from .storage.rows import history_event, ids_sql
from .storage.schema import memories_schema
from .storage.seen_hashes import SCOPE_COLUMNS
from .storage.store import Store
from .storage.watermark import check, next_seq
from .validation import Validator

__all__ = ["Engine"]

log = logging.getLogger(__name__)


class Engine:
    """One store's resources: config, checks, clock, embedder, LLM, tables, decay."""

    def __init__(self, config: MemoryConfig) -> None:
        #: where queued adds are logged (``storage.add_log``), None when nowhere can be
        self._queue_folder = log_folder(config.uri, config.add_queue_dir)
        if config.queue_adds and self._queue_folder is None:
            raise ConfigurationError(
                f"queue_adds needs add_queue_dir (a local folder) for a store at {config.uri!r}"
            )
        self.config = config
        self.limits = config.limits
        self.check = Validator(config.limits)
        self.clock: Clock = config.clock or SystemClock()
        self.embedder: Embedder = resolve_embedder(config.embedder)
        self.llm: Any = config.llm
        self.store = Store(
            config.uri,
            dim=self.embedder.dim,
            model_id=self.embedder.model_id,
            storage_options=config.storage_options,
            read_consistency_interval=config.read_consistency_interval,
            optimize_every=config.optimize_every,
            cleanup_older_than=config.cleanup_older_than,
            search_cache_rows=config.search_cache_rows,
            search_cache_bytes=config.search_cache_mb * 2**20,
        )
        self.schema = memories_schema(self.embedder.dim)
        #: history events of landed writes, committed behind them (``storage.history_queue``)
        self.history_queue = HistoryQueue(lambda events: self.store.add_history(events))
        #: when write calls last purged expired memories (``write.remove.housekeeping``)
        self.last_purge: datetime | None = None
        # A writer killed between its memories and history commits left events missing. The
        # check reads the writes since its watermark (``storage.watermark``) on the
        # housekeeping thread; history reads wait for it (``read.listing.history_events``).
        # Each background optimize checks again, so the next open has little to read.
        self._opened_seq = next_seq()  # this process's writes are stamped above it
        self.add_log = self._open_add_log()
        self.recovery: Future[None] = self.store.background(self._recover)
        self.store.after_optimize = functools.partial(self._recover, settled_only=True)
        # ``decay`` given to this Memory wins; otherwise the store's own setting (project.update)
        decay = config.decay
        if "decay" not in config.model_fields_set:
            decay = read_settings(self.store.db).get("decay") == "true"
        self.decay = DecayEngine(self.store, self.clock, config.decay_settings, decay)

    def _open_add_log(self) -> AddLog | None:
        """Commit what dead handles logged and never committed, then open this one's log.

        A store that cannot take them now (full disk, read-only mount) still opens, for
        reads: the files stay, and the next open or optimize commits them.
        """
        try:
            self.adopt_queued_adds()
        except Exception as exc:
            log.warning(
                "queued adds of a closed handle left for later in %s: %s", self.config.uri, exc
            )
        if self._queue_folder is None or not self.config.queue_adds:
            return None
        return AddLog(
            self._queue_folder,
            self._commit_logged,
            self.store.write_lock,
            fsync=self.config.add_queue_fsync,
        )

    def adopt_queued_adds(self) -> None:
        """Commit the adds logged by handles that are gone (``storage.add_log.orphans``).

        Runs at every open, after each background optimize and in ``Memory.optimize``, so a
        worker that died with adds queued is caught up by the others without a restart. Rows
        already in the table (committed, the file not yet removed) or deleted since (the
        deletion log names them) are not written again: nothing is resurrected.
        """
        if self._queue_folder is None:
            return
        for _, rows in orphans(self._queue_folder):
            ids = [str(i) for i in rows.column("id").to_pylist()]
            where = ids_sql(ids)
            known = self._deleted(where)
            known |= set(self.store.query(where, ["id"])["id"].to_pylist())
            mask = [i not in known for i in ids]
            self._commit_logged(rows.filter(mask).cast(self.schema), None)

    def _commit_logged(self, rows: pa.Table, batch: list[Queued] | None) -> None:
        """One memories commit for logged adds, then their ADD history, queued behind it.

        Nothing may raise once the rows are committed (the batch would be committed again), so
        the events are only queued, whatever ``history_behind_writes`` says: a queued add has
        returned before its rows land anyway.
        """
        if rows.num_rows == 0:
            return
        self.store.append(rows)
        at = {} if batch is None else {i: q.at for q in batch for i in q.rows["id"].to_pylist()}
        cols = ["id", "memory", "actor_id", "role", "created_at", *SCOPE_COLUMNS]
        self.history_queue.submit([
            history_event(r, "ADD", None, r["memory"], at.get(r["id"], r["created_at"]))
            for r in rows.select(cols).to_pylist()
        ])  # fmt: skip

    def settle_writer(self) -> None:
        """Record this handle's writes as settled (at a clean close: see ``Memory.close``).

        A failure costs only speed (the next open checks those writes again): logged.
        """
        try:
            self.store.writer.settle(self.store.db)
        except Exception:
            log.warning("could not record %s's writes as settled", self.store.uri, exc_info=True)

    def settle_adds(self) -> None:
        """Commit this handle's queued adds (``storage.add_log``): what every other call sees."""
        if self.add_log is not None:
            self.add_log.settle()

    def _recover(self, settled_only: bool = False) -> None:
        try:
            self.history_queue.flush()  # this process's queued events are not lost ones
            write = self.history if settled_only else self._write_recovered
            if settled_only:
                self.adopt_queued_adds()
            check(self.store, self.clock, write, settled_only=settled_only)
        except Exception:  # never fatal: the next open tries again
            log.warning("history recovery of %s failed", self.store.uri, exc_info=True)

    def _write_recovered(self, events: list[dict[str, Any]]) -> int:
        """Write what recovery found missing, less what this process's writes wrote meanwhile.

        The check reads while this process keeps writing, and those writes' history is
        committed behind them (``storage.history_queue``): a memory added during the check
        can look lost to it. So the queue is written out and the memories found are checked
        once more, and a memory written or deleted since this open (stamped above it) is
        left to the later checks, which look only at writes older than the grace.
        """
        if events:
            self.history_queue.flush()
            ids = {str(e["memory_id"]) for e in events}
            events = reconcile_ids(self.store.memories, self.store.history, self.clock, ids)
        if events:  # a write stamped since this open is in flight, not lost: later checks see it
            ids_in = ids_sql(sorted({str(e["memory_id"]) for e in events}))
            newer = f" AND seq > {self._opened_seq}"
            since = set(self.store.query(ids_in + newer, ["id"])["id"].to_pylist())
            since |= self._deleted(ids_in + newer)
            events = [e for e in events if str(e["memory_id"]) not in since]
        return self.history(events)

    def _deleted(self, where: str) -> set[str]:
        """Memory ids the deletion log holds under ``where`` (an ``id`` condition, see ids_sql)."""
        logged = self.store.deletions.search().where(f"memory_{where}")
        return set(logged.select(["memory_id"]).limit(None).to_arrow()["memory_id"].to_pylist())

    def rows(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Rows as an Arrow table of the memories schema (the only shape the store takes)."""
        return pa.Table.from_pylist(rows, schema=self.schema)

    def history(self, events: list[dict[str, Any]]) -> int:
        """Append history events in one commit; returns how many."""
        self.store.add_history(events)
        return len(events)

    def history_after(self, events: list[dict[str, Any]], result: Any = None) -> None:
        """Record the history of a memories commit that has landed.

        By default the events are queued and committed behind the call, which returns at once
        (``storage.history_queue``: a crash loses no event, history reads in this process
        flush first); a failed commit is reported by the flush that meets it. With
        ``history_behind_writes=False`` the call waits for its own events and, if they cannot
        be committed, raises ``PartialWriteError`` naming only this call's changes and
        carrying ``result``, what the operation returns.
        """
        self.history_queue.submit(events)
        if self.config.history_behind_writes or not events:
            return
        try:
            self.history_queue.flush(mine=events)  # other processes read it once we return
        except PartialWriteError as exc:
            raise PartialWriteError(
                str(exc), committed=exc.committed, result=result
            ) from exc.__cause__

    def settle_history(self) -> None:
        """Make history complete for readers: open-time recovery done, queued events committed.

        Raises ``PartialWriteError`` when queued events cannot be committed now (they stay
        queued and are retried).
        """
        self.recovery.result()
        self.history_queue.flush()
