"""Fast as memory grows (issue 21): ours against raw LanceDB done well (``bench.rawlance``).

``python -m bench.growth [--quick] [--million] [--name NAME]`` runs every case below, each in
its own process, and writes ``bench/results/<name>.json`` and ``.md``. Both systems hold the
same rows (same texts, ids and vectors) and are driven op by op in turn, so a load spike on
the shared machine hits both alike: read the ratios. Vectors come from the deterministic
``HashEmbedder`` at 384 dimensions (MiniLM's width), computed in the timed path for both
systems alike, so the encoder does not hide the store's own cost.

Cases:

- ``loop``: the agent loop at 1k/5k/20k/50k memories per user (one user searched, a second
  user's memories interleaved in the table): add one memory, then search that user.
- ``stream``: a stream of single adds (50 users), add p50/p95 and the folder's size sampled
  every 100 adds (peak) and at rest (after the stream's housekeeping and after optimize).
- ``rss``: RSS before and after N single adds, one process per system.
- ``open``: a store of ``open_rows`` memories (1k per user) opened cold in a fresh process:
  time to first search, RSS peak, searches while housekeeping runs, how long open-time
  background work ran and how many rows it read (counted on LanceDB's query builders).
- ``scale`` (``--million``, opt-in: the fill takes a long time): 1M memories, 1k users, search
  p50/p99 under uniform and Zipf (s=1.2) access, and single adds at that size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from mem_integrations import Memory, MemoryConfig

from .common import machine, peak_rss_mb, percentiles, rss_mb, synthetic_queries, synthetic_texts
from .rawlance import RawLance, embedder, fill_both

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def _disk_mb(path: str) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except OSError:  # removed by a concurrent cleanup
                pass
    return round(total / 1e6, 1)


def _ratio(a: dict[str, float], b: dict[str, float], key: str = "p50_ms") -> float:
    return round(a[key] / b[key], 2) if b[key] else float("nan")


def _ours(uri: str, **kw: Any) -> Memory:
    return Memory(MemoryConfig(uri=uri, embedder=embedder(), **kw))


# -- cases ---------------------------------------------------------------------------------------


def case_loop(per_user: int, n_ops: int) -> dict[str, Any]:
    """Add one memory then search that user, both systems in turn, on a scope of ``per_user``."""
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        ours_uri, raw_uri = f"{tmp}/ours", f"{tmp}/raw"
        users = ["user-a" if i % 2 == 0 else "user-b" for i in range(2 * per_user)]
        t0 = time.perf_counter()
        fill = fill_both(ours_uri, raw_uri, users)
        fill["fill_s"] = round(time.perf_counter() - t0, 1)
        m = _ours(ours_uri)
        m.wait_for_housekeeping()
        raw = RawLance(raw_uri)
        emb = embedder()
        texts = synthetic_texts(n_ops + 2, seed=7, start=50_000_000)
        queries = synthetic_queries(n_ops + 2, seed=8)
        # warm both: the first search reads the scope (ours) / opens the table (raw)
        m.search(queries[0], user_id="user-a", limit=10)
        raw.search(emb.embed_query(queries[0]), queries[0], "user-a")
        samples: dict[str, list[float]] = {k: [] for k in ("oa", "os", "ra", "rs")}
        for i in range(n_ops):
            t, q = texts[i], queries[i + 1]
            t0 = time.perf_counter()
            m.add(t, user_id="user-a", infer=False)
            t1 = time.perf_counter()
            m.search(q, user_id="user-a", limit=10)
            t2 = time.perf_counter()
            raw.add(t, emb.embed_documents([t])[0], "user-a")
            t3 = time.perf_counter()
            raw.search(emb.embed_query(q), q, "user-a")
            t4 = time.perf_counter()
            for k, v in zip(samples, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                samples[k].append(v)
        loop_o = [a + s for a, s in zip(samples["oa"], samples["os"], strict=True)]
        loop_r = [a + s for a, s in zip(samples["ra"], samples["rs"], strict=True)]
        out: dict[str, Any] = {
            "per_user": per_user,
            "table_rows": 2 * per_user,
            "fill": fill,
            "ours": {
                "loop": percentiles(loop_o),
                "add": percentiles(samples["oa"]),
                "search_after_add": percentiles(samples["os"]),
            },
            "raw": {
                "loop": percentiles(loop_r),
                "add": percentiles(samples["ra"]),
                "search_after_add": percentiles(samples["rs"]),
            },
        }
        out["search_after_add_ratio_p50"] = _ratio(
            out["ours"]["search_after_add"], out["raw"]["search_after_add"]
        )
        out["loop_ratio_p50"] = _ratio(out["ours"]["loop"], out["raw"]["loop"])
        m.close()
        raw.close()
    return out


def case_stream(n_adds: int, users: int = 50) -> dict[str, Any]:
    """Single adds in turn; add latency and folder size during and after the stream."""
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        ours_uri, raw_uri = f"{tmp}/ours", f"{tmp}/raw"
        m = _ours(ours_uri)
        raw = RawLance(raw_uri)
        emb = embedder()
        texts = synthetic_texts(n_adds, seed=11, start=60_000_000)
        lat_o: list[float] = []
        lat_r: list[float] = []
        peak_o = peak_r = 0.0
        for i, t in enumerate(texts):
            u = f"user-{i % users:03d}"
            t0 = time.perf_counter()
            m.add(t, user_id=u, infer=False)
            t1 = time.perf_counter()
            raw.add(t, emb.embed_documents([t])[0], u)
            t2 = time.perf_counter()
            lat_o.append(t1 - t0)
            lat_r.append(t2 - t1)
            if i % 100 == 99:
                peak_o = max(peak_o, _disk_mb(ours_uri))
                peak_r = max(peak_r, _disk_mb(raw_uri))
        m.wait_for_housekeeping()
        raw.wait()
        after_o, after_r = _disk_mb(ours_uri), _disk_mb(raw_uri)
        m.store.optimize(cleanup_older_than=timedelta(0))
        raw.table.optimize(cleanup_older_than=timedelta(0))
        rest_o, rest_r = _disk_mb(ours_uri), _disk_mb(raw_uri)
        out: dict[str, Any] = {
            "adds": n_adds,
            "users": users,
            "ours": {
                "add": percentiles(lat_o[2:]),
                "disk_peak_mb": peak_o,
                "disk_after_stream_mb": after_o,
                "disk_at_rest_mb": rest_o,
            },
            "raw": {
                "add": percentiles(lat_r[2:]),
                "disk_peak_mb": peak_r,
                "disk_after_stream_mb": after_r,
                "disk_at_rest_mb": rest_r,
            },
        }
        out["add_ratio_p50"] = _ratio(out["ours"]["add"], out["raw"]["add"])
        out["add_ratio_p95"] = _ratio(out["ours"]["add"], out["raw"]["add"], "p95_ms")
        out["disk_peak_ratio"] = round(peak_o / peak_r, 2) if peak_r else None
        out["disk_rest_ratio"] = round(rest_o / rest_r, 2) if rest_r else None
        m.close()
        raw.close()
    return out


def case_rss(system: str, n_adds: int, users: int = 50) -> dict[str, Any]:
    """RSS before and after ``n_adds`` single adds in this process (one system only)."""
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as tmp:
        emb = embedder()
        texts = synthetic_texts(n_adds, seed=13, start=70_000_000)
        if system == "ours":
            m = _ours(f"{tmp}/s")
            m.add("warm up", user_id="user-000", infer=False)
            before = rss_mb()
            for i, t in enumerate(texts):
                m.add(t, user_id=f"user-{i % users:03d}", infer=False)
            m.wait_for_housekeeping()
            after = rss_mb()
            m.close()
        else:
            raw = RawLance(f"{tmp}/s")
            raw.add("warm up", emb.embed_documents(["warm up"])[0], "user-000")
            before = rss_mb()
            for i, t in enumerate(texts):
                raw.add(t, emb.embed_documents([t])[0], f"user-{i % users:03d}")
            raw.wait()
            after = rss_mb()
            raw.close()
    return {
        "system": system,
        "adds": n_adds,
        "rss_before_mb": before,
        "rss_after_mb": after,
        "growth_mb": round(after - before, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def case_bulk(rounds: int, batch: int, fill_rows: int = 20_000) -> dict[str, Any]:
    """Bulk add through the public API (``add`` of a list of turns, ``infer=False``) next to
    the bare embedder, on a store already holding ``fill_rows`` memories.

    With the real MiniLM the embedder dominates, so this shows what the store adds on top;
    with ``HashEmbedder`` (near-free vectors) the ratio is the store's own throughput.
    """
    from .common import real_embedder
    from .speed import bulk_vs_embedder, fill

    out: dict[str, Any] = {"rounds": rounds, "batch": batch, "fill_rows": fill_rows}
    minilm = real_embedder()
    users = [f"user-{i:03d}" for i in range(20)]
    for name, emb in (("minilm", minilm), ("hash", embedder())):
        with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
            uri = f"{tmp}/ours"
            if name == "minilm":  # MiniLM-like vectors from a pool: the store's model id
                fill(uri, fill_rows, minilm.embed_array(synthetic_texts(512, seed=99)))
            else:
                fill_both(uri, None, [users[i % len(users)] for i in range(fill_rows)])
            m = Memory(MemoryConfig(uri=uri, embedder=emb))
            out[name] = bulk_vs_embedder(m, emb, users, rounds, batch)
            m.close()
    return out


def build(path: str, rows: int, per_user: int = 1000) -> dict[str, Any]:
    """A store (ours and raw side by side) of ``rows`` memories, ``per_user`` each, users mixed."""
    n_users = max(1, rows // per_user)
    users = [f"user-{i % n_users:05d}" for i in range(rows)]
    t0 = time.perf_counter()
    out = fill_both(f"{path}/ours", f"{path}/raw", users)
    out["build_s"] = round(time.perf_counter() - t0, 1)
    out["users"] = n_users
    return out


def _count_reads() -> dict[str, int]:
    """Count rows returned to Python by LanceDB's sync query builders, by thread name prefix."""
    import lancedb.query as lq

    counts: dict[str, int] = {}

    def walk(c: type) -> list[type]:
        subs: list[type] = c.__subclasses__()
        return [c] + [s for k in subs for s in walk(k)]

    for cls in walk(lq.LanceQueryBuilder):
        fn = cls.__dict__.get("to_arrow")
        if fn is None:
            continue

        def wrapped(self: Any, *a: Any, _fn: Callable[..., Any] = fn, **kw: Any) -> Any:
            out = _fn(self, *a, **kw)
            name = threading.current_thread().name.split("_")[0]
            counts[name] = counts.get(name, 0) + out.num_rows
            return out

        setattr(cls, "to_arrow", wrapped)  # noqa: B010
    return counts


