"""What every LlamaIndex adapter shares: the import guard, the store binding, type conversion.

The adapters that LlamaIndex serializes (the chat memory, the memory block) keep only the store
``uri`` and the scope ids in their state. The live :class:`~mem_integrations.Memory` is excluded
from serialization and found again, after a workflow ``Context`` is restored, through a
process-wide registry of open stores (:func:`register_memory`), or reopened from the uri.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

try:
    from llama_index.core.base.llms.types import ChatMessage, ToolCallBlock
    from llama_index.core.schema import NodeWithScore, TextNode
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'mem_integrations.llama_index needs LlamaIndex: pip install "mem-integrations[llamaindex]"'
    ) from exc

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from ..core.async_memory import AsyncMemory
from ..core.config import MemoryConfig
from ..core.errors import ConfigurationError, ScopeRequiredError, ValidationError
from ..core.memory import Memory
from ..core.records import SearchHit

__all__ = [
    "SCOPE_FIELDS",
    "StoreBinding",
    "bullets",
    "hit_to_node",
    "latest_user_text",
    "open_memory",
    "register_memory",
    "to_core_messages",
    "turn_complete",
    "unwrap",
]

SCOPE_FIELDS = ("user_id", "agent_id", "run_id", "app_id")

#: LlamaIndex roles the core does not know, mapped to the nearest one it does.
_ROLES = {"developer": "system", "function": "tool", "chatbot": "assistant", "model": "assistant"}

#: Record fields that identify rather than describe: hidden from the LLM.
_ID_KEYS = ["id", "hash", "user_id", "agent_id", "run_id", "app_id", "actor_id", "role"]

_OPEN: weakref.WeakValueDictionary[str, Memory] = weakref.WeakValueDictionary()
_OPEN_LOCK = threading.Lock()


def _key(uri: str) -> str:
    return uri if "://" in uri else os.path.realpath(uri)


def unwrap(memory: Memory | AsyncMemory) -> Memory:
    """Return the synchronous core behind either face; adapters run it on threads when async."""
    if isinstance(memory, AsyncMemory):
        return memory.sync
    if not isinstance(memory, Memory):
        raise ConfigurationError(
            f"expected a mem_integrations Memory or AsyncMemory, got {type(memory).__name__}"
        )
    return memory


def register_memory(memory: Memory | AsyncMemory) -> Memory:
    """Make an open store findable by its uri when a serialized adapter is restored.

    Every adapter built with a ``Memory`` registers it; call this yourself in a process that
    restores a saved workflow ``Context`` before it builds any adapter, so that the restored
    memory reuses your ``Memory`` (your embedder, LLM and clock) instead of reopening the store
    with the defaults. The registry holds weak references: it never keeps a store open.
    """
    mem = unwrap(memory)
    with _OPEN_LOCK:
        _OPEN[_key(mem.config.uri)] = mem
    return mem


def open_memory(uri: str) -> Memory:
    """Return the registered ``Memory`` for ``uri``, or reopen the store with the defaults."""
    with _OPEN_LOCK:
        mem = _OPEN.get(_key(uri))
        if mem is None:
            mem = Memory(MemoryConfig(uri=uri))
            _OPEN[_key(uri)] = mem
        return mem


class StoreBinding(BaseModel):
    """Which store and which scope an adapter reads and writes, in serializable form.

    ``memory`` is excluded from serialization (it holds open LanceDB handles and threads);
    ``uri`` is kept so a deserialized adapter can find or reopen the store lazily.
    Unknown arguments are refused (pydantic would drop them silently), and every invalid
    argument raises the core's ``ValidationError``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    memory: Memory | AsyncMemory | None = Field(
        default=None, exclude=True, repr=False, description="The open store (not serialized)."
    )
    uri: str | None = Field(
        default=None, description="The store's location, used to reopen it after a restore."
    )
    user_id: str | None = Field(default=None, description="Scope: the user memories belong to.")
    agent_id: str | None = Field(default=None, description="Scope: the agent.")
    run_id: str | None = Field(default=None, description="Scope: the run or session.")
    app_id: str | None = Field(default=None, description="Scope: the application.")

    def __init__(self, memory: Memory | AsyncMemory | None = None, **data: Any) -> None:
        mem = register_memory(memory) if memory is not None else None
        if mem is not None:
            uri = data.setdefault("uri", mem.config.uri)
            if uri is not None and _key(uri) != _key(mem.config.uri):
                raise ConfigurationError(
                    f"uri {uri!r} does not match the Memory's store {mem.config.uri!r}"
                )
        try:
            super().__init__(memory=mem, **data)
        except PydanticValidationError as exc:
            raise ValidationError(f"{type(self).__name__}: {exc}") from exc
        if self.memory is None and self.uri is None:
            raise ConfigurationError("pass a mem_integrations Memory, or the uri of its store")
        if not self.scope:
            raise ScopeRequiredError("name at least one of user_id, agent_id, run_id or app_id")

    @property
    def scope(self) -> dict[str, Any]:
        """The scope ids that are set, as keyword arguments for the core."""
        return {k: v for k in SCOPE_FIELDS if (v := getattr(self, k)) is not None}

    def resolve(self) -> Memory:
        """Return the live store, reopening it on first use after deserialization."""
        if self.memory is None:
            assert self.uri is not None  # checked in __init__
            self.memory = open_memory(self.uri)
        return unwrap(self.memory)


