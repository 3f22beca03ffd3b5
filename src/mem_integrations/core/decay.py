"""Recency decay (placeholder engine; the full curve lands with the decay issue)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .clock import Clock
from .records import SearchHit

__all__ = ["DecayEngine"]


class DecayEngine:
    """Reranks search hits by recency and records accesses in the background."""

    def __init__(self, store: Any, clock: Clock, settings: Any, enabled: bool) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.enabled = enabled

    def rerank(self, hits: list[SearchHit]) -> list[SearchHit]:
        """Identity for now."""
        return hits

    def record_access(self, ids: Sequence[str]) -> None:
        """No-op for now."""

    def flush(self) -> None:
        """No-op for now."""

    def close(self) -> None:
        """No-op for now."""
