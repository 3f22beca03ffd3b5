"""The decay curve: pure functions of access times, ``updated_at`` and now (see ``decay``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..clock import utc
from .settings import DEFAULT_SETTINGS, DecaySettings

__all__ = [
    "NEUTRAL_RELEVANCE",
    "RescoreItem",
    "category_weight",
    "decay_factor",
    "decay_score",
    "epoch_seconds",
    "item_from_record",
    "memory_factor",
]

#: Ages are floored at this fraction of the half-life, so the power never overflows.
_MIN_RATIO = 1e-9


def category_weight(categories: Iterable[str], settings: DecaySettings = DEFAULT_SETTINGS) -> float:
    """How fast a memory's clock runs: the slowest of its weighted categories, else 1."""
    weights = [settings.category_weights[c] for c in categories if c in settings.category_weights]
    return min(weights) if weights else 1.0


def _factor(times: Iterable[float], now: float, weight: float, s: DecaySettings) -> float:
    """The curve on epoch seconds; ``times`` are the (at most ``max_accesses``) touches."""
    half = s.half_life.total_seconds()
    x = 0.0
    for t in times:
        ratio = max(now - t, 0.0) * weight / half
        if ratio <= 0.0:
            return s.ceiling
        x += max(ratio, _MIN_RATIO) ** -s.shape
    if x == 0.0:
        return 1.0  # no evidence at all: leave relevance alone
    return s.floor + (s.ceiling - s.floor) / (1.0 + 1.0 / x)


def epoch_seconds(value: datetime) -> float:
    """Seconds since the epoch: the curve works on floats, never on naive datetimes."""
    return utc(value).timestamp()


def memory_factor(
    times: Sequence[float],
    updated_at: datetime | None,
    now: float,
    categories: Iterable[str],
    s: DecaySettings,
) -> float:
    """The factor from sorted access times, falling back to ``updated_at`` as one touch."""
    recent = list(times[-s.max_accesses :])
    if not recent and updated_at is not None:
        recent = [epoch_seconds(updated_at)]
    return _factor(recent, now, category_weight(categories, s), s)


def decay_factor(
    accessed_at: Sequence[datetime],
    updated_at: datetime | None,
    now: datetime,
    *,
    categories: Iterable[str] = (),
    settings: DecaySettings | None = None,
) -> float:
    """The multiplier in ``[floor, ceiling]`` for a memory with these access times.

    Only the latest ``max_accesses`` times count. With no accesses, ``updated_at`` is one
    touch; with neither, the factor is 1 (no evidence, no bias).
    """
    s = settings or DEFAULT_SETTINGS
    times = sorted(epoch_seconds(t) for t in accessed_at)
    return memory_factor(times, updated_at, epoch_seconds(now), categories, s)


def decay_score(
    relevance: float,
    accessed_at: Sequence[datetime],
    updated_at: datetime | None,
    now: datetime,
    *,
    categories: Iterable[str] = (),
    settings: DecaySettings | None = None,
) -> float:
    """Relevance times :func:`decay_factor`, clamped to [0, 1] (the public score's range)."""
    factor = decay_factor(accessed_at, updated_at, now, categories=categories, settings=settings)
    return min(1.0, max(0.0, float(relevance) * factor))


#: Relevance assumed for an item that carries neither ``relevance`` nor a score.
NEUTRAL_RELEVANCE = 0.5

RescoreItem = tuple[str, float, datetime | None, list[str]]


def item_from_record(memory_id: str, record: Mapping[str, Any], score: Any = None) -> RescoreItem:
    """What :meth:`DecayEngine.rescore` needs, read from a record dict that crossed a framework.

    The reranker nodes get documents or nodes whose metadata is a Mem0-shaped record. The
    relevance is the pre-decay ``relevance`` when present, else ``score``, else
    :data:`NEUTRAL_RELEVANCE`; ``updated_at`` may be an ISO string; anything unusable is
    ignored, so an item that did not come from the store keeps a factor of 1.
    """
    relevance = record.get("relevance", score if score is not None else record.get("score"))
    if (
        isinstance(relevance, bool)
        or not isinstance(relevance, (int, float))
        or not math.isfinite(relevance)
    ):
        relevance = NEUTRAL_RELEVANCE
    updated = record.get("updated_at")
    if isinstance(updated, str):
        try:
            updated = datetime.fromisoformat(updated)
        except ValueError:
            updated = None
    cats = record.get("categories")
    categories = [c for c in cats if isinstance(c, str)] if isinstance(cats, list) else []
    when = updated if isinstance(updated, datetime) else None
    return memory_id, float(relevance), when, categories
