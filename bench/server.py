"""Through the server vs in process: ``python -m bench.server [--n 200] [--clients 4]``.

The same store (1,000 memories of 10 users, the bundled MiniLM embedder) is loaded with
``--n`` single-message adds and ``--n`` searches by ``--clients`` concurrent clients, three
ways: calling one shared ``Memory`` from threads, and through ``mem-integrations serve`` with
1 and with 4 worker processes (plain HTTP with the payloads ``MemoryClient`` sends). Each mode
gets a fresh copy of the seeded store. Writes ``bench/results/server.json`` and ``server.md``;
every ratio compares figures of this one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from mem_integrations import Memory

from .common import machine, percentiles, synthetic_queries, synthetic_texts

RESULTS = Path(__file__).resolve().parent / "results"
USERS = [f"user{i}" for i in range(10)]


def seed(folder: Path) -> None:
    with Memory(uri=str(folder)) as m:
        texts = synthetic_texts(1000)
        for i, user in enumerate(USERS):
            m.add([{"role": "user", "content": t} for t in texts[i * 100 : (i + 1) * 100]],
                  user_id=user)  # fmt: skip
        m.optimize()


def load(call: Callable[[int, str, int], None], n: int, clients: int) -> dict[str, Any]:
    """``n`` calls split over ``clients`` threads: throughput and latency percentiles."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(c: int) -> None:
        mine = []
        for i in range(c, n, clients):
            t0 = time.perf_counter()
            try:
                call(c, USERS[i % len(USERS)], i)
            except Exception as exc:  # counted and reported, never dropped silently
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                continue
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ok = len(latencies)
    return {"rps": round(ok / wall, 1), **percentiles(latencies), "errors": len(errors),
            "first_error": errors[0] if errors else None}  # fmt: skip


def in_process(folder: Path, n: int, clients: int) -> dict[str, Any]:
    adds, queries = synthetic_texts(n, seed=7, start=10_000), synthetic_queries(n)
    with Memory(uri=str(folder)) as m:
        m.search("warm up", user_id=USERS[0])
        add = load(lambda c, u, i: m.add(adds[i], user_id=u), n, clients)
        search = load(lambda c, u, i: m.search(queries[i], user_id=u, top_k=10), n, clients)
    return {"add": add, "search": search}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def through_server(folder: Path, workers: int, n: int, clients: int) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-c", "from mem_integrations.cli import main; main()", "serve",
           "--uri", str(folder),
           "--port", str(port), "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, start_new_session=True)
    sessions = [httpx.Client(base_url=url, timeout=300) for _ in range(clients)]
    try:
        for _ in range(3000):  # bounded wait for every worker to load the model
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            try:
                proc.wait(timeout=0.1)
                raise RuntimeError(f"server exited with {proc.returncode}")
            except subprocess.TimeoutExpired:
                pass
        adds, queries = synthetic_texts(n, seed=7, start=10_000), synthetic_queries(n)
        for c in sessions:  # each worker's model and scope cache warm, as in process
            for u in USERS[:2]:
                c.post("/v3/memories/search/", json={"query": "warm", "filters": {"user_id": u}})

        def add(c: int, user: str, i: int) -> None:
            body = {"messages": [{"role": "user", "content": adds[i]}], "user_id": user}
            sessions[c].post("/v3/memories/add/", json=body).raise_for_status()

        def search(c: int, user: str, i: int) -> None:
            body = {"query": queries[i], "filters": {"user_id": user}, "top_k": 10}
            sessions[c].post("/v3/memories/search/", json=body).raise_for_status()

        return {"add": load(add, n, clients), "search": load(search, n, clients)}
    finally:
        for c in sessions:
            c.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=120)


def markdown(out: dict[str, Any]) -> str:
    m = out["machine"]
    lines = [
        "# Benchmark results: `server`",
        "",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}; load average {m['loadavg_1m']} at "
        f"start. {out['n']} adds and {out['n']} searches per mode, {out['clients']} concurrent "
        "clients, 1,000 memories in 10 users, bundled MiniLM embedder. Latencies in ms; "
        "ratios are mode / in process within this run.",
        "",
        "| mode | add req/s | add p50 | add p95 | add errors | search req/s | search p50 |"
        " search p95 | add req/s vs in process | search req/s vs in process |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = out["modes"]["in process"]
    for name, r in out["modes"].items():
        a, s = r["add"], r["search"]
        lines.append(
            f"| {name} | {a['rps']} | {a['p50_ms']} | {a['p95_ms']} | {a['errors']} | {s['rps']} | "
            f"{s['p50_ms']} | {s['p95_ms']} | {a['rps'] / base['add']['rps']:.2f}x | "
            f"{s['rps'] / base['search']['rps']:.2f}x |"
        )
    errors = [f"- {name}, {op}: {r[op]['first_error']}" for name, r in out["modes"].items()
              for op in ("add", "search") if r[op]["errors"]]  # fmt: skip
    if errors:
        lines += ["", "Failed calls (counted, excluded from latencies; first error of each):",
                  *errors]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--name", default="server")
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": machine(), "n": args.n, "clients": args.clients,
                           "modes": {}}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "seeded"
        seed(template)
        runs: list[tuple[str, Callable[[Path], dict[str, Any]]]] = [
            ("in process", lambda f: in_process(f, args.n, args.clients)),
            ("server, 1 worker", lambda f: through_server(f, 1, args.n, args.clients)),
            ("server, 4 workers", lambda f: through_server(f, 4, args.n, args.clients)),
        ]
        for i, (name, run) in enumerate(runs):
            folder = Path(tmp) / f"run{i}"
            shutil.copytree(template, folder)
            out["modes"][name] = run(folder)
            print(name, json.dumps(out["modes"][name]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / f"{args.name}.md").write_text(markdown(out))
    print(markdown(out))


if __name__ == "__main__":
    main()
