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
from llama_index.core.bridge.pydantic import Field, PrivateAttr, field_validator
from llama_index.core.memory import Memory as LlamaMemory
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import BasePromptTemplate, PromptTemplate, RichPromptTemplate

from ..core.async_memory import AsyncMemory
from ..core.memory import Memory
from ..core.recall import DEFAULT_RELEVANCE_FLOOR, prompt_hits
from ._base import LongTermBase
from ._common import (
    bullets,
    hit_to_node,
    latest_user_text,
    message_text,
    turn_complete,
)

__all__ = ["LongTermMemoryBlock", "WriteThroughMemory", "long_term_memory"]


class LongTermMemoryBlock(BaseMemoryBlock[str], LongTermBase):
    """Memories from the store that are relevant to the conversation, as one block of text.

    Reads and writes are confined to the block's scope (``user_id`` / ``agent_id`` /
    ``run_id`` / ``app_id``). Without an extraction LLM configured on the ``Memory`` (or with
    ``infer=False``) writes store the user's messages verbatim and make no LLM call
    (``store_assistant=True``: the whole exchange, as ``VectorMemoryBlock`` stores it).

    As in ``VectorMemoryBlock``, ``node_postprocessors`` rerank or filter the recalled
    memories (as ``NodeWithScore``, with the query) and ``format_template`` wraps the result:
    its ``text`` variable receives the ``- fact`` lines.
    """

    name: str = Field(default="long_term_memory", description="The block's name in the prompt.")
    description: str | None = Field(
        default="Facts remembered about the user from earlier conversations.",
        description="What the block holds.",
    )
    node_postprocessors: list[BaseNodePostprocessor] = Field(
        default_factory=list, description="Applied, in order, to the recalled memories."
    )
    format_template: BasePromptTemplate | None = Field(
        default=None, description="Wraps the recalled lines; its ``text`` variable gets them."
    )

    @field_validator("format_template", mode="before")
    @classmethod
    def _template(cls, value: Any) -> Any:
        """Accept a string as LlamaIndex does (``{{ text }}``: rich, else ``{text}``)."""
        if isinstance(value, str):
            value = RichPromptTemplate(value) if "{{" in value else PromptTemplate(value)
        if isinstance(value, BasePromptTemplate) and "text" not in value.template_vars:
            raise ValueError("format_template needs a 'text' variable for the memories")
        return value

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
        found = await asyncio.to_thread(self.search_store, query)
        kept = prompt_hits(
            found, floor=self.relevance_floor, exclude=[message_text(m) for m in history]
        )
        texts = [text for _, text in kept]
        if self.node_postprocessors and kept:
            nodes = [hit_to_node(h, text=text) for h, text in kept]
            for post in self.node_postprocessors:
                nodes = await post.apostprocess_nodes(nodes, query_str=query)
            texts = [n.node.get_content() for n in nodes]
        if not texts:
            return ""
        text = bullets(texts)
        return self.format_template.format(text=text) if self.format_template else text

    async def _aput(self, messages: list[ChatMessage]) -> None:
        """Add the messages in one call (one commit; one LLM call only if extraction is on)."""
        await asyncio.to_thread(self.write_messages, messages)

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

    Keyword arguments that are fields of :class:`LongTermMemoryBlock` (``query_window``,
    ``store_assistant``, ``node_postprocessors``, ``format_template``, ...) configure the
    block; the others go to ``Memory.from_defaults`` (``session_id``, ``token_limit``,
    ``insert_method``, ...). Extra ``memory_blocks`` are kept after the long-term block.
    """
    block_kwargs = {k: memory_kwargs.pop(k) for k in list(memory_kwargs)
                    if k in LongTermMemoryBlock.model_fields}  # fmt: skip
    block = LongTermMemoryBlock(
        memory=memory, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id,
        top_k=top_k, threshold=threshold, relevance_floor=relevance_floor,
        filters=dict(filters) if filters is not None else None,
        infer=infer, **{"accept_short_term_memory": False, **block_kwargs},
    )  # fmt: skip
    built = WriteThroughMemory.from_defaults(memory_blocks=[block, *memory_blocks], **memory_kwargs)
    return cast(WriteThroughMemory, built)
