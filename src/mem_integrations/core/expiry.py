"""Expiration: parse what users give, exclude expired rows at read time, purge them later."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .clock import utc
from .errors import InvalidExpirationError
from .filters import sql_timestamp

__all__ = ["live_sql", "expired_sql", "parse_expiration"]


def parse_expiration(value: Any) -> datetime | None:
    """Turn a date, datetime or ISO-8601 string into the UTC instant the memory expires.

    A bare date means "valid through that day": it expires at the following midnight UTC,
    which is what people mean by "expires on 2025-12-31". ``None`` means "never". An instant
    outside years 1-9999 in UTC (``9999-12-31`` as a date, year 1 with a positive offset)
    cannot be stored and is refused.
    """
    try:
        return _parse(value)
    except OverflowError as exc:
        raise InvalidExpirationError(
            f"expiration_date {value!r} falls outside years 1-9999 in UTC, which the store "
            "cannot hold; use None for a memory that never expires"
        ) from exc


def _parse(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return datetime.combine(value + timedelta(days=1), time.min, tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return _parse(date.fromisoformat(text))
            return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise InvalidExpirationError(
        f"expiration_date must be a date, datetime or ISO-8601 string, got {value!r}"
    )


def live_sql(now: datetime) -> str:
    """Rows that have not expired at ``now``."""
    return f"(expires_at IS NULL OR expires_at > {sql_timestamp(now)})"


def expired_sql(now: datetime) -> str:
    """Rows that have expired at ``now``."""
    return f"(expires_at IS NOT NULL AND expires_at <= {sql_timestamp(now)})"
