"""S3 requests per call on object storage: ``python -m bench.s3_requests [--n 5]``.

On object storage every request costs a round trip (and money), and the LISTs of a table's
kept versions, which find its latest version, grow with the versions kept. This counts the
requests each ``Memory`` call sends to a local S3 server (moto, its access log parsed), two
ways on the same store: the store checking for the latest version once per table call
(``storage.freshness``, the default) and LanceDB checking before each of its own calls (what
``read_consistency_interval=0`` did before). One process, calls in sequence, background
compaction off so each call's own requests are counted. Writes ``bench/results/
s3-requests.json`` and ``.md``; ratios compare figures of this one run.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage import store as store_module
from mem_integrations.testing import HashEmbedder

from .common import machine

RESULTS = Path(__file__).resolve().parent / "results"
KEYS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


@contextmanager
def s3_server(log: Path) -> Iterator[dict[str, str]]:
    """moto's S3 server in its own process, its access log (one line per request) in ``log``."""
    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-c", "from moto.server import main; main()", "-H", "127.0.0.1"]
    with open(log, "wb") as out:
        proc = subprocess.Popen([*cmd, "-p", str(port)], stdout=out, stderr=out)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **KEYS)
        client.create_bucket(Bucket="bench")
        yield {"aws_endpoint": endpoint, "aws_region": "us-east-1", "allow_http": "true", **KEYS}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def requests(log: Path) -> tuple[int, int]:
    """(LISTs, all requests) in the access log so far."""
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if '" 2' in ln]
    return sum("list-type=2" in ln for ln in lines), len(lines)


def calls(m: Memory, ids: list[str]) -> dict[str, Callable[[int], Any]]:
    return {
        "add": lambda i: ids.append(m.add(f"user note {i} tea", user_id="u")["results"][0]["id"]),
        "get": lambda i: m.get(ids[-1]),
        "get_all": lambda i: m.get_all(user_id="u", limit=50),
        "search": lambda i: m.search("tea bike", user_id="u", top_k=5),
        "update": lambda i: m.update(ids[-1 - i], text=f"changed {i}"),
        "history": lambda i: m.history(ids[-1]),
        "delete": lambda i: m.delete(ids.pop(0)),
    }


def measure(options: dict[str, str], log: Path, prefix: str, n: int) -> dict[str, Any]:
    config = MemoryConfig(uri=f"s3://bench/{prefix}", storage_options=options,
                          embedder=HashEmbedder(), optimize_every=10**9)  # fmt: skip
    out: dict[str, Any] = {}
    with Memory(config) as m:
        ids = [m.add(f"warm note {i}", user_id="w")["results"][0]["id"] for i in range(12)]
        for name, call in calls(m, ids).items():
            before = requests(log)
            for i in range(n):
                call(i)
            after = requests(log)
            lists, sent = after[0] - before[0], after[1] - before[1]
            out[name] = {"lists": lists / n, "requests": sent / n}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5, help="calls of each kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "s3.log"
        with s3_server(log) as options:
            once = measure(options, log, "per-table-call", args.n)
            # What the store did before: LanceDB's own check before each of its calls.
            with mock.patch.object(store_module, "local_path", lambda uri: "not on S3"):
                each = measure(options, log, "per-lancedb-call", args.n)
    rows = {k: {"before": each[k], "after": once[k]} for k in once}
    result = {"machine": machine(), "calls_each": args.n, "per_call": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "s3-requests.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# S3 requests per call (moto, one process, calls in sequence)",
        "",
        f"{args.n} calls of each kind after 12 warm-up adds; `python -m bench.s3_requests`.",
        "Before: LanceDB checks for the latest version before each of its calls. After: the",
        "store checks once per table call (`storage.freshness`).",
        "",
        "| call | LISTs before | LISTs after | ratio | requests before | requests after | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        b, a = r["before"], r["after"]
        ratio = {k: b[k] / max(a[k], 0.1) for k in ("lists", "requests")}
        lines.append(
            f"| {name} | {b['lists']:.1f} | {a['lists']:.1f} | {ratio['lists']:.1f}x "
            f"| {b['requests']:.1f} | {a['requests']:.1f} | {ratio['requests']:.1f}x |"
        )
    (RESULTS / "s3-requests.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
