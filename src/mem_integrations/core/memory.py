"""``Memory``: the Mem0-shaped API over the LanceDB store.

Every public method validates all of its input before the first write, confines itself to the
scope it was given, and makes one commit to the memories table per call. Methods return
Mem0's JSON dicts; the ``*_records`` / ``search_hits`` variants return the typed models that the
framework adapters use.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from . import filters as F
from .clock import Clock, SystemClock, utc
from .config import MemoryConfig
from .embeddings import Embedder, default_embedder, embed_documents_checked, embed_query_checked
from .errors import (
    LimitExceededError,
    MemoryNotFoundError,
    ScopeRequiredError,
    ValidationError,
)
from .expiry import expired_sql, live_sql, parse_expiration
from .extraction import Operation, plan_with_llm
from .messages import normalize_messages, storable_messages
from .ranking import fuse
from .records import AddEvent, AddResult, HistoryEvent, MemoryRecord, Page, Scope, SearchHit
from .recovery import reconcile, visible
from .rows import (
    RECORD_COLUMNS,
    content_hash,
    history_event,
    ids_sql,
    materialize,
    record_fields,
    scope_sql,
    to_record,
)
from .store import Store, memories_schema
from .validation import Validator

__all__ = ["UNSET", "Memory", "content_hash"]

log = logging.getLogger(__name__)

#: Sentinel for "argument not given", so that ``expiration_date=None`` can mean "clear it".
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()


class Memory:
    """Long-term memory for one store: add, search, list, update, delete, history.

    ``Memory()`` opens (or creates) the embedded store in ``./.mem_integrations`` with the
    bundled offline embedder. Pass a :class:`MemoryConfig` (or its fields as keywords) for
    another location, embedder, LLM, clock or decay setting.
    """

    def __init__(self, config: MemoryConfig | None = None, **overrides: Any) -> None:
        if config is None:
            config = MemoryConfig(**overrides)
        elif overrides:
            config = config.model_copy(update=overrides)
        self.config = config
        self.limits = config.limits
        self._check = Validator(config.limits)
        self.clock: Clock = config.clock or SystemClock()
        self.embedder: Embedder = config.embedder or default_embedder()
        self.llm = config.llm
        self.store = Store(
            config.uri,
            dim=self.embedder.dim,
            model_id=self.embedder.model_id,
            storage_options=config.storage_options,
            read_consistency_interval=config.read_consistency_interval,
            optimize_every=config.optimize_every,
            cleanup_older_than=config.cleanup_older_than,
            search_cache_rows=config.search_cache_rows,
        )
        self._schema = memories_schema(self.embedder.dim)
        self._last_purge: datetime | None = None
        # A writer killed between its memories and history commits left events missing. The
        # check reads both tables whole, so it runs on the housekeeping thread: opening a big
        # store stays fast, and history reads wait for it (see history_events).
        self._recovery = self.store.background(self._recover)
        from .decay import DecayEngine  # local: decay imports records only, never memory

        self.decay = DecayEngine(self.store, self.clock, config.decay_settings, config.decay)

    # -- validation ---------------------------------------------------------------------------

    def _where(
        self,
        scope: Scope,
        filters: Mapping[str, Any] | None,
        *,
        show_expired: bool = False,
        extra: Sequence[F.Node | None] = (),
    ) -> str:
        """Compile scope + filters into one where-clause; refuse a call that names no scope."""
        node = F.parse_filters(filters)
        if scope.is_empty() and not any(F.scope_values(node).values()):
            raise ScopeRequiredError(
                "name at least one of user_id, agent_id, run_id or app_id (as an argument or "
                "as an eq/in filter under AND)"
            )
        scoped = [F.eq(k, v) for k, v in scope.as_dict().items()]
        sql = F.to_sql(F.and_(*scoped, node, *extra)) or "true"
        if not show_expired:
            sql = f"({sql}) AND {live_sql(self.clock.now())}"
        return sql

    # -- housekeeping -------------------------------------------------------------------------

    def _recover(self) -> None:
        try:
            self._history(reconcile(self.store.memories, self.store.history, self.clock))
        except Exception:  # never fatal: the next open tries again
            log.warning("history recovery of %s failed", self.store.uri, exc_info=True)

    def _housekeeping(self) -> None:
        """Purge expired memories at most once per ``purge_interval``: no cron job needed."""
        now = self.clock.now()
        if self._last_purge is None or now - self._last_purge >= self.config.purge_interval:
            self._last_purge = now
            self.purge_expired()

    def purge_expired(self) -> dict[str, Any]:
        """Physically delete every expired memory (history event EXPIRE)."""
        now = self.clock.now()
        where = expired_sql(now)
        rows = self.store.query(where, RECORD_COLUMNS).to_pylist()
        if not rows:
            return {"purged": 0}
        ids = [r["id"] for r in rows]
        self.store.delete(f"{where} AND {ids_sql(ids)}")
        self._history([history_event(r, "EXPIRE", r["memory"], None, now, True) for r in rows])
        return {"purged": len(rows)}

    # -- rows and history ---------------------------------------------------------------------

    def _rows(self, rows: list[dict[str, Any]]) -> pa.Table:
        return pa.Table.from_pylist(rows, schema=self._schema)

    def _history(self, events: list[dict[str, Any]]) -> None:
        self.store.add_history(events)

    def _fetch(self, ids: Sequence[str], columns: Sequence[str] | None = None) -> dict[str, Any]:
        if not ids:
            return {}
        cols = list(columns) if columns is not None else [*RECORD_COLUMNS, "vector"]
        rows = self.store.query(ids_sql(ids), cols).to_pylist()
        return {r["id"]: r for r in rows}

    def _get_rows(
        self, memory_ids: Sequence[Any], scope: Scope, *, show_expired: bool = False
    ) -> dict[str, dict[str, Any]]:
        """Fetch rows by id in one query; every id must exist in the scope, or nothing happens."""
        for mid in memory_ids:
            if not isinstance(mid, str) or not mid:
                raise ValidationError(f"memory_id must be a non-empty string, got {mid!r}")
        where = ids_sql(memory_ids) + scope_sql(scope)
        if not show_expired:
            where += f" AND {live_sql(self.clock.now())}"
        rows = {
            r["id"]: r for r in self.store.query(where, [*RECORD_COLUMNS, "vector"]).to_pylist()
        }
        missing = [m for m in memory_ids if m not in rows]
        if missing:
            raise MemoryNotFoundError(f"no memory with id {missing[0]!r} in this scope")
        return rows

    def _get_row(
        self, memory_id: Any, scope: Scope, *, show_expired: bool = False
    ) -> dict[str, Any]:
        return self._get_rows([memory_id], scope, show_expired=show_expired)[memory_id]

    # -- add ----------------------------------------------------------------------------------

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
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        if scope.is_empty():
            raise ScopeRequiredError("add needs at least one of user_id, agent_id, run_id, app_id")
        msgs = normalize_messages(
            messages, max_messages=self.limits.max_messages, max_chars=self.limits.max_text_chars
        )
        meta = self._check.metadata(metadata)
        cats = self._check.categories(categories)
        expires = parse_expiration(expiration_date)
        if self.llm is not None and infer:
            ops = plan_with_llm(
                self, msgs, scope, prompt=prompt, custom_categories=custom_categories
            )
        else:
            ops = [
                Operation("ADD", m.content, actor_id=m.name, role=m.role)
                for m in storable_messages(msgs, scope)
            ]
        return self._apply(ops, scope, meta, cats, expires)

    def _apply(
        self,
        ops: Sequence[Operation],
        scope: Scope,
        meta: str | None,
        cats: list[str],
        expires: datetime | None,
    ) -> AddResult:
        """Write a planned set of operations: one memories commit, one history commit."""
        self._housekeeping()
        now = self.clock.now()
        adds = [op for op in ops if op.event == "ADD"]
        # Exact duplicates in the same scope (already stored, or twice in this call) are NONE.
        hashes = list({content_hash(op.text) for op in adds if op.text})
        existing: dict[str, str] = {}
        if hashes:
            cond = [f"hash IN ({', '.join(F.sql_string(h) for h in hashes)})"]
            for k in ("user_id", "agent_id", "run_id", "app_id"):
                v = getattr(scope, k)
                cond.append(f"{k} = {F.sql_string(v)}" if v is not None else f"{k} IS NULL")
            cond.append(live_sql(now))
            for r in self.store.query(" AND ".join(cond), ["id", "hash"]).to_pylist():
                existing[r["hash"]] = r["id"]

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
        current: dict[str, Any] = self._fetch([op.memory_id for op in changed if op.memory_id])
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
                AddEvent(
                    id=cur["id"], memory=op.text, event="UPDATE", previous_memory=cur["memory"]
                )
            )
            history.append(history_event(cur, "UPDATE", cur["memory"], op.text, now))

        vectors = embed_documents_checked(self.embedder, to_embed) if to_embed else None
        for i, cur in enumerate([*new_rows, *updated_rows]):
            assert vectors is not None
            cur["vector"] = vectors[i]
        if updated_rows or deleted:
            self._merge(new_rows + updated_rows, deleted)
        elif new_rows:
            self.store.append(self._rows(new_rows))
        self._history(history)
        return AddResult(results=events)

    def _merge(self, rows: list[dict[str, Any]], delete_ids: Sequence[str]) -> None:
        """Insert, rewrite and delete in a single LanceDB commit."""
        builder = (
            self.store.memories.merge_insert("id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
        )
        if delete_ids:
            builder = builder.when_not_matched_by_source_delete(ids_sql(delete_ids))
        builder.execute(self._rows(rows))
        self.store._after_commit()

    # -- search -------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        top_k: int | None = None,
        limit: int | None = None,
        threshold: float | None = None,
        show_expired: bool = False,
        decay: bool | None = None,
    ) -> dict[str, Any]:
        """Hybrid (vector + full-text) search in one scope; ``{"results": [hits]}``.

        ``score`` is in [0, 1]. ``threshold`` is compared with relevance before decay, so with
        decay on a stale but relevant memory can come back scored slightly under it.
        """
        hits = self.search_hits(
            query, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id,
            filters=filters, top_k=top_k, limit=limit, threshold=threshold,
            show_expired=show_expired, decay=decay,
        )  # fmt: skip
        return {"results": [h.to_dict() for h in hits]}

    def search_hits(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        top_k: int | None = None,
        limit: int | None = None,
        threshold: float | None = None,
        show_expired: bool = False,
        decay: bool | None = None,
        record_access: bool = True,
    ) -> list[SearchHit]:
        """Typed form of :meth:`search`.

        ``record_access=False`` is for internal lookups (extraction, dedup) that should not
        count as the user touching a memory.
        """
        text = self._check.text(query, "query")
        k = self._check.top_k(top_k if top_k is not None else (limit if limit is not None else 10))
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not 0.0 <= threshold <= 1.0
        ):
            raise ValidationError(f"threshold must be a number in [0, 1], got {threshold!r}")
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        scope_where = self._where(scope, filters, show_expired=True)
        now = None if show_expired else self.clock.now()
        use_decay = self.decay.enabled if decay is None else bool(decay)
        pool = k * self.config.candidate_multiplier
        if use_decay:  # decay reorders: rerank at least 3 x top_k per signal, then truncate
            pool = max(pool, 3 * k)
        qvec = embed_query_checked(self.embedder, text)
        cols = [*RECORD_COLUMNS, "vector"]
        by_vector, by_text = self.store.scoped_search(
            qvec, text, scope_where, now, pool, cols, None if filters else scope.as_dict()
        )
        ranked = fuse(qvec, by_vector, by_text, self.config.vector_weight)
        kept = [(row, rel) for row, rel in ranked if threshold is None or rel >= threshold]
        # Build records only for what can be returned: top_k, or with decay the 3 x top_k most
        # relevant candidates, which decay reorders before truncating to top_k.
        kept = kept[: 3 * k if use_decay else k]
        rows = materialize([row for row, _ in kept])
        hits = [
            SearchHit(**record_fields(row), score=rel, relevance=rel)
            for row, (_, rel) in zip(rows, kept, strict=True)
        ]
        if use_decay:
            hits = self.decay.rerank(hits, limit=k)
        hits = hits[:k]
        if record_access:
            self.decay.record_access([h.id for h in hits])
        return hits

    # -- get / get_all ------------------------------------------------------------------------

    def get(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        show_expired: bool = False,
    ) -> dict[str, Any]:
        """One memory by id; scope ids, if given, must match. Raises MemoryNotFoundError."""
        return self.get_record(
            memory_id, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id,
            show_expired=show_expired,
        ).to_dict()  # fmt: skip

    def get_record(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        show_expired: bool = False,
    ) -> MemoryRecord:
        """Typed form of :meth:`get`."""
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        return to_record(self._get_row(memory_id, scope, show_expired=show_expired))

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
        keywords: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        top_k: int | None = None,
        show_expired: bool = False,
    ) -> dict[str, Any]:
        """List memories in a scope, newest first.

        With ``page``/``page_size`` the result is Mem0's paginated shape (count, next,
        previous, results); otherwise ``{"results": [...]}`` capped at ``limit`` (100).
        """
        pg = self.get_all_page(
            user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id, filters=filters,
            categories=categories, keywords=keywords, page=page or 1,
            page_size=page_size or limit or top_k or 100, show_expired=show_expired,
        )  # fmt: skip
        if page is None and page_size is None:
            return {"results": [r.to_dict() for r in pg.results]}
        return pg.to_dict()

    def get_all_page(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        categories: Sequence[str] | None = None,
        keywords: str | None = None,
        page: int = 1,
        page_size: int = 100,
        show_expired: bool = False,
    ) -> Page:
        """Typed, always-paginated form of :meth:`get_all`."""
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise ValidationError(f"page must be a positive integer, got {page!r}")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ValidationError(f"page_size must be a positive integer, got {page_size!r}")
        if page_size > self.limits.max_page_size:
            raise LimitExceededError(f"page_size must be at most {self.limits.max_page_size}")
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        extra: list[F.Node | None] = []
        if categories is not None:
            cats = self._check.categories(categories)
            if cats:
                extra.append(F.parse_filters({"categories": {"in": cats}}))
        if keywords is not None:
            extra.append(F.parse_filters({"keywords": {"icontains": self._check.text(keywords)}}))
        where = self._where(scope, filters, show_expired=show_expired, extra=extra)
        keys = self.store.query(where, ["id", "created_at"]).to_pylist()
        keys.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        start = (page - 1) * page_size
        ids = [r["id"] for r in keys[start : start + page_size]]
        rows = self._fetch(ids, RECORD_COLUMNS)
        results = [to_record(rows[i]) for i in ids if i in rows]
        return Page(
            count=len(keys), page=page, page_size=page_size,
            next=page + 1 if start + page_size < len(keys) else None,
            previous=page - 1 if page > 1 else None, results=results,
        )  # fmt: skip

    # -- update / delete ----------------------------------------------------------------------

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
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        record = self._update_many([item], scope)[0]
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
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        records = self._update_many(self._check.batch(memories), scope)
        return {"message": f"Successfully updated {len(records)} memories", "results": [
            r.to_dict() for r in records
        ]}  # fmt: skip

    def _update_many(self, items: Sequence[Mapping[str, Any]], scope: Scope) -> list[MemoryRecord]:
        known = {"memory_id", "text", "metadata", "categories", "expiration_date"}
        plans = []
        for it in items:
            unknown = set(it) - known
            if unknown:
                raise ValidationError(f"unknown update fields {sorted(unknown)}")
            change: dict[str, Any] = {}
            if it.get("text") is not None:
                change["memory"] = self._check.text(it["text"])
            if "metadata" in it:
                change["metadata"] = self._check.metadata(it["metadata"])
            if "categories" in it:
                change["categories"] = self._check.categories(it["categories"])
            if "expiration_date" in it:
                change["expires_at"] = parse_expiration(it["expiration_date"])
            if not change:
                raise ValidationError(f"nothing to update for {it['memory_id']!r}")
            plans.append((it["memory_id"], change))
        self._housekeeping()
        rows = self._get_rows([mid for mid, _ in plans], scope)
        now = self.clock.now()
        new_rows: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        to_embed: list[int] = []
        for mid, change in plans:
            old = rows[mid]
            new = {**old, **change, "updated_at": now}
            if "memory" in change and change["memory"] != old["memory"]:
                new["hash"] = content_hash(change["memory"])
                to_embed.append(len(new_rows))
            new_rows.append(new)
            history.append(history_event(old, "UPDATE", old["memory"], new["memory"], now))
        if to_embed:
            vecs = embed_documents_checked(self.embedder, [new_rows[i]["memory"] for i in to_embed])
            for j, i in enumerate(to_embed):
                new_rows[i]["vector"] = vecs[j]
        self.store.upsert(self._rows(new_rows))
        self._history(history)
        return [to_record(r) for r in new_rows]

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
        if isinstance(memory_ids, str) or not isinstance(memory_ids, Sequence):
            raise ValidationError("memory_ids must be a list of ids")
        if len(memory_ids) > self.limits.max_batch:
            raise LimitExceededError(f"at most {self.limits.max_batch} ids per call")
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        expires = parse_expiration(expiration_date)
        if not memory_ids:
            return 0
        ids = list(dict.fromkeys(memory_ids))
        if not missing_ok:
            self._get_rows(ids, scope)
        where = f"{ids_sql(ids)}{scope_sql(scope)} AND {live_sql(self.clock.now())}"
        extra = F.to_sql(F.parse_filters(filters))
        return self.store.set_expiry(f"{where} AND ({extra})" if extra else where, expires)

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

    _PUT_FIELDS = frozenset({
        "memory_id", "text", "user_id", "agent_id", "run_id", "app_id", "metadata", "categories",
        "expiration_date", "created_at", "updated_at", "actor_id", "role",
    })  # fmt: skip

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> list[MemoryRecord]:
        """:meth:`put` for up to ``max_batch`` memories: one embedding batch, one commit.

        Each item takes ``put``'s arguments by name. Every item is validated (and every
        replaced id checked against its scope) before anything is written; imports use this.
        """
        if isinstance(items, (str, Mapping)) or not isinstance(items, Sequence) or not items:
            raise ValidationError("put_many takes a non-empty list of dicts")
        if len(items) > self.limits.max_batch:
            raise LimitExceededError(f"at most {self.limits.max_batch} items, got {len(items)}")
        plans = [self._put_plan(it) for it in items]
        ids = [p["id"] for p in plans]
        if len(set(ids)) != len(ids):
            raise ValidationError("put_many names the same memory_id twice")
        self._housekeeping()
        now = self.clock.now()
        olds = self._fetch(ids)
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
        if to_embed:
            vecs = embed_documents_checked(self.embedder, [rows[i]["memory"] for i in to_embed])
            for j, i in enumerate(to_embed):
                rows[i]["vector"] = vecs[j]
        self.store.upsert(self._rows(rows))
        self._history(history)
        return [to_record(r) for r in rows]

    def _put_plan(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Validate one ``put`` item into a row without hash, vector or defaulted times."""
        if not isinstance(item, Mapping):
            raise ValidationError("every put item must be a dict")
        unknown = set(item) - self._PUT_FIELDS
        if unknown:
            raise ValidationError(f"unknown put fields {sorted(unknown)}")
        memory_id = item.get("memory_id")
        if not isinstance(memory_id, str) or not memory_id or "\x00" in memory_id:
            raise ValidationError("memory_id must be a non-empty string without NUL")
        if len(memory_id) > 512:
            raise LimitExceededError("memory_id must be at most 512 characters")
        scope = self._check.scope(**{k: item.get(k) for k in Scope.model_fields})
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
            "id": memory_id, "memory": self._check.text(item.get("text")), **scope.model_dump(),
            "actor_id": item.get("actor_id"), "role": item.get("role"),
            "categories": self._check.categories(item.get("categories")),
            "metadata": self._check.metadata(item.get("metadata")),
            "expires_at": parse_expiration(item.get("expiration_date")), **stamps,
        }  # fmt: skip

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
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        row = self._get_row(memory_id, scope, show_expired=True)
        self._delete_rows([row])
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
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        items = self._check.batch(memories)
        found = self._get_rows([it["memory_id"] for it in items], scope, show_expired=True)
        rows = list(found.values())
        self._delete_rows(rows)
        return {"message": f"Successfully deleted {len(rows)} memories"}

    def _delete_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        now = self.clock.now()
        self.store.delete(ids_sql([r["id"] for r in rows]))
        self._history([history_event(r, "DELETE", r["memory"], None, now, True) for r in rows])

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
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        where = self._where(scope, filters, show_expired=True)
        rows = self.store.query(where, RECORD_COLUMNS).to_pylist()
        self._delete_rows(rows)
        return {"message": "Memories deleted successfully!", "deleted": len(rows)}

    # -- history / entities -------------------------------------------------------------------

    def history(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every change of one memory, oldest first (kept after the memory is deleted).

        Scope ids, if given, confine it: another scope's memory has no history for this caller.
        """
        return [
            e.to_dict()
            for e in self.history_events(
                memory_id, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id
            )
        ]

    def history_events(
        self,
        memory_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> list[HistoryEvent]:
        """Typed form of :meth:`history`."""
        if not isinstance(memory_id, str) or not memory_id:
            raise ValidationError("memory_id must be a non-empty string")
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        self._recovery.result()  # events recovered at open must be in before history is read
        where = f"memory_id = {F.sql_string(memory_id)}" + scope_sql(scope)
        rows = visible(self.store.history_rows(where))
        return [HistoryEvent(**r) for r in rows]

    def users(self, *, show_expired: bool = False) -> dict[str, Any]:
        """Every entity (user, agent, run, app) that owns memories, with counts."""
        where = None if show_expired else live_sql(self.clock.now())
        cols = ["user_id", "agent_id", "run_id", "app_id", "created_at", "updated_at"]
        table = self.store.query(where, cols)
        out: list[dict[str, Any]] = []
        for field, kind in (("user_id", "user"), ("agent_id", "agent"), ("run_id", "run"),
                            ("app_id", "app")):  # fmt: skip
            sub = table.filter(pa.compute.is_valid(table[field]))
            if sub.num_rows == 0:
                continue
            agg = sub.group_by(field).aggregate(
                [("created_at", "min"), ("updated_at", "max"), (field, "count")]
            )
            for r in agg.to_pylist():
                out.append({
                    "id": r[field], "name": r[field], "type": kind,
                    "total_memories": r[f"{field}_count"],
                    "created_at": r["created_at_min"].isoformat(),
                    "updated_at": r["updated_at_max"].isoformat(),
                })  # fmt: skip
        out.sort(key=lambda e: (e["type"], e["name"]))
        return {"results": out}

    def delete_users(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
    ) -> dict[str, Any]:
        """Delete every memory of the named entities (each id independently)."""
        scope = self._check.scope(user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        if scope.is_empty():
            raise ScopeRequiredError("delete_users needs a user_id, agent_id, run_id or app_id")
        where = " OR ".join(f"{k} = {F.sql_string(v)}" for k, v in scope.as_dict().items())
        rows = self.store.query(f"({where})", RECORD_COLUMNS).to_pylist()
        self._delete_rows(rows)
        return {"message": "Entity deleted successfully.", "deleted": len(rows)}

    def reset(self) -> None:
        """Drop every memory, history event and access record of this store."""
        self.decay.flush()
        self._recovery.result()
        self.store.reset()

    # -- maintenance --------------------------------------------------------------------------

    def optimize(self) -> dict[str, Any]:
        """Compact and re-index now; it also runs in the background (see ``optimize_every``)."""
        self.decay.flush()
        self.decay.prune()
        self.store.optimize()
        return self.store.stats().to_dict()

    def stats(self) -> dict[str, Any]:
        """Counts, size, fragments, version and index state."""
        return self.store.stats().to_dict()

    def wait_for_housekeeping(self) -> None:
        """Block until open-time recovery and any background compaction have finished.

        For tests and tools that read the tables directly; the public methods already wait
        where it matters.
        """
        self._recovery.result()
        self.store.wait_for_housekeeping()

    def close(self) -> None:
        """Flush pending access records and finish background housekeeping."""
        self.decay.close()
        self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
