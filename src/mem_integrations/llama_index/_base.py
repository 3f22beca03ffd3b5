"""The one base of the chat memory and the memory block: what they recall and how they write.

:class:`LongTermChatMemory` (a ``BaseMemory``) and :class:`LongTermMemoryBlock` (a block of
LlamaIndex's ``Memory``) differ in where the recalled text goes and when a turn is written;
the fields that say *what* is recalled (``top_k``, ``threshold``, ``filters``,
``query_window``) and *how* it is written (``infer``, ``write_metadata``) and the two calls
into the store are the same and live here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from pydantic import Field

from ..core.records import SearchHit
from ._common import StoreBinding, to_core_messages

__all__ = ["LongTermBase"]


class LongTermBase(StoreBinding):
    """Store, scope, recall settings and write settings shared by the LlamaIndex adapters."""

    top_k: int = Field(default=5, ge=1, description="How many memories to recall at most.")
    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Minimum relevance of a recalled memory."
    )
    filters: dict[str, Any] | None = Field(
        default=None, description="Mem0-style filters narrowing which memories are recalled."
    )
    query_window: int = Field(
        default=1, ge=1, description="How many of the latest user messages to search with."
    )
    infer: bool = Field(
        default=True, description="Let the store's extraction LLM, if any, distil each write."
    )
    write_metadata: dict[str, Any] | None = Field(
        default=None, description="Metadata attached to every memory this adapter writes."
    )

    def search_store(self, query: str) -> list[SearchHit]:
        """Search the scope with the adapter's recall settings (blocking: the store's thread)."""
        if not query.strip():
            return []
        return self.resolve().search_hits(
            query, top_k=self.top_k, threshold=self.threshold, filters=self.filters, **self.scope
        )

    def write_messages(self, messages: Sequence[ChatMessage]) -> None:
        """Add the messages in one call: one commit, one LLM call only if extraction is on."""
        mem = self.resolve()
        items = to_core_messages(messages, mem)
        if items:
            mem.add_events(items, infer=self.infer, metadata=self.write_metadata, **self.scope)