def _recovery_reads() -> dict[str, int]:
    """Rows recovery brought into Python, by table (its own count: the whole pass reads
    through Lance datasets, which :func:`_count_reads` does not see)."""
    from mem_integrations.core.storage.recovery import ROWS_READ

    return dict(ROWS_READ)


def case_open(system: str, path: str, users: int, seconds: float) -> dict[str, Any]:
    """Open a built store cold in this process; search users at random for ``seconds``."""
    emb = embedder()
    qs = synthetic_queries(64, seed=21)
    rng = np.random.default_rng(5)
    reads = _count_reads()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    if system == "ours":
        m = _ours(f"{path}/ours")
        t_open = time.perf_counter() - t0

        def search(q: str, u: str) -> None:
            m.search(q, user_id=u, limit=10)

        done_at: list[float] = []

        def waiter() -> None:
            m.wait_for_housekeeping()
            done_at.append(time.perf_counter())

        th = threading.Thread(target=waiter)
        th.start()
    else:
        raw = RawLance(f"{path}/raw")
        t_open = time.perf_counter() - t0

        def search(q: str, u: str) -> None:
            raw.search(emb.embed_query(q), q, u)

        done_at = [t0]
        th = None
    search(qs[0], "user-00000")
    t_first = time.perf_counter() - t0
    lat: list[float] = []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end or (th is not None and th.is_alive()):
        u = f"user-{int(rng.integers(0, users)):05d}"
        t1 = time.perf_counter()
        search(qs[i % len(qs)], u)
        lat.append(time.perf_counter() - t1)
        i += 1
    if th is not None:
        th.join()
    out: dict[str, Any] = {
        "system": system,
        "open_s": round(t_open, 3),
        "open_and_first_search_s": round(t_first, 3),
        "searches_while_housekeeping": percentiles(lat)
        | {"p99_ms": round(float(np.percentile(np.asarray(lat) * 1e3, 99)), 2)},
        "housekeeping_s": round(done_at[0] - t0, 2),
        "rows_read_by_thread": dict(reads),
        "rows_read_by_recovery": _recovery_reads(),
        "rss_before_open_mb": rss0,
        "peak_rss_mb": peak_rss_mb(),
    }
    if system == "ours":
        m.close()
    else:
        raw.close()
    return out


