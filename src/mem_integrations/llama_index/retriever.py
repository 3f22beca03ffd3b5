"""Long-term memory as a LlamaIndex ``BaseRetriever``.

:class:`MemoryRetriever` plugs the store into anything that takes a retriever: query engines
(``RetrieverQueryEngine``), ``CondensePlusContextChatEngine``, node postprocessors. Each hit
becomes a ``NodeWithScore`` whose ``node_id`` is the memory id, whose score is the store's
score in [0, 1], and whose metadata carries the record (see :func:`hit_to_node`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle

from ..core.async_memory import AsyncMemory
from ..core.errors import ScopeRequiredError
from ..core.memory import Memory
from ._common import SCOPE_FIELDS, hit_to_node, register_memory

__all__ = ["MemoryRetriever"]

_OPTIONS = frozenset({*SCOPE_FIELDS, "filters", "top_k", "threshold", "decay", "show_expired"})


class MemoryRetriever(BaseRetriever):
    """Search one scope of the store; filters, scope and ``top_k`` per retriever or per call.

    ``retrieve(query)`` uses the options given here. For one call with other options use
    :meth:`search` (``retriever.search("tea", filters={"categories": {"in": ["food"]}})``);
    for a retriever to hand to an engine use :meth:`bind`. Decay follows the store's setting
    unless ``decay`` says otherwise.
    """

    def __init__(
        self,
        memory: Memory | AsyncMemory,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        top_k: int = 10,
        threshold: float | None = None,
        decay: bool | None = None,
        show_expired: bool = False,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        self.memory = register_memory(memory)
        self.options: dict[str, Any] = {
            "user_id": user_id, "agent_id": agent_id, "run_id": run_id, "app_id": app_id,
            "filters": dict(filters) if filters is not None else None, "top_k": top_k,
            "threshold": threshold, "decay": decay, "show_expired": show_expired,
        }  # fmt: skip
        if not any(self.options[k] for k in SCOPE_FIELDS) and not filters:
            raise ScopeRequiredError(
                "name at least one of user_id, agent_id, run_id or app_id (or a scope filter)"
            )
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def bind(self, **overrides: Any) -> MemoryRetriever:
        """Return a retriever over the same store with some options replaced (scope, ...)."""
        unknown = set(overrides) - _OPTIONS
        if unknown:
            raise TypeError(f"unknown retriever options {sorted(unknown)}")
        merged = {**self.options, **overrides}
        return MemoryRetriever(
            self.memory, callback_manager=self.callback_manager, verbose=self._verbose, **merged
        )

    def search(self, query: str, **overrides: Any) -> list[NodeWithScore]:
        """Retrieve once with per-call options, e.g. ``filters=...`` or another ``user_id``."""
        return self.bind(**overrides).retrieve(query) if overrides else self.retrieve(query)

    async def asearch(self, query: str, **overrides: Any) -> list[NodeWithScore]:
        """Async form of :meth:`search`."""
        target = self.bind(**overrides) if overrides else self
        return await target.aretrieve(query)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.memory.search_hits(query_bundle.query_str, **self.options)
        return [hit_to_node(h) for h in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)
