"""Adding: messages -> operations (verbatim, or planned by an LLM) -> rows.

Without an LLM (or with ``infer=False``) every storable message becomes an ADD. With one, the
extraction planner proposes ADD / UPDATE / DELETE / NONE against the scope's related memories.
Either way :func:`apply` writes the plan: exact duplicates in the scope become ``NONE``. One
memories commit per kind of change (the plan's rewrites and deletes, the new rows, metadata
merged into stored repeats; usually only one of them), then their history; if a later commit
fails, ``PartialWriteError`` names what the earlier ones committed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import filters as F
from ..clock import Clock
from ..config import Limits, MemoryConfig
from ..embeddings import embed_documents_checked
from ..engine import Engine
from ..errors import PartialWriteError
from ..expiry import live_sql, parse_expiration
from ..extraction import Operation, plan_with_llm
from ..messages import Message, importable_messages, normalize_messages, storable_messages
from ..read.search import search_hits
from ..read.select import fetch
from ..records import AddEvent, AddResult, Scope, SearchHit
from ..storage.add_log import AddLog
from ..storage.rows import RECORD_COLUMNS, content_hash, history_event, ids_sql
from ..storage.seen_hashes import SCOPE_COLUMNS
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
    timestamp: datetime | None = None,
    direct_import: bool = False,
) -> AddResult:
    """Validate everything, plan the operations, then :func:`apply` them.

    ``direct_import`` (Mem0's ``infer=False``) stores user and assistant turns; otherwise,
    without an LLM, the seed rule applies (:func:`~..messages.storable_messages`).
    """
    msgs: list[Message] = normalize_messages(
        messages, max_messages=engine.limits.max_messages, max_chars=engine.limits.max_text_chars
    )
    meta = engine.check.metadata(metadata)
    cats = engine.check.categories(categories)
    expires = parse_expiration(expiration_date)
    if engine.llm is not None and infer and not direct_import:
        engine.settle_adds()  # the planner reads the scope: with this handle's queued adds
        ops = plan_with_llm(
            _Planner(engine), msgs, scope, prompt=prompt, custom_categories=custom_categories
        )
    else:
        turns = importable_messages(msgs) if direct_import else storable_messages(msgs, scope)
        ops, dropped = _offline_operations(turns, keep_all=direct_import or not infer)
        result = apply(engine, ops, scope, meta, cats, expires, timestamp)
        return AddResult(results=[*result.results, *dropped])
    return apply(engine, ops, scope, meta, cats, expires, timestamp)


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


def _scope_key(scope: Scope) -> tuple[str | None, ...]:
    """The scope's ids in ``SCOPE_COLUMNS`` order: how held and queued texts are keyed."""
    return tuple(getattr(scope, c) for c in SCOPE_COLUMNS)


def _existing(
    engine: Engine, hashes: list[str], scope: Scope, now: datetime
) -> dict[str, dict[str, Any]]:
    """Content hash -> row of the live memories of exactly this scope with those texts.

    The texts the scope certainly lacks are told apart in RAM (``storage.seen_hashes``);
    only the others (a repeat, or a text the scope held once) are looked up.
    """
    if not hashes:
        return {}
    ids = _scope_key(scope)
    equal = [
        f"{k} = {F.sql_string(v)}" if v is not None else f"{k} IS NULL"
        for k, v in zip(SCOPE_COLUMNS, ids, strict=True)
    ]
    maybe = engine.store.seen.may_hold(ids, hashes, " AND ".join(equal))
    if maybe is not None:
        hashes = [h for h in hashes if h in maybe]
        if not hashes:
            return {}
    cond = [f"hash IN ({', '.join(F.sql_string(h) for h in hashes)})", *equal, live_sql(now)]
    rows = engine.store.query(" AND ".join(cond), [*RECORD_COLUMNS, "vector"]).to_pylist()
    return {r["hash"]: r for r in rows}


def _enriched(
    engine: Engine,
    row: dict[str, Any],
    meta: str | None,
    cats: list[str],
    expires: datetime | None,
) -> dict[str, Any] | None:
    """The stored row with what a re-add of its text brings, or None if it brings nothing.

    Mem0 dedups an exact repeat in the scope; the caller's new metadata keys, categories and
    expiration must not be lost with it, so they are merged in (old keys kept, new values
    win, categories in order of first appearance, a given expiration replaces the old one).
    """
    merged = dict(json.loads(row["metadata"])) if row.get("metadata") else {}
    merged.update(json.loads(meta) if meta else {})
    new_meta = engine.check.metadata(merged) if merged else None
    new_cats = list(dict.fromkeys([*(row.get("categories") or []), *cats]))
    new_expiry = expires if expires is not None else row.get("expires_at")
    same_meta = (json.loads(new_meta) if new_meta else None) == (
        json.loads(row["metadata"]) if row.get("metadata") else None
    )
    if (
        same_meta
        and new_cats == list(row.get("categories") or [])
        and (new_expiry == row.get("expires_at"))
    ):
        return None
    return {**row, "metadata": new_meta, "categories": new_cats, "expires_at": new_expiry}


def apply(
    engine: Engine,
    ops: Sequence[Operation],
    scope: Scope,
    meta: str | None,
    cats: list[str],
    expires: datetime | None,
    timestamp: datetime | None = None,
) -> AddResult:
    """Write a planned set of operations: the memories commit(s), then one history commit.

    What can still refuse (embedding) runs before housekeeping and before any write. Changes
    to existing memories rewrite only rows that still exist, so a concurrent delete wins.
    Exact duplicates in the scope (already stored, or twice in this call) become ``NONE``, or
    ``UPDATE`` when the repeat brings metadata, categories or an expiration the stored memory
    lacks (:func:`_enriched`); the duplicate check and its writes hold the store's write lock,
    so threads of one process adding the same text store it once
    (``storage.commits.write_lock``). ``timestamp`` (Mem0's backdating) is the
    ``created_at``/``updated_at`` of new memories.
    """
    now = engine.clock.now()
    adds = [op for op in ops if op.event == "ADD" and op.text]
    rewritten = {op.memory_id for op in ops if op.event in ("UPDATE", "DELETE")}
    changed = [op for op in ops if op.event in ("UPDATE", "DELETE", "NONE")]
    current: dict[str, Any] = fetch(engine, [op.memory_id for op in changed if op.memory_id])
    plan: list[tuple[str, dict[str, Any]]] = []  # (event, row) in the planner's order
    for op in changed:
        cur = current.get(op.memory_id or "")
        if cur is None:
            continue
        if op.event != "UPDATE":  # NONE: already known, write nothing; DELETE: drop the row
            plan.append((op.event, cur))
            continue
        assert op.text is not None
        new = {**cur, "memory": op.text, "hash": content_hash(op.text), "updated_at": now}
        if op.categories is not None:
            new["categories"] = list(op.categories)
        plan.append(("UPDATE", new))
    updated_rows = [row for event, row in plan if event == "UPDATE"]
    deleted = [row["id"] for event, row in plan if event == "DELETE"]

    texts = list(dict.fromkeys(op.text for op in adds if op.text))
    to_embed = [*texts, *(r["memory"] for r in updated_rows)]
    vectors = list(embed_documents_checked(engine.embedder, to_embed)) if to_embed else []
    by_text = dict(zip(texts, vectors, strict=False))
    for i, row in enumerate(updated_rows):
        row["vector"] = vectors[len(texts) + i]
    housekeeping(engine)

    kept: set[str] = set()
    if updated_rows:
        kept = engine.store.merge(engine.rows(updated_rows), ids_sql(deleted) if deleted else None)
    elif deleted:
        engine.store.delete(ids_sql(deleted))
    removed_at = engine.clock.now()  # after the commit: see ``remove.delete_rows``
    history: list[dict[str, Any]] = []
    change_events: list[AddEvent] = []
    done: dict[str, list[str]] = {"added": [], "updated": [], "deleted": deleted}
    for event, row in plan:
        old = current[row["id"]]
        if event == "NONE":
            change_events.append(AddEvent(id=row["id"], memory=row["memory"], event="NONE"))
        elif event == "DELETE":
            change_events.append(AddEvent(id=row["id"], memory=row["memory"], event="DELETE"))
            history.append(history_event(row, "DELETE", row["memory"], None, removed_at, True))
        elif row["id"] in kept:  # else it was deleted meanwhile: this update came after
            change_events.append(AddEvent(
                id=row["id"], memory=row["memory"], event="UPDATE", previous_memory=old["memory"]
            ))  # fmt: skip
            history.append(history_event(old, "UPDATE", old["memory"], row["memory"], now))
            done["updated"].append(row["id"])

    try:
        carry = _NewRows(meta, cats, expires, timestamp or now, rewritten)
        add_events = _append_new(engine, adds, by_text, scope, carry, now, history, done)
    except Exception as exc:
        if not history:
            raise
        try:
            engine.history_after(history)  # what landed is recorded (or queued and retried)
        except PartialWriteError:
            pass  # the error below names the same changes; their events stay queued
        raise PartialWriteError(
            f"this add committed part of its changes (committed names them), then failed: "
            f"{exc}. Do not retry the add; its other memories were not written.",
            committed={k: v for k, v in done.items() if v},
            result=None,
        ) from exc
    result = AddResult(results=[*add_events, *change_events])
    engine.history_after(history, result=result)
    return result


@dataclass(frozen=True)
class _NewRows:
    """What new rows of this call carry, and which stored memories it rewrites anyway."""

    meta: str | None
    cats: list[str]
    expires: datetime | None
    stamp: datetime
    rewritten: set[str | None]


def _append_new(
    engine: Engine,
    adds: Sequence[Operation],
    vectors: Mapping[str, Any],
    scope: Scope,
    new: _NewRows,
    now: datetime,
    history: list[dict[str, Any]],
    done: dict[str, list[str]],
) -> list[AddEvent]:
    """Check for duplicates and append the new rows, atomically within this process.

    With ``queue_adds`` new texts are only logged (``storage.add_log``) and committed behind
    the call; a repeat of a stored or queued text waits for the queue, then goes the plain
    way below, so the duplicate rules are the same either way.
    """
    queue = engine.add_log
    if queue is not None and not new.rewritten:
        queued = _queue_new(engine, queue, adds, vectors, scope, new, now)
        if queued is not None:
            done["added"] = [e.id for e in queued if e.id and e.event == "ADD"]
            return queued
        queue.settle_all()  # the repeat may be queued by another handle of this process
    events: list[AddEvent] = []
    rows: list[dict[str, Any]] = []
    enriched: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (stored, with the repeat's)
    with engine.store.write_lock, queue.lock if queue is not None else nullcontext():
        existing = _existing(engine, list({content_hash(t) for t in vectors}), scope, now)
        for op in adds:
            assert op.text is not None
            h = content_hash(op.text)
            if h in existing:
                old = existing[h]
                more = None
                if "vector" in old and old["id"] not in new.rewritten:
                    more = _enriched(engine, old, new.meta, new.cats, new.expires)
                if more is None:
                    events.append(AddEvent(id=old["id"], memory=op.text, event="NONE"))
                else:
                    enriched.append((old, {**more, "updated_at": now}))
                existing[h] = {"id": old["id"]}  # a second repeat in this call changes nothing
                continue
            row = _new_row(op, h, vectors, scope, new)
            existing[h] = {"id": row["id"]}
            rows.append(row)
            events.append(AddEvent(id=row["id"], memory=op.text, event="ADD"))
        if rows:
            engine.store.append(engine.rows(rows))
            # landed: recorded before the second commit, which may fail (PartialWriteError)
            history[:0] = [history_event(r, "ADD", None, r["memory"], now) for r in rows]
            done["added"] = [r["id"] for r in rows]
        kept = engine.store.merge(engine.rows([n for _, n in enriched])) if enriched else set()
    for old, _ in enriched:
        if old["id"] not in kept:  # deleted since the check: the repeat came before the delete
            events.append(AddEvent(id=old["id"], memory=old["memory"], event="NONE"))
            continue
        events.append(AddEvent(id=old["id"], memory=old["memory"], event="UPDATE",
                               previous_memory=old["memory"]))  # fmt: skip
        history.append(history_event(old, "UPDATE", old["memory"], old["memory"], now))
        done["updated"].append(old["id"])
    return events


def _new_row(
    op: Operation, h: str, vectors: Mapping[str, Any], scope: Scope, new: _NewRows
) -> dict[str, Any]:
    """A new memory's row for ``op``, whose text hashes to ``h``."""
    assert op.text is not None
    return {
        "id": str(uuid.uuid4()), "memory": op.text, "hash": h,
        "vector": vectors[op.text], **scope.model_dump(), "actor_id": op.actor_id,
        "role": op.role, "categories": list(dict.fromkeys([*new.cats, *(op.categories or ())])),
        "metadata": new.meta, "created_at": new.stamp, "updated_at": new.stamp,
        "expires_at": new.expires,
    }  # fmt: skip


def _queue_new(
    engine: Engine,
    queue: AddLog,
    adds: Sequence[Operation],
    vectors: Mapping[str, Any],
    scope: Scope,
    new: _NewRows,
    now: datetime,
) -> list[AddEvent] | None:
    """Log the call's texts if all are new to the scope (stored or queued), else None.

    Holds only the log's lock, not the store's: the writer may commit meanwhile, and a text
    is either still queued (``queue.holds``) or already in the table (``_existing``).
    """
    by_text = {t: content_hash(t) for t in dict.fromkeys(op.text for op in adds if op.text)}
    hashes = list(by_text.values())
    key = _scope_key(scope)
    with queue.lock:
        if queue.holds(key, hashes) or _existing(engine, hashes, scope, now):
            return None
        rows: dict[str, dict[str, Any]] = {}
        events: list[AddEvent] = []
        for op in adds:
            assert op.text is not None
            if op.text in rows:  # a repeat within the call, as the plain path reports it
                events.append(AddEvent(id=rows[op.text]["id"], memory=op.text, event="NONE"))
                continue
            rows[op.text] = _new_row(op, by_text[op.text], vectors, scope, new)
            events.append(AddEvent(id=rows[op.text]["id"], memory=op.text, event="ADD"))
        if rows:
            queue.submit(engine.rows(list(rows.values())), key, hashes, now)
    return events
