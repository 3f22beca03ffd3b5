"""The search pipeline: validate, encode, candidates, fuse, threshold, records, decay.

One path for every search: the store returns vector and full-text candidates of the scope
(from RAM or LanceDB, ``storage.search``), :func:`~.ranking.fuse` scores them in [0, 1], the
threshold is applied to relevance before decay, and only what can be returned is converted
to records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..embeddings import embed_query_checked
from ..engine import Engine
from ..errors import ValidationError
from ..records import SearchHit
from ..storage.rows import RECORD_COLUMNS, materialize, record_fields
from .ranking import fuse
from .select import where

__all__ = ["search_hits"]


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
) -> list[SearchHit]:
    """Hybrid search in one scope; see ``Memory.search`` for the arguments."""
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
    now = None if show_expired else engine.clock.now()
    use_decay = engine.decay.enabled if decay is None else bool(decay)
    pool = k * engine.config.candidate_multiplier
    if use_decay:  # decay reorders: rerank at least 3 x top_k per signal, then truncate
        pool = max(pool, 3 * k)
    qvec = embed_query_checked(engine.embedder, text)
    cols = [*RECORD_COLUMNS, "vector"]
    by_vector, by_text = engine.store.scoped_search(
        qvec, text, scope_where, now, pool, cols, None if filters else scope.as_dict()
    )
    ranked = fuse(qvec, by_vector, by_text, engine.config.vector_weight)
    kept = [(row, rel) for row, rel in ranked if threshold is None or rel >= threshold]
    # Build records only for what can be returned: top_k, or with decay the 3 x top_k most
    # relevant candidates, which decay reorders before truncating to top_k.
    kept = kept[: 3 * k if use_decay else k]
    rows = materialize([row for row, _ in kept])
    hits = [
        SearchHit(**record_fields(row), score=rel, relevance=rel)
        for row, (_, rel) in zip(rows, kept, strict=True)
    ]
    if use_decay:
        hits = engine.decay.rerank(hits, limit=k)
    hits = hits[:k]
    if record_access:
        engine.decay.record_access([h.id for h in hits])
    return hits
