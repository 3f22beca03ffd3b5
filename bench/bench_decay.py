"""Recency decay: what it costs search, and whether recording accesses wears search down.

``python -m bench.bench_decay [--memories 2000] [--searches 10000] [--embedder minilm|hash]``
prints one JSON object.

1. ``on_vs_off``: the same store and queries, each query timed with decay off and on back to
   back (the order alternates), so drift and noise hit both sides alike. Query vectors are
   computed once up front (the default): encoding costs the same either way and would only
   dilute the ratio.
2. ``access_writes``: a copy of the store is set aside ("before"), then the original takes
   ``--searches`` more searches, each recording its hits as accessed (batched into the
   separate accesses table by the background writer). The two stores are then timed side by
   side, query by query: with warm caches, right after reopening both (every memory's access
   history is read back from the table once), and after pruning the table to 20 records per
   memory and compacting it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from mem_integrations import Memory, MemoryConfig
from mem_integrations.testing import FrozenClock, HashEmbedder

from .common import (
    CachedQueryEmbedder,
    machine,
    percentiles,
    real_embedder,
    rss_mb,
    synthetic_queries,
    synthetic_texts,
)

USER = "bench-user"


def _fill(mem: Memory, clock: FrozenClock, n: int) -> None:
    """``n`` memories written over 90 days, so their ages (and decay factors) differ."""
    texts = synthetic_texts(n)
    batch = 100
    for start in range(0, n, batch):
        mem.add(texts[start : start + batch], user_id=USER, infer=False)
        clock.advance(timedelta(days=90) * batch / n)
    mem.optimize()


def _p50_pair(mem: Memory, clock: FrozenClock, queries: list[str], rounds: int) -> dict[str, Any]:
    off: list[float] = []
    on: list[float] = []
    for r in range(rounds):
        for i, q in enumerate(queries):
            order = (False, True) if (i + r) % 2 == 0 else (True, False)
            for flag in order:
                clock.advance(seconds=1)
                t0 = time.perf_counter()
                mem.search_hits(q, user_id=USER, top_k=10, decay=flag)
                (on if flag else off).append(time.perf_counter() - t0)
    p_off, p_on = percentiles(off), percentiles(on)
    return {"off": p_off, "on": p_on, "ratio_p50": round(p_on["p50_ms"] / p_off["p50_ms"], 3)}


def _side_by_side(
    a: Memory, b: Memory, clock: FrozenClock, queries: list[str], rounds: int
) -> dict[str, Any]:
    """Decay-on p50 of two stores, query by query, alternating which goes first."""
    ta: list[float] = []
    tb: list[float] = []
    for r in range(rounds):
        for i, q in enumerate(queries):
            pair = ((a, ta), (b, tb)) if (i + r) % 2 == 0 else ((b, tb), (a, ta))
            for mem, samples in pair:
                clock.advance(seconds=1)
                t0 = time.perf_counter()
                mem.search_hits(q, user_id=USER, top_k=10, decay=True)
                samples.append(time.perf_counter() - t0)
    pa_, pb = percentiles(ta), percentiles(tb)
    return {"before": pa_, "after": pb, "ratio_p50": round(pb["p50_ms"] / pa_["p50_ms"], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--memories", type=int, default=2000)
    ap.add_argument("--searches", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--embedder", choices=["minilm", "hash"], default="minilm")
    args = ap.parse_args()

    embedder: Any = HashEmbedder(384) if args.embedder == "hash" else real_embedder()
    queries = synthetic_queries(args.queries)
    if args.embedder == "minilm":
        embedder = CachedQueryEmbedder(embedder)
        for q in queries:
            embedder.embed_query(q)
    clock = FrozenClock(datetime.now(UTC) - timedelta(days=90))
    uri = tempfile.mkdtemp(prefix="bench-decay-")
    config = MemoryConfig(uri=uri, embedder=embedder, clock=clock)
    mem = Memory(config)
    _fill(mem, clock, args.memories)
    for q in queries:  # warm up both paths (and the access cache) once
        mem.search_hits(q, user_id=USER, decay=True)
        mem.search_hits(q, user_id=USER, decay=False)
    out: dict[str, Any] = {
        "bench": "decay",
        "machine": machine(),
        "memories": args.memories,
        "embedder": args.embedder
        + (" (query vectors precomputed)" if args.embedder == "minilm" else ""),
        "top_k": 10,
    }
    out["on_vs_off"] = _p50_pair(mem, clock, queries, args.rounds)

    # A copy of the store as it is now is the "before"; the original takes the burst.
    mem.close()
    before_uri = uri + "-before"
    shutil.copytree(uri, before_uri)
    mem = Memory(config)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    calls = []
    for i in range(args.searches):
        clock.advance(seconds=1)
        ids = [h.id for h in mem.search_hits(queries[i % len(queries)], user_id=USER, decay=True)]
        t1 = time.perf_counter()
        mem.decay.record_access(ids[:1])  # what a caller pays for recording, per call
        calls.append(time.perf_counter() - t1)
    burst_s = time.perf_counter() - t0
    pending = mem.decay.pending()
    dropped = mem.decay.dropped
    rss_growth = rss_mb() - rss0
    before = Memory(config.model_copy(update={"uri": before_uri}))
    for q in queries:
        before.search_hits(q, user_id=USER, decay=True)
    warm = _side_by_side(before, mem, clock, queries, args.rounds)
    mem.decay.flush()
    access_rows = mem.store.stats().accesses
    access_versions = int(mem.store.accesses.version)
    for m in (mem, before):
        m.close()

    def reopen() -> tuple[Memory, Memory]:
        return Memory(config.model_copy(update={"uri": before_uri})), Memory(config)

    before, mem = reopen()
    cold = _side_by_side(before, mem, clock, queries, 1)
    removed = mem.decay.prune()
    mem.optimize()
    for m in (mem, before):
        m.close()
    before, mem = reopen()
    pruned_cold = _side_by_side(before, mem, clock, queries, 1)
    pruned_warm = _side_by_side(before, mem, clock, queries, args.rounds)
    pruned_rows = mem.store.stats().accesses
    for m in (mem, before):
        m.close()

    out["access_writes"] = {
        "searches": args.searches,
        "burst_seconds": round(burst_s, 1),
        "record_access_call_us_p50": round(1e6 * sorted(calls)[len(calls) // 2], 1),
        "pending_after_burst": pending,
        "dropped": dropped,
        "rss_growth_mb": round(rss_growth, 1),
        "access_rows": access_rows,
        "access_table_versions": access_versions,
        "warm_cache": warm,
        "cold_cache_after_reopen": cold,
        "pruned_rows": removed,
        "access_rows_after_prune": pruned_rows,
        "after_prune_cold_cache": pruned_cold,
        "after_prune_warm_cache": pruned_warm,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
