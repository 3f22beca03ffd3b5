"""The search pipeline: validate, encode, candidates, fuse, threshold, records, decay.

One path for every search: the store returns vector and full-text candidates of the scope
(from RAM or LanceDB, ``storage.search``), :func:`~.ranking.fuse` scores them in [0, 1], the
threshold is applied to relevance before decay, and only what can be returned is converted
to records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from ..embeddings import embed_query_checked
from ..engine import Engine
from ..errors import ValidationError
from ..records import SearchHit
from ..storage.late import VersionGone
from ..storage.rows import RECORD_COLUMNS, materialize, record_fields
from .ranking import fuse
from .select import where

__all__ = ["search_hits"]


def _explained(
    engine: Engine,
    hits: list[SearchHit],
    kept: list[tuple[dict[str, Any], float]],
    qvec: npt.NDArray[np.float32],
    by_text: Sequence[Mapping[str, Any]],
    threshold: float | None,
) -> list[SearchHit]:
    """Each hit with Mem0's ``score_details``, the same arithmetic as ``fuse``.

    The two signals, their weight, the fused relevance, the decay factor, the final score.
    """
    vectors = {row["id"]: row["vector"] for row, _ in kept}
    best = max((float(r.get("_score") or 0.0) for r in by_text), default=0.0)
    bm25 = {r["id"]: float(r.get("_score") or 0.0) / best for r in by_text} if best else {}
    weight = engine.config.vector_weight
    out = []
    for hit in hits:
        vec = np.asarray(vectors[hit.id], dtype=np.float32)
        details = {
            "semantic_score": float(np.clip(vec @ qvec.astype(np.float32), 0.0, 1.0)),
            "bm25_score": bm25.get(hit.id, 0.0), "vector_weight": weight,
            "relevance": hit.relevance,
            "decay_factor": hit.score / hit.relevance if hit.relevance else 1.0,
            "final_score": hit.score, "threshold": threshold,
        }  # fmt: skip
        out.append(hit.model_copy(update={"score_details": details}))
    return out


#: Room for float rounding between LanceDB's cosine order and numpy's similarities.
_SIM_EPS = 1e-4
#: How far from 1 a vector's norm may be for cosine and dot product to order alike.
_UNIT_EPS = 1e-3


def _head_suffices(
    engine: Engine,
    qvec: npt.NDArray[np.float32],
    by_vector: Sequence[Mapping[str, Any]],
    kept: Sequence[tuple[Mapping[str, Any], float]],
    head: int,
    keep: int,
    threshold: float | None,
) -> bool:
    """Whether the vector rows past a search's ``head`` could change what it keeps.

    A vector candidate that is not a text candidate scores ``vector_weight x similarity``
    (``fuse``: no BM25), so a row past the head scores at most that with the head's lowest
    similarity; text candidates carry their own vectors and are all ranked. The head
    suffices when the last row kept scores above that bound (or ``threshold`` drops it).
    The bound needs unit vectors (LanceDB orders by cosine, ``fuse`` scores the dot
    product): every default embedder normalises; a query that is not a unit vector gets
    no head, and a head that does not suffice is searched again with the whole pool.
    """
    if len(by_vector) != head:
        return True  # fewer: every row the query could return; more: not cut (``scope_index``)
    mat = np.asarray([r["vector"] for r in by_vector], dtype=np.float32)
    if np.abs(np.linalg.norm(mat, axis=1) - 1.0).max() > _UNIT_EPS:
        return False
    lowest = float((mat @ qvec.astype(np.float32)).min())
    bound = engine.config.vector_weight * min(1.0, max(0.0, lowest + _SIM_EPS))
    if threshold is not None and threshold > bound:
        return True
    return len(kept) == keep and kept[-1][1] > bound


def search_hits(
    engine: Engine,
    query: str,
    *,
    scope_ids: Mapping[str, Any],
    filters: Mapping[str, Any] | None = None,
    top_k: int | None = None,
    limit: int | None = None,
    threshold: float | None = None,
    show_expired: bool = False,
    decay: bool | None = None,
    record_access: bool = True,
    explain: bool = False,
    at: datetime | None = None,
) -> list[SearchHit]:
    """Hybrid search in one scope; see ``Memory.search`` for the arguments.

    ``at`` is the instant expiry is judged at (Mem0's ``reference_date``), now by default.
    """
    text = engine.check.text(query, "query")
    k = engine.check.top_k(top_k if top_k is not None else (limit if limit is not None else 10))
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not 0.0 <= threshold <= 1.0
    ):
        raise ValidationError(f"threshold must be a number in [0, 1], got {threshold!r}")
    scope = engine.check.scope(**scope_ids)
    scope_where = where(engine, scope, filters, show_expired=True)
    now = None if show_expired else (at or engine.clock.now())
    use_decay = engine.decay.enabled if decay is None else bool(decay)
    pool = k * engine.config.candidate_multiplier
    if use_decay:  # decay reorders: rerank at least 3 x top_k per signal, then truncate
        pool = max(pool, 3 * k)
    qvec = embed_query_checked(engine.embedder, text)
    cols = [*RECORD_COLUMNS, "vector"]
    keep = 3 * k if use_decay else k
    # Build records only for what can be returned: top_k, or with decay the 3 x top_k
    # most relevant candidates, which decay reorders before truncating to top_k.
    unit = abs(float(np.linalg.norm(qvec)) - 1.0) <= _UNIT_EPS  # else see ``_head_suffices``
    head = 2 * keep if 2 * keep < pool and unit else None
    plans = [(head, True), (None, True), (None, False)]  # (head, fetch_later)
    plan = 0 if head else 1
    while True:
        head, fetch_later = plans[plan]
        by_vector, by_text = engine.store.scoped_search(
            qvec, text, scope_where, now, pool, cols, None if filters else scope.as_dict(),
            fetch_later=fetch_later, head=head)  # fmt: skip
        ranked = fuse(qvec, by_vector, by_text, engine.config.vector_weight)
        kept = [(row, rel) for row, rel in ranked if threshold is None or rel >= threshold]
        kept = kept[:keep]
        if head and not _head_suffices(engine, qvec, by_vector, kept, head, keep, threshold):
            plan = 1  # a row past the head could rank: search again with the whole pool
            continue
        try:
            rows = materialize([row for row, _ in kept])
            break
        except VersionGone:  # the version ranked was cleaned up: search again, in one step
            plan = 2
    hits = [
        SearchHit(**record_fields(row), score=rel, relevance=rel)
        for row, (_, rel) in zip(rows, kept, strict=True)
    ]
    if use_decay:
        hits = engine.decay.rerank(hits, limit=k)
    hits = hits[:k]
    if explain:
        hits = _explained(engine, hits, kept, qvec, by_text, threshold)
    if record_access:
        engine.decay.record_access([h.id for h in hits])
    return hits
