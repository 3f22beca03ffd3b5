"""``DecayCompressor``: recency decay as a LangChain document compressor (a reranker node).

Put it after any retriever that returns memories from the store - typically
``MemoryRetriever(decay=False, k=20)`` inside a ``ContextualCompressionRetriever`` - to rerank
by recency and keep the best ``top_n``. The curve, the settings and the access history are the
core's (:mod:`mem_integrations.core.decay`), read from the same store, so the scores equal
those of ``Memory.search(..., decay=True)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ..core.decay import DecaySettings, item_from_record
from ._common import missing, sync_memory

try:
    from langchain_core.callbacks import Callbacks
    from langchain_core.documents import Document
    from langchain_core.documents.compressor import BaseDocumentCompressor
    from pydantic import ConfigDict, Field
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise missing(exc) from exc

__all__ = ["DecayCompressor"]


class DecayCompressor(BaseDocumentCompressor):
    """Rerank retrieved memories by recency decay and keep the best ``top_n``.

    Example::

        from langchain_classic.retrievers import ContextualCompressionRetriever

        retriever = ContextualCompressionRetriever(
            base_compressor=DecayCompressor(memory=mem, top_n=4),
            base_retriever=MemoryRetriever(memory=mem, user_id="alice", k=20, decay=False),
        )

    Each returned document's ``score`` metadata is the decayed score and ``relevance`` the
    score before decay. The retrieval already counted the documents as accessed; the
    compressor scores them as of just before it and records nothing itself. Documents that
    did not come from the store (no known id, no ``updated_at``) keep their score.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = Field(description="the Memory or AsyncMemory the documents came from")
    top_n: int | None = Field(default=None, ge=1, description="keep at most this many")
    settings: DecaySettings | None = Field(
        default=None, description="curve settings; None uses the store's decay_settings"
    )

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Return the documents re-sorted by decayed score (new objects; inputs untouched)."""
        if not documents:
            return []
        items = [
            item_from_record(str(d.id or d.metadata.get("id") or ""), d.metadata) for d in documents
        ]
        engine = sync_memory(self.memory).decay
        scores = engine.rescore(items, settings=self.settings, before_retrieval=True)
        order = sorted(range(len(documents)), key=lambda i: (-scores[i], -items[i][1], i))
        out = []
        for i in order[: self.top_n]:
            doc = documents[i]
            meta = {**doc.metadata, "relevance": items[i][1], "score": scores[i]}
            out.append(Document(id=doc.id, page_content=doc.page_content, metadata=meta))
        return out

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Async form: reading access history may touch the store, so it runs on a thread."""
        return await asyncio.to_thread(self.compress_documents, documents, query, callbacks)
