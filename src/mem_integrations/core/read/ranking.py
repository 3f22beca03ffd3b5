"""Hybrid ranking: fuse vector similarity with full-text (BM25) relevance into one score.

On conversational data neither signal wins alone (BM25 beats MiniLM on LOCOMO, MiniLM wins on
paraphrases), so search runs both and fuses them. The fused relevance is in [0, 1]: that is
the public score and what ``threshold`` compares with.

The defaults (max-normalised BM25, ``MemoryConfig.vector_weight`` 0.8) were chosen on LOCOMO
conversations 0-2 only and checked on 3-4 (``bench/tune_locomo.py``; docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["BM25_SATURATION", "TUNING_GRID", "fuse"]

#: BM25 is unbounded; s / (s + k) maps it into [0, 1) with k the score that counts as "half".
BM25_SATURATION = 4.0

#: What ``bench/tune_locomo.py`` searches over (fuse keyword arguments).
TUNING_GRID: dict[str, list[Any]] = {
    "vector_weight": [0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95],
    "norm": ["saturate", "max"],
    "saturation": [4.0, 8.0, 16.0],
}


def fuse(
    query_vector: npt.NDArray[np.float32],
    vector_rows: Sequence[Mapping[str, Any]],
    text_rows: Sequence[Mapping[str, Any]],
    vector_weight: float,
    *,
    norm: str = "max",
    saturation: float = BM25_SATURATION,
) -> list[tuple[dict[str, Any], float]]:
    """Union the two candidate lists and score each candidate on both signals.

    Every candidate gets its exact cosine similarity (text-only hits carry their vector, so
    nothing is estimated) and its BM25 score, or 0 when the text search did not return it.

    ``norm="max"`` (the default) divides BM25 by the query's best BM25 in scope: raw BM25
    grows with the number and rarity of the query's terms, so a fixed mapping over-weights
    long, rare-word queries and under-weights short ones. Relative to the best match it means
    the same thing for every query; on LOCOMO that is worth ~+4 recall@10 over
    ``norm="saturate"`` (s / (s + saturation), a fixed per-candidate map, kept for comparison).
    """
    rows: dict[str, dict[str, Any]] = {}
    bm25: dict[str, float] = {}
    for r in vector_rows:
        rows[r["id"]] = dict(r)
    for r in text_rows:
        rows.setdefault(r["id"], dict(r))
        bm25[r["id"]] = float(r.get("_score") or 0.0)
    if not rows:
        return []
    ids = list(rows)
    mat = np.asarray([rows[i]["vector"] for i in ids], dtype=np.float32)
    sims = np.clip(mat @ query_vector.astype(np.float32), 0.0, 1.0)
    top = max(bm25.values(), default=0.0)
    out: list[tuple[dict[str, Any], float]] = []
    for i, sim in zip(ids, sims, strict=True):
        s = bm25.get(i, 0.0)
        if norm == "max":
            text_rel = s / top if top > 0 else 0.0
        else:
            text_rel = s / (s + saturation)
        rel = vector_weight * float(sim) + (1.0 - vector_weight) * text_rel
        out.append((rows[i], min(1.0, max(0.0, rel))))
    out.sort(key=lambda t: (-t[1], t[0]["id"]))
    return out
