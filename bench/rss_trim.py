"""Resident memory of a 1M store under search, with and without giving freed memory back.

``python -m bench.rss_trim STORE`` opens ``STORE/ours`` (a scale store of ``bench.growth``)
in a fresh process per variant, runs 400 uniform then 400 Zipf searches (the scope cache
fills to its 100k-row budget), and records RSS at open, every 200 searches, after the queued
scope reads, and the process's peak; the ``trim`` variant leaves ``storage.memtrim`` on (the
default), ``no_trim`` turns it off. Writes ``bench/results/rss-trim.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np

from .common import machine, peak_rss_mb, rss_mb, synthetic_queries
from .growth import RESULTS, ROOT, _ours


def run(path: str, trim: bool) -> dict[str, Any]:
    from mem_integrations.core.storage import memtrim

    if not trim:
        memtrim._malloc_trim = None
    m = _ours(f"{path}/ours")
    m.wait_for_housekeeping()
    out: dict[str, Any] = {"after_open_mb": rss_mb(), "during": []}
    rng = np.random.default_rng(3)
    perm = rng.permutation(1000)
    zipf = perm[np.minimum(rng.zipf(1.2, 400), 1000) - 1]
    who = [*rng.integers(0, 1000, 400), *zipf]
    for i, (q, u) in enumerate(zip(synthetic_queries(800, seed=31), who, strict=True)):
        m.search(q, user_id=f"user-{int(u):05d}", limit=10)
        if i % 200 == 199:
            held = m.store.scopes.rows
            out["during"].append({"searches": i + 1, "rss_mb": rss_mb(), "held_rows": held})
    m.store.search.wait_for_loads()
    out["after_loads_mb"] = rss_mb()
    out["peak_rss_mb"] = peak_rss_mb()
    m.close()
    return out


def main(path: str) -> dict[str, Any]:
    res: dict[str, Any] = {"machine": machine()}
    for variant in ("no_trim", "trim"):
        cmd = [sys.executable, "-m", "bench.rss_trim", path, variant]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        res[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(variant, res[variant], flush=True)
    res["machine_end"] = machine()
    return res


if __name__ == "__main__":
    if len(sys.argv) > 2:
        print(json.dumps(run(sys.argv[1], sys.argv[2] == "trim")))
    else:
        (RESULTS / "rss-trim.json").write_text(json.dumps(main(sys.argv[1]), indent=1) + "\n")