def age(path: str) -> dict[str, Any]:
    """Set-up: move the recovery watermark past every write, as five quiet minutes would.

    Recovery re-reads the writes of the last ``GRACE_NS`` (five minutes) at open, so a store
    opened right after its bulk load is checked whole. This makes the store look like one
    whose writes are older than that, without waiting: valid here because no writer is
    running.
    """
    from mem_integrations.core.storage import watermark

    m = _ours(f"{path}/ours")
    m.wait_for_housekeeping()
    watermark.GRACE_NS = 0
    n = watermark.check(m.store, m.clock, m._engine.history, settled_only=False)
    m.close()
    return {"recovered": n}


def interleaved_searches(
    m: Memory, raw: Any, queries: Sequence[str], users: Sequence[int] | Any
) -> tuple[list[float], list[float]]:
    """Seconds per search of ours and of raw LanceDB, each query in user ``users[i]``'s scope."""
    emb = embedder()
    lo: list[float] = []
    lr: list[float] = []
    for q, u in zip(queries, users, strict=True):
        name = f"user-{int(u):05d}"
        t0 = time.perf_counter()
        m.search(q, user_id=name, limit=10)
        t1 = time.perf_counter()
        raw.search(emb.embed_query(q), q, name)
        lr.append(time.perf_counter() - t1)
        lo.append(t1 - t0)
    return lo, lr


