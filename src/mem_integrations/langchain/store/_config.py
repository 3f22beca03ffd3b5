"""LangGraph's ``IndexConfig`` checked against the Memory's embedder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...core.embeddings import Embedder
from ...core.errors import ValidationError

__all__ = ["index_fields"]

_INDEX_KEYS = frozenset({"dims", "embed", "fields"})


def index_fields(embedder: Embedder, fields: Sequence[str] | None, index: Any) -> list[str]:
    """Check ``index`` against the Memory's embedder: never a silently different model."""
    if index is not None:
        if not isinstance(index, Mapping):
            raise ValidationError("index must be a dict with dims, embed and/or fields")
        unknown = sorted(set(index) - _INDEX_KEYS)
        if unknown:
            raise ValidationError(f"index keys {unknown} are not supported (dims/embed/fields)")
        if index.get("dims") not in (None, embedder.dim):
            raise ValidationError(
                f"index dims {index['dims']} differ from the Memory's embedder ({embedder.dim})"
            )
        embed = index.get("embed")
        own = (embedder, getattr(embedder, "embeddings", embedder))
        if embed is not None and not any(embed is e or embed == e for e in own):
            raise ValidationError(
                "index['embed'] must be the Memory's embedder; build the Memory with "
                "embedder=LangChainEmbedder(embed) to search with that model"
            )
        if index.get("fields") is not None:
            if fields is not None and list(fields) != list(index["fields"]):
                raise ValidationError("fields and index['fields'] disagree")
            fields = index["fields"]
    chosen = ["$"] if fields is None else fields
    if isinstance(chosen, str) or not chosen or not all(isinstance(f, str) for f in chosen):
        raise ValidationError('fields must be a non-empty list of paths, e.g. ["$"]')
    return list(chosen)
