"""Long-term memory as a block of LlamaIndex's ``Memory`` (``llama_index.core.memory``).

:class:`LongTermMemoryBlock` is a ``BaseMemoryBlock[str]``: on every ``Memory.get`` it searches
the store with the latest user message and returns the relevant memories as text, which
``Memory`` renders into the system message; messages ``Memory`` flushes out of its short-term
queue are added to the store.

``Memory`` flushes to its blocks only once the chat history passes ~70% of its token limit
(about 21k tokens by default), so on its own the block would remember nothing from a short
chat. :func:`long_term_memory` builds a :class:`WriteThroughMemory` instead: a ``Memory`` that
hands each completed turn to its long-term blocks as soon as the assistant has answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, cast

from llama_index.core.async_utils import asyncio_run
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.memory import Memory as LlamaMemory
from llama_index.core.memory.memory import BaseMemoryBlock

from ..core.async_memory import AsyncMemory
from ..core.memory import Memory
from ..core.recall import DEFAULT_RELEVANCE_FLOOR
from ._common import (
    StoreBinding,
    format_memories,
    latest_user_text,
    message_text,
    to_core_messages,
    turn_complete,
)

__all__ = ["LongTermMemoryBlock", "WriteThroughMemory", "long_term_memory"]


class LongTermMemoryBlock(BaseMemoryBlock[str], StoreBinding):
    """Memories from the store that are relevant to the conversation, as one block of text.

    Reads and writes are confined to the block's scope (``user_id`` / ``agent_id`` /
    ``run_id`` / ``app_id``). Without an extraction LLM configured on the ``Memory`` (or with
    ``infer=False``) writes store the user's messages verbatim and make no LLM call.
    """

    name: str = Field(default="long_term_memory", description="The block's name in the prompt.")
    description: str | None = Field(
        default="Facts remembered about the user from earlier conversations.",
        description="What the block holds.",
    )
    top_k: int = Field(default=5, ge=1, description="How many memories to show at most.")
    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Minimum score of a memory to be shown."
    )
    relevance_floor: float = Field(
        default=DEFAULT_RELEVANCE_FLOOR, ge=0.0, le=1.0,
        description="Minimum relevance (before decay) of a memory to be shown (0: all).",
    )  # fmt: skip
    filters: dict[str, Any] | None = Field(
        default=None, description="Mem0-style filters narrowing which memories are shown."
    )
    query_window: int = Field(
        default=1, ge=1, description="How many of the latest user messages to search with."
    )
    infer: bool = Field(
        default=True, description="Let the store's extraction LLM, if any, distil the messages."
    )
    write_metadata: dict[str, Any] | None = Field(
        default=None, description="Metadata attached to every memory this block writes."
    )

    @classmethod
    def class_name(cls) -> str:
        """Name the class for LlamaIndex serialization."""
        return "LongTermMemoryBlock"

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        """Search with the latest user message(s); memories already in the chat are skipped."""
        history = messages or []
        query = latest_user_text(history, self.query_window)
        if not query:
            return ""
        mem = self.resolve()
        hits = await asyncio.to_thread(
            mem.search_hits, query, top_k=self.top_k, threshold=self.threshold,
            filters=self.filters, **self.scope,
        )  # fmt: skip
        texts = format_memories(hits, [message_text(m) for m in history], self.relevance_floor)
        return "\n".join(f"- {t}" for t in texts)

    async def _aput(self, messages: list[ChatMessage]) -> None:
        """Add the messages in one call (one commit; one LLM call only if extraction is on)."""
        mem = self.resolve()
        items = to_core_messages(messages, mem)
        if items:
            await asyncio.to_thread(
                mem.add_events, items, infer=self.infer, metadata=self.write_metadata,
                **self.scope,
            )  # fmt: skip

    async def atruncate(self, content: str, tokens_to_truncate: int) -> str | None:
        """Drop the least relevant memories (the last lines) first, not the whole block."""
        lines = content.splitlines()
        budget = tokens_to_truncate * 4  # ~4 characters per token; a hint, not a contract
        while lines and budget > 0:
            budget -= len(lines.pop()) + 1
        return "\n".join(lines) or None


class WriteThroughMemory(LlamaMemory):
    """A LlamaIndex ``Memory`` that writes each completed turn to its long-term blocks at once.

    A turn (the user's messages, any tool calls, and the assistant's answer) is handed to every
    :class:`LongTermMemoryBlock` when the answer arrives. Those blocks are switched to
    ``accept_short_term_memory=False`` so the later flush of the same messages from the
    short-term queue does not write them twice. Other blocks behave as in ``Memory``.
    """

    _pending: list[ChatMessage] = PrivateAttr(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        """Name the class for LlamaIndex serialization."""
        return "WriteThroughMemory"

    def model_post_init(self, context: Any, /) -> None:
        """Keep flushes away from the blocks that are written through."""
        super().model_post_init(context)
        for block in self._long_term_blocks():
            block.accept_short_term_memory = False

    def _long_term_blocks(self) -> list[LongTermMemoryBlock]:
        return [b for b in self.memory_blocks if isinstance(b, LongTermMemoryBlock)]

    async def _write(self, messages: Sequence[ChatMessage]) -> None:
        self._pending.extend(messages)
        if any(turn_complete(m) for m in messages):
            await self.aflush()

    async def aflush(self) -> None:
        """Write the turn in progress now, without waiting for the assistant's answer."""
        batch, self._pending = self._pending, []
        if batch:
            await asyncio.gather(*(b.aput(list(batch)) for b in self._long_term_blocks()))

    def flush(self) -> None:
        """Sync form of :meth:`aflush`."""
        asyncio_run(self.aflush())

    async def aput(self, message: ChatMessage) -> None:
        """Add to the chat history; write the turn through when this message ends it."""
        await super().aput(message)
        await self._write([message])

    async def aput_messages(self, messages: list[ChatMessage]) -> None:
        """Add several messages; write the turn through when one of them ends it."""
        await super().aput_messages(messages)
        await self._write(messages)

    async def aset(self, messages: list[ChatMessage]) -> None:
        """Replace the chat history; a history given wholesale is not written as new turns."""
        self._pending = []
        await super().aset(messages)

    async def areset(self, status: Any = None) -> None:
        """Write the turn in progress, then clear the chat history (long-term memory stays)."""
        await self.aflush()
        await super().areset(status=status)


def long_term_memory(
    memory: Memory | AsyncMemory,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    app_id: str | None = None,
    top_k: int = 5,
    threshold: float | None = None,
    relevance_floor: float = DEFAULT_RELEVANCE_FLOOR,
    filters: Mapping[str, Any] | None = None,
    infer: bool = True,
    memory_blocks: Sequence[BaseMemoryBlock[Any]] = (),
    **memory_kwargs: Any,
) -> WriteThroughMemory:
    """Build a LlamaIndex ``Memory`` whose long-term memory works from the first turn.

    ``memory_kwargs`` go to ``Memory.from_defaults`` (``session_id``, ``token_limit``,
    ``chat_store``, ...). Extra ``memory_blocks`` are kept after the long-term block.
    """
    block = LongTermMemoryBlock(
        memory=memory, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id,
        top_k=top_k, threshold=threshold, relevance_floor=relevance_floor,
        filters=dict(filters) if filters is not None else None,
        infer=infer, accept_short_term_memory=False,
    )  # fmt: skip
    built = WriteThroughMemory.from_defaults(memory_blocks=[block, *memory_blocks], **memory_kwargs)
    return cast(WriteThroughMemory, built)
