"""What ``add`` accepts, normalised to one shape before anything else looks at it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import LimitExceededError, ValidationError
from .records import Scope

__all__ = [
    "Message",
    "bad_text_reason",
    "importable_messages",
    "is_agent_only",
    "normalize_messages",
    "storable_messages",
]

_ROLES = {"user", "assistant", "system", "tool"}


@dataclass(frozen=True)
class Message:
    """One chat turn. ``name`` becomes the memory's ``actor_id`` (who said it)."""

    role: str
    content: str
    name: str | None = None


def bad_text_reason(text: str) -> str | None:
    """Why a string cannot be stored, or None.

    NUL bytes and lone UTF-16 surrogates are valid in a Python ``str`` but not in UTF-8, so
    they would fail deep inside Arrow with an untyped error after validation had passed.
    """
    if "\x00" in text:
        return "contains a NUL byte"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (lone surrogate)"
    return None


def _one(raw: Any) -> Message:
    if isinstance(raw, str):
        return Message("user", raw)
    if isinstance(raw, Mapping):
        role = raw.get("role", "user")
        content = raw.get("content")
        name = raw.get("name")
        if not isinstance(role, str) or role not in _ROLES:
            raise ValidationError(f"message role must be one of {sorted(_ROLES)}, got {role!r}")
        if not isinstance(content, str):
            raise ValidationError(f"message content must be a string, got {type(content).__name__}")
        if name is not None and not isinstance(name, str):
            raise ValidationError("message name must be a string")
        return Message(role, content, name)
    raise ValidationError(
        f"messages must be a string, a message dict or a list of them, not {type(raw).__name__}"
    )


def normalize_messages(messages: Any, *, max_messages: int, max_chars: int) -> list[Message]:
    """Validate every message up front, so a bad one in the middle writes nothing."""
    if isinstance(messages, (str, Mapping)):
        items: Sequence[Any] = [messages]
    elif isinstance(messages, Sequence):
        items = messages
    else:
        raise ValidationError(
            f"messages must be a string, a message dict or a list of them, not "
            f"{type(messages).__name__}"
        )
    if not items:
        raise ValidationError("messages is empty")
    if len(items) > max_messages:
        raise LimitExceededError(f"at most {max_messages} messages per add, got {len(items)}")
    out = [_one(m) for m in items]
    for m in out:
        for part in (m.content, m.name or ""):
            reason = bad_text_reason(part)
            if reason:
                raise ValidationError(f"message {reason}")
        if len(m.content) > max_chars:
            raise LimitExceededError(
                f"message of {len(m.content)} characters exceeds the limit of {max_chars}"
            )
    return out


def storable_messages(messages: Sequence[Message], scope: Scope) -> list[Message]:
    """The turns that become memories when stored verbatim (no LLM, or ``infer=False``).

    User turns are facts about the user. Assistant turns are only facts worth keeping when the
    memory belongs to an agent alone (``agent_id`` is the only scope); otherwise they would
    fill the user's memory with the assistant's own words. System and tool turns never are.
    """
    keep = {"user", "assistant"} if is_agent_only(scope) else {"user"}
    return [m for m in messages if m.role in keep and m.content.strip()]


def importable_messages(messages: Sequence[Message]) -> list[Message]:
    """The turns Mem0's Direct Import (``infer=False``) stores: user and assistant alike.

    The caller chose these texts as memories, so the seed rule of :func:`storable_messages`
    does not apply; system (and tool) turns are instructions, not memories, and are dropped.
    """
    return [m for m in messages if m.role in ("user", "assistant") and m.content.strip()]


def is_agent_only(scope: Scope) -> bool:
    """An agent's own memory: the assistant's turns are then facts worth keeping."""
    return scope.agent_id is not None and scope.as_dict().keys() == {"agent_id"}
