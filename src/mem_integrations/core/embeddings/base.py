"""The ``Embedder`` protocol and the checks every vector passes before it reaches the store.

The store calls :func:`embed_documents_checked` on every write, so a misbehaving custom
embedder is caught before a vector of the wrong shape (or a NaN) reaches LanceDB, where it
would silently poison every later search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..errors import EmbeddingError

__all__ = ["Embedder", "FloatMatrix", "embed_documents_checked", "embed_query_checked"]

FloatMatrix = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """What the store needs from an embedding model; any object with these members works."""

    dim: int
    model_id: str

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed texts to be stored."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (asymmetric models may treat it differently)."""
        ...


def _as_checked_matrix(raw: Any, n: int, dim: int, who: str) -> FloatMatrix:
    """Validate untrusted embedder output, since the store cannot repair bad vectors later."""
    try:
        arr = np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{who} returned something that is not a numeric matrix") from exc
    if arr.ndim != 2 or arr.shape != (n, dim):
        raise EmbeddingError(
            f"{who} returned shape {arr.shape}, expected ({n}, {dim}) for {n} text(s)"
        )
    if not np.isfinite(arr).all():
        raise EmbeddingError(f"{who} returned NaN or infinite values")
    return arr


def _call(who: str, fn: Callable[[Any], Any], arg: Any) -> Any:
    """Call a model; whatever it raises becomes an ``EmbeddingError`` naming the model."""
    try:
        return fn(arg)
    except EmbeddingError:
        raise
    except Exception as exc:
        raise EmbeddingError(f"{who} failed: {exc}") from exc


def embed_documents_checked(embedder: Embedder, texts: Sequence[str]) -> FloatMatrix:
    """Embed ``texts`` and guarantee a finite float32 ``(len(texts), embedder.dim)`` matrix."""
    if isinstance(texts, str):
        raise EmbeddingError("texts must be a sequence of strings, not a single string")
    texts = list(texts)
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    who = f"embedder {embedder.model_id!r}"
    raw = _call(who, embedder.embed_documents, texts)
    return _as_checked_matrix(raw, len(texts), embedder.dim, who)


def embed_query_checked(embedder: Embedder, text: str) -> npt.NDArray[np.float32]:
    """Embed one query and guarantee a finite float32 vector of ``embedder.dim``."""
    who = f"embedder {embedder.model_id!r}"
    raw = _call(who, embedder.embed_query, text)
    try:
        vec = np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{who} returned something that is not a numeric vector") from exc
    matrix = vec.reshape(1, -1) if vec.ndim == 1 else vec
    row: npt.NDArray[np.float32] = _as_checked_matrix(matrix, 1, embedder.dim, who)[0]
    return row
