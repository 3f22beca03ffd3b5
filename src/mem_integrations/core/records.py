"""Typed records the core speaks, and the Mem0-shaped dicts built from them.

The core works with these pydantic models internally; the public ``Memory`` methods return
``model.to_dict()`` so that code written against Mem0 (which returns plain JSON dicts) ports by
changing one import. Adapters for LangChain and LlamaIndex read the models, never raw rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, TypedDict, cast

from pydantic import BaseModel, ConfigDict, Field

from .errors import ValidationError
from .expiry import expiration_text

__all__ = [
    "AddEvent",
    "AddResult",
    "EventType",
    "HistoryEvent",
    "MemoryRecord",
    "Page",
    "Scope",
    "ScopeArgs",
    "SearchHit",
    "scope_args",
    "scope_in_filters",
]

EventType = Literal["ADD", "UPDATE", "DELETE", "NONE", "EXPIRE"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Scope(BaseModel):
    """Who a memory belongs to. At least one id is required to write or list memories."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = None

    def is_empty(self) -> bool:
        """True when no scope id is set."""
        return not any((self.user_id, self.agent_id, self.run_id, self.app_id))

    def as_dict(self) -> dict[str, str]:
        """The ids that are set, keyed by field name."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class MemoryRecord(BaseModel):
    """One stored memory, as returned by get / get_all / search."""

    model_config = ConfigDict(frozen=True)

    id: str
    memory: str
    hash: str
    metadata: dict[str, Any] | None = None
    categories: list[str] = Field(default_factory=list)
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = None
    actor_id: str | None = None
    role: str | None = None
    created_at: datetime
    updated_at: datetime
    expiration_date: datetime | None = None

    @property
    def scope(self) -> Scope:
        """The record's owner ids."""
        return Scope(
            user_id=self.user_id, agent_id=self.agent_id, run_id=self.run_id, app_id=self.app_id
        )

    def to_dict(self) -> dict[str, Any]:
        """Mem0's JSON shape: ISO-8601 timestamps, every key present."""
        return {
            "id": self.id,
            "memory": self.memory,
            "hash": self.hash,
            "metadata": self.metadata,
            "categories": list(self.categories),
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "run_id": self.run_id,
            "app_id": self.app_id,
            "actor_id": self.actor_id,
            "role": self.role,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "expiration_date": expiration_text(self.expiration_date),
        }


class SearchHit(MemoryRecord):
    """A record plus its relevance.

    ``score`` is the public score in [0, 1] (higher is more relevant, after decay when
    decay is on). ``relevance`` is the fused relevance before decay, which is what the
    threshold is compared with.
    """

    score: float
    relevance: float
    #: only with ``search(explain=True)``: how ``score`` was made (Mem0's ``score_details``)
    score_details: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Mem0's search-result shape: the record plus ``score`` (and ``score_details``)."""
        out = super().to_dict()
        out["score"] = self.score
        if self.score_details is not None:
            out["score_details"] = self.score_details
        return out


class AddEvent(BaseModel):
    """What happened to one memory during ``add``.

    ``id`` is None only for a turn that was not stored at all (``NONE`` with a ``reason``,
    e.g. ``"not a fact: question"`` for chatter dropped by the offline default path).
    """

    model_config = ConfigDict(frozen=True)

    id: str | None
    memory: str
    event: EventType
    previous_memory: str | None = None
    reason: str | None = None

    def to_dict(self, *, direct_import: bool = False) -> dict[str, Any]:
        """Mem0's event shape.

        ``previous_memory`` only when the event rewrote something, ``reason`` only when there
        is one; Direct Import results also carry the text as ``data.memory``.
        """
        out: dict[str, Any] = {"id": self.id, "memory": self.memory, "event": self.event}
        if self.previous_memory is not None:
            out["previous_memory"] = self.previous_memory
        if self.reason is not None:
            out["reason"] = self.reason
        if direct_import:
            out["data"] = {"memory": self.memory}
        return out


