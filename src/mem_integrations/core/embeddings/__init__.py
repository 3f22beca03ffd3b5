"""Sentence embeddings: the ``Embedder`` protocol (``base``) and the shipped models.

``minilm`` is the offline default. Every model here loads from installed packages or local
paths: nothing in this package touches the network.
"""

from .base import Embedder, FloatMatrix, embed_documents_checked, embed_query_checked
from .minilm import (
    MODEL_ENV_VAR,
    TOKENIZER_ENV_VAR,
    MiniLMEmbedder,
    default_embedder,
)

__all__ = [
    "MODEL_ENV_VAR",
    "TOKENIZER_ENV_VAR",
    "Embedder",
    "FloatMatrix",
    "MiniLMEmbedder",
    "default_embedder",
    "embed_documents_checked",
    "embed_query_checked",
]
