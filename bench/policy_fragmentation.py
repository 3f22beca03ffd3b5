"""Compaction policy side by side: N single adds with ``optimize_every`` = E.

``python -m bench.policy_fragmentation N EVERY CLEANUP_MINUTES`` prints one JSON line: add
throughput, fragments and disk after the stream, and search p50 before/after ``optimize()``.
Uses the HashEmbedder so the store's own cost is what is measured.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

from mem_integrations import Memory, MemoryConfig
from mem_integrations.testing import HashEmbedder

WORDS = (
    "apple banana cherry tennis golf travel paris food music guitar dog cat health run swim "
    "code python rust book movie"
).split()


def search_p50(m: Memory) -> float:
    """Median scoped search latency in ms (first 10 of 60 discarded as warm-up)."""
    xs = []
    for i in range(60):
        t0 = time.perf_counter()
        m.search_hits("tennis golf paris", user_id=f"u{i % 10}", record_access=False)
        xs.append(time.perf_counter() - t0)
    return statistics.median(xs[10:]) * 1000


def main(n: int, every: int, cleanup_minutes: float) -> dict[str, object]:
    tmp = tempfile.mkdtemp(prefix="fragpol-")
    cfg = MemoryConfig(
        uri=tmp,
        embedder=HashEmbedder(dim=384),
        optimize_every=every,
        cleanup_older_than=timedelta(minutes=cleanup_minutes),
    )
    m = Memory(cfg)
    rng = random.Random(1)
    t0 = time.perf_counter()
    for i in range(n):
        m.add(" ".join(rng.choices(WORDS, k=8)) + f" {i}", user_id=f"u{i % 10}")
    fill = time.perf_counter() - t0
    m.wait_for_housekeeping()
    before = search_p50(m)
    frags = m.stats()["fragments"]
    disk = subprocess.run(["du", "-sm", tmp], capture_output=True, text=True).stdout.split()[0]
    m.optimize()
    after = search_p50(m)
    m.close()
    return {
        "n": n,
        "every": every,
        "cleanup_min": cleanup_minutes,
        "adds_per_s": round(n / fill, 1),
        "fragments": frags,
        "disk_mb": int(disk),
        "p50_before_ms": round(before, 2),
        "p50_after_ms": round(after, 2),
        "ratio": round(before / after, 2),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))))
