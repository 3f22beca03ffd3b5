"""Time is read through a clock object so tests can freeze and move it.

Expiry, history timestamps and decay all read ``clock.now()``; nothing in the core calls
``datetime.now()`` directly. :class:`mem_integrations.testing.FrozenClock` is the test double.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "utc"]


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``now()`` that returns an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the wall-clock time in UTC."""
        return datetime.now(UTC)


def utc(value: datetime) -> datetime:
    """Normalise a datetime to aware UTC; naive values are taken to be UTC already.

    LanceDB stores timestamps without a zone, so everything is kept in UTC and
    naive inputs are interpreted as UTC rather than local time, which would shift
    with the server's TZ setting.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
