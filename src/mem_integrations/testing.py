"""Test doubles that ship with the library, so tests, docs and cookbooks run offline and exact.

- :class:`HashEmbedder`: deterministic bag-of-words vectors; texts sharing words are similar.
- :class:`FrozenClock`: a clock that only moves when told to.
- :class:`ScriptedLLM`: returns queued structured outputs (see ``core.llm``).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from .core.clock import utc

__all__ = ["FrozenClock", "HashEmbedder"]

_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Bag-of-words hashed into ``dim`` buckets and L2-normalised.

    Cheap and deterministic: two texts are similar exactly when they share (lower-cased) words,
    which makes ranking assertions in tests readable. Not a semantic model.
    """

    def __init__(self, dim: int = 64, model_id: str | None = None) -> None:
        self.dim = dim
        self.model_id = model_id or f"hash-bow-{dim}"

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
            v[h % self.dim] += 1.0
        norm = math.sqrt(sum(x * x for x in v))
        if norm == 0.0:
            v[0] = 1.0
            return v
        return [x / norm for x in v]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text."""
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Same space as documents."""
        return self._vec(text)


class FrozenClock:
    """A clock for tests: ``now()`` is fixed until :meth:`advance` or :meth:`set` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = utc(start) if start is not None else datetime(2025, 1, 1, 12, tzinfo=UTC)

    def now(self) -> datetime:
        """The frozen instant."""
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; returns the new now."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to an instant."""
        self._now = utc(when)
