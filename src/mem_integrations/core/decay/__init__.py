"""Recency decay: a soft ranking bias that favours memories used lately.

Nothing is hidden or deleted. At search time each candidate's relevance is multiplied by a
factor between ``floor`` (0.3) and ``ceiling`` (1.5) computed from its last accesses; the
result is clamped to [0, 1]. The curve is base-level activation from ACT-R squashed into the
band::

    x      = sum over the last 20 accesses j of (half_life / (weight * age_j)) ** shape
    factor = floor + (ceiling - floor) * x / (1 + x)

A single touch ``half_life`` ago lands halfway between floor and ceiling; just now gives the
ceiling; the tail falls like a power law, so "idle for weeks" is near the floor but a memory
used many times keeps more of its boost than one used once. A memory never accessed counts its
``updated_at`` as one touch. ``weight`` comes from the memory's categories (0 stops time for
that category, 0.5 halves its speed); it is the slowest of the listed categories, 1 otherwise.

:func:`decay_factor` and :func:`decay_score` are the pure curve. :class:`DecayEngine` applies
it to search hits, keeps a bounded per-process cache of access times so search pays no extra
query for memories it has seen, and records accesses on one background thread that writes them
in batches to the separate ``accesses`` table (never the memories table).

The package: ``settings`` (the knobs), ``curve`` (pure), ``engine`` (cache and recorder).
"""

from .curve import (
    NEUTRAL_RELEVANCE,
    RescoreItem,
    category_weight,
    decay_factor,
    decay_score,
    item_from_record,
)
from .engine import DecayEngine
from .settings import DEFAULT_SETTINGS, DecaySettings

__all__ = [
    "DEFAULT_SETTINGS",
    "NEUTRAL_RELEVANCE",
    "DecayEngine",
    "DecaySettings",
    "RescoreItem",
    "category_weight",
    "decay_factor",
    "decay_score",
    "item_from_record",
]