def case_scale(
    path: str, users: int, n_queries: int, n_adds: int, alone: bool = False
) -> dict[str, Any]:
    """Search p50/p99 under uniform and Zipf access, then single adds, both systems in turn.

    ``alone``: ours only, in this process, for its own peak RSS (the ratios need both).
    """
    m = _ours(f"{path}/ours")
    m.wait_for_housekeeping()
    raw: Any = _Idle() if alone else RawLance(f"{path}/raw")
    emb = embedder()
    qs = synthetic_queries(n_queries, seed=31)
    rng = np.random.default_rng(3)
    perm = rng.permutation(users)
    out: dict[str, Any] = {"users": users, "rss_after_open_mb": rss_mb()}
    for access in ("uniform", "zipf"):
        if access == "uniform":
            who = rng.integers(0, users, n_queries)
        else:
            who = perm[np.minimum(rng.zipf(1.2, n_queries), users) - 1]
        lo, lr = interleaved_searches(m, raw, qs, who)
        po = percentiles(lo) | {"p99_ms": round(float(np.percentile(np.asarray(lo) * 1e3, 99)), 2)}
        pr = percentiles(lr) | {"p99_ms": round(float(np.percentile(np.asarray(lr) * 1e3, 99)), 2)}
        out[access] = {
            "ours": po,
            "raw": pr,
            "p50_ratio": _ratio(po, pr),
            "p99_ratio": _ratio(po, pr, "p99_ms"),
        }
    texts = synthetic_texts(n_adds, seed=33, start=80_000_000)
    ao: list[float] = []
    ar: list[float] = []
    for i, t in enumerate(texts):
        u = f"user-{int(rng.integers(0, users)):05d}"
        t0 = time.perf_counter()
        m.add(t, user_id=u, infer=False)
        t1 = time.perf_counter()
        raw.add(t, emb.embed_documents([t])[0], u)
        ar.append(time.perf_counter() - t1)
        ao.append(t1 - t0)
        del i
    out["single_add"] = {"ours": percentiles(ao), "raw": percentiles(ar)}
    out["single_add"]["p50_ratio"] = _ratio(percentiles(ao), percentiles(ar))
    # Searches right after the adds: what the fragments single adds leave cost (no waiting
    # for either system's compaction).
    who = rng.integers(0, users, n_queries)
    lo, lr = interleaved_searches(m, raw, synthetic_queries(n_queries, seed=37), who)
    out["uniform_after_adds"] = {"ours": percentiles(lo), "raw": percentiles(lr)}
    out["uniform_after_adds"]["p50_ratio"] = _ratio(percentiles(lo), percentiles(lr))
    out["peak_rss_both_mb"] = peak_rss_mb()
    # What the scope cache holds at the end (``nbytes`` is its own account, where it exists).
    out["scope_cache"] = {
        "rows": m.store.scopes.rows,
        "mb": round(getattr(m.store.scopes, "nbytes", 0) / 2**20, 1),
    }
    m.close()
    raw.close()
    return out


