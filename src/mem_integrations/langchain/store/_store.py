"""The ``LanceDBStore`` class: LangGraph's batch operations over ``Memory`` calls."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
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

from ...core.embeddings import embed_query_checked
from ...core.errors import MemoryNotFoundError, ValidationError
from ...core.memory import Memory
from ...core.records import MemoryRecord
from .._common import sync_memory
from ._async import Coalescing
from ._config import index_fields
from ._filters import VALUE, ValueFilter, compile_filter
from ._ttl import TTL, TTLSweeper
from ._vectors import VECTORS, encode_fields, rescore

__all__ = ["LanceDBStore"]

log = logging.getLogger(__name__)

NAMESPACE = "lg.namespace"
KEY = "lg.key"
INDEXED = "lg.indexed"
LEVEL = "lg.ns.{}"
_ID_SPACE = uuid.UUID("5b0c6f9e-3f43-4b1e-9d51-6c1f0d2a7e11")
_SCOPE_TARGETS = ("user_id", "agent_id", "run_id")
_MAX_WARNED = 10_000
R = TypeVar("R", bound=MemoryRecord)
Kept = list[tuple[R, dict[str, Any]]]


class LanceDBStore(TTLSweeper, Coalescing, BaseStore):
    """LangGraph long-term memory store backed by a :class:`~mem_integrations.Memory`.

    Example::

        store = LanceDBStore(Memory(), namespace_scope={"user_id": 1})
        agent = create_agent(model, tools, store=store)
        store.put(("memories", "alice"), "tea", {"text": "Alice drinks green tea"})
        store.search(("memories", "alice"), query="what does alice drink?")

    ``index`` takes LangGraph's ``IndexConfig`` keys ``dims``, ``embed`` and ``fields``; the
    vectors are the ``Memory``'s, so ``dims``/``embed`` may only restate its embedder (or the
    LangChain ``Embeddings`` its ``LangChainEmbedder`` wraps). The store is safe to share
    between threads; concurrent async calls on one loop run as one ``batch`` on a worker
    thread (see ``_async``).
    """

    supports_ttl: bool = True

    def __init__(
        self,
        memory: Any,
        *,
        app_id: str = "langgraph",
        namespace_scope: Mapping[str, int] | None = None,
        fields: Sequence[str] | None = None,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        self.memory: Memory = sync_memory(memory)
        if not isinstance(app_id, str) or not app_id.strip():
            raise ValidationError("app_id must be a non-empty string")
        self.app_id = app_id
        self.namespace_scope = dict(namespace_scope or {})
        bad = set(self.namespace_scope) - set(_SCOPE_TARGETS)
        if bad:
            raise ValidationError(f"namespace_scope keys must be among {_SCOPE_TARGETS}: {bad}")
        self.fields = index_fields(self.memory.embedder, fields, index)
        embedder = self.memory.embedder
        embed: Any = getattr(embedder, "embeddings", embedder)  # the LangChain model if wrapped
        self.index_config: IndexConfig = {
            "dims": embedder.dim, "embed": embed, "fields": list(self.fields),
        }  # fmt: skip
        self.ttl_config = ttl
        self._warned: set[str] = set()

    def setup(self) -> None:
        """Nothing to migrate (the Memory opened its tables); kept for SQL-store callers."""

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

    def _verified(self, rec: MemoryRecord) -> dict[str, Any] | None:
        """The item a row holds, if this store wrote it; else None and one warning per row.

        Anyone with the app's id can write ``lg.*`` metadata through the plain Memory API.
        A row counts only if its id is the uuid5 of the namespace and key it claims (the id
        is what put/get address), and its scope columns are the ones that namespace maps to.
        """
        meta = rec.metadata if isinstance(rec.metadata, dict) else {}
        ns, key = meta.get(NAMESPACE), meta.get(KEY)
        if (
            isinstance(key, str)
            and isinstance(ns, list)
            and ns
            and all(isinstance(s, str) and s for s in ns)
            and rec.app_id == self.app_id
            and rec.id == self.memory_id(tuple(ns), key)
            and self._in_scope(rec, tuple(ns))
        ):
            value = {k[len(VALUE) :]: v for k, v in meta.items() if k.startswith(VALUE)}
            return {
                "value": value, "key": key, "namespace": tuple(ns),
                "created_at": rec.created_at, "updated_at": rec.updated_at,
            }  # fmt: skip
        if rec.id not in self._warned and len(self._warned) < _MAX_WARNED:
            self._warned.add(rec.id)
            log.warning(
                "LanceDBStore(app_id=%r): skipping memory %s, whose lg.* metadata does not "
                "match its id and scope (not written by this store)", self.app_id, rec.id
            )  # fmt: skip
        return None

    def _in_scope(self, rec: MemoryRecord, ns: tuple[str, ...]) -> bool:
        try:
            return all(getattr(rec, k) == v for k, v in self.scope(ns).items())
        except InvalidNamespaceError:
            return False

    def _keep(self, recs: Sequence[R], prefix: Sequence[str], vf: ValueFilter) -> Kept[R]:
        out: Kept[R] = []
        for rec in recs:
            args = self._verified(rec)
            if args and args["namespace"][: len(prefix)] == tuple(prefix):
                if vf.matches(args["value"]):
                    out.append((rec, args))
        return out

    def _filters(self, prefix: Sequence[str], vf: ValueFilter | None = None) -> dict[str, Any]:
        """Namespace prefix + the exact part of the value filter, as one core filter."""
        conds: list[dict[str, Any]] = [{"metadata": {KEY: "*"}}]
        conds += [{"metadata": {LEVEL.format(i): {"eq": s}}} for i, s in enumerate(prefix)]
        return {"AND": conds + (vf.pushdown if vf else [])}

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
        seen: dict[str, list[Any]] = {}  # identical reads of one batch are answered once
        for i, op in enumerate(ops):
            if isinstance(op, SearchOp | ListNamespacesOp):
                key = repr(op)
                if key not in seen:
                    seen[key] = (
                        self._search(op, refresh)
                        if isinstance(op, SearchOp)
                        else self._list_namespaces(op)
                    )
                results[i] = list(seen[key])
            elif isinstance(op, PutOp):
                puts[(op.namespace, op.key)] = op
            elif not isinstance(op, GetOp):
                raise ValueError(f"unknown store operation {type(op).__name__}")
        self._refresh(refresh)
        self._write(list(puts.values()))
        return results

    def _get_many(
        self, gets: list[tuple[int, GetOp]], results: list[Result], refresh: dict[str, float]
    ) -> None:
        """All GetOps of a batch in as few queries as possible (one per 1000 ids)."""
        ids = list({self.memory_id(op.namespace, op.key) for _, op in gets})
        chunk = min(1000, self.memory.limits.max_page_size)
        found: dict[str, MemoryRecord] = {}
        if len(ids) == 1:  # the common case: one keyed lookup, one query
            try:
                found[ids[0]] = self.memory.get_record(
                    ids[0], app_id=self.app_id, show_expired=False
                )
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
            args = self._verified(rec) if rec is not None else None
            if rec is not None and args is not None:
                results[i] = Item(**args)
                self._want_refresh(rec, op.refresh_ttl, refresh)

    def _search(self, op: SearchOp, refresh: dict[str, float]) -> list[SearchItem]:
        vf = compile_filter(op.filter)
        want = op.offset + op.limit
        if want <= op.offset:
            return []
        if op.query:
            scored = self._semantic(op.query, op.namespace_prefix, vf, want)
        else:  # no query: newest first, score None (as LangGraph's own stores do)
            kept = self._listing(op.namespace_prefix, vf, want)
            scored = [(None, rec, args) for rec, args in kept]
        out = []
        for score, rec, args in scored[op.offset : want]:
            out.append(SearchItem(**args, score=score))
            self._want_refresh(rec, op.refresh_ttl, refresh)
        return out

    def _listing(self, prefix: Sequence[str], vf: ValueFilter, want: int) -> Kept[MemoryRecord]:
        """Verified, matching items newest first; pages on past skipped rows to fill ``want``."""
        filters = self._filters(prefix, vf)
        out: Kept[MemoryRecord] = []
        page_no, size = 1, min(self.memory.limits.max_page_size, max(want, 100))
        while len(out) < want:
            page = self.memory.get_all_page(
                app_id=self.app_id, filters=filters, page=page_no, page_size=size
            )
            out += self._keep(page.results, prefix, vf)
            if page.next is None:
                break
            page_no = page.next
        return out

    def _semantic(
        self, query: str, prefix: Sequence[str], vf: ValueFilter, want: int
    ) -> list[tuple[float | None, MemoryRecord, dict[str, Any]]]:
        """Hybrid search, then each item re-scored by its best field (see ``_vectors``).

        Candidates come from the core's search on the row vector and BM25; the pool is 4x
        what is asked (at least 40) and grows while skipped or filtered rows leave it short.
        """
        filters = self._filters(prefix, vf)
        filters["AND"].append({"metadata": {INDEXED: True}})
        cap = self.memory.limits.max_top_k
        pool = min(cap, max(4 * want, 40))
        while True:
            hits = self.memory.search_hits(
                query, app_id=self.app_id, filters=filters, top_k=pool, record_access=False
            )
            kept = self._keep(hits, prefix, vf)
            if len(kept) >= want or len(hits) < pool or pool >= cap:
                break
            pool = min(cap, pool * 4)
        scores = [h.score for h, _ in kept]
        if any(VECTORS in (h.metadata or {}) for h, _ in kept):
            qvec = embed_query_checked(self.memory.embedder, query)
            dim, weight = self.memory.embedder.dim, self.memory.config.vector_weight
            scores = [rescore(h, qvec, dim, weight) for h, _ in kept]
        ranked = sorted(zip(scores, kept, strict=True), key=lambda t: -t[0])[:want]
        self.memory.decay.record_access([h.id for _, (h, _) in ranked])
        return [(s, h, a) for s, (h, a) in ranked]

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
            kept = self._keep(page.results, (), ValueFilter())
            seen.update(args["namespace"] for _, args in kept)
            if page.next is None:
                break
            page_no = page.next
        spaces = {
            ns[: op.max_depth] if op.max_depth is not None else ns
            for ns in seen
            if all(_matches(c, ns) for c in op.match_conditions or ())
        }
        return sorted(spaces)[op.offset : op.offset + op.limit]

    def _write(self, ops: Sequence[PutOp]) -> None:
        """A batch's puts in one ``put_many`` commit (per ``max_batch``), its deletes in one.

        Every put is checked before anything is written, so a bad one changes nothing.
        """
        items = [self._put_item(op) for op in ops if op.value is not None]
        gone = [self.memory_id(op.namespace, op.key) for op in ops if op.value is None]
        for start in range(0, len(items), self.memory.limits.max_batch):
            self.memory.put_many(items[start : start + self.memory.limits.max_batch])
        for start in range(0, len(gone), 1000):
            part = {"memory_id": {"in": gone[start : start + 1000]}}
            self.memory.delete_all(app_id=self.app_id, filters=part)

    def _put_item(self, op: PutOp) -> dict[str, Any]:
        assert op.value is not None
        texts = _texts(op.value, self.fields if op.index is None else op.index)
        text = "\n".join(texts) if texts else json.dumps(op.value, sort_keys=True, default=str)
        text = text[: self.memory.limits.max_text_chars]
        meta: dict[str, Any] = {
            NAMESPACE: list(op.namespace), KEY: op.key, INDEXED: bool(texts), TTL: op.ttl,
            **{LEVEL.format(i): s for i, s in enumerate(op.namespace)},
            **{VALUE + k: v for k, v in op.value.items()},
        }  # fmt: skip
        room = self.memory.limits.max_metadata_bytes - len(json.dumps(meta, default=str)) - 64
        vectors = encode_fields(self.memory.embedder, text, texts, room)
        if vectors is not None:
            meta[VECTORS] = vectors
        expires = None
        if op.ttl is not None:
            expires = self.memory.clock.now() + timedelta(minutes=op.ttl)
        return {
            "memory_id": self.memory_id(op.namespace, op.key), "text": text,
            **self.scope(op.namespace), "metadata": meta, "expiration_date": expires,
        }  # fmt: skip


def _texts(value: Mapping[str, Any], paths: Sequence[str] | bool) -> list[str]:
    """The non-blank texts at LangGraph index paths (``False``: not indexed)."""
    if paths is False or paths is True:
        return []
    return [t for path in paths for t in get_text_at_path(value, path) if t.strip()]


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
