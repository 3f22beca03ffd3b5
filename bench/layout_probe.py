"""How the order of rows on disk sets a scoped search's cost, raw LanceDB alone.

``python -m bench.layout_probe RAW_STORE [--chunks 10000,50000] [--name layout-probe]``
copies the raw LanceDB table a ``bench.growth build`` made (1k memories per user, users
interleaved as they arrive) into copies whose rows are sorted by user within every chunk of
N rows (as a store writing batches of N in scope order leaves them) and wholly, then times
the same per-user hybrid searches (``RawLance.search``: vector and full-text, prefiltered by
user) on each, interleaved query by query. Why: it is the evidence for storing rows in
scope order (``storage.rows.in_scope_order``); our store is not involved.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow.compute as pc

from .common import machine, percentiles, synthetic_queries
from .rawlance import RawLance, embedder

RESULTS = Path(__file__).resolve().parent / "results"


def sorted_copy(src: str, dst: str, chunk: int | None) -> None:
    """``src``'s table written to ``dst`` sorted by user within chunks of ``chunk`` rows."""
    table = lancedb.connect(src).open_table("raw").to_arrow()
    step = chunk or table.num_rows
    out: Any = None
    db = lancedb.connect(dst)
    for a in range(0, table.num_rows, step):
        part = table.slice(a, step)
        part = part.take(pc.sort_indices(part, sort_keys=[("user_id", "ascending")]))
        out = db.create_table("raw", data=part) if out is None else out
        if a:
            out.add(part)
    del table
    raw = RawLance(dst)
    raw.finish_fill()  # the same indexes and compaction as the source
    raw.close()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.layout_probe", description=__doc__)
    ap.add_argument("raw_store")
    ap.add_argument("--chunks", default="10000,50000")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--name", default="layout-probe")
    args = ap.parse_args()
    layouts: dict[str, str] = {"arrival": args.raw_store}
    for c in [int(x) for x in args.chunks.split(",") if x] + [0]:
        name = f"sorted_per_{c}" if c else "sorted"
        dst = f"{args.raw_store.rstrip('/')}-{name}"
        shutil.rmtree(dst, ignore_errors=True)
        sorted_copy(args.raw_store, dst, c or None)
        layouts[name] = dst
    systems = {k: RawLance(v) for k, v in layouts.items()}
    users = int(systems["arrival"].table.count_rows()) // 1000
    emb = embedder()
    qs = synthetic_queries(args.queries, seed=31)
    who = np.random.default_rng(3).integers(0, users, args.queries)
    lat: dict[str, list[float]] = {k: [] for k in systems}
    for q, u in zip(qs, who, strict=True):
        vec = emb.embed_query(q)
        for k, raw in systems.items():
            t0 = time.perf_counter()
            raw.search(vec, q, f"user-{int(u):05d}")
            lat[k].append(time.perf_counter() - t0)
    res: dict[str, Any] = {"machine": machine(), "users": users, "search": {}}
    for k, v in lat.items():
        res["search"][k] = percentiles(v)
        res["search"][k]["p50_vs_arrival"] = round(
            res["search"][k]["p50_ms"] / percentiles(lat["arrival"])["p50_ms"], 2
        )
    for k, raw in systems.items():
        raw.close()
        if k != "arrival":
            shutil.rmtree(layouts[k], ignore_errors=True)
    res["machine_end"] = machine()
    (RESULTS / f"{args.name}.json").write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res["search"], indent=1))


if __name__ == "__main__":
    main()
