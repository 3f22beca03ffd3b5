"""Adding: messages -> operations (verbatim, or planned by an LLM) -> rows, in one commit.

Without an LLM (or with ``infer=False``) every storable message becomes an ADD. With one, the
extraction planner proposes ADD / UPDATE / DELETE / NONE against the scope's related memories.
Either way :func:`apply` writes the plan: exact duplicates in the scope become ``NONE``, and
all inserts, rewrites and deletes land in a single memories commit, then their history.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import filters as F
from ..clock import Clock
from ..config import Limits, MemoryConfig
from ..embeddings import embed_documents_checked
from ..engine import Engine
from ..expiry import live_sql, parse_expiration
from ..extraction import Operation, plan_with_llm
from ..messages import Message, normalize_messages, storable_messages
from ..read.search import search_hits
from ..read.select import fetch
from ..records import AddEvent, AddResult, Scope, SearchHit
from ..storage.rows import content_hash, history_event, ids_sql
from .chatter import chatter_reason
from .remove import housekeeping

__all__ = ["add", "apply"]


class _Planner:
    """What the extraction planner needs: the engine's resources and a scoped lookup."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.llm: Any = engine.llm
        self.config: MemoryConfig = engine.config
        self.clock: Clock = engine.clock
        self.limits: Limits = engine.limits

    def search_hits(self, query: str, **kwargs: Any) -> list[SearchHit]:
        """A lookup in the scope the kwargs name, as ``Memory.search_hits`` takes it."""
        ids = {k: kwargs.pop(k, None) for k in Scope.model_fields}
        return search_hits(self._engine, query, scope_ids=ids, **kwargs)


def add(
    engine: Engine,
    messages: Any,
    scope: Scope,
    *,
    metadata: Mapping[str, Any] | None = None,
    categories: Sequence[str] | None = None,
    expiration_date: Any = None,
    infer: bool = True,
    prompt: str | None = None,
    custom_categories: Sequence[str | Mapping[str, str]] | None = None,
) -> AddResult:
    """Validate everything, plan the operations, then :func:`apply` them."""
    msgs: list[Message] = normalize_messages(
        messages, max_messages=engine.limits.max_messages, max_chars=engine.limits.max_text_chars
    )
    meta = engine.check.metadata(metadata)
    cats = engine.check.categories(categories)
    expires = parse_expiration(expiration_date)
    if engine.llm is not None and infer:
        ops = plan_with_llm(
            _Planner(engine), msgs, scope, prompt=prompt, custom_categories=custom_categories
        )
    else:
        ops, dropped = _offline_operations(storable_messages(msgs, scope), keep_all=not infer)
        result = apply(engine, ops, scope, meta, cats, expires)
        return AddResult(results=[*result.results, *dropped])
    return apply(engine, ops, scope, meta, cats, expires)


def _offline_operations(
    turns: Sequence[Message], *, keep_all: bool
) -> tuple[list[Operation], list[AddEvent]]:
    """Without an LLM: an ADD per turn, except chatter, which is reported as ``NONE``.

    Questions, greetings, thanks and acknowledgements hold nothing to remember and would
    come back in every recall prompt ("What is my dog's name?"), so the default path drops
    them with the reason; ``infer=False`` (Direct Import) stores every turn as given.
    """
    ops: list[Operation] = []
    dropped: list[AddEvent] = []
    for m in turns:
        reason = None if keep_all else chatter_reason(m.content)
        if reason is None:
            ops.append(Operation("ADD", m.content, actor_id=m.name, role=m.role))
        else:
            dropped.append(
                AddEvent(id=None, memory=m.content, event="NONE", reason=f"not a fact: {reason}")
            )
    return ops, dropped


def _existing(engine: Engine, hashes: list[str], scope: Scope, now: datetime) -> dict[str, str]:
    """Content hash -> id of the live memories of exactly this scope with those texts."""
    if not hashes:
        return {}
    cond = [f"hash IN ({', '.join(F.sql_string(h) for h in hashes)})"]
    for k in ("user_id", "agent_id", "run_id", "app_id"):
        v = getattr(scope, k)
        cond.append(f"{k} = {F.sql_string(v)}" if v is not None else f"{k} IS NULL")
    cond.append(live_sql(now))
    rows = engine.store.query(" AND ".join(cond), ["id", "hash"]).to_pylist()
    return {r["hash"]: r["id"] for r in rows}


def apply(
    engine: Engine,
    ops: Sequence[Operation],
    scope: Scope,
    meta: str | None,
    cats: list[str],
    expires: datetime | None,
) -> AddResult:
    """Write a planned set of operations: one memories commit, one history commit."""
    housekeeping(engine)
    now = engine.clock.now()
    adds = [op for op in ops if op.event == "ADD"]
    # Exact duplicates in the same scope (already stored, or twice in this call) are NONE.
    hashes = list({content_hash(op.text) for op in adds if op.text})
    existing = _existing(engine, hashes, scope, now)

    events: list[AddEvent] = []
    new_rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    to_embed: list[str] = []
    for op in adds:
        assert op.text is not None
        h = content_hash(op.text)
        if h in existing:
            events.append(AddEvent(id=existing[h], memory=op.text, event="NONE"))
            continue
        row = {
            "id": str(uuid.uuid4()), "memory": op.text, "hash": h, "vector": None,
            **scope.model_dump(), "actor_id": op.actor_id, "role": op.role,
            "categories": list(dict.fromkeys([*cats, *(op.categories or ())])),
            "metadata": meta, "created_at": now, "updated_at": now, "expires_at": expires,
        }  # fmt: skip
        existing[h] = row["id"]
        new_rows.append(row)
        to_embed.append(op.text)
        events.append(AddEvent(id=row["id"], memory=op.text, event="ADD"))
        history.append(history_event(row, "ADD", None, op.text, now))

    changed = [op for op in ops if op.event in ("UPDATE", "DELETE", "NONE")]
    current: dict[str, Any] = fetch(engine, [op.memory_id for op in changed if op.memory_id])
    updated_rows: list[dict[str, Any]] = []
    deleted: list[str] = []
    for op in changed:
        cur = current.get(op.memory_id or "")
        if cur is None:
            continue
        if op.event == "NONE":  # the LLM found it already known: report, write nothing
            events.append(AddEvent(id=cur["id"], memory=cur["memory"], event="NONE"))
            continue
        if op.event == "DELETE":
            deleted.append(cur["id"])
            events.append(AddEvent(id=cur["id"], memory=cur["memory"], event="DELETE"))
            history.append(history_event(cur, "DELETE", cur["memory"], None, now, True))
            continue
        assert op.text is not None
        new = {**cur, "memory": op.text, "hash": content_hash(op.text), "updated_at": now}
        if op.categories is not None:
            new["categories"] = list(op.categories)
        updated_rows.append(new)
        to_embed.append(op.text)
        events.append(
            AddEvent(id=cur["id"], memory=op.text, event="UPDATE", previous_memory=cur["memory"])
        )
        history.append(history_event(cur, "UPDATE", cur["memory"], op.text, now))

    vectors = embed_documents_checked(engine.embedder, to_embed) if to_embed else None
    for i, cur in enumerate([*new_rows, *updated_rows]):
        assert vectors is not None
        cur["vector"] = vectors[i]
    if updated_rows or deleted:
        drop = ids_sql(deleted) if deleted else None
        engine.store.merge(engine.rows(new_rows + updated_rows), drop)
    elif new_rows:
        engine.store.append(engine.rows(new_rows))
    engine.history(history)
    return AddResult(results=events)
