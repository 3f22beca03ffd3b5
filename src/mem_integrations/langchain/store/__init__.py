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
  the memory id, written with :meth:`Memory.put`; put replaces, ``value=None`` deletes. A row
  is an item only if its id is the hash of the namespace and key its metadata claims and its
  scope columns are the ones that namespace maps to: rows forged through the plain Memory API
  are skipped with a warning, never shown or fatal.
- **Value.** Kept in the memory's metadata, each top-level field ``f`` under ``"value.f"``
  (so ``filter={"f": ...}`` pushes down to LanceDB as a metadata filter), beside reserved
  keys ``lg.namespace``, ``lg.key``, ``lg.indexed``, ``lg.ttl``, ``lg.vectors`` and
  ``lg.ns.<i>`` (one per namespace level, for prefix filters). Filter semantics: ``_filters``.
- **Text.** The memory text is the texts at the index ``fields`` (LangGraph path syntax;
  default ``"$"``, the whole value as JSON) joined by newlines. Each text is also embedded on
  its own and an item scores by its best field, as in LangGraph (see ``_vectors``). Items put
  with ``index=False`` (or with no text at those paths) keep their JSON as text but are
  excluded from semantic search.
- **TTL.** ``ttl`` minutes become the core's ``expiration_date``; expired items vanish from
  reads at once and are deleted by ``sweep_ttl()``, the sweeper thread or
  ``Memory.purge_expired()`` (the core's housekeeping also purges them once
  ``expired_retention`` has passed). Reads with ``refresh_ttl`` push the expiry forward with
  a conditional update.
- **Scores.** Semantic search scores are :meth:`Memory.search_hits` scores: hybrid relevance
  in [0, 1] (``vector_weight`` x cosine + the rest x BM25), times the recency-decay factor
  when decay is on. With ``MemoryConfig(vector_weight=1.0)`` and no decay a score is
  LangGraph's cosine similarity of the best field, floored at 0.
"""

from .._common import missing

try:  # checked here, not only in ._store, so that re-importing the package names the extra
    import langgraph.store.base  # noqa: F401
except ImportError as exc:
    raise missing(exc) from exc

from ._store import LanceDBStore  # noqa: E402

__all__ = ["LanceDBStore"]
