"""Per-field vectors: an item is as close to a query as its closest indexed field.

LangGraph embeds every text an item's index paths select and scores the item by its best
one, so a long document is found by the one field that matches. Our row has one vector (of
the fields' texts joined, which keeps ``Memory.search`` and BM25 meaningful for Mem0 users),
so items with two or more texts also carry ``[row vector, field vectors...]`` under the
reserved metadata key ``lg.vectors`` (little-endian float32, base64), and the store swaps the
row's vector similarity for the best field's inside the hit's fused relevance.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ...core.embeddings import Embedder, embed_documents_checked
from ...core.records import SearchHit

__all__ = ["VECTORS", "encode_fields", "rescore"]

log = logging.getLogger(__name__)

VECTORS = "lg.vectors"
Matrix = npt.NDArray[np.float32]


def encode_fields(embedder: Embedder, text: str, texts: Sequence[str], budget: int) -> str | None:
    """``[row vector, field vectors...]`` encoded, or None for fewer than two field texts.

    ``budget`` is what the metadata may still grow by; fields that do not fit are left out
    (the item is then scored by the fields that do), with a debug log.
    """
    if len(texts) < 2:
        return None
    per_vector = (embedder.dim * 4 + 2) // 3 * 4
    fit = budget // per_vector - 1
    if fit < 2:
        log.debug("no room for field vectors in the metadata; scoring by the joined text")
        return None
    if fit < len(texts):
        log.debug("%d of %d field vectors fit in the metadata", fit, len(texts))
    matrix = embed_documents_checked(embedder, [text, *texts[:fit]])
    return base64.b64encode(np.ascontiguousarray(matrix, dtype="<f4").tobytes()).decode("ascii")


def _decode(raw: Any, dim: int) -> Matrix | None:
    if not isinstance(raw, str):
        return None
    try:
        data = base64.b64decode(raw, validate=True)
    except (ValueError, binascii.Error):
        return None
    if not data or len(data) % (4 * dim):
        return None
    matrix = np.frombuffer(data, dtype="<f4").reshape(-1, dim)
    return matrix if matrix.shape[0] >= 3 and np.isfinite(matrix).all() else None


def rescore(hit: SearchHit, query: Matrix, dim: int, weight: float) -> float:
    """The hit's score with its best field's similarity in place of the row vector's.

    The core's relevance is ``weight * clip(row . q) + (1 - weight) * text``: the text part is
    kept (exactly 0 when ``weight`` is 1, so the score is then the best field's cosine, ties
    exact), and so is any decay factor. Similarities are computed in float64 from the stored
    float32 vectors, so two items with the same best field score the same.
    """
    matrix = _decode((hit.metadata or {}).get(VECTORS), dim)
    if matrix is None:
        return hit.score
    q = query.astype(np.float64)  # one dot per row: a row's result never depends on its place
    sims = [min(1.0, max(0.0, float(np.dot(row, q)))) for row in matrix.astype(np.float64)]
    text_part = max(0.0, hit.relevance - weight * sims[0]) if weight < 1.0 else 0.0
    relevance = min(1.0, text_part + weight * max(sims[1:]))
    return relevance * (hit.score / hit.relevance if hit.relevance > 0 else 1.0)
