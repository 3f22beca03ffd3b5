"""SQL literals: the only way caller text and values enter generated SQL."""

from __future__ import annotations

from datetime import UTC, datetime

from ..errors import InvalidFilterError

__all__ = ["fail", "like_pattern", "sql_number", "sql_string", "sql_timestamp"]


def fail(msg: str) -> InvalidFilterError:
    """The one error of the filter language, with its common prefix."""
    return InvalidFilterError(f"invalid filter: {msg}")


def sql_string(value: str) -> str:
    """Quote ``value`` as a SQL string literal; the only way text enters generated SQL."""
    if not isinstance(value, str):
        raise fail(f"expected a string, got {type(value).__name__}")
    if "\x00" in value:
        raise fail("strings may not contain NUL bytes")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates would fail later inside LanceDB
        raise fail("strings must be valid Unicode") from exc
    return "'" + value.replace("'", "''") + "'"


def sql_timestamp(value: datetime) -> str:
    """Render a UTC microsecond timestamp literal (naive means UTC) for tz=UTC columns.

    A plain ``timestamp '...'`` literal is planned as nanoseconds and fails outside
    1677..2262, so the text is cast straight to the column's type instead.
    """
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )
    return f"arrow_cast('{text}', 'Timestamp(Microsecond, Some(\"UTC\"))')"


def sql_number(value: float) -> str:
    """Re-format a real number: never the caller's text."""
    return repr(float(value))


def like_pattern(value: str) -> str:
    """A quoted ``%value%`` pattern with LIKE's wildcards escaped (for ESCAPE backslash)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sql_string(f"%{escaped}%")
