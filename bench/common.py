"""Shared pieces of the bench: timing, RSS, synthetic corpora and embedders.

Everything here is benchmark scaffolding, not library code: it may use numpy freely and print.
"""

from __future__ import annotations

import hashlib
import os
import random
import resource
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from mem_integrations.core.embeddings import MiniLMEmbedder, default_embedder

FloatMatrix = npt.NDArray[np.float32]

NAMES = [
    "Alex",
    "Sarah",
    "Priya",
    "Tom",
    "Mei",
    "Jonas",
    "Ana",
    "Omar",
    "Lena",
    "Kofi",
    "Ravi",
    "Chloe",
    "Diego",
    "Yuki",
    "Nora",
    "Sam",
]
VERBS = [
    "likes",
    "started",
    "visited",
    "cooked",
    "bought",
    "painted",
    "read about",
    "planned",
    "talked about",
    "booked",
    "finished",
    "tried",
    "recommended",
    "lost",
    "fixed",
]
OBJECTS = [
    "a trip to Lisbon",
    "sourdough bread",
    "the pottery class",
    "a new guitar",
    "dark mode in the editor",
    "a marathon training plan",
    "vegan lasagna",
    "a sci-fi novel",
    "the garden shed",
    "a camping weekend",
    "Python type hints",
    "a jazz concert",
    "the dentist appointment",
    "a birthday gift for mom",
    "climbing shoes",
    "the quarterly report",
    "a puppy named Biscuit",
    "Spanish lessons",
    "a road bike",
    "the kitchen renovation",
]
WHEN = [
    "yesterday",
    "last week",
    "on Monday",
    "this morning",
    "in March",
    "two years ago",
    "over the weekend",
    "after work",
    "during the holidays",
    "last summer",
]


def synthetic_texts(n: int, seed: int = 0, start: int = 0) -> list[str]:
    """Short first-person-ish memories, unique (an exact duplicate would be deduplicated)."""
    rng = random.Random(seed)
    return [
        f"{rng.choice(NAMES)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)} "
        f"(note {start + i})"
        for i in range(n)
    ]


def synthetic_queries(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"What did {rng.choice(NAMES)} say about {rng.choice(OBJECTS)}?" for _ in range(n)]


def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / mean in milliseconds."""
    a = np.asarray(samples_s, dtype=np.float64) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "mean_ms": round(float(a.mean()), 2),
        "n": int(a.size),
    }


def timed(fn: Callable[[], Any], n: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def rss_mb() -> float:
    """Current resident set size (Linux /proc), falling back to the peak."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> dict[str, Any]:
    import platform

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_1m": round(load[0], 2),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def real_embedder() -> MiniLMEmbedder:
    emb = default_embedder()
    emb.embed_array(["warm up the session"])
    return emb


class PoolEmbedder:
    """Fast stand-in for bulk fills: real MiniLM vectors of a small pool, jittered and renormed.

    It claims the real model's id, so a store filled with it reopens with the real embedder
    for end-to-end searches. Only used to fill large stores quickly; never for recall.
    """

    def __init__(self, pool: FloatMatrix, seed: int = 0) -> None:
        self.pool = pool
        self.dim = pool.shape[1]
        self.model_id = MiniLMEmbedder.model_id
        self.rng = np.random.default_rng(seed)

    def array(self, n: int) -> FloatMatrix:
        idx = self.rng.integers(0, len(self.pool), n)
        v = self.pool[idx] + self.rng.normal(0, 0.05, (n, self.dim)).astype(np.float32)
        out: FloatMatrix = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
        return out

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.array(len(texts)).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.array(1)[0].tolist()  # type: ignore[no-any-return]


class CachedQueryEmbedder:
    """Wraps the real embedder; queries seen before come from a dict (search minus encode)."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.model_id = inner.model_id
        self.cache: dict[str, list[float]] = {}

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        v = self.cache.get(text)
        if v is None:
            v = self.cache[text] = self.inner.embed_query(text)
        return v


def memory_rows(
    schema: pa.Schema,
    texts: Sequence[str],
    vectors: FloatMatrix,
    users: Sequence[str],
    now: datetime,
    step: timedelta = timedelta(milliseconds=1),
) -> pa.Table:
    """Rows in the store's own schema, for bulk fills that bypass per-call validation.

    Row ``j`` is stamped ``now + j * step``: memories written through the API each carry the
    instant of their add, and one instant for a whole million-row fill is a column no real
    store has, which Lance stores as a constant page whose random reads cost more (a take of
    10 rows from a 500k-row constant timestamp page: 1.9 ms vs 0.5 ms for distinct stamps).
    """
    n = len(texts)
    dim = vectors.shape[1]
    ts = pa.array([now + j * step for j in range(n)], type=pa.timestamp("us", tz="UTC"))
    cols: dict[str, pa.Array] = {
        "id": pa.array([str(uuid.uuid4()) for _ in range(n)]),
        "memory": pa.array(list(texts)),
        "hash": pa.array(
            [hashlib.md5(t.encode(), usedforsecurity=False).hexdigest() for t in texts]
        ),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim),
        "user_id": pa.array(list(users)),
        "created_at": ts,
        "updated_at": ts,
    }
    arrays = [cols[f.name] if f.name in cols else pa.nulls(n, type=f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)
