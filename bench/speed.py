"""Speed of our store: add (single and bulk) and search p50/p95 at a given size, 1k per user.

Run one size per process (``python -m bench.speed size 100000``) so RSS is per size; the
suite runner does that. Large stores are filled with real MiniLM vectors of a small pool
(jittered) written straight through the store in big commits, then compacted: the fill is
set-up, not a measurement. Everything measured goes through the public ``Memory`` API:

- search end to end with the real embedder (query encode included), and excluding the
  encode (the same queries' vectors cached), with decay off and on, and with no scope held
  in RAM (``search_cache_rows=0``: LanceDB's two queries alone);
- bulk add (``add`` of a list of messages, one commit per call) next to the bare embedder's
  throughput on the same texts, interleaved so machine load hits both alike;
- single adds (one text per call) latency;
- fragmentation: a store built by N single adds, with the default optimize policy and with
  compaction switched off, against the same store after ``optimize()``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mem_integrations import Memory, MemoryConfig

from .common import (
    CachedQueryEmbedder,
    PoolEmbedder,
    chunks,
    machine,
    memory_rows,
    peak_rss_mb,
    percentiles,
    real_embedder,
    rss_mb,
    synthetic_queries,
    synthetic_texts,
    timed,
)

PER_USER = 1000
FILL_CHUNK = 50_000


def _users(n: int, per_user: int = PER_USER) -> list[str]:
    return [f"user-{i // per_user:05d}" for i in range(n)]


def fill(uri: str, n: int, pool: np.ndarray, per_user: int = PER_USER) -> dict[str, Any]:
    """Bulk-write ``n`` memories (``per_user`` each) and compact: a fresh, optimized store."""
    emb = PoolEmbedder(pool)
    m = Memory(MemoryConfig(uri=uri, embedder=emb))
    users = _users(n, per_user)
    now = m.clock.now()
    t0 = time.perf_counter()
    for a, b in chunks(n, FILL_CHUNK):
        texts = synthetic_texts(b - a, seed=a, start=a)
        m.store.append(memory_rows(m._engine.schema, texts, emb.array(b - a), users[a:b], now))
    t_write = time.perf_counter() - t0
    m.store.wait_for_housekeeping()
    t1 = time.perf_counter()
    m.optimize()
    t_opt = time.perf_counter() - t1
    stats = m.stats()
    m.close()
    return {
        "rows": n,
        "write_s": round(t_write, 1),
        "optimize_s": round(t_opt, 1),
        "bytes": stats["bytes"],
        "fragments": stats["fragments"],
    }


def search_block(
    m: Memory, emb: CachedQueryEmbedder, users: list[str], n_queries: int, *, decay: bool
) -> dict[str, Any]:
    """p50/p95 of search excluding the query encode (cached vectors) and end to end."""
    qs = synthetic_queries(n_queries, seed=len(users))
    rng = np.random.default_rng(7)
    who = [users[i] for i in rng.integers(0, len(users), n_queries)]
    for q in qs:  # cache every query vector first
        emb.embed_query(q)
    i = 0

    def one() -> None:
        nonlocal i
        m.search_hits(qs[i % n_queries], user_id=who[i % n_queries], top_k=10, decay=decay)
        i += 1

    cached = timed(one, n_queries)
    emb.cache.clear()
    i = 0
    e2e = timed(one, n_queries, warmup=0)
    return {"search_excl_embed": percentiles(cached), "search_e2e": percentiles(e2e)}


def bulk_vs_embedder(
    m: Memory, emb: Any, users: list[str], rounds: int, batch: int
) -> dict[str, Any]:
    """Bulk add throughput next to the bare embedder's, same texts, interleaved rounds.

    ``emb`` is the store's own embedder (MiniLM's ``embed_array``, or any ``embed_documents``).
    """
    encode = getattr(emb, "embed_array", None) or emb.embed_documents
    add_s, emb_s, n = 0.0, 0.0, 0
    for r in range(rounds):
        texts = synthetic_texts(batch, seed=10_000 + r, start=10_000_000 + r * batch)
        t0 = time.perf_counter()
        encode([t + " " for t in texts])  # different strings, same lengths
        emb_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        m.add(
            [{"role": "user", "content": t} for t in texts],
            user_id=users[r % len(users)],
            infer=False,
        )
        add_s += time.perf_counter() - t0
        n += batch
    return {
        "texts": n,
        "batch": batch,
        "bulk_add_per_s": round(n / add_s, 1),
        "embedder_per_s": round(n / emb_s, 1),
        "bulk_add_vs_embedder": round(emb_s / add_s, 3),
    }


def single_adds(m: Memory, users: list[str], n: int, seed: int) -> dict[str, Any]:
    texts = synthetic_texts(n, seed=seed, start=20_000_000 + seed * n)
    it = iter(range(n))

    def one() -> None:
        j = next(it)
        m.add(texts[j], user_id=users[j % len(users)], infer=False)

    return percentiles(timed(one, n - 2, warmup=2))


def run_size(n: int, *, n_queries: int, bulk_rounds: int, n_single: int) -> dict[str, Any]:
    emb = real_embedder()
    pool = emb.embed_array(synthetic_texts(512, seed=99, start=99_000_000))
    out: dict[str, Any] = {"size": n, "per_user": PER_USER, "machine": machine()}
    with tempfile.TemporaryDirectory(prefix=f"bench-{n}-") as tmp:
        uri = str(Path(tmp) / "store")
        out["fill"] = fill(uri, n, pool)
        users = sorted(set(_users(n)))
        cached = CachedQueryEmbedder(emb)
        m = Memory(MemoryConfig(uri=uri, embedder=cached))
        out["rss_after_open_mb"] = rss_mb()
        out["decay_off"] = search_block(m, cached, users, n_queries, decay=False)
        out["decay_on"] = search_block(m, cached, users, n_queries, decay=True)
        # The same store and queries through LanceDB's two queries alone (no scope in RAM).
        lance = Memory(MemoryConfig(uri=uri, embedder=cached, search_cache_rows=0))
        out["lancedb_path"] = search_block(lance, cached, users, n_queries, decay=False)
        lance.close()
        q = synthetic_queries(1, seed=5)[0]
        out["query_embed"] = percentiles(timed(lambda: emb.embed_array([q]), n_queries))
        # Bare-metal reference: numpy dot product over one user's vectors, already in RAM.
        mat = np.asarray(
            m.store.query(f"user_id = '{users[0]}'", ["vector"])["vector"].to_pylist(),
            dtype=np.float32,
        )
        qv = emb.embed_array([q])[0]
        out["numpy_bruteforce_scope"] = percentiles(
            timed(lambda: np.argpartition(-(mat @ qv), 10)[:10], n_queries)
        )
        out["bulk_add"] = bulk_vs_embedder(m, emb, users, bulk_rounds, 256)
        out["single_add"] = single_adds(m, users, n_single, seed=1)
        out["rss_end_mb"] = rss_mb()
        out["peak_rss_mb"] = peak_rss_mb()
        out["stats_end"] = m.stats()
        m.close()
    return out


def run_fragmentation(
    n_adds: int,
    *,
    n_queries: int,
    policies: tuple[str, ...] = ("default_policy", "every_100", "no_compaction"),
) -> dict[str, Any]:
    """A store made of ``n_adds`` single adds, per compaction policy.

    Search is sampled all along the stream (a few searches every 2% of the adds), not only
    at the end: with compaction every N commits the fragment count saw-tooths between 1 and N,
    so one measurement at the end depends on where in the cycle the stream stopped.
    ``policies=("default_policy",)`` skips the others; at 10k adds the uncompacted store means
    10k fragments and takes longer than the rest of the suite together.
    """
    emb = real_embedder()
    pool = emb.embed_array(synthetic_texts(512, seed=99, start=99_000_000))
    users = sorted(set(_users(n_adds)))
    queries = synthetic_queries(8, seed=12)
    stride = max(1, n_adds // 50)
    out: dict[str, Any] = {"single_adds": n_adds, "per_user": PER_USER, "machine": machine()}
    for policy, every in (("default_policy", None), ("every_100", 100), ("no_compaction", 10**9)):
        if policy not in policies:
            continue
        with tempfile.TemporaryDirectory(prefix="bench-frag-") as tmp:
            uri = str(Path(tmp) / "store")
            extra = {} if every is None else {"optimize_every": every}
            fill_m = Memory(MemoryConfig(uri=uri, embedder=PoolEmbedder(pool), **extra))
            texts = synthetic_texts(n_adds, seed=3)
            lat, during = [], []
            t_all = time.perf_counter()
            for j, t in enumerate(texts):
                t0 = time.perf_counter()
                fill_m.add(t, user_id=users[j % len(users)], infer=False)
                lat.append(time.perf_counter() - t0)
                if j % stride == stride - 1:
                    for k, q in enumerate(queries[:3]):
                        t1 = time.perf_counter()
                        fill_m.search_hits(q, user_id=users[(j + k) % len(users)])
                        during.append(time.perf_counter() - t1)
            fill_s = time.perf_counter() - t_all
            fill_m.store.wait_for_housekeeping()
            block: dict[str, Any] = {
                "add_latency_first_10pct": percentiles(lat[: max(2, n_adds // 10)]),
                "add_latency_last_10pct": percentiles(lat[-max(2, n_adds // 10) :]),
                "adds_per_s": round(n_adds / fill_s, 1),
                "search_during_stream": percentiles(during),
                "stats_before": fill_m.stats(),
                "disk_mb_before": round(_disk_mb(uri), 1),
            }
            fill_m.close()
            cached = CachedQueryEmbedder(emb)
            m = Memory(MemoryConfig(uri=uri, embedder=cached, **extra))
            block["before"] = search_block(m, cached, users, n_queries, decay=False)
            t0 = time.perf_counter()
            m.optimize()
            block["optimize_s"] = round(time.perf_counter() - t0, 2)
            block["after_optimize"] = search_block(m, cached, users, n_queries, decay=False)
            block["stats_after"] = m.stats()
            before = block["before"]["search_excl_embed"]["p50_ms"]
            after = block["after_optimize"]["search_excl_embed"]["p50_ms"]
            block["p50_ratio_vs_compacted"] = round(before / after, 2)
            block["during_stream_p50_ratio_vs_compacted"] = round(
                block["search_during_stream"]["p50_ms"] / after, 2
            )
            m.close()
            out[policy] = block
    return out


def _disk_mb(path: str) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6


def main(argv: list[str]) -> None:
    kind, n = argv[0], int(argv[1])
    opts = json.loads(argv[2]) if len(argv) > 2 else {}
    if kind == "size":
        res = run_size(n, **opts)
    elif kind == "fragmentation":
        res = run_fragmentation(n, **opts)
    else:
        raise SystemExit(f"unknown kind {kind}")
    json.dump(res, sys.stdout, default=str)


if __name__ == "__main__":
    main(sys.argv[1:])
