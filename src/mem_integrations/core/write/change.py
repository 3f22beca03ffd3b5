"""Changing memories in place: update (text, metadata, categories, expiry), expiry alone, put.

Every item of a batch is validated, and every id checked against its scope, before the one
commit; a changed text is re-embedded, an unchanged one keeps its vector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..clock import utc
from ..embeddings import embed_documents_checked
from ..engine import Engine
from ..errors import LimitExceededError, MemoryNotFoundError, ScopeRequiredError, ValidationError
from ..expiry import live_sql, parse_expiration, parse_instant
from ..filters import parse_filters, to_sql
from ..read.select import fetch, get_rows
from ..records import MemoryRecord, Scope
from ..storage.rows import content_hash, history_event, ids_sql, scope_sql, to_record
from .remove import housekeeping

__all__ = ["PUT_FIELDS", "put_many", "set_expiration", "update_many"]

_UPDATE_FIELDS = frozenset(
    {"memory_id", "text", "metadata", "categories", "expiration_date", "timestamp"}
)

#: What ``put``/``put_many`` items may name.
PUT_FIELDS = frozenset({
    "memory_id", "text", "user_id", "agent_id", "run_id", "app_id", "metadata", "categories",
    "expiration_date", "created_at", "updated_at", "actor_id", "role",
})  # fmt: skip


def _embed_into(engine: Engine, rows: list[dict[str, Any]], which: Sequence[int]) -> None:
    """Embed the texts of ``rows[i]`` for ``i`` in ``which`` in one batch."""
    if which:
        vecs = embed_documents_checked(engine.embedder, [rows[i]["memory"] for i in which])
        for j, i in enumerate(which):
            rows[i]["vector"] = vecs[j]


def update_many(
    engine: Engine, items: Sequence[Mapping[str, Any]], scope: Scope
) -> list[MemoryRecord]:
    """Apply ``[{"memory_id", "text"?, "metadata"?, ...}]``: one commit, UPDATE events."""
    plans = []
    for it in items:
        unknown = set(it) - _UPDATE_FIELDS
        if unknown:
            raise ValidationError(f"unknown update fields {sorted(unknown)}")
        change: dict[str, Any] = {}
        if it.get("text") is not None:
            change["memory"] = engine.check.text(it["text"])
        if "metadata" in it:
            change["metadata"] = engine.check.metadata(it["metadata"])
        if "categories" in it:
            change["categories"] = engine.check.categories(it["categories"])
        if "expiration_date" in it:
            change["expires_at"] = parse_expiration(it["expiration_date"])
        if not change:
            raise ValidationError(f"nothing to update for {it['memory_id']!r}")
        stamp = it.get("timestamp")
        if stamp is not None and not isinstance(stamp, datetime):
            stamp = parse_instant(stamp, "timestamp")
        plans.append((it["memory_id"], change, stamp))
    # Expired memories are hidden, not gone (Mem0): updating one, e.g. clearing its
    # expiration_date, is how it comes back.
    rows = get_rows(engine, [mid for mid, _, _ in plans], scope, show_expired=True)
    now = engine.clock.now()
    new_rows: list[dict[str, Any]] = []
    to_embed: list[int] = []
    for mid, change, stamp in plans:
        old = rows[mid]
        new = {**old, **change, "updated_at": stamp or now}
        if "memory" in change and change["memory"] != old["memory"]:
            new["hash"] = content_hash(change["memory"])
            to_embed.append(len(new_rows))
        new_rows.append(new)
    _embed_into(engine, new_rows, to_embed)
    housekeeping(engine)  # only now: a refused call must not have purged anything
    # A conditional rewrite, never an upsert: a memory deleted since it was read stays deleted.
    kept = engine.store.merge(engine.rows(new_rows))
    if not kept:
        raise MemoryNotFoundError(
            f"memory {plans[0][0]!r} was deleted while this update ran; nothing was changed"
        )
    new_rows = [r for r in new_rows if r["id"] in kept]  # the others were deleted meanwhile
    history = [
        history_event(rows[r["id"]], "UPDATE", rows[r["id"]]["memory"], r["memory"], now)
        for r in new_rows
    ]
    records = [to_record(r) for r in new_rows]
    engine.history_after(history, result=records)
    return records


def set_expiration(
    engine: Engine,
    memory_ids: Sequence[str],
    expiration_date: Any,
    scope: Scope,
    filters: Mapping[str, Any] | None = None,
    missing_ok: bool = False,
) -> int:
    """Move the expiry of live memories, leaving text, ``updated_at`` and history alone.

    One conditional UPDATE of ``expires_at`` only: a racing delete or put is never undone.
    """
    if isinstance(memory_ids, str) or not isinstance(memory_ids, Sequence):
        raise ValidationError("memory_ids must be a list of ids")
    if len(memory_ids) > engine.limits.max_batch:
        raise LimitExceededError(f"at most {engine.limits.max_batch} ids per call")
    expires = parse_expiration(expiration_date)
    if not memory_ids:
        return 0
    ids = list(dict.fromkeys(memory_ids))
    if not missing_ok:
        get_rows(engine, ids, scope)
    where = f"{ids_sql(ids)}{scope_sql(scope)} AND {live_sql(engine.clock.now())}"
    extra = to_sql(parse_filters(filters))
    return engine.store.set_expiry(f"{where} AND ({extra})" if extra else where, expires)


def put_many(engine: Engine, items: Sequence[Mapping[str, Any]]) -> list[MemoryRecord]:
    """Create or replace memories with caller-chosen ids: one embedding batch, one commit."""
    if isinstance(items, (str, Mapping)) or not isinstance(items, Sequence) or not items:
        raise ValidationError("put_many takes a non-empty list of dicts")
    if len(items) > engine.limits.max_batch:
        raise LimitExceededError(f"at most {engine.limits.max_batch} items, got {len(items)}")
    plans = [_put_plan(engine, it) for it in items]
    ids = [p["id"] for p in plans]
    if len(set(ids)) != len(ids):
        raise ValidationError("put_many names the same memory_id twice")
    now = engine.clock.now()
    olds = fetch(engine, ids)
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    to_embed: list[int] = []
    for plan in plans:
        old = olds.get(plan["id"])
        if old is not None and any(old[k] != plan[k] for k in Scope.model_fields):
            raise MemoryNotFoundError(f"no memory with id {plan['id']!r} in this scope")
        row = {**plan, "hash": content_hash(plan["memory"]), "vector": None}
        row["created_at"] = plan["created_at"] or (old["created_at"] if old else now)
        row["updated_at"] = plan["updated_at"] or now
        if old is not None and old["memory"] == row["memory"]:
            row["vector"] = old["vector"]
        else:
            to_embed.append(len(rows))
        rows.append(row)
        history.append(
            history_event(row, "UPDATE", old["memory"], row["memory"], now)
            if old is not None
            else history_event(row, "ADD", None, row["memory"], now)
        )
    _embed_into(engine, rows, to_embed)
    housekeeping(engine)  # after every check: a refused put must not have purged anything
    engine.store.upsert(engine.rows(rows))
    records = [to_record(r) for r in rows]
    engine.history_after(history, result=records)
    return records


def _put_plan(engine: Engine, item: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one ``put`` item into a row without hash, vector or defaulted times."""
    if not isinstance(item, Mapping):
        raise ValidationError("every put item must be a dict")
    unknown = set(item) - PUT_FIELDS
    if unknown:
        raise ValidationError(f"unknown put fields {sorted(unknown)}")
    memory_id = item.get("memory_id")
    if not isinstance(memory_id, str) or not memory_id or "\x00" in memory_id:
        raise ValidationError("memory_id must be a non-empty string without NUL")
    if len(memory_id) > 512:
        raise LimitExceededError("memory_id must be at most 512 characters")
    scope = engine.check.scope(**{k: item.get(k) for k in Scope.model_fields})
    if scope.is_empty():
        raise ScopeRequiredError("put needs at least one of user_id, agent_id, run_id, app_id")
    # restore (import of an export): the record's own provenance instead of "now"
    stamps = {}
    for name in ("created_at", "updated_at"):
        stamp = item.get(name)
        if stamp is not None and not isinstance(stamp, datetime):
            raise ValidationError(f"{name} must be a datetime, got {stamp!r}")
        stamps[name] = utc(stamp) if stamp is not None else None
    for name in ("actor_id", "role"):
        ident = item.get(name)
        if ident is not None and (not isinstance(ident, str) or "\x00" in ident):
            raise ValidationError(f"{name} must be a string without NUL, got {ident!r}")
    return {
        "id": memory_id, "memory": engine.check.text(item.get("text")), **scope.model_dump(),
        "actor_id": item.get("actor_id"), "role": item.get("role"),
        "categories": engine.check.categories(item.get("categories")),
        "metadata": engine.check.metadata(item.get("metadata")),
        "expires_at": parse_expiration(item.get("expiration_date")), **stamps,
    }  # fmt: skip
