"""``MemoryRetriever``: memories as LangChain ``Document`` objects.

The retriever is a view of one scope. Scope, filters and ``k`` are fixed when it is built
(so it can be handed to a chain or an agent) and may be overridden per call through
``invoke(query, k=..., filters=..., user_id=...)``. Search itself - hybrid ranking, filters,
expiry, decay - is :meth:`Memory.search_hits`; this module only converts hits to documents.
"""

from __future__ import annotations

from typing import Any

from ..core.records import SearchHit
from ._common import SCOPE_FIELDS, acall, call, missing

try:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForRetrieverRun,
        CallbackManagerForRetrieverRun,
    )
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import ConfigDict, Field
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise missing(exc) from exc

__all__ = ["MemoryRetriever", "hit_to_document"]

#: Keyword arguments ``invoke`` accepts to override the construction-time settings.
CALL_OPTIONS = frozenset({*SCOPE_FIELDS, "k", "filters", "threshold", "decay", "show_expired"})


def hit_to_document(hit: SearchHit) -> Document:
    """Convert a hit to a Document: memory text as content, the whole record as metadata.

    Metadata is Mem0's JSON shape of the record (ISO timestamps, ``score``, scope ids,
    ``categories``, ``expiration_date``, user ``metadata``) minus the text itself, plus
    ``relevance`` (the score before decay), so a downstream decay reranker does not apply decay
    twice.
    """
    meta = hit.to_dict()
    meta["relevance"] = hit.relevance
    text = meta.pop("memory")
    return Document(id=hit.id, page_content=text, metadata=meta)


class MemoryRetriever(BaseRetriever):
    """Retrieve the memories most relevant to a query, from one scope of a ``Memory``.

    Example::

        retriever = MemoryRetriever(memory=mem, user_id="alice", k=5)
        docs = retriever.invoke("what does alice drink?")
        docs = retriever.invoke("what does alice drink?", k=2, filters={"categories": "food"})

    ``memory`` may be a :class:`Memory` or an :class:`AsyncMemory`; ``ainvoke`` is natively
    async either way (it never blocks the event loop).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = Field(description="the Memory or AsyncMemory to search")
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = None
    filters: dict[str, Any] | None = Field(
        default=None, description="Mem0 v2 filter JSON applied to every search"
    )
    k: int = Field(default=4, ge=1, description="how many memories to return")
    threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="minimum relevance (before decay)"
    )
    decay: bool | None = Field(
        default=None, description="rank with recency decay; None uses the store's setting"
    )
    show_expired: bool = False

    def _search_kwargs(self, overrides: dict[str, Any]) -> dict[str, Any]:
        unknown = set(overrides) - CALL_OPTIONS
        if unknown:
            raise TypeError(
                f"unknown retriever options {sorted(unknown)}; allowed: {sorted(CALL_OPTIONS)}"
            )
        opts: dict[str, Any] = {name: getattr(self, name) for name in CALL_OPTIONS}
        opts.update(overrides)
        opts["top_k"] = opts.pop("k")
        return opts

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        hits = call(self.memory, "search_hits", query, **self._search_kwargs(kwargs))
        return [hit_to_document(h) for h in hits]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        hits = await acall(self.memory, "search_hits", query, **self._search_kwargs(kwargs))
        return [hit_to_document(h) for h in hits]
