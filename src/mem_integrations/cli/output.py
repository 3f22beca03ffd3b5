"""Output of the command line: JSON lines for pipes, ``--plain`` tables for people."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.filters import SCOPE_FIELDS

__all__ = [
    "EVENT_COLS",
    "HISTORY_COLS",
    "HIT_COLS",
    "KV_COLS",
    "RECORD_COLS",
    "USER_COLS",
    "emit",
    "emit_one",
    "format_table",
]

Row = Mapping[str, Any]


# Columns of the --plain tables, per kind of output: (header, key).
RECORD_COLS = [("id", "id"), ("memory", "memory"), ("scope", "_scope"),
               ("categories", "categories"), ("created", "created_at"),
               ("expires", "expiration_date")]  # fmt: skip
HIT_COLS = [("score", "score"), *RECORD_COLS]
EVENT_COLS = [("event", "event"), ("id", "id"), ("memory", "memory")]
HISTORY_COLS = [("when", "created_at"), ("event", "event"), ("old", "old_memory"),
                ("new", "new_memory")]  # fmt: skip
USER_COLS = [("type", "type"), ("name", "name"), ("memories", "total_memories"),
             ("last update", "updated_at")]  # fmt: skip
KV_COLS = [("key", "key"), ("value", "value")]
MAX_CELL = 60


def _cell(row: Row, key: str) -> str:
    if key == "_scope":
        return " ".join(f"{k.removesuffix('_id')}:{row[k]}" for k in SCOPE_FIELDS if row.get(k))
    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    if key.endswith(("_at", "_date")) and len(text) >= 19:
        text = text[:16].replace("T", " ")  # minutes are enough to read; JSON keeps it all
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def format_table(rows: Sequence[Row], cols: Sequence[tuple[str, str]]) -> str:
    """Left-aligned columns with a header rule; empty input says so instead of printing air."""
    if not rows:
        return "(nothing)"
    grid = [[h for h, _ in cols]] + [[_cell(r, k) for _, k in cols] for r in rows]
    widths = [max(len(line[i]) for line in grid) for i in range(len(cols))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in grid]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def emit(rows: Sequence[Row], plain: bool, cols: Sequence[tuple[str, str]]) -> None:
    """JSON lines (the default, for pipes) or a table (``--plain``, for people)."""
    import click

    if plain:
        click.echo(format_table(rows, cols))
        return
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False, default=str))


def emit_one(row: Row, plain: bool) -> None:
    """Print one result dict: one JSON line, or key/value rows."""
    if plain:
        emit([{"key": k, "value": v} for k, v in row.items()], True, KV_COLS)
    else:
        emit([row], False, KV_COLS)
