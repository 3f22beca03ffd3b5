"""``LanceDBStore``: a LangGraph ``BaseStore`` on the memory layer's LanceDB tables.

LangGraph items and Mem0-style memories are the same rows, so an agent's store writes are
visible to :meth:`Memory.search` / ``get_all`` (and to deletion of a user's data), and the
store inherits the core's hybrid search, filters, expiry and decay.

How LangGraph's model maps onto ours
------------------------------------
- **Scope.** Every item belongs to ``app_id=<store app_id>`` (default ``"langgraph"``), so
  two stores with different app ids on one ``Memory`` never see each other's items.
  ``namespace_scope`` additionally binds namespace positions to scope ids, e.g.
  ``{"user_id": -1}`` makes ``("memories", "alice")`` a memory of ``user_id="alice"``.
- **Identity.** ``(app_id, namespace, key)`` hashes to a deterministic UUID (uuid5) that is
  the memory id, written with :meth:`Memory.put`; put replaces, ``value=None`` deletes.
- **Value.** Kept in the memory's metadata, each top-level field ``f`` under ``"value.f"``
  (so ``filter={"f": ...}`` pushes down to LanceDB as a metadata filter), beside reserved
  keys ``lg.namespace``, ``lg.key``, ``lg.indexed``, ``lg.ttl`` and ``lg.ns.<i>`` (one per
  namespace level, for prefix filters).
- **Text.** The memory text is what gets embedded: the texts at the index ``fields``
  (LangGraph path syntax; default ``"$"``, the whole value as JSON) joined by newlines.
  Items put with ``index=False`` (or with no text at those paths) keep their JSON as text
  but are excluded from semantic search.
- **TTL.** ``ttl`` minutes become the core's ``expiration_date``; expired items vanish from
  reads at once and are kept until ``Memory.purge_expired()`` (or the core's housekeeping,
  with ``MemoryConfig(purge_interval=...)``) deletes them. Reads with ``refresh_ttl``
  push the expiry forward (one batched update per ``batch`` call).
- **Scores.** Semantic search scores are :meth:`Memory.search_hits` scores: hybrid
  relevance in [0, 1], times the recency-decay factor when decay is on.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from ..core.errors import InvalidFilterError, MemoryNotFoundError
from ..core.memory import Memory
from ..core.records import MemoryRecord
from ._common import missing, sync_memory

try:
    from langgraph.store.base import (
        BaseStore,
        GetOp,
        InvalidNamespaceError,
        Item,
        ListNamespacesOp,
        MatchCondition,
        Op,
        PutOp,
        Result,
        SearchItem,
        SearchOp,
        TTLConfig,
    )
    from langgraph.store.base.embed import get_text_at_path
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise missing(exc) from exc

__all__ = ["LanceDBStore"]

NAMESPACE = "lg.namespace"
KEY = "lg.key"
INDEXED = "lg.indexed"
TTL = "lg.ttl"
LEVEL = "lg.ns.{}"
VALUE = "value."
_ID_SPACE = uuid.UUID("5b0c6f9e-3f43-4b1e-9d51-6c1f0d2a7e11")
_OPERATORS = {"$eq": "eq", "$ne": "ne", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_SCOPE_TARGETS = ("user_id", "agent_id", "run_id")


class LanceDBStore(BaseStore):
    """LangGraph long-term memory store backed by a :class:`~mem_integrations.Memory`.

    Example::

        store = LanceDBStore(Memory(), namespace_scope={"user_id": 1})
        agent = create_agent(model, tools, store=store)
        store.put(("memories", "alice"), "tea", {"text": "Alice drinks green tea"})
        store.search(("memories", "alice"), query="what does alice drink?")

    The store is safe to share between threads; ``abatch`` runs ``batch`` on a worker thread.
    """

    supports_ttl: bool = True

    def __init__(
        self,
        memory: Any,
        *,
        app_id: str = "langgraph",
        namespace_scope: Mapping[str, int] | None = None,
        fields: Sequence[str] = ("$",),
        ttl: TTLConfig | None = None,
    ) -> None:
        self.memory: Memory = sync_memory(memory)
        if not isinstance(app_id, str) or not app_id.strip():
            raise ValueError("app_id must be a non-empty string")
        self.app_id = app_id
        self.namespace_scope = dict(namespace_scope or {})
        bad = set(self.namespace_scope) - set(_SCOPE_TARGETS)
        if bad:
            raise ValueError(f"namespace_scope keys must be among {_SCOPE_TARGETS}, got {bad}")
        if isinstance(fields, str) or not fields:
            raise ValueError('fields must be a non-empty list of paths, e.g. ["$"]')
        self.fields = list(fields)
        self.ttl_config = ttl

    # -- the mapping ---------------------------------------------------------------------

    def memory_id(self, namespace: tuple[str, ...], key: str) -> str:
        """Return the memory id of an item: stable across processes and machines."""
        return str(uuid.uuid5(_ID_SPACE, json.dumps([self.app_id, list(namespace), key])))

    def scope(self, namespace: tuple[str, ...]) -> dict[str, str]:
        """Return the core scope that items of ``namespace`` are written in."""
        out = {"app_id": self.app_id}
        for name, pos in self.namespace_scope.items():
            try:
                out[name] = namespace[pos]
            except IndexError:
                raise InvalidNamespaceError(
                    f"namespace {namespace!r} has no position {pos} for {name}"
                ) from None
        return out

    def _text(self, value: Mapping[str, Any], index: Any) -> tuple[str, bool]:
        texts: list[str] = []
        if index is not False:
            for path in self.fields if index is None else index:
                texts.extend(t for t in get_text_at_path(value, path) if t.strip())
        indexed = bool(texts)
        text = "\n".join(texts) if indexed else json.dumps(value, sort_keys=True, default=str)
        return text[: self.memory.limits.max_text_chars], indexed

    @staticmethod
    def _args(rec: MemoryRecord) -> dict[str, Any]:
        meta = rec.metadata or {}
        return {
            "value": {k[len(VALUE) :]: v for k, v in meta.items() if k.startswith(VALUE)},
            "key": meta[KEY], "namespace": tuple(meta[NAMESPACE]),
            "created_at": rec.created_at, "updated_at": rec.updated_at,
        }  # fmt: skip

    def _filters(
        self, prefix: Sequence[str], flt: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Namespace prefix + LangGraph value filter as one core filter (pushed down)."""
        conds: list[dict[str, Any]] = [{"metadata": {KEY: "*"}}]
        conds += [{"metadata": {LEVEL.format(i): {"eq": s}}} for i, s in enumerate(prefix)]
        for field, cond in (flt or {}).items():
            name = VALUE + field
            if isinstance(cond, Mapping) and cond and all(k in _OPERATORS for k in cond):
                conds += [{"metadata": {name: {_OPERATORS[o]: v}}} for o, v in cond.items()]
            elif isinstance(cond, Mapping | list | tuple):
                raise InvalidFilterError(
                    f"store filter on {field!r}: only scalar values and the operators "
                    f"{sorted(_OPERATORS)} are supported"
                )
            else:
                conds.append({"metadata": {name: {"eq": cond} if cond is not None else None}})
        return {"AND": conds}

    # -- operations ----------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run the ops; like LangGraph's InMemoryStore, reads see the state before the puts."""
        ops = list(ops)
        results: list[Result] = [None] * len(ops)
        refresh: dict[str, float] = {}
        gets = [(i, op) for i, op in enumerate(ops) if isinstance(op, GetOp)]
        if gets:
            self._get_many(gets, results, refresh)
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for i, op in enumerate(ops):
            if isinstance(op, SearchOp):
                results[i] = self._search(op, refresh)
            elif isinstance(op, ListNamespacesOp):
                results[i] = self._list_namespaces(op)
            elif isinstance(op, PutOp):
                puts[(op.namespace, op.key)] = op
            elif not isinstance(op, GetOp):
                raise ValueError(f"unknown store operation {type(op).__name__}")
        self._refresh(refresh)
        for op in puts.values():
            self._put(op)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """``batch`` on a worker thread: LanceDB and the embedder never block the loop."""
        return await asyncio.to_thread(self.batch, list(ops))

    def _get_many(
        self, gets: list[tuple[int, GetOp]], results: list[Result], refresh: dict[str, float]
    ) -> None:
        """All GetOps of a batch in as few queries as possible (one per 1000 ids)."""
        wanted = {self.memory_id(op.namespace, op.key): (i, op) for i, op in gets}
        ids = list(wanted)
        chunk = min(1000, self.memory.limits.max_page_size)
        found: dict[str, MemoryRecord] = {}
        if len(ids) == 1:  # the common case: one keyed lookup, one query
            try:
                found[ids[0]] = self.memory.get_record(ids[0], app_id=self.app_id)
            except MemoryNotFoundError:
                pass
            ids = []
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            page = self.memory.get_all_page(
                app_id=self.app_id, filters={"memory_id": {"in": part}}, page_size=len(part)
            )
            found.update((r.id, r) for r in page.results)
        for i, op in gets:
            rec = found.get(self.memory_id(op.namespace, op.key))
            if rec is not None:
                results[i] = Item(**self._args(rec))
                self._want_refresh(rec, op.refresh_ttl, refresh)

    def _search(self, op: SearchOp, refresh: dict[str, float]) -> list[SearchItem]:
        filters = self._filters(op.namespace_prefix, op.filter)
        want = op.offset + op.limit
        if want <= op.offset:
            return []
        recs: list[MemoryRecord]
        scores: list[float | None]
        if op.query:
            filters["AND"].append({"metadata": {INDEXED: True}})
            hits = self.memory.search_hits(
                op.query, app_id=self.app_id, filters=filters, top_k=want
            )[op.offset :]
            recs, scores = list(hits), [h.score for h in hits]
        else:  # no query: newest first, score None (as LangGraph's own stores do)
            page = self.memory.get_all_page(app_id=self.app_id, filters=filters, page_size=want)
            recs = page.results[op.offset :]
            scores = [None] * len(recs)
        out = [SearchItem(**self._args(r), score=sc) for r, sc in zip(recs, scores, strict=True)]
        for rec in recs:
            self._want_refresh(rec, op.refresh_ttl, refresh)
        return out

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        filters = self._filters([])
        for cond in op.match_conditions or ():  # push the fixed labels of prefixes down
            if cond.match_type == "prefix":
                filters["AND"] += [
                    {"metadata": {LEVEL.format(i): {"eq": s}}}
                    for i, s in enumerate(cond.path)
                    if s != "*"
                ]
        seen: set[tuple[str, ...]] = set()
        page_no, size = 1, min(1000, self.memory.limits.max_page_size)
        while True:
            page = self.memory.get_all_page(
                app_id=self.app_id, filters=filters, page=page_no, page_size=size
            )
            seen.update(tuple((r.metadata or {})[NAMESPACE]) for r in page.results)
            if page.next is None:
                break
            page_no = page.next
        spaces = {
            ns[: op.max_depth] if op.max_depth is not None else ns
            for ns in seen
            if all(_matches(c, ns) for c in op.match_conditions or ())
        }
        return sorted(spaces)[op.offset : op.offset + op.limit]

    def _put(self, op: PutOp) -> None:
        mid = self.memory_id(op.namespace, op.key)
        scope = self.scope(op.namespace)
        if op.value is None:
            try:
                self.memory.delete(mid, app_id=self.app_id)
            except MemoryNotFoundError:
                pass
            return
        text, indexed = self._text(op.value, op.index)
        meta: dict[str, Any] = {
            NAMESPACE: list(op.namespace), KEY: op.key, INDEXED: indexed, TTL: op.ttl,
            **{LEVEL.format(i): s for i, s in enumerate(op.namespace)},
            **{VALUE + k: v for k, v in op.value.items()},
        }  # fmt: skip
        expires = None
        if op.ttl is not None:
            expires = self.memory.clock.now() + timedelta(minutes=op.ttl)
        self.memory.put(
            mid, text, user_id=scope.get("user_id"), agent_id=scope.get("agent_id"),
            run_id=scope.get("run_id"), app_id=self.app_id, metadata=meta,
            expiration_date=expires,
        )  # fmt: skip

    # -- ttl refresh ---------------------------------------------------------------------

    @staticmethod
    def _want_refresh(rec: MemoryRecord, flag: bool, refresh: dict[str, float]) -> None:
        ttl = (rec.metadata or {}).get(TTL)
        if flag and ttl is not None:
            refresh[rec.id] = float(ttl)

    def _refresh(self, refresh: dict[str, float]) -> None:
        if not refresh:
            return
        now = self.memory.clock.now()
        by_ttl: dict[float, list[str]] = {}
        for mid, ttl in refresh.items():
            by_ttl.setdefault(ttl, []).append(mid)
        step = self.memory.limits.max_batch
        for ttl, ids in by_ttl.items():
            for start in range(0, len(ids), step):
                # Expiry only: no UPDATE history, no new updated_at (which decay would read).
                self.memory.set_expiration(
                    ids[start : start + step], now + timedelta(minutes=ttl), app_id=self.app_id
                )


def _matches(cond: MatchCondition, ns: tuple[str, ...]) -> bool:
    """LangGraph's namespace match: a prefix or suffix path where ``"*"`` matches any label."""
    if len(ns) < len(cond.path):
        return False
    pairs = zip(ns, cond.path, strict=False)
    if cond.match_type == "suffix":
        pairs = zip(reversed(ns), reversed(cond.path), strict=False)
    elif cond.match_type != "prefix":
        raise ValueError(f"unsupported match type {cond.match_type!r}")
    return all(p == "*" or n == p for n, p in pairs)
