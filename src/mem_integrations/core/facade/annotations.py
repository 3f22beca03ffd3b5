"""Feedback on memories, and ``Memory.project``: store-wide settings the Mem0 way.

Mem0's ``client.feedback(memory_id, feedback=, feedback_reason=)`` is stored per memory and
read back with :meth:`Annotations.get_feedback`.

Mem0's ``client.project.update(decay=True)`` / ``client.project.get(fields=["decay"])``
toggle and read Memory Decay for a whole project. Here the project is the store: the setting
is persisted in it, so every ``Memory`` opened on it later starts with it (unless it was
built with an explicit ``decay=``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine import Engine
from ..errors import ValidationError
from ..write import annotate
from .base import Facade
from .compat import ArgumentPolicy

__all__ = ["Annotations", "Project"]

#: Mem0 project settings that belong to the LLM here (``MemoryConfig.prompt`` /
#: ``custom_categories``), so a project-wide update of them is refused with a pointer.
_CONFIG_ONLY = {
    "custom_instructions": "MemoryConfig(prompt=...)",
    "agent_custom_instructions": "MemoryConfig(prompt=...)",
    "custom_categories": "MemoryConfig(custom_categories=...)",
    "multilingual": "the LLM's own prompt",
}


class Project:
    """``get(fields=None)`` and ``update(decay=...)`` on the store's settings."""

    def __init__(self, engine: Engine, args: ArgumentPolicy) -> None:
        self._engine = engine
        self._args = args

    def get(self, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """The settings, or only the named ``fields`` (an unknown name is an error)."""
        current = annotate.settings(self._engine)
        if fields is None:
            return current
        if isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
            raise ValidationError("fields must be a list of setting names")
        unknown = sorted(set(fields) - set(current))
        if unknown:
            raise ValidationError(f"unknown project fields {unknown}; known: {sorted(current)}")
        return {f: current[f] for f in fields}

    def update(self, decay: bool | None = None, **kwargs: Any) -> dict[str, Any]:
        """Set ``decay`` for the store; Mem0's other project settings are configured elsewhere."""
        configured = sorted(k for k, v in kwargs.items() if k in _CONFIG_ONLY and v is not None)
        if configured:
            where = ", ".join(f"{k}: {_CONFIG_ONLY[k]}" for k in configured)
            raise ValidationError(f"project.update cannot set {configured} here ({where})")
        self._args.check("project.update", {k: v for k, v in kwargs.items()
                                            if k not in _CONFIG_ONLY})  # fmt: skip
        if decay is None:
            raise ValidationError("project.update needs decay=True or decay=False")
        if not isinstance(decay, bool):
            raise ValidationError(f"decay must be True or False, got {decay!r}")
        annotate.set_decay(self._engine, decay)
        return {"message": "Project updated successfully", **annotate.settings(self._engine)}


class Annotations(Facade):
    """feedback and get_feedback."""

    def feedback(
        self,
        memory_id: str,
        feedback: str | None = None,
        feedback_reason: str | None = None,
    ) -> dict[str, Any]:
        """Mem0's feedback on a memory, stored and readable with :meth:`get_feedback`.

        ``POSITIVE``, ``NEGATIVE`` or ``VERY_NEGATIVE`` (any case) and a reason; both ``None``
        removes it. Returns ``{"id", "feedback", "feedback_reason"}``.

        The memory must exist (expired ones included). Feedback is kept, not acted on: it does
        not change ranking.
        """
        return annotate.give_feedback(self._engine, memory_id, feedback, feedback_reason)

    def get_feedback(self, memory_id: str) -> dict[str, Any] | None:
        """The feedback last given on a memory, or None.

        ``{id, memory_id, feedback, feedback_reason, created_at, updated_at}``.
        """
        return annotate.feedback_of(self._engine, memory_id)

    @property
    def project(self) -> Project:
        """Store-wide settings the way Mem0 code reaches them: ``project.get()/update()``."""
        return Project(self._engine, self._args)
