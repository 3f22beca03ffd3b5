"""The engine: what every operation works with, built once per ``Memory``.

Operations (``read/`` and ``write/``) are plain functions of an :class:`Engine`; the facade
(``memory.py``) only normalises Mem0's arguments and calls one of them. Keeping the resources in
one small object, rather than on the facade, is what lets the operations live apart from it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from datetime import datetime
from typing import Any

import pyarrow as pa

from .clock import Clock, SystemClock
from .config import MemoryConfig
from .decay import DecayEngine
from .embeddings import Embedder, resolve_embedder
from .storage.recovery import reconcile
from .storage.schema import memories_schema
from .storage.store import Store
from .validation import Validator

__all__ = ["Engine"]

log = logging.getLogger(__name__)


class Engine:
    """One store's resources: config, checks, clock, embedder, LLM, tables, decay."""

    def __init__(self, config: MemoryConfig) -> None:
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
        )
        self.schema = memories_schema(self.embedder.dim)
        #: when write calls last purged expired memories (``write.remove.housekeeping``)
        self.last_purge: datetime | None = None
        # A writer killed between its memories and history commits left events missing. The
        # check reads both tables whole, so it runs on the housekeeping thread: opening a big
        # store stays fast, and history reads wait for it (``read.listing.history_events``).
        self.recovery: Future[None] = self.store.background(self._recover)
        self.decay = DecayEngine(self.store, self.clock, config.decay_settings, config.decay)

    def _recover(self) -> None:
        try:
            self.history(reconcile(self.store.memories, self.store.history, self.clock))
        except Exception:  # never fatal: the next open tries again
            log.warning("history recovery of %s failed", self.store.uri, exc_info=True)

    def rows(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Rows as an Arrow table of the memories schema (the only shape the store takes)."""
        return pa.Table.from_pylist(rows, schema=self.schema)

    def history(self, events: list[dict[str, Any]]) -> None:
        """Append history events in one commit."""
        self.store.add_history(events)