class AddResult(BaseModel):
    """The outcome of one ``add`` call."""

    results: list[AddEvent] = Field(default_factory=list)

    def to_dict(self, *, direct_import: bool = False) -> dict[str, Any]:
        """``{"results": [...]}`` as Mem0 returns it.

        For Direct Import (``infer=False``) Mem0's platform answers synchronously with
        ``message``, ``status`` and ``event_id`` as well; an add here is always finished when
        it returns, so the status is ``SUCCEEDED`` and the event id identifies nothing more.
        """
        results = [e.to_dict(direct_import=direct_import) for e in self.results]
        if not direct_import:
            return {"results": results}
        return {"message": "Memories stored successfully", "status": "SUCCEEDED",
                "event_id": str(uuid.uuid4()), "results": results}  # fmt: skip


class HistoryEvent(BaseModel):
    """One row of a memory's change history. History rows are never rewritten."""

    model_config = ConfigDict(frozen=True)

    id: str
    memory_id: str
    event: EventType
    old_memory: str | None = None
    new_memory: str | None = None
    actor_id: str | None = None
    role: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = None
    created_at: datetime
    is_deleted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Mem0's history-entry shape."""
        return {
            "id": self.id,
            "memory_id": self.memory_id,
            "old_memory": self.old_memory,
            "new_memory": self.new_memory,
            "event": self.event,
            "actor_id": self.actor_id,
            "role": self.role,
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "run_id": self.run_id,
            "app_id": self.app_id,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.created_at),
            "is_deleted": self.is_deleted,
        }


class Page(BaseModel):
    """One page of ``get_all``: Mem0's paginated shape with page numbers for next/previous."""

    count: int
    page: int
    page_size: int
    next: int | None = None
    previous: int | None = None
    results: list[MemoryRecord] = Field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"count", "next", "previous", "results"}`` plus the page coordinates."""
        return {
            "count": self.count,
            "page": self.page,
            "page_size": self.page_size,
            "next": self.next,
            "previous": self.previous,
            "results": [r.to_dict() for r in self.results],
        }


class ScopeArgs(TypedDict, total=False):
    """Scope ids as keyword arguments of a ``Memory`` method: only those that were given."""

    user_id: str
    agent_id: str
    run_id: str
    app_id: str


def scope_args(values: Mapping[str, Any]) -> ScopeArgs:
    """The scope ids in ``values`` that are not None, ready for ``**`` into a ``Memory`` method.

    Other keys are left out; the values are passed as given, so ``Memory`` validates them (an
    empty id is refused there, never silently dropped here).
    """
    return cast(ScopeArgs, {k: values[k] for k in Scope.model_fields if values.get(k) is not None})


def scope_in_filters(
    filters: Mapping[str, Any] | None, given: Mapping[str, str | None]
) -> dict[str, str | None]:
    """The scope an add names through ``filters``, merged with the ids given as keywords.

    Mem0's v3 client puts an add's entity ids in ``filters`` (``add(messages, filters={"agent_id":
    "bot"})``, its ``AddMemoryOptions``). An add writes to one scope, so only ids name it here:
    ``{"user_id": "alice"}`` or Mem0's ``{"AND": [{"user_id": "alice"}, ...]}``. Operators,
    ``"*"``, ``OR`` or metadata keys would select memories, not name a scope, and an id that
    disagrees with the keyword of the same name is ambiguous: both are refused.
    """
    out = dict(given)
    if filters is None:
        return out
    parts: Any = [filters]
    if isinstance(filters, Mapping) and set(filters) == {"AND"}:
        parts = filters["AND"]
    names = ", ".join(Scope.model_fields)
    for part in parts if isinstance(parts, list) else [None]:
        for key, value in part.items() if isinstance(part, Mapping) else [("filters", part)]:
            if key not in Scope.model_fields or not isinstance(value, str) or value == "*":
                raise ValidationError(
                    f"add's filters name the scope only ({names}, one id each), got "
                    f"{key!r}: {value!r}"
                )
            if out.get(key) not in (None, value):
                raise ValidationError(f"add got {key}={out[key]!r} and filters {key}={value!r}")
            out[key] = value
    return out
