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
from typing import Any, Literal

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock
from llama_index.core.bridge.pydantic import Field, field_validator
from llama_index.core.llms.llm import LLM
from llama_index.core.memory.memory import InsertMethod
from llama_index.core.memory.types import BaseMemory
from llama_index.core.utils import get_tokenizer

from ..core.async_memory import AsyncMemory
from ..core.errors import ValidationError
from ..core.memory import Memory
from ..core.recall import prompt_memories
from ._base import LongTermBase
from ._common import bullets, latest_user_text, message_text, turn_complete

__all__ = ["DEFAULT_MEMORY_PROMPT", "LongTermChatMemory"]

#: How recalled memories are shown to the LLM; ``{memories}`` becomes one ``- fact`` per line.
DEFAULT_MEMORY_PROMPT = "Relevant facts remembered from earlier conversations:\n{memories}"

#: Share of an LLM's context window given to the chat history (as ``ChatMemoryBuffer`` does).
_CONTEXT_SHARE = 0.75
_TRIM_ROLES = (MessageRole.ASSISTANT, MessageRole.TOOL)


class LongTermChatMemory(BaseMemory, LongTermBase):
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
    memory_prompt: str = Field(
        default=DEFAULT_MEMORY_PROMPT, description="Template of the injected memory text."
    )
    insert_method: Literal["system", "user"] = Field(
        default="system",
        description="Where recalled memories go: the system message ('system'), or the "
        "latest user message ('user'), as in LlamaIndex's Memory.",
    )
    write_turns: bool = Field(
        default=True, description="Write completed turns to long-term memory (False: read-only)."
    )

    @field_validator("insert_method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> Any:
        """Take LlamaIndex's ``InsertMethod`` too; kept as its string, so the state is JSON."""
        return value.value if isinstance(value, InsertMethod) else value

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

    def to_string(self) -> str:
        """Serialize to JSON text, as ``ChatMemoryBuffer.to_string`` does (no live handles)."""
        return self.to_json()

    @classmethod
    def from_string(cls, json_str: str) -> LongTermChatMemory:
        """Restore from :meth:`to_string`; the store is found again or reopened on first use."""
        return cls.from_json(json_str)

    # -- long-term ---------------------------------------------------------------------------

    def recall(self, query: str, exclude: Sequence[str] = ()) -> list[str]:
        """Return the memories relevant to ``query`` as text, above the floor, not yet shown."""
        return prompt_memories(
            self.search_store(query), floor=self.relevance_floor, exclude=exclude
        )

    def flush(self) -> None:
        """Write the turn in progress now, without waiting for the assistant's answer."""
        if self.pending:
            self.write_messages(self.pending)
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
        """Put the memory text into the system message or the latest user message (a copy)."""
        if not text:
            return history
        role = MessageRole.USER if self.insert_method == "user" else MessageRole.SYSTEM
        pos = _last(history, role) if role == MessageRole.USER else _first(history, role)
        if pos is None:
            new = ChatMessage(role=role, content=text)
            return [*history, new] if role == MessageRole.USER else [new, *history]
        old = history[pos]
        merged = ChatMessage(role=role, blocks=[TextBlock(text=text + "\n\n"), *old.blocks],
                             additional_kwargs=dict(old.additional_kwargs))  # fmt: skip
        return [*history[:pos], merged, *history[pos + 1 :]]

    # -- BaseMemory --------------------------------------------------------------------------

    def get(
        self, input: str | None = None, initial_token_count: int = 0, **kwargs: Any
    ) -> list[ChatMessage]:
        """Return the recent history, with relevant long-term memories inserted.

        The search query is ``input`` when the engine passes one, else the latest user
        message(s). The memory text counts against the buffer's token limit. ``get(5)``:
        LlamaIndex binds a positional argument to ``input``, which ``ChatMemoryBuffer``
        ignores; an int there can only mean the tokens already used, and counts as such.
        """
        input, initial_token_count = _query_and_budget(input, initial_token_count)
        query = input if input else latest_user_text(self.chat_history, self.query_window)
        seen = [message_text(m) for m in self.chat_history]
        memories = self.recall(query or "", exclude=[*seen, input or ""])
        text = self.memory_prompt.replace("{memories}", bullets(memories)) if memories else ""
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


def _last(history: Sequence[ChatMessage], role: MessageRole) -> int | None:
    return next((i for i in range(len(history) - 1, -1, -1) if history[i].role == role), None)


def _first(history: Sequence[ChatMessage], role: MessageRole) -> int | None:
    """The history's opening message if it has ``role`` (memories join it, never a later one)."""
    return 0 if history and history[0].role == role else None


def _query_and_budget(input: Any, initial_token_count: Any) -> tuple[str | None, int]:
    """Sort ``get``'s arguments into (query, tokens already used); refuse what is neither."""
    if isinstance(input, ChatMessage):
        input = message_text(input)
    if isinstance(input, int) and not isinstance(input, bool):
        if initial_token_count:
            raise ValidationError("get: initial token count given twice (positionally too)")
        input, initial_token_count = None, input
    if input is not None and not isinstance(input, str):
        raise ValidationError(f"get: input must be a str, got {type(input).__name__}")
    if isinstance(initial_token_count, bool) or not isinstance(initial_token_count, int):
        raise ValidationError("get: initial_token_count must be an int")
    if initial_token_count < 0:
        raise ValidationError("get: initial_token_count must not be negative")
    return input, initial_token_count