# -- messages ----------------------------------------------------------------------------------


def message_text(message: ChatMessage) -> str:
    """Return the text of a message (its text blocks joined); empty for tool calls, media."""
    return message.content or ""


def turn_complete(message: ChatMessage) -> bool:
    """Tell whether a message is an assistant reply that ends a turn (one calling no tools).

    Adapters write a turn (the user's messages and the reply) to long-term memory at that
    point, so that an extraction LLM, when one is configured, sees the whole exchange once.
    """
    if message.role.value != "assistant":
        return False
    if message.additional_kwargs.get("tool_calls"):
        return False
    return not any(isinstance(b, ToolCallBlock) for b in message.blocks)


def to_core_messages(messages: Sequence[ChatMessage], memory: Memory) -> list[dict[str, Any]]:
    """LlamaIndex messages as the core's message dicts.

    Messages without text (tool calls, images) are skipped; a text longer than the store's
    limit is clipped rather than refused, so that one huge reply cannot break a chat.
    """
    limit = memory.limits.max_text_chars
    out: list[dict[str, Any]] = []
    for m in messages:
        text = message_text(m).replace("\x00", "")
        if not text.strip():
            continue
        role = _ROLES.get(m.role.value, m.role.value)
        item: dict[str, Any] = {"role": role, "content": text[:limit]}
        name = m.additional_kwargs.get("name")
        if isinstance(name, str) and name.strip():
            item["name"] = name
        out.append(item)
    return out[-memory.limits.max_messages :]


def latest_user_text(messages: Sequence[ChatMessage], window: int = 1) -> str:
    """Return the last ``window`` user messages' text: what to search long-term memory with."""
    texts = [t for m in messages if m.role.value == "user" and (t := message_text(m).strip())]
    return "\n".join(texts[-window:]) if window > 0 else ""


def bullets(texts: Sequence[str]) -> str:
    """Render memories (already text: ``core.recall``) as the ``- fact`` lines of a prompt."""
    return "\n".join(f"- {t}" for t in texts)


# -- nodes -------------------------------------------------------------------------------------


def hit_to_node(hit: SearchHit, text: str | None = None) -> NodeWithScore:
    """Turn one search hit into a LlamaIndex node: id, text, score and the record's fields.

    ``node.node_id`` is the memory id and ``score`` the store's score in [0, 1]. The metadata
    is the record in Mem0's JSON shape minus the text (``id``, ``user_id`` ... ``app_id``,
    ``categories``, ``metadata``, ``created_at``, ``updated_at``, ``expiration_date``), the
    same as the LangChain face's ``Document.metadata``, plus ``relevance`` (the score before
    decay). The LLM sees the descriptive fields, not the ids. ``text`` replaces the memory's
    text in the node (the prompt-ready form), the metadata keeps the record as it is.
    """
    meta = hit.to_dict()
    del meta["memory"], meta["score"]
    meta["relevance"] = hit.relevance
    node = TextNode(
        id_=hit.id,
        text=hit.memory if text is None else text,
        metadata=meta,
        excluded_llm_metadata_keys=[*_ID_KEYS, "relevance"],
        excluded_embed_metadata_keys=list(meta),
    )
    return NodeWithScore(node=node, score=hit.score)