class _Idle:
    """Stands in for the raw system when ours runs alone (``case_scale(alone=True)``)."""

    def search(self, *args: Any) -> None:
        """Nothing: only ours is measured."""

    def add(self, *args: Any) -> None:
        """Nothing: only ours is measured."""

    def close(self) -> None:
        """Nothing to close."""


# -- runner --------------------------------------------------------------------------------------


def _sub(*args: str, timeout: float = 3 * 3600) -> dict[str, Any]:
    cmd = ["nice", "-n", "5", sys.executable, "-m", "bench.growth", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def run_all(
    quick: bool,
    million: bool,
    only: set[str],
    log: Callable[[str], None],
    sizes: dict[str, int] | None = None,
    save: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every case in its own process; ``sizes`` overrides the counts (keys as ``--sizes``)."""
    size = {
        "loop_ops": 20 if quick else 40,
        "stream": 1000 if quick else 5000,
        "rss": 2000 if quick else 10_000,
        "open": 20_000 if quick else 100_000,
        "scale": 1_000_000 if million else 0,
    } | (sizes or {})
    res: dict[str, Any] = {"machine": machine(), "quick": quick, "encoder": "HashEmbedder(384)"}
    if "loop" in only:
        res["loop"] = {}
        for per_user in [1000, 5000] if quick else [1000, 5000, 20_000, 50_000]:
            log(f"loop {per_user:,}/user ...")
            r = res["loop"][str(per_user)] = _sub("loop", str(per_user), str(size["loop_ops"]))
            if "error" in r:
                log(f"  -> {r['error']}")
            else:
                o, w = r["ours"]["search_after_add"], r["raw"]["search_after_add"]
                log(f"  -> {r['search_after_add_ratio_p50']}x: {o['p50_ms']} vs {w['p50_ms']} ms")
            if save is not None:
                save(res)
    for rows in [size["open"]] if "open" in only else []:
        with tempfile.TemporaryDirectory(prefix="bench-open-") as tmp:
            log(f"open: building {rows:,} ...")
            built = _sub("build", tmp, str(rows))
            res["open"] = {"rows": rows, "build": built}
            for system in ("ours", "raw"):
                r = res["open"][system] = _sub("open", system, tmp, str(rows // 1000), "10")
                log(f"  open {system} -> {r}")
                if save is not None:
                    save(res)
            if "error" not in _sub("age", tmp):  # the same store, writes past the grace
                r = res["open"]["ours_aged"] = _sub("open", "ours", tmp, str(rows // 1000), "10")
                log(f"  open ours, watermark past the load -> {r}")
                if save is not None:
                    save(res)
    if "stream" in only:
        n = size["stream"]
        log(f"stream {n:,} single adds ...")
        r = res["stream"] = _sub("stream", str(n))
        log(f"  -> {r.get('error') or (r['add_ratio_p50'], r['ours']['add'], r['raw']['add'])}")
        if save is not None:
            save(res)
    if "rss" in only:
        n = size["rss"]
        res["rss"] = {}
        for system in ("ours", "raw"):
            log(f"rss {system} {n:,} adds ...")
            r = res["rss"][system] = _sub("rss", system, str(n))
            log(f"  -> {r}")
            if save is not None:
                save(res)
        o, w = res["rss"]["ours"], res["rss"]["raw"]
        if "error" not in o and "error" not in w and w["growth_mb"] > 0:
            res["rss"]["growth_ratio"] = round(o["growth_mb"] / w["growth_mb"], 2)
    if "bulk" in only:
        log("bulk add vs the embedder (MiniLM, HashEmbedder) ...")
        r = res["bulk"] = _sub("bulk", "4" if quick else "8", "256")
        log(f"  -> {r}")
        if save is not None:
            save(res)
    if size["scale"]:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            rows = size["scale"]
            log(f"scale: building {rows:,} (1k per user) ...")
            built = _sub("build", tmp, str(rows))
            log(f"  built {built}")
            res["scale"] = {"rows": rows, "build": built}
            users = str(rows // 1000)
            for system in ("ours", "raw"):
                r = res["scale"][f"open_{system}"] = _sub("open", system, tmp, users, "10")
                log(f"  open {system} -> {r}")
            r = res["scale"]["search"] = _sub("scale", tmp, users, "400", "200")
            log(f"  scale -> {r}")
            r = res["scale"]["ours_alone"] = _sub("scale", tmp, users, "400", "200", "alone")
            log(f"  scale, ours alone (its peak RSS) -> {r}")
            if save is not None:
                save(res)
    res["machine_end"] = machine()
    return res


def write_md(res: dict[str, Any], path: Path) -> None:
    lines = [f"# growth: ours vs raw LanceDB ({res['encoder']}, same rows, interleaved)", ""]
    lines.append(f"machine at start: {res['machine']}; at end: {res.get('machine_end')}")
    if "loop" in res:
        lines += ["", "## agent loop: add one memory, then search that user (p50 ms)", ""]
        lines.append(
            "| per user | ours search after add | raw search | ratio | ours add | raw add | "
            "ours loop | raw loop | ours search p95 | raw search p95 |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for k, r in res["loop"].items():
            if "error" in r:
                lines.append(f"| {int(k):,} | error: {r['error']} |")
                continue
            o, w = r["ours"], r["raw"]
            lines.append(
                f"| {int(k):,} | {o['search_after_add']['p50_ms']} | "
                f"{w['search_after_add']['p50_ms']} | {r['search_after_add_ratio_p50']}x | "
                f"{o['add']['p50_ms']} | {w['add']['p50_ms']} | {o['loop']['p50_ms']} | "
                f"{w['loop']['p50_ms']} | {o['search_after_add']['p95_ms']} | "
                f"{w['search_after_add']['p95_ms']} |"
            )
    s = res.get("stream")
    if s and "error" not in s:
        lines += ["", f"## stream of {s['adds']:,} single adds ({s['users']} users)", ""]
        lines.append("| | add p50 ms | add p95 ms | disk peak MB | after stream MB | at rest MB |")
        lines.append("|---|---|---|---|---|---|")
        for name in ("ours", "raw"):
            b = s[name]
            lines.append(
                f"| {name} | {b['add']['p50_ms']} | {b['add']['p95_ms']} | {b['disk_peak_mb']} | "
                f"{b['disk_after_stream_mb']} | {b['disk_at_rest_mb']} |"
            )
        lines.append(
            f"| ratio | {s['add_ratio_p50']}x | {s['add_ratio_p95']}x | {s['disk_peak_ratio']}x | "
            f" | {s['disk_rest_ratio']}x |"
        )
    r = res.get("rss")
    if r:
        lines += ["", "## RSS over single adds (one process per system)", ""]
        lines.append("| | adds | before MB | after MB | growth MB |")
        lines.append("|---|---|---|---|---|")
        for name in ("ours", "raw"):
            b = r.get(name, {})
            if "error" in b or not b:
                lines.append(f"| {name} | error: {b.get('error')} |")
                continue
            lines.append(
                f"| {name} | {b['adds']:,} | {b['rss_before_mb']} | {b['rss_after_mb']} | "
                f"{b['growth_mb']} |"
            )
        lines.append(f"\ngrowth ratio ours/raw: {r.get('growth_ratio')}")
    b = res.get("bulk")
    if b and "error" not in b:
        lines += ["", f"## bulk add through the public API ({b['batch']} turns per call)", ""]
        lines.append("| embedder | texts | bulk add /s | embedder alone /s | ratio |")
        lines.append("|---|---|---|---|---|")
        for name in ("minilm", "hash"):
            e = b[name]
            lines.append(
                f"| {name} | {e['texts']:,} | {e['bulk_add_per_s']} | {e['embedder_per_s']} | "
                f"{e['bulk_add_vs_embedder']} |"
            )
    for key, title in (("open", "cold open"), ("scale", "scale, 1k memories per user")):
        block = res.get(key)
        if not block:
            continue
        lines += ["", f"## {title} ({block['rows']:,} memories)", "", "```json"]
        lines.append(json.dumps(block, indent=1))
        lines.append("```")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in (
        "loop",
        "stream",
        "rss",
        "bulk",
        "build",
        "open",
        "scale",
        "age",
    ):
        kind, a = sys.argv[1], sys.argv[2:]
        if kind == "loop":
            r = case_loop(int(a[0]), int(a[1]))
        elif kind == "stream":
            r = case_stream(int(a[0]))
        elif kind == "rss":
            r = case_rss(a[0], int(a[1]))
        elif kind == "bulk":
            r = case_bulk(int(a[0]), int(a[1]))
        elif kind == "build":
            r = build(a[0], int(a[1]))
        elif kind == "age":
            r = age(a[0])
        elif kind == "open":
            r = case_open(a[0], a[1], int(a[2]), float(a[3]))
        else:
            r = case_scale(a[0], int(a[1]), int(a[2]), int(a[3]), a[4:] == ["alone"])
        print(json.dumps(r, default=str))
        return
    ap = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--million", action="store_true", help="also the 1M case (long fill)")
    ap.add_argument("--only", default="loop,stream,rss,open")
    ap.add_argument("--name", default="growth")
    ap.add_argument(
        "--sizes",
        default="",
        help="override counts, e.g. loop_ops=20,stream=2000,rss=3000,open=100000,scale=200000",
    )
    args = ap.parse_args()
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f}s] {msg}", flush=True)

    only = {s.strip() for s in args.only.split(",") if s.strip()}
    sizes = {k: int(v) for k, v in (kv.split("=") for kv in args.sizes.split(",") if kv)}
    RESULTS.mkdir(exist_ok=True)

    def save(res: dict[str, Any]) -> None:  # after every case: a stopped run keeps its cases
        res["sizes"] = sizes
        res["total_s"] = round(time.perf_counter() - t0, 1)
        (RESULTS / f"{args.name}.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
        write_md(res, RESULTS / f"{args.name}.md")

    save(run_all(args.quick, args.million, only, log, sizes, save))
    log(f"wrote bench/results/{args.name}.json and .md")


if __name__ == "__main__":
    main()
