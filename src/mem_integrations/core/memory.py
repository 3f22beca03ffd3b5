"""``Memory``: the Mem0-shaped API over the LanceDB store, as a thin facade.

Every public method validates all of its input before the first write, confines itself to the
scope it was given, and makes one commit to the memories table per call. Methods return
Mem0's JSON dicts; the ``*_records`` / ``search_hits`` variants return the typed models that the
framework adapters use. The methods live in ``facade.writes`` and ``facade.reads``; each calls
one operation of ``write/`` or ``read/`` on the :class:`~.engine.Engine` built here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .clock import Clock
from .config import Limits, MemoryConfig
from .decay import DecayEngine
from .embeddings import Embedder
from .engine import Engine
from .errors import UnknownArgumentError
from .facade.annotations import Annotations
from .facade.base import UNSET
from .facade.compat import IGNORED, ArgumentPolicy
from .facade.reads import Reads
from .facade.writes import Writes
from .storage.rows import content_hash
from .storage.store import Store
from .write import reembed, remove

__all__ = ["UNSET", "Memory", "content_hash"]


class Memory(Writes, Reads, Annotations):
    """Long-term memory for one store: add, search, list, update, delete, history.

    ``Memory()`` opens (or creates) the embedded store in ``./.mem_integrations`` with the
    bundled offline embedder. Pass a :class:`MemoryConfig` (or its fields as keywords) for
    another location, embedder, LLM, clock or decay setting.

    Mem0's ``MemoryClient(api_key=..., host=...)`` ports as ``Memory(api_key=..., host=...)``:
    both are kept as attributes (``api_key`` falls back to ``$MEM0_API_KEY`` like Mem0's) and
    contact nothing, since the store is local (or any LanceDB URI) and needs no key. Mem0's
    retired ``org_id``/``project_id`` are accepted with a warning; any other keyword that is
    not a :class:`MemoryConfig` field is an :class:`UnknownArgumentError`.
    """

    def __init__(self, config: MemoryConfig | None = None, **overrides: Any) -> None:
        self._args = ArgumentPolicy()
        self.api_key: str | None = overrides.pop("api_key", None) or os.environ.get("MEM0_API_KEY")
        self.host: str | None = overrides.pop("host", None)
        self.org_id: str | None = overrides.get("org_id")
        self.project_id: str | None = overrides.get("project_id")
        ignored = {k: overrides.pop(k) for k in list(overrides) if k in IGNORED}
        unknown = sorted(set(overrides) - set(MemoryConfig.model_fields))
        if unknown:
            raise UnknownArgumentError(
                f"Memory() got unknown argument(s) {unknown}; MemoryConfig fields, api_key and "
                "host are accepted"
            )
        self._args.check("Memory", ignored)
        if config is None:
            config = MemoryConfig(**overrides)
        elif overrides:
            config = config.model_copy(update=overrides)
        self._core = Engine(config)
        self.config: MemoryConfig = config
        self.limits: Limits = config.limits
        self.clock: Clock = self._core.clock
        self.embedder: Embedder = self._core.embedder
        self.llm: Any = self._core.llm
        self.store: Store = self._core.store
        self.decay: DecayEngine = self._core.decay

    # -- maintenance --------------------------------------------------------------------------

    def purge_expired(self) -> dict[str, Any]:
        """Physically delete every expired memory (history event EXPIRE)."""
        return remove.purge_expired(self._engine)

    def import_store(
        self,
        source_uri: str,
        *,
        batch_size: int = 256,
        storage_options: dict[str, str] | None = None,
        total: Callable[[int], None] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Fill this empty store from ``source_uri``, re-embedding with this store's embedder.

        The way to move a store to another embedder (``mem-integrations reembed``): every
        memory, its history and its access records are copied; the source is only read.
        ``total`` gets the number of memories once, ``progress`` each batch's size.
        """
        return reembed.import_store(
            self._engine, source_uri, batch_size=batch_size, storage_options=storage_options,
            total=total, progress=progress,
        )  # fmt: skip

    def reset(self) -> None:
        """Drop every memory, history event and access record of this store."""
        self.decay.flush()
        self._engine.settle_history()  # queued events must not land in the emptied table
        self.store.reset()

    def optimize(self) -> dict[str, Any]:
        """Compact and re-index now; it also runs in the background (see ``optimize_every``).

        Also commits the adds that handles which died had queued (``queue_adds``).
        """
        self.decay.flush()
        self.decay.prune()
        self._engine.adopt_queued_adds()
        self._engine.history_queue.flush()
        self.store.optimize()
        return self.store.stats().to_dict()

    def stats(self) -> dict[str, Any]:
        """Counts, size, fragments, version and index state."""
        self._engine.history_queue.flush()
        return self.store.stats().to_dict()

    def wait_for_housekeeping(self) -> None:
        """Block until open-time recovery, queued history and background compaction are done.

        For tests and tools that read the tables directly; the public methods already wait
        where it matters. Raises ``PartialWriteError`` when queued history events cannot be
        committed now (they stay queued: call again once the disk is fixed).
        """
        self._engine.settle_history()
        self.store.wait_for_housekeeping()

    def close(self) -> None:
        """Flush pending access records and history, and finish background housekeeping.

        If queued history cannot be committed, the store is closed anyway and
        ``PartialWriteError`` says which memories lack their events: they are written,
        marked recovered, at the next open. Only a close that committed everything records
        this handle as settled, which spares the next open re-reading its writes
        (``storage.watermark``).
        """
        self.decay.close()
        try:
            if self._core.add_log is not None:
                self._core.add_log.close()  # left for the next open if it cannot commit
        finally:
            try:
                # background jobs (adopting a dead handle's adds, recovery) finish first, so
                # the events they queue are in the flush below
                self.store.housekeeping.close()
                self._core.history_queue.close()
            finally:
                self.store.close()
        self._core.settle_writer()  # reached only when nothing above raised

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
