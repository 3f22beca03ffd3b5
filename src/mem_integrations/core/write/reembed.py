"""Filling an empty store from another one, re-embedding every memory: ``Memory.import_store``.

A store refuses an embedder other than the one it was built with (vectors of two models are not
comparable), so moving to another model means a new store: this copies every memory (ids,
scopes, metadata, categories, actor, role, timestamps, expiration; expired ones included) with
vectors from this store's embedder, then the history and the access records (recency decay)
unchanged. The source is only read, so an interrupted run leaves it intact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from ..embeddings import embed_documents_checked
from ..engine import Engine
from ..errors import StoreError, ValidationError
from ..storage.copy import append_as_is, conform, read_source

__all__ = ["import_store"]


def import_store(
    engine: Engine,
    source_uri: str,
    *,
    batch_size: int = 256,
    storage_options: dict[str, str] | None = None,
    total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Copy ``source_uri`` into this (empty) store; ``progress`` gets each batch's size."""
    if batch_size < 1:
        raise ValidationError("batch_size must be at least 1")
    if source_uri == engine.store.uri:
        raise ValidationError("import_store copies another store: the source is this store")
    engine.settle_history()  # the open-time history check must not see a half-copied store
    store = engine.store
    if store.memories.count_rows() or store.history.count_rows():
        raise ValidationError(f"{store.uri!r} already holds memories; import into a new store")
    src = read_source(source_uri, storage_options)
    rows = src.memories
    if total is not None:
        total(rows.num_rows)
    for start in range(0, rows.num_rows, batch_size):
        part = rows.slice(start, batch_size)
        vectors = embed_documents_checked(engine.embedder, part.column("memory").to_pylist())
        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        column = pa.FixedSizeListArray.from_arrays(flat, engine.embedder.dim)
        # own=False: the source's history may not explain its rows; recovery checks them
        store.append(conform(part.append_column("vector", column), engine.schema), own=False)
        if progress is not None:
            progress(part.num_rows)
    append_as_is(store, src.history, src.accesses)
    counts = {
        "memories": store.memories.count_rows(),
        "history": store.history.count_rows(),
        "accesses": store.accesses.count_rows(),
    }
    expected = {
        "memories": rows.num_rows,
        "history": src.history.num_rows if src.history is not None else 0,
        "accesses": src.accesses.num_rows if src.accesses is not None else 0,
    }
    if counts != expected:  # pragma: no cover - a lost write; nothing in the source changed
        raise StoreError(f"import_store copied {counts}, expected {expected}")
    return {
        "source": source_uri,
        "from_model": src.meta.get("model_id"),
        "to_model": engine.embedder.model_id,
        **counts,
    }
