"""A ``BaseMemory`` for chat engines and agents: short-term history plus long-term memory.

:class:`LongTermChatMemory` is what ``SimpleChatEngine``, ``CondensePlusContextChatEngine``
and ``FunctionAgent.run(memory=...)`` accept. It keeps the conversation in a token-limited
history of its own and, on every ``get``, searches the store for memories relevant to the
latest user message and puts them into the system message. Each completed turn (the user's
messages and the assistant's answer) is written to the store with one ``add`` call: no LLM call
unless the ``Memory`` has an extraction LLM configured.

It survives workflow ``Context`` serialization: its state is the chat history, the turn in
progress, the scope ids and the store's ``uri``; the live ``Memory`` is excluded and found
again (or reopened) on first use after a restore. See :func:`register_memory`. (It keeps its
own history rather than wrapping ``ChatMemoryBuffer`` because that buffer's
``SimpleChatStore`` fails to serialize with pydantic-core 2.50 once it holds a message.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock
from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms.llm import LLM
from llama_index.core.memory.types import BaseMemory
from llama_index.core.utils import get_tokenizer

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

__all__ = ["DEFAULT_MEMORY_PROMPT", "LongTermChatMemory"]

#: How recalled memories are shown to the LLM; ``{memories}`` becomes one ``- fact`` per line.
DEFAULT_MEMORY_PROMPT = "Relevant facts remembered from earlier conversations:\n{memories}"

#: Share of an LLM's context window given to the chat history (as ``ChatMemoryBuffer`` does).
_CONTEXT_SHARE = 0.75
_TRIM_ROLES = (MessageRole.ASSISTANT, MessageRole.TOOL)


class LongTermChatMemory(BaseMemory, StoreBinding):
    """Chat history for one conversation, with recall from and writes to long-term memory.

    Every read and write is confined to the scope given (``user_id`` / ``agent_id`` /
    ``run_id`` / ``app_id``). All methods have async twins (``aget``, ``aput``, ...), which
    run the store's calls on worker threads.
    """

    chat_history: list[ChatMessage] = Field(
        default_factory=list, description="The conversation so far."
    )
    token_limit: int = Field(
        default=3000, ge=1, description="Tokens of history (and memories) ``get`` returns."
    )
    tokenizer_fn: Callable[[str], list[Any]] = Field(
        default_factory=get_tokenizer, exclude=True, description="Counts tokens."
    )
    pending: list[ChatMessage] = Field(
        default_factory=list, description="The turn in progress, written when it completes."
    )
    top_k: int = Field(default=5, ge=1, description="How many memories to recall at most.")
    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Minimum score of a recalled memory."
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
    memory_prompt: str = Field(
        default=DEFAULT_MEMORY_PROMPT, description="Template of the injected system text."
    )
    write_turns: bool = Field(
        default=True, description="Write completed turns to long-term memory (False: read-only)."
    )
    infer: bool = Field(
        default=True, description="Let the store's extraction LLM, if any, distil each turn."
    )
    write_metadata: dict[str, Any] | None = Field(
        default=None, description="Metadata attached to every memory written from the chat."
    )

    @classmethod
    def class_name(cls) -> str:
        """Name the class for LlamaIndex serialization."""
        return "LongTermChatMemory"

    @classmethod
    def from_defaults(
        cls,
        memory: Memory | AsyncMemory | None = None,
        *,
        chat_history: list[ChatMessage] | None = None,
        llm: LLM | None = None,
        token_limit: int | None = None,
        **kwargs: Any,
    ) -> LongTermChatMemory:
        """Build with a history sized for ``llm``'s context window (or ``token_limit``).

        ``kwargs`` are the fields: ``user_id``, ``agent_id``, ``run_id``, ``app_id``, ``uri``,
        ``top_k``, ``threshold``, ``filters``, ...
        """
        if token_limit is None and llm is not None:
            token_limit = int(llm.metadata.context_window * _CONTEXT_SHARE)
        if token_limit is not None:
            kwargs["token_limit"] = token_limit
        return cls(memory=memory, chat_history=list(chat_history or []), **kwargs)

    # -- long-term ---------------------------------------------------------------------------

    def recall(self, query: str, exclude: Sequence[str] = ()) -> list[str]:
        """Return the memories relevant to ``query``, minus those already present verbatim."""
        if not query.strip():
            return []
        hits = self.resolve().search_hits(
            query, top_k=self.top_k, threshold=self.threshold, filters=self.filters, **self.scope
        )
        return format_memories(hits, exclude, self.relevance_floor)

    def flush(self) -> None:
        """Write the turn in progress now, without waiting for the assistant's answer."""
        if not self.pending:
            return
        mem = self.resolve()
        items = to_core_messages(self.pending, mem)
        if items:
            mem.add_events(items, infer=self.infer, metadata=self.write_metadata, **self.scope)
        self.pending = []

    async def aflush(self) -> None:
        """Async form of :meth:`flush`."""
        await asyncio.to_thread(self.flush)

    def _track(self, messages: Sequence[ChatMessage]) -> None:
        if not self.write_turns:
            return
        self.pending.extend(messages)
        if any(turn_complete(m) for m in messages):
            self.flush()

    def _tokens(self, text: str) -> int:
        return len(self.tokenizer_fn(text)) if text else 0

    def _window(self, initial_token_count: int) -> list[ChatMessage]:
        """Keep the newest messages that fit; never open on an assistant or tool message."""
        if initial_token_count > self.token_limit:
            raise ValueError("Initial token count exceeds token limit")
        history = self.chat_history
        budget, start = self.token_limit - initial_token_count, len(history)
        while start > 0:
            budget -= self._tokens(message_text(history[start - 1]))
            if budget < 0:
                break
            start -= 1
        while start < len(history) and history[start].role in _TRIM_ROLES:
            start += 1
        return list(history[start:]) if start < len(history) else list(history[-1:])

    def _inject(self, history: list[ChatMessage], text: str) -> list[ChatMessage]:
        if not text:
            return history
        if history and history[0].role == MessageRole.SYSTEM:
            first = history[0]
            merged = ChatMessage(
                role=MessageRole.SYSTEM,
                blocks=[TextBlock(text=text + "\n\n"), *first.blocks],
                additional_kwargs=dict(first.additional_kwargs),
            )
            return [merged, *history[1:]]
        return [ChatMessage(role=MessageRole.SYSTEM, content=text), *history]

    # -- BaseMemory --------------------------------------------------------------------------

    def get(
        self, input: str | None = None, initial_token_count: int = 0, **kwargs: Any
    ) -> list[ChatMessage]:
        """Return the recent history, with relevant long-term memories in the system message.

        The search query is ``input`` when the engine passes one, else the latest user
        message(s). The memory text counts against the buffer's token limit.
        """
        query = input if input else latest_user_text(self.chat_history, self.query_window)
        seen = [message_text(m) for m in self.chat_history]
        memories = self.recall(query or "", exclude=[*seen, input or ""])
        text = ""
        if memories:
            text = self.memory_prompt.replace("{memories}", "\n".join(f"- {m}" for m in memories))
        budget = initial_token_count + self._tokens(text)
        if budget > self.token_limit:
            budget = initial_token_count  # memories alone overflow: the history still comes back
        return self._inject(self._window(budget), text)

    def get_all(self) -> list[ChatMessage]:
        """Return the whole short-term history (no memories injected)."""
        return list(self.chat_history)

    def put(self, message: ChatMessage) -> None:
        """Append to the history; an assistant answer completes the turn and writes it."""
        self.chat_history.append(message)
        self._track([message])

    def put_messages(self, messages: list[ChatMessage]) -> None:
        """Append several messages; written when one of them completes the turn."""
        self.chat_history.extend(messages)
        self._track(messages)

    def set(self, messages: list[ChatMessage]) -> None:
        """Replace the history; a history given wholesale is not written as new turns."""
        self.chat_history = list(messages)
        self.pending = []

    def reset(self) -> None:
        """Write the turn in progress, then clear the history. Long-term memory stays."""
        self.flush()
        self.chat_history = []
