"""``DecayPostprocessor``: recency decay as a LlamaIndex node postprocessor (a reranker node).

Add it to ``node_postprocessors`` of a query or chat engine whose retriever returns memories
from the store - typically ``MemoryRetriever(memory, user_id=..., top_k=20, decay=False)`` -
to rerank by recency and keep the best ``top_n``. The curve, the settings and the access
history are the core's (:mod:`mem_integrations.core.decay`), read from the same store, so the
scores equal those of ``Memory.search(..., decay=True)``.
"""

from __future__ import annotations

from typing import Any

from ..core.decay import DecaySettings, item_from_record

try:
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.schema import NodeWithScore, QueryBundle
    from pydantic import Field
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'DecayPostprocessor needs LlamaIndex: pip install "mem-integrations[llamaindex]"'
    ) from exc

from ._common import unwrap

__all__ = ["DecayPostprocessor"]


class DecayPostprocessor(BaseNodePostprocessor):
    """Rerank retrieved memories by recency decay and keep the best ``top_n``.

    Example::

        engine = RetrieverQueryEngine.from_args(
            MemoryRetriever(mem, user_id="alice", top_k=20, decay=False),
            llm=llm,
            node_postprocessors=[DecayPostprocessor(memory=mem, top_n=4)],
        )

    Each returned node's score is the decayed score; ``metadata["relevance"]`` keeps the score
    before decay. The retrieval already counted the nodes as accessed; the postprocessor scores
    them as of just before it and records nothing itself. Nodes that did not come from the
    store (no known id, no ``updated_at``) keep their score.
    """

    memory: Any = Field(exclude=True, description="the Memory or AsyncMemory of the nodes")
    top_n: int | None = Field(default=None, ge=1, description="keep at most this many")
    settings: DecaySettings | None = Field(
        default=None, description="curve settings; None uses the store's decay_settings"
    )

    @classmethod
    def class_name(cls) -> str:
        """Name the class for LlamaIndex serialization."""
        return "DecayPostprocessor"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if not nodes:
            return []
        items = [
            item_from_record(str(n.node.metadata.get("memory_id") or n.node.node_id),
                             n.node.metadata, n.score)
            for n in nodes
        ]  # fmt: skip
        engine = unwrap(self.memory).decay
        scores = engine.rescore(items, settings=self.settings, before_retrieval=True)
        order = sorted(range(len(nodes)), key=lambda i: (-scores[i], -items[i][1], i))
        return [NodeWithScore(node=nodes[i].node, score=scores[i]) for i in order[: self.top_n]]
