"""``Memory``'s write methods: Mem0's arguments in, one write operation out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..errors import ScopeRequiredError, ValidationError
from ..expiry import parse_instant
from ..records import AddResult, MemoryRecord, scope_in_filters
from ..write import add as add_op
from ..write import change, remove
from .base import UNSET, Facade
from .compat import accepts_options

__all__ = ["Writes"]


class Writes(Facade):
    """add, update, put, delete and their batch forms."""

    @accepts_options
    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
        expiration_date: Any = None,
        infer: bool = True,
        prompt: str | None = None,
        custom_categories: Sequence[str | Mapping[str, str]] | None = None,
        timestamp: Any = None,
        custom_instructions: str | None = None,
        memory_type: str | None = None,
        **ignored: Any,
    ) -> dict[str, Any]:
        """Remember what a conversation says; returns ``{"results": [events]}`` like Mem0.

        Without an LLM each user message is stored verbatim (assistant turns too when
        ``agent_id`` is the only scope). ``infer=False`` is Mem0's Direct Import: user and
        assistant messages alike, system messages dropped, and the result also carries
        ``message``, ``status`` and ``event_id`` and each event ``data.memory``, as Mem0's.
        Re-adding a text already stored in the scope is ``NONE``, or ``UPDATE`` when the call
        brings metadata, categories or an expiration the memory did not have (merged in).
        ``timestamp`` (epoch seconds or ISO-8601) backdates ``created_at``/``updated_at``.
        ``filters`` may name the scope instead, as Mem0's client sends it (ids only).
        """
        self._args.check("add", ignored)
        ids = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id, "app_id": app_id}
        result = self.add_events(
            messages, **scope_in_filters(filters, ids),
            metadata=metadata, categories=categories, expiration_date=expiration_date,
            infer=infer, prompt=prompt, custom_categories=custom_categories,
            timestamp=timestamp, custom_instructions=custom_instructions,
            memory_type=memory_type, direct_import=not infer,
        )  # fmt: skip
        return result.to_dict(direct_import=not infer)

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
        timestamp: Any = None,
        custom_instructions: str | None = None,
        memory_type: str | None = None,
        direct_import: bool = False,
    ) -> AddResult:
        """Typed form of :meth:`add`.

        ``direct_import=True`` is what ``add(infer=False)`` means (user and assistant turns
        stored as given). Here ``infer=False`` alone only skips the LLM and keeps the verbatim
        rule of the default add, which the framework adapters and ``import`` rely on.
        """
        scope = self._scope(user_id, agent_id, run_id, app_id)
        if scope.is_empty():
            raise ScopeRequiredError("add needs at least one of user_id, agent_id, run_id, app_id")
        if memory_type is not None:
            raise ValidationError(f"memory_type={memory_type!r} (procedural memory) is not "
                                  "supported; leave memory_type out")  # fmt: skip
        if custom_instructions is not None:
            if prompt is not None:
                raise ValidationError("give prompt or custom_instructions, not both")
            prompt = custom_instructions
        stamp = parse_instant(timestamp, "timestamp") if timestamp is not None else None
        return add_op.add(
            self._core, messages, scope, metadata=metadata, categories=categories,
            expiration_date=expiration_date, infer=infer, prompt=prompt,
            custom_categories=custom_categories, timestamp=stamp, direct_import=direct_import,
        )  # fmt: skip

    @accepts_options
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
        timestamp: Any = None,
        **ignored: Any,
    ) -> dict[str, Any]:
        """Change a memory's text, metadata, categories or expiration (``None`` clears it).

        An expired memory can be updated too: ``expiration_date=None`` brings it back.
        ``timestamp`` (epoch seconds or ISO-8601) is the new ``updated_at`` instead of now.
        """
        self._args.check("update", ignored)
        item: dict[str, Any] = {"memory_id": memory_id, "text": text if text is not None else data}
        for key, value in (
            ("metadata", metadata),
            ("categories", categories),
            ("expiration_date", expiration_date),
        ):
            if value is not UNSET:
                item[key] = value
        if timestamp is not None:
            item["timestamp"] = parse_instant(timestamp, "timestamp")
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
        filters: Mapping[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> int:
        """Move the expiry of live memories, leaving text, ``updated_at`` and history alone.

        TTL refresh on read (the LangGraph store) calls this on every read: an UPDATE event per
        read would bury the real history, and a new ``updated_at`` would count as a touch for
        decay. One conditional UPDATE of ``expires_at`` only, so a racing delete or put is
        never undone. ``missing_ok`` skips ids that are gone instead of raising; ``filters``
        narrows which rows move. Returns how many memories were changed.
        """
        scope = self._scope(user_id, agent_id, run_id, app_id)
        return change.set_expiration(
            self._engine, memory_ids, expiration_date, scope, filters, missing_ok
        )

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
        delete_linked: bool = False,
        **ignored: Any,
    ) -> dict[str, Any]:
        """Delete one memory (history keeps a DELETE event with its last text).

        ``delete_linked=True`` is Mem0's "also delete the memories this one superseded": here
        an update rewrites a memory in place, so there are none and ``cascade_count`` is 0.
        """
        self._args.check("delete", ignored)
        if not isinstance(delete_linked, bool):
            raise ValidationError(f"delete_linked must be True or False, got {delete_linked!r}")
        scope = self._scope(user_id, agent_id, run_id, app_id)
        remove.delete_by_ids(self._engine, [memory_id], scope)
        out: dict[str, Any] = {"message": "Memory deleted successfully!"}
        if delete_linked:
            out["cascade_count"] = 0
        return out

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

    @accepts_options
    def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        **ignored: Any,
    ) -> dict[str, Any]:
        """Delete every memory of a scope (optionally narrowed by filters).

        ``"*"`` is Mem0's explicit bulk delete: ``user_id="*"`` deletes the memories of every
        user, and ``user_id="*", agent_id="*", app_id="*", run_id="*"`` every memory of the
        store. With concrete ids beside it, ``"*"`` means "has one" (like the filter). A call
        that names nothing, or only ``None``, is refused: wiping takes the exact call.
        """
        self._args.check("delete_all", ignored)
        given = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id, "app_id": app_id}
        wild = [k for k, v in given.items() if v == "*"]
        scope = self._scope(**{k: (None if v == "*" else v) for k, v in given.items()})
        n = remove.delete_matching(self._engine, scope, filters, wildcards=wild)
        return {"message": "Memories deleted successfully!", "deleted": n}

    def delete_users(
        self,
        *,
        user_id: Any = UNSET,
        agent_id: Any = UNSET,
        run_id: Any = UNSET,
        app_id: Any = UNSET,
    ) -> dict[str, Any]:
        """Delete every memory of the named entities (each id independently).

        With no argument at all it deletes every entity of the store, as Mem0's does. An
        argument that is given must be a real id: ``delete_users(user_id=None)`` (a variable
        that happened to be ``None``) is refused instead of wiping the store.
        """
        given = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id, "app_id": app_id}
        named = {k: v for k, v in given.items() if v is not UNSET}
        if not named:
            n = remove.delete_everything(self._engine)
            return {"message": "All users, agents, apps and runs deleted.", "deleted": n}
        scope = self._scope(**named)
        n = remove.delete_entities(self._engine, scope)
        return {"message": "Entity deleted successfully.", "deleted": n}
