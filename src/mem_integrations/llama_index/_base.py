"""The one base of the chat memory and the memory block: what they recall and how they write.

:class:`LongTermChatMemory` (a ``BaseMemory``) and :class:`LongTermMemoryBlock` (a block of
LlamaIndex's ``Memory``) differ in where the recalled text goes and when a turn is written;
the fields that say *what* is recalled (``top_k``, ``threshold``, ``filters``,
``query_window``) and *how* it is written (``infer``, ``write_metadata``, ``store_assistant``)
and the two calls into the store are the same and live here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from pydantic import Field

from ..core.recall import DEFAULT_RELEVANCE_FLOOR
from ..core.records import SearchHit
from ._common import StoreBinding, to_core_messages

__all__ = ["LongTermBase"]


class LongTermBase(StoreBinding):
    """Store, scope, recall settings and write settings shared by the LlamaIndex adapters."""

    top_k: int = Field(default=5, ge=1, description="How many memories to recall at most.")
    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Minimum relevance of a recalled memory."
    )
    relevance_floor: float = Field(
        default=DEFAULT_RELEVANCE_FLOOR, ge=0.0, le=1.0,
        description="Minimum relevance (before decay) of a memory put in the prompt (0: all).",
    )  # fmt: skip
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
    store_assistant: bool = Field(
        default=False,
        description="Stored verbatim (no extraction LLM), keep the assistant's words too: "
        "each write becomes one memory, the exchange as 'role: text' lines.",
    )

    def search_store(self, query: str) -> list[SearchHit]:
        """Search the scope with the adapter's recall settings (blocking: the store's thread)."""
        if not query.strip():
            return []
        return self.resolve().search_hits(
            query, top_k=self.top_k, threshold=self.threshold, filters=self.filters, **self.scope
        )

    def write_messages(self, messages: Sequence[ChatMessage]) -> None:
        """Add the messages in one call: one commit, one LLM call only if extraction is on.

        Stored verbatim, the core keeps a user's own messages only (the assistant's words
        are not facts about the user). ``store_assistant`` writes the exchange instead, as
        LlamaIndex's ``VectorMemoryBlock`` does, so that answers can be recalled too. An
        extraction LLM sees both sides either way and decides what is worth keeping.
        """
        mem = self.resolve()
        items = to_core_messages(messages, mem)
        if self.store_assistant and not (self.infer and mem.llm is not None):
            lines = [f"{i['role']}: {i['content']}" for i in items
                     if i["role"] in ("user", "assistant")]  # fmt: skip
            text = "\n".join(lines)[: mem.limits.max_text_chars]
            items = [{"role": "user", "content": text}] if lines else []
        if items:
            mem.add_events(items, infer=self.infer, metadata=self.write_metadata, **self.scope)
