"""Embedders by name: ``Memory(embedder="e5-small")``, each model behind its own extra.

A name is resolved when the ``Memory`` is built; the model itself loads on the first embed.
An unknown name, or a model whose extra is not installed, is a :class:`ConfigurationError`
that says what to install, rather than an ``ImportError`` deep inside a search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ..errors import ConfigurationError
from .base import Embedder
from .e5 import E5SmallEmbedder
from .minilm import default_embedder

__all__ = ["EMBEDDERS", "resolve_embedder"]

#: name -> (factory, extra that installs its weights, or None when they ship with the core)
EMBEDDERS: dict[str, tuple[Callable[[], Embedder], str | None]] = {
    "minilm": (default_embedder, None),
    "e5-small": (E5SmallEmbedder, "e5-small"),
}


def resolve_embedder(spec: Any) -> Embedder:
    """``None`` -> the default, a name -> that model, anything else -> used as it is."""
    if spec is None:
        return default_embedder()
    if not isinstance(spec, str):
        return cast(Embedder, spec)  # checked where it is used (embed_*_checked)
    entry = EMBEDDERS.get(spec.strip().lower())
    if entry is None:
        raise ConfigurationError(
            f"unknown embedder {spec!r}; named embedders: {sorted(EMBEDDERS)}, or pass an "
            "object with dim, model_id, embed_documents and embed_query"
        )
    return entry[0]()
