"""Expiration and caller-given instants: parse what users give, hide expired rows at read time.

Expired memories are hidden at once, not deleted (as in Mem0): ``get`` still returns them and
clearing the date brings them back, until housekeeping purges them ``expired_retention`` later
(:func:`~.write.remove.housekeeping`), or :func:`~.write.remove.purge_expired` does now.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from typing import Any

from .clock import utc
from .errors import InvalidExpirationError, ValidationError
from .filters import sql_timestamp

__all__ = [
    "END_OF_DAY",
    "expiration_text",
    "expired_sql",
    "live_sql",
    "parse_expiration",
    "parse_instant",
]

#: A date-only expiration is stored as the last microsecond of that day (UTC): visible all
#: through the day, and read back as the date it was given (see :func:`expiration_text`).
END_OF_DAY = time(23, 59, 59, 999999, tzinfo=UTC)

# ISO 8601 calendar dates, extended (2030-01-31) or basic (20300131) format.
_DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")


def parse_expiration(value: Any) -> datetime | None:
    """Turn a date, datetime or ISO-8601 string into the UTC instant the memory expires.

    A bare date (``date``, ``"2030-01-31"`` or ``"20300131"``) means "valid through that
    day", Mem0's rule. ``None`` means "never".
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return datetime.combine(value, END_OF_DAY)
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_ONLY.match(text):
                return parse_expiration(date.fromisoformat(text))
            return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise InvalidExpirationError(
        f"expiration_date must be a date, datetime or ISO-8601 string, got {value!r}"
    )


def expiration_text(value: datetime | None) -> str | None:
    """How an expiry reads back: ``YYYY-MM-DD`` when it was given as a date, else ISO-8601."""
    if value is None:
        return None
    value = utc(value)
    if value.timetz() == END_OF_DAY:
        return value.date().isoformat()
    return value.isoformat()


def parse_instant(value: Any, name: str) -> datetime:
    """A caller's point in time: Unix epoch seconds (int/float), ISO-8601 text, date, datetime.

    Mem0's ``timestamp=`` and ``reference_date=`` take all of these; a bare date is its
    midnight UTC.
    """
    if isinstance(value, bool):
        pass
    elif isinstance(value, int | float):
        if math.isfinite(value):
            try:
                return datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError):
                pass
    elif isinstance(value, datetime):
        return utc(value)
    elif isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_ONLY.match(text):
                return datetime.combine(date.fromisoformat(text), time(), UTC)
            return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise ValidationError(
        f"{name} must be Unix epoch seconds, an ISO-8601 date/datetime, a date or a datetime, "
        f"got {value!r}"
    )


def live_sql(now: datetime) -> str:
    """Rows that have not expired at ``now``."""
    return f"(expires_at IS NULL OR expires_at > {sql_timestamp(now)})"


def expired_sql(now: datetime) -> str:
    """Rows that have expired at ``now``."""
    return f"(expires_at IS NOT NULL AND expires_at <= {sql_timestamp(now)})"
