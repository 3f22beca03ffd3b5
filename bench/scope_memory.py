"""What one memory held in the scope cache costs: RSS per held row against the cache's account.

Fills the scope cache of a store whose memories are scattered over the table (users mixed,
as ``bench.growth build`` writes them) by searching ``users`` scopes once each, and reports,
every 30 scopes, the process's RSS (after ``malloc_trim``) and the cache's own account
(``ScopeCache.nbytes``). Two variants, each in a fresh process:

- ``copies``: the code as it is (a snapshot keeps exact copies of its rows);
- ``slices``: the rows kept as LanceDB returned them (``scope_index.compact`` replaced by the
  identity), as before this change: each row pins part of the pages it was decoded from.

The marginal cost per row is taken between the first and the last checkpoint, so the fixed
costs (the analysis caches, LanceDB's own caches filling up) mostly cancel out.

    python -m bench.growth build /tmp/s 200000 && python -m bench.growth age /tmp/s
    python -m bench.scope_memory /tmp/s/ours 150
"""

from __future__ import annotations

import ctypes
import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import machine, synthetic_queries

RESULTS = Path(__file__).resolve().parent / "results"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def run(path: str, users: int, variant: str) -> dict[str, Any]:
    """One variant in this process (see the module docstring)."""
    from bench.growth import _ours
    from mem_integrations.core.storage import scope_index

    if variant == "slices":
        scope_index.compact = lambda rows: rows  # type: ignore[assignment]
    libc = ctypes.CDLL("libc.so.6")
    m = _ours(path, search_cache_rows=10**7, search_cache_mb=10**5)
    m.wait_for_housekeeping()
    qs = synthetic_queries(users + 1, seed=31)
    m.search(qs[-1], user_id=f"user-{users:05d}", limit=10)  # imports and caches settle
    gc.collect()
    libc.malloc_trim(0)
    start_rss, start_rows, start_mb = _rss_mb(), m.store.scopes.rows, m.store.scopes.nbytes
    points = []
    for i in range(users):
        m.search(qs[i], user_id=f"user-{i:05d}", limit=10)
        if i % 30 == 29:
            gc.collect()
            libc.malloc_trim(0)
            points.append(
                {
                    "scopes": i + 1,
                    "held_rows": m.store.scopes.rows - start_rows,
                    "rss_mb": round(_rss_mb() - start_rss, 1),
                    "accounted_mb": round((m.store.scopes.nbytes - start_mb) / 2**20, 1),
                }
            )
    m.close()
    first, last = points[0], points[-1]
    rows = last["held_rows"] - first["held_rows"]
    return {
        "points": points,
        "rss_bytes_per_row": round((last["rss_mb"] - first["rss_mb"]) * 2**20 / rows),
        "accounted_bytes_per_row": round(
            (last["accounted_mb"] - first["accounted_mb"]) * 2**20 / rows
        ),
    }


def main() -> None:
    if sys.argv[1] == "one":
        print(json.dumps(run(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
        return
    path, users = sys.argv[1], sys.argv[2]
    out: dict[str, Any] = {"machine": machine(), "store": path, "users": int(users)}
    for variant in ("slices", "copies"):
        cmd = [sys.executable, "-m", "bench.scope_memory", "one", path, users, variant]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(variant, out[variant]["rss_bytes_per_row"], "B/row", flush=True)
    out["machine_end"] = machine()
    (RESULTS / "scope-memory.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
