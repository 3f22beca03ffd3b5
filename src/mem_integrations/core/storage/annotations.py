"""Two small tables beside the memories: store-wide settings, and feedback on memories.

Both are created on first write, not by a migration: a store that never uses them keeps its
schema stamp, and an older package opening the store simply ignores them. Settings survive
``reset`` (Mem0's reset deletes memories, not the project's settings); feedback does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from ..filters import sql_string
from .commits import retry_on_conflict
from .schema import TS, has_table

__all__ = [
    "FEEDBACK",
    "SETTINGS",
    "delete_feedback",
    "put_feedback",
    "read_feedback",
    "read_settings",
    "write_settings",
]

SETTINGS = "settings"
FEEDBACK = "feedback"

_SETTINGS_SCHEMA = pa.schema([pa.field("key", pa.string(), nullable=False),
                              pa.field("value", pa.string())])  # fmt: skip
_FEEDBACK_SCHEMA = pa.schema(
    [
        pa.field("memory_id", pa.string(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("feedback", pa.string()),
        pa.field("feedback_reason", pa.string()),
        pa.field("created_at", TS, nullable=False),
        pa.field("updated_at", TS, nullable=False),
    ]
)


def _upsert(db: Any, name: str, schema: pa.Schema, key: str, rows: list[dict[str, Any]]) -> None:
    table = db.create_table(name, schema=schema, exist_ok=True)
    data = pa.Table.from_pylist(rows, schema=schema)
    retry_on_conflict(
        lambda: (
            table.merge_insert(key)
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(data)
        ),
        f"{name} upsert",
    )


def read_settings(db: Any) -> dict[str, str]:
    """Every store-wide setting; empty when none was ever written."""
    if not has_table(db, SETTINGS):
        return {}
    return {r["key"]: r["value"] for r in db.open_table(SETTINGS).to_arrow().to_pylist()}


def write_settings(db: Any, values: Mapping[str, str]) -> None:
    """Set these settings in one commit (others are left as they are)."""
    rows = [{"key": k, "value": v} for k, v in values.items()]
    _upsert(db, SETTINGS, _SETTINGS_SCHEMA, "key", rows)


def read_feedback(db: Any, memory_id: str) -> dict[str, Any] | None:
    """The feedback given on one memory, or None."""
    if not has_table(db, FEEDBACK):
        return None
    table = db.open_table(FEEDBACK)
    rows = table.search().where(f"memory_id = {sql_string(memory_id)}").to_list()
    return {k: rows[0][k] for k in _FEEDBACK_SCHEMA.names} if rows else None


def put_feedback(db: Any, row: Mapping[str, Any]) -> None:
    """Create or replace the feedback on ``row["memory_id"]`` (one commit)."""
    _upsert(db, FEEDBACK, _FEEDBACK_SCHEMA, "memory_id", [dict(row)])


def delete_feedback(db: Any, memory_id: str) -> None:
    """Remove the feedback on one memory, if any."""
    if has_table(db, FEEDBACK):
        table = db.open_table(FEEDBACK)
        sql = f"memory_id = {sql_string(memory_id)}"
        retry_on_conflict(lambda: table.delete(sql), "feedback delete")
