"""LLM fact extraction and reconciliation (ADD / UPDATE / DELETE / NONE).

``Memory.add`` turns messages into a list of :class:`Operation` and applies them in one commit.
Without an LLM the operations are verbatim ADDs; with one, :func:`plan_with_llm` asks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .records import Scope

if TYPE_CHECKING:
    from .memory import Memory
    from .messages import Message

__all__ = ["Operation", "plan_with_llm"]


@dataclass(frozen=True)
class Operation:
    """One planned change. ``memory_id`` is a real id, already mapped and scope-checked."""

    event: Literal["ADD", "UPDATE", "DELETE"]
    text: str | None = None
    memory_id: str | None = None
    categories: tuple[str, ...] | None = None
    actor_id: str | None = None
    role: str | None = None


def plan_with_llm(
    memory: Memory,
    messages: Sequence[Message],
    scope: Scope,
    *,
    prompt: str | None = None,
    custom_categories: Sequence[str] | None = None,
) -> list[Operation]:
    """Extract facts and reconcile them with what the scope already holds."""
    raise NotImplementedError("LLM extraction is not implemented yet")

