"""What small fragments cost searches at 1M memories, and what merging and indexing cost.

``python -m bench.merge_cost STORE [ADDS]`` takes a scale store built by ``bench.growth``
(``STORE/ours`` and ``STORE/raw``, 1k memories per user), makes ``ADDS`` single adds to ours
with background compaction off, then measures uniform-access search p50 (ours and raw
LanceDB interleaved) at three points: with the single-add fragments, after merging them
(Lance ``compact_files`` at the smallest tier), and after folding them into the indexes
(``optimize_indices``); and how long each of the two steps took. It writes
``bench/results/merge-cost.json``. This is why background compaction merges often and
indexes rarely (``core.storage.compaction.Schedule``). The store keeps the added rows.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from .common import machine, percentiles, synthetic_queries, synthetic_texts
from .growth import RESULTS, _ours, interleaved_searches
from .rawlance import RawLance


def main(path: str, adds: int = 240, n_queries: int = 80) -> dict[str, Any]:
    m = _ours(f"{path}/ours", optimize_every=10**9)  # no background compaction
    m.wait_for_housekeeping()
    raw = RawLance(f"{path}/raw")
    rng = np.random.default_rng(int(time.time()))
    m.store.scopes.missed = lambda where: False  # type: ignore[method-assign]  # cold reads only
    out: dict[str, Any] = {"machine": machine(), "adds": adds}

    def searches(label: str) -> None:
        qs = synthetic_queries(n_queries, seed=int(rng.integers(0, 10**6)))
        lo, lr = interleaved_searches(m, raw, qs, rng.integers(0, 1000, n_queries))
        po, pr = percentiles(lo), percentiles(lr)
        out[label] = {"ours": po, "raw": pr, "p50_ratio": round(po["p50_ms"] / pr["p50_ms"], 2)}
        print(label, out[label], flush=True)

    m.optimize()
    searches("compacted")
    start = 95_000_000 + int(rng.integers(0, 10**6))
    for text in synthetic_texts(adds, seed=int(rng.integers(0, 10**4)), start=start):
        m.add(text, user_id=f"user-{int(rng.integers(0, 1000)):05d}", infer=False)
    out["fragments_after_adds"] = m.stats()["fragments"]
    searches("after_single_adds")
    table = m.store.memories
    t0 = time.perf_counter()
    table.to_lance().optimize.compact_files(target_rows_per_fragment=64)
    table.checkout_latest()
    out["merge_s"] = round(time.perf_counter() - t0, 2)
    m.store.scopes.clear()
    searches("after_merge")
    t0 = time.perf_counter()
    table.to_lance().optimize.optimize_indices()
    table.checkout_latest()
    out["index_s"] = round(time.perf_counter() - t0, 2)
    m.store.scopes.clear()
    searches("after_index_refresh")
    out["machine_end"] = machine()
    m.close()
    raw.close()
    return out


if __name__ == "__main__":
    res = main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
    (RESULTS / "merge-cost.json").write_text(json.dumps(res, indent=1) + "\n")
