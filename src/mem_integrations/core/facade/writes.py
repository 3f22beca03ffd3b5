"""``Memory``'s write methods: Mem0's arguments in, one write operation out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..errors import ScopeRequiredError
from ..records import AddResult, MemoryRecord
from ..write import add as add_op
from ..write import change, reembed, remove
from .base import UNSET, Facade

__all__ = ["Writes"]


class Writes(Facade):
    """add, update, put, delete and their batch forms."""

    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
        expiration_date: Any = None,
        infer: bool = True,
        prompt: str | None = None,
        custom_categories: Sequence[str | Mapping[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Remember what a conversation says; returns ``{"results": [events]}`` like Mem0.

        Without an LLM (or with ``infer=False``) each user message is stored verbatim and an
        exact duplicate in the same scope is reported as ``NONE`` instead of stored twice.
        """
        return self.add_events(
            messages, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id,
            metadata=metadata, categories=categories, expiration_date=expiration_date,
            infer=infer, prompt=prompt, custom_categories=custom_categories,
        ).to_dict()  # fmt: skip

    def add_events(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
        expiration_date: Any = None,
        infer: bool = True,
        prompt: str | None = None,
        custom_categories: Sequence[str | Mapping[str, str]] | None = None,
    ) -> AddResult:
        """Typed form of :meth:`add`."""
        scope = self._scope(user_id, agent_id, run_id, app_id)
        if scope.is_empty():
            raise ScopeRequiredError("add needs at least one of user_id, agent_id, run_id, app_id")
        return add_op.add(
            self._engine, messages, scope, metadata=metadata, categories=categories,
            expiration_date=expiration_date, infer=infer, prompt=prompt,
            custom_categories=custom_categories,
        )  # fmt: skip

    def update(
        self,
        memory_id: str,
        data: str | None = None,
        *,
        text: str | None = None,
        metadata: Any = UNSET,
        categories: Any = UNSET,
        expiration_date: Any = UNSET,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> dict[str, Any]:
        """Change a memory's text, metadata, categories or expiration (``None`` clears it)."""
        item = {"memory_id": memory_id, "text": text if text is not None else data}
        for key, value in (
            ("metadata", metadata),
            ("categories", categories),
            ("expiration_date", expiration_date),
        ):
            if value is not UNSET:
                item[key] = value
        scope = self._scope(user_id, agent_id, run_id, app_id)
        record = change.update_many(self._engine, [item], scope)[0]
        return {"message": "Memory updated successfully!", **record.to_dict()}

    def batch_update(
        self,
        memories: Sequence[Mapping[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> dict[str, Any]:
        """Update up to 1000 memories in one commit: ``[{"memory_id", "text", ...}]``.

        Scope ids, if given, confine the batch: an id outside the scope fails the whole batch.
        """
        scope = self._scope(user_id, agent_id, run_id, app_id)
        records = change.update_many(self._engine, self._engine.check.batch(memories), scope)
        return {"message": f"Successfully updated {len(records)} memories", "results": [
            r.to_dict() for r in records
        ]}  # fmt: skip

    def set_expiration(
        self,
        memory_ids: Sequence[str],
        expiration_date: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> int:
        """Move the expiry of live memories, leaving text, ``updated_at`` and history alone.

        TTL refresh on read (the LangGraph store) calls this on every read: an UPDATE event per
        read would bury the real history, and a new ``updated_at`` would count as a touch for
        decay. One commit; returns how many memories were changed.
        """
        scope = self._scope(user_id, agent_id, run_id, app_id)
        return change.set_expiration(self._engine, memory_ids, expiration_date, scope)

    def put(
        self,
        memory_id: str,
        text: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
        expiration_date: Any = None,
        # -- restore (cli import of an export): the record's own provenance, not "now" --
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        actor_id: str | None = None,
        role: str | None = None,
    ) -> MemoryRecord:
        """Create or replace the memory with a caller-chosen id (key-value stores need this).

        Replacing keeps ``created_at`` and records an UPDATE; an id that exists in another
        scope is refused with ``MemoryNotFoundError`` rather than moved or overwritten.
        ``created_at``/``updated_at``/``actor_id``/``role`` restore an exported record as it
        was (``mem-integrations import``); by default they are now, now, unset, unset.
        """
        return self.put_many([{
            "memory_id": memory_id, "text": text, "user_id": user_id, "agent_id": agent_id,
            "run_id": run_id, "app_id": app_id, "metadata": metadata, "categories": categories,
            "expiration_date": expiration_date, "created_at": created_at,
            "updated_at": updated_at, "actor_id": actor_id, "role": role,
        }])[0]  # fmt: skip

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> list[MemoryRecord]:
        """:meth:`put` for up to ``max_batch`` memories: one embedding batch, one commit.

        Each item takes ``put``'s arguments by name. Every item is validated (and every
        replaced id checked against its scope) before anything is written; imports use this.
        """
        return change.put_many(self._engine, items)

    def delete(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> dict[str, Any]:
        """Delete one memory (history keeps a DELETE event with its last text)."""
        scope = self._scope(user_id, agent_id, run_id, app_id)
        remove.delete_by_ids(self._engine, [memory_id], scope)
        return {"message": "Memory deleted successfully!"}

    def batch_delete(
        self,
        memories: Sequence[Mapping[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> dict[str, Any]:
        """Delete up to 1000 memories in one commit: ``[{"memory_id": ...}]``.

        Scope ids, if given, confine the batch: an id outside the scope fails the whole batch.
        """
        scope = self._scope(user_id, agent_id, run_id, app_id)
        items = self._engine.check.batch(memories)
        n = remove.delete_by_ids(self._engine, [it["memory_id"] for it in items], scope)
        return {"message": f"Successfully deleted {n} memories"}

    def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Delete every memory of a scope (optionally narrowed by filters)."""
        scope = self._scope(user_id, agent_id, run_id, app_id)
        n = remove.delete_matching(self._engine, scope, filters)
        return {"message": "Memories deleted successfully!", "deleted": n}

    def delete_users(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> dict[str, Any]:
        """Delete every memory of the named entities (each id independently)."""
        scope = self._scope(user_id, agent_id, run_id, app_id)
        n = remove.delete_entities(self._engine, scope)
        return {"message": "Entity deleted successfully.", "deleted": n}

    def import_store(
        self,
        source_uri: str,
        *,
        batch_size: int = 256,
        storage_options: dict[str, str] | None = None,
        total: Callable[[int], None] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Fill this empty store from ``source_uri``, re-embedding with this store's embedder.

        The way to move a store to another embedder (``mem-integrations reembed``): every
        memory, its history and its access records are copied; the source is only read.
        ``total`` gets the number of memories once, ``progress`` each batch's size.
        """
        return reembed.import_store(
            self._engine, source_uri, batch_size=batch_size, storage_options=storage_options,
            total=total, progress=progress,
        )  # fmt: skip
