"""Writes beside the memories: feedback on a memory, and the store-wide decay setting.

Neither touches the memories table: feedback is kept per memory in its own small table, and
``decay`` in the settings table, so a new ``Memory`` on the same store starts with it.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..engine import Engine
from ..errors import ValidationError
from ..read.select import get_row
from ..records import Scope
from ..storage.annotations import (
    delete_feedback,
    put_feedback,
    read_feedback,
    read_settings,
    write_settings,
)

__all__ = ["FEEDBACK_VALUES", "feedback_of", "give_feedback", "settings", "set_decay"]

#: Mem0's feedback values (``MemoryClient.feedback`` upper-cases what it is given).
FEEDBACK_VALUES = ("POSITIVE", "NEGATIVE", "VERY_NEGATIVE")


def give_feedback(
    engine: Engine, memory_id: str, feedback: Any, feedback_reason: Any
) -> dict[str, Any]:
    """Record (or, with both ``None``, remove) the feedback on one memory."""
    if feedback is not None:
        if not isinstance(feedback, str) or feedback.upper() not in FEEDBACK_VALUES:
            raise ValidationError(
                f"feedback must be one of {', '.join(FEEDBACK_VALUES)} or None, got {feedback!r}"
            )
        feedback = feedback.upper()
    if feedback_reason is not None:
        feedback_reason = engine.check.text(feedback_reason, "feedback_reason")
    get_row(engine, memory_id, Scope(), show_expired=True)  # it must exist
    db = engine.store.db
    old = read_feedback(db, memory_id)
    if feedback is None and feedback_reason is None:
        delete_feedback(db, memory_id)
        return {"id": old["id"] if old else None, "feedback": None, "feedback_reason": None}
    now = engine.clock.now()
    row = {
        "memory_id": memory_id, "id": old["id"] if old else str(uuid.uuid4()),
        "feedback": feedback, "feedback_reason": feedback_reason,
        "created_at": old["created_at"] if old else now, "updated_at": now,
    }  # fmt: skip
    put_feedback(db, row)
    return {"id": row["id"], "feedback": feedback, "feedback_reason": feedback_reason}


def feedback_of(engine: Engine, memory_id: str) -> dict[str, Any] | None:
    """The feedback on one memory as ``{id, memory_id, feedback, feedback_reason, ...}``."""
    if not isinstance(memory_id, str) or not memory_id:
        raise ValidationError(f"memory_id must be a non-empty string, got {memory_id!r}")
    row = read_feedback(engine.store.db, memory_id)
    if row is None:
        return None
    return {**row, "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat()}  # fmt: skip


def settings(engine: Engine) -> dict[str, Any]:
    """The store-wide settings as Mem0's ``project.get()`` reports them."""
    return {"decay": read_settings(engine.store.db).get("decay") == "true"}


def set_decay(engine: Engine, decay: bool) -> None:
    """Turn recency decay on or off for the store (persisted) and for this engine."""
    write_settings(engine.store.db, {"decay": "true" if decay else "false"})
    engine.decay.enabled = decay
