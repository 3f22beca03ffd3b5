"""Sentence embeddings: the ``Embedder`` protocol (``base``) and the shipped models.

``minilm`` is the offline default; ``e5`` (multilingual-e5-small, 4-bit) is offered by name
behind the ``e5-small`` extra (``registry``). Every model here loads from installed packages
or local paths: nothing in this package touches the network.
"""

from .base import Embedder, FloatMatrix, embed_documents_checked, embed_query_checked
from .e5 import E5SmallEmbedder
from .minilm import (
    MODEL_ENV_VAR,
    TOKENIZER_ENV_VAR,
    MiniLMEmbedder,
    default_embedder,
)
from .registry import EMBEDDERS, resolve_embedder

__all__ = [
    "EMBEDDERS",
    "E5SmallEmbedder",
    "MODEL_ENV_VAR",
    "TOKENIZER_ENV_VAR",
    "Embedder",
    "FloatMatrix",
    "MiniLMEmbedder",
    "default_embedder",
    "embed_documents_checked",
    "embed_query_checked",
    "resolve_embedder",
]
