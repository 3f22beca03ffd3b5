"""Decay settings: the band, speed and bookkeeping of recency decay (see ``decay``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ConfigurationError

__all__ = ["DEFAULT_SETTINGS", "DecaySettings"]


class DecaySettings(BaseModel):
    """The band, speed and bookkeeping of decay; the defaults are Mem0's behaviour.

    ``half_life`` is the idle time after which a memory touched once sits halfway between
    floor and ceiling (0.9× by default); ``shape`` is how sharply it falls around that point.
    ``category_weights`` scales the clock per category: ``{"health": 0.0}`` never decays,
    ``{"health": 0.25}`` decays four times slower, ``{"small_talk": 3.0}`` three times faster.
    The remaining fields tune the access recorder and rarely need changing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    floor: float = Field(default=0.3, gt=0.0, le=1.0)
    ceiling: float = Field(default=1.5, ge=1.0, le=10.0)
    half_life: timedelta = timedelta(days=3)
    shape: float = Field(default=1.0, ge=0.2, le=5.0)
    max_accesses: int = Field(default=20, ge=1, le=1000)
    category_weights: dict[str, float] = Field(default_factory=dict)
    #: write buffered access records once this many are waiting...
    flush_rows: int = Field(default=512, ge=1, le=100_000)
    #: ...or after this long, whichever comes first.
    flush_interval: timedelta = timedelta(seconds=2)
    #: at most this many unwritten records are held; beyond it the oldest are dropped.
    max_pending: int = Field(default=20_000, ge=1)
    #: memories whose access times are cached per process (0 disables the cache).
    cache_size: int = Field(default=20_000, ge=0)
    #: cached access times are re-read after this long, to see other processes' accesses.
    cache_ttl: timedelta = timedelta(minutes=15)
    #: the accesses table is compacted (and its index refreshed) after this many writes.
    compact_every: int = Field(default=50, ge=1)
    #: the accesses table is pruned to ``max_accesses`` per memory after this many writes.
    prune_every: int = Field(default=50_000, ge=1)

    @field_validator("half_life")
    @classmethod
    def _half_life_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(days=3650):
            raise ValueError("half_life must be between 1 second and 10 years")
        return value

    @field_validator("flush_interval", "cache_ttl")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration")
        return value

    @field_validator("category_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if not name.strip():
                raise ValueError("category names must be non-empty")
            if not math.isfinite(weight) or not 0.0 <= weight <= 100.0:
                raise ValueError(f"weight of {name!r} must be in [0, 100], got {weight!r}")
        return value

    @model_validator(mode="after")
    def _buffer(self) -> DecaySettings:
        if self.max_pending < self.flush_rows:
            raise ValueError("max_pending must be at least flush_rows")
        return self

    @classmethod
    def coerce(cls, value: Any) -> DecaySettings:
        """Accept ``None`` (defaults), a ``DecaySettings`` or a dict of its fields."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            try:
                return cls.model_validate(dict(value))
            except ValueError as exc:
                raise ConfigurationError(f"invalid decay_settings: {exc}") from exc
        raise ConfigurationError(
            f"decay_settings must be a DecaySettings, a dict or None, got {type(value).__name__}"
        )


DEFAULT_SETTINGS = DecaySettings()
