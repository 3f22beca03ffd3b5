"""Fixture swap for running llama-index-core's own memory tests against our classes.

Not collected by pytest here (upstream code is never committed). To reproduce the counts in
docs/llama_index.md: copy ``llama-index-core/tests/memory/test_chat_memory_buffer.py``,
``test_memory_base.py`` and ``blocks/test_vector.py`` (commits named there) next to this
file, change the one import line of each (``ChatMemoryBuffer``, ``Memory``,
``VectorMemoryBlock``) to ``from upstream_llama_index import ...``, and run pytest with
``asyncio_mode=auto`` and a ``conftest.py`` that puts this file's folder on ``sys.path``
(``blocks/test_vector.py`` sits one level down). ``UPSTREAM_SWITCHES=1`` runs with the
deliberate differences switched to LlamaIndex's behaviour (``insert_method="user"``,
``store_assistant=True``). ``UPSTREAM_FLOOR`` sets the recall ``relevance_floor`` (unset: our
default, 0.25); ``0`` injects every hit, as their mock vector store returns every node, since
``HashEmbedder`` scores carry no meaning.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from llama_index.core.schema import TextNode

from mem_integrations import Memory as Store
from mem_integrations import MemoryConfig
from mem_integrations.llama_index import (
    LongTermChatMemory,
    LongTermMemoryBlock,
    WriteThroughMemory,
)
from mem_integrations.testing import HashEmbedder

SWITCHES = os.environ.get("UPSTREAM_SWITCHES") == "1"
SCOPE = "upstream"
_FLOOR = os.environ.get("UPSTREAM_FLOOR")
FLOOR: dict[str, Any] = {} if _FLOOR is None else {"relevance_floor": float(_FLOOR)}
_STORES: dict[int, Store] = {}


def _store() -> Store:
    return Store(MemoryConfig(uri=tempfile.mkdtemp(prefix="upli-"), embedder=HashEmbedder()))


class ChatMemoryBuffer(LongTermChatMemory):
    """Their buffer: our chat memory over a fresh store, one user scope."""

    @classmethod
    def from_defaults(cls, *args: Any, **kwargs: Any) -> LongTermChatMemory:  # type: ignore[override]
        kwargs = {**FLOOR, **kwargs}
        return super().from_defaults(_store(), user_id=SCOPE, **kwargs)


class Memory(WriteThroughMemory):
    """Their bare ``Memory``: LlamaIndex's Memory with our long-term block, written through."""

    def __init__(self, **kwargs: Any) -> None:
        if SWITCHES:
            kwargs.setdefault("insert_method", "user")
        if not kwargs.get("memory_blocks"):
            kwargs["memory_blocks"] = [LongTermMemoryBlock(memory=_store(), user_id=SCOPE, **FLOOR)]
        super().__init__(**kwargs)


class _StoreView:
    """What their tests read as ``block.vector_store.nodes``: our store's memories as nodes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def nodes(self) -> dict[str, TextNode]:
        rows = self.store.get_all(user_id=SCOPE)["results"]
        return {r["id"]: TextNode(id_=r["id"], text=r["memory"]) for r in rows}


class VectorMemoryBlock(LongTermMemoryBlock):
    """Their vector block: our block; their mock vector store becomes one of our stores."""

    def __init__(
        self,
        *,
        vector_store: Any = None,
        embed_model: Any = None,
        similarity_top_k: int = 2,
        retrieval_context_window: int = 5,
        **kwargs: Any,
    ) -> None:
        store = _STORES.setdefault(id(vector_store), _store())
        if SWITCHES:
            kwargs.setdefault("store_assistant", True)
        kwargs = {**FLOOR, **kwargs}
        super().__init__(
            memory=store, user_id=SCOPE, top_k=similarity_top_k,
            query_window=retrieval_context_window, **kwargs,
        )  # fmt: skip

    @property
    def vector_store(self) -> _StoreView:
        return _StoreView(self.resolve())
