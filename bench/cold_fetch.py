"""A cold scoped search in one step or two (``storage.late``), and raw LanceDB, interleaved.

``python -m bench.cold_fetch PATH [N]`` on a store built by ``python -m bench.growth build
PATH ROWS``. Every search of ours goes through LanceDB (``search_cache_rows=0``: no scope is
held in RAM, no background read competes), so what differs is only how the records are read:
in one step (the two queries select every record column) or in two (they select ``id`` and
``vector``, then one take fetches the records of the ``top_k`` rows kept). The three are run
in turn for each query (order alternating), users drawn uniformly; prints one JSON line
(p50 ms, ratios of this one run).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from mem_integrations import Memory, MemoryConfig

from .common import machine, synthetic_queries
from .rawlance import RawLance, embedder


def run(path: str, n: int, users: int) -> dict[str, Any]:
    m = Memory(MemoryConfig(uri=f"{path}/ours", embedder=embedder(), search_cache_rows=0))
    m.wait_for_housekeeping()
    raw = RawLance(f"{path}/raw")
    emb = embedder()
    two_steps = m.store.scoped_search

    def one_step(*args: Any, **kw: Any) -> Any:
        return two_steps(*args, **{**kw, "fetch_later": False})

    searches = {"two_steps": two_steps, "one_step": one_step}
    times: dict[str, list[float]] = {"two_steps": [], "one_step": [], "raw": []}
    who = np.random.default_rng(5).integers(0, users, n)
    for i, (q, u) in enumerate(zip(synthetic_queries(n, seed=41), who, strict=True)):
        name = f"user-{int(u):05d}"
        for kind in ("two_steps", "one_step", "raw") if i % 2 else ("raw", "one_step", "two_steps"):
            if kind == "raw":
                t0 = time.perf_counter()
                raw.search(emb.embed_query(q), q, name)
            else:
                m.store.scoped_search = searches[kind]  # type: ignore[method-assign]
                t0 = time.perf_counter()
                m.search(q, user_id=name, limit=10)
            times[kind].append(time.perf_counter() - t0)
    m.close()
    raw.close()
    p50 = {k: round(float(np.median(v[10:])) * 1e3, 2) for k, v in times.items()}
    return {
        "n": n,
        "p50_ms": p50,
        "two_steps_vs_one_step": round(p50["two_steps"] / p50["one_step"], 3),
        "two_steps_vs_raw": round(p50["two_steps"] / p50["raw"], 3),
        "one_step_vs_raw": round(p50["one_step"] / p50["raw"], 3),
        "machine": machine(),
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 400, 200)))
