"""Where a 1M store's peak RSS happens: ``bench.growth``'s scale case, ours alone, sampled.

``python -m bench.rss_phases STORE OUT.json`` opens ``STORE/ours`` (a scale store of
``bench.growth build``) and runs what ``case_scale(alone=True)`` runs (open and wait for
housekeeping, 400 uniform searches, 400 Zipf searches, 200 single adds, 400 uniform
searches) while a thread samples RSS every 50 ms, tagged with the phase and with what runs
in the background (``rec``: the open-time history check, ``hk``: a compaction). After each
phase it records RSS, pyarrow's pool, LanceDB's index and metadata cache (the store's
session) and the scope cache; during the adds, the duplicate check's reads (``whole``: the
whole table's hashes, ``rebase``: the ``seq`` query after a version it did not make) and
the compactions. Run it right after the build to see the open-time whole check and a bulk
load's grace. Writes the summary and every sample to ``OUT.json``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import numpy as np
import pyarrow as pa

from .common import machine, peak_rss_mb, percentiles, rss_mb, synthetic_queries, synthetic_texts
from .growth import _Idle, _ours, interleaved_searches


def run(path: str, users: int = 1000, n_queries: int = 400, n_adds: int = 200) -> dict[str, Any]:
    """The phases of ``case_scale(alone=True)`` with RSS sampled; see the module docstring."""
    phase = ["open"]
    samples: list[tuple[float, float, str, str]] = []
    stop = threading.Event()
    t0 = time.perf_counter()
    m = _ours(f"{path}/ours")

    def background() -> str:
        hk = m.store.housekeeping._current
        rec = "" if m._engine.recovery.done() else "rec"
        return rec + ("hk" if hk is not None and not hk.done() else "")

    def sample() -> None:
        while not stop.wait(0.05):
            samples.append((round(time.perf_counter() - t0, 2), rss_mb(), phase[0], background()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out: dict[str, Any] = {"rss_at_open_mb": rss_mb(), "after": {}}

    def after(name: str) -> None:
        out["after"][name] = {
            "rss_mb": rss_mb(),
            "arrow_pool_mb": round(pa.default_memory_pool().bytes_allocated() / 2**20, 1),
            "lance_session_mb": round(m.store.session.size_bytes / 2**20, 1),
            "scope_cache_mb": round(getattr(m.store.scopes, "nbytes", 0) / 2**20, 1),
            "peak_mb": peak_rss_mb(),
        }

    phase[0] = "wait_housekeeping"
    m.wait_for_housekeeping()
    m._engine.recovery.result()
    after("open")
    raw = _Idle()
    qs = synthetic_queries(n_queries, seed=31)
    rng = np.random.default_rng(3)
    perm = rng.permutation(users)
    for access in ("uniform", "zipf"):
        phase[0] = access
        if access == "uniform":
            who = rng.integers(0, users, n_queries)
        else:
            who = perm[np.minimum(rng.zipf(1.2, n_queries), users) - 1]
        out[access] = percentiles(interleaved_searches(m, raw, qs, who)[0])
        after(access)
    phase[0] = "adds"
    reads: dict[str, list[float]] = {}
    real = m.store.seen._read

    def counted(where: str | None, columns: list[str], limit: int | None) -> pa.Table:
        t = time.perf_counter()
        rows = real(where, columns, limit)
        kind = "whole" if where is None else ("rebase" if "seq" in where else "scope")
        reads.setdefault(kind, []).append(round((time.perf_counter() - t) * 1e3, 1))
        return rows

    m.store.seen._read = counted
    runs = m.store.housekeeping.schedule.runs
    lat: list[float] = []
    for text in synthetic_texts(n_adds, seed=33, start=80_000_000):
        u = f"user-{int(rng.integers(0, users)):05d}"
        t = time.perf_counter()
        m.add(text, user_id=u, infer=False)
        lat.append(time.perf_counter() - t)
    out["single_add"] = percentiles(lat) | {
        "over_100_ms": [round(x * 1e3) for x in lat if x > 0.1],
        "duplicate_check_reads_ms": reads,
        "compactions": m.store.housekeeping.schedule.runs - runs,
    }
    after("adds")
    phase[0] = "uniform_after_adds"
    who = rng.integers(0, users, n_queries)
    lo = interleaved_searches(m, raw, synthetic_queries(n_queries, seed=37), who)[0]
    out["uniform_after_adds"] = percentiles(lo)
    after("uniform_after_adds")
    m.close()
    stop.set()
    sampler.join()
    peaks: dict[str, dict[str, Any]] = {}
    for t, rss, ph, bg in samples:
        if rss > peaks.get(ph, {}).get("rss_mb", 0.0):
            peaks[ph] = {"rss_mb": rss, "at_s": t, "background": bg}
    out["peak_by_phase"] = peaks
    out["peak_rss_mb"] = peak_rss_mb()
    out["samples"] = samples
    return out


def main() -> None:
    path, dest = sys.argv[1], sys.argv[2]
    res = {"machine": machine(), "store": path} | run(path)
    with open(dest, "w") as fh:
        json.dump(res, fh)
    print(json.dumps({k: v for k, v in res.items() if k != "samples"}))


if __name__ == "__main__":
    main()
