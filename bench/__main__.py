"""Run the benchmark suite: ``python -m bench [--quick | --sizes 10k,100k,1m] [--name NAME]``.

Writes ``bench/results/<name>.json``, ``<name>.md`` (the tables) and ``<name>-*.png`` (plots).
Each measurement runs in its own process, so RSS figures are per measurement and one peer's
imports cannot slow another. Ratios compare figures taken in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import machine
from .peers import PEERS, PIP
from .report import write_markdown, write_plots

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def _size(text: str) -> int:
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if t[-1:] in "km" else t) * mult)


def _sub(module: str, *args: str, timeout: float) -> dict[str, Any]:
    """Run ``python -m bench.<module> args`` and parse the JSON it prints."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", f"bench.{module}", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    try:
        out: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {"error": "no JSON on stdout", "stdout_tail": proc.stdout[-500:]}
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    return out


def install_peers() -> None:
    pkgs = sorted({p for ps in PIP.values() for p in ps})
    print(f"installing peers into {sys.prefix}: {' '.join(pkgs)}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *pkgs], check=False)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes: under 5 minutes")
    ap.add_argument("--sizes", default=None, help="store sizes, e.g. 10k,100k,1m")
    ap.add_argument("--name", default=None, help="result file name (default: quick or full)")
    ap.add_argument("--install-peers", action="store_true", help="pip-install the peers first")
    ap.add_argument(
        "--no-rss", action="store_true", help="skip the per-system RSS runs of a full peer run"
    )
    ap.add_argument(
        "--skip",
        default="",
        help="sections to skip: speed,fragmentation,growth,peers,locomo,embedders,decay,extraction",
    )
    ap.add_argument(
        "--million", action="store_true", help="growth: also the 1M-memory case (long fill)"
    )
    ap.add_argument(
        "--peers", default=None, help="peers: only these systems, e.g. ours,ours_queued,mem0"
    )
    args = ap.parse_args()
    if args.install_peers:
        install_peers()
    quick = args.quick
    sizes = [_size(s) for s in (args.sizes or ("10k" if quick else "10k,100k,1m")).split(",")]
    name = args.name or ("quick" if quick else "full")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"name": name, "quick": quick, "machine": machine(), "sizes": sizes}
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.0f}s] {msg}", flush=True)

    if "speed" not in skip:
        result["speed"] = {}
        for n in sizes:
            opts = {
                "n_queries": 50 if quick else 200,
                "bulk_rounds": 2 if quick else 6,
                "n_single": 30 if quick else 100,
            }
            log(f"speed: {n:,} memories ...")
            res = _sub("speed", "size", str(n), json.dumps(opts), timeout=3600 * 3)
            result["speed"][str(n)] = res
            if "error" in res:
                log(f"speed {n}: {res['error']}")
            else:
                log(
                    f"speed {n}: search p50 {res['decay_off']['search_e2e']['p50_ms']} ms e2e, "
                    f"{res['decay_off']['search_excl_embed']['p50_ms']} ms excl. encode; bulk add "
                    f"{res['bulk_add']['bulk_add_vs_embedder']:.0%} of the embedder"
                )
    if "fragmentation" not in skip:
        n = 300 if quick else 10_000
        log(f"fragmentation: {n:,} single adds ...")
        res = _sub(
            "speed",
            "fragmentation",
            str(n),
            json.dumps(
                {
                    "n_queries": 50 if quick else 200,
                    # 10k single adds with no compaction means 10k fragments: hours, skipped.
                    "policies": ["default_policy", "every_100"]
                    + (["no_compaction"] if quick else []),
                }
            ),
            timeout=3600 * 2,
        )
        result["fragmentation"] = res
        if "error" not in res:
            log(
                "fragmentation: search p50 during the stream vs compacted: "
                + ", ".join(
                    f"{pol} {res[pol]['during_stream_p50_ratio_vs_compacted']}x"
                    for pol in ("default_policy", "every_100", "no_compaction")
                    if pol in res
                )
            )
    if "growth" not in skip:
        from . import growth

        log("growth: ours vs raw LanceDB done well, interleaved (bench/growth.py) ...")
        only = {"loop", "stream", "rss", "open"}
        result["growth"] = growth.run_all(quick, args.million, only, log)
        growth.write_md(result["growth"], RESULTS / f"{name}-growth.md")
    if "peers" not in skip:
        from .locomo import locomo_path

        # The peer figures were taken on LOCOMO turns (10 conversations, 5,882 turns);
        # the dev half loaded twice gives that shape. Synthetic texts when the file is absent.
        if locomo_path().is_file():
            opts = {"locomo": 1, "copies": 1, "queries": 50}
            if not quick:
                opts = {"locomo": 5, "copies": 2, "queries": 200}
        else:
            opts = {"users": 4, "per_user": 50, "queries": 40}
            if not quick:
                opts = {"users": 10, "per_user": 500, "queries": 200}
        # The native set-up embeds every peer's add with torch: minutes, so full runs only.
        encoders = (
            [("shared", "peers")] if quick else [("native", "peers_native"), ("shared", "peers")]
        )
        for encoder, key in encoders:
            eo: dict[str, Any] = {**opts, "encoder": encoder}
            if args.peers:
                eo["systems"] = args.peers.split(",")
            log(f"peers ({encoder} encoder): {opts}, all systems interleaved in one process ...")
            res = _sub("peers", "all", json.dumps(eo), timeout=3600 * 2)
            res["workload"] = opts
            result[key] = res
            if "skipped" in res:
                log(f"peers ({encoder} encoder): SKIPPED ({res['skipped']})")
                continue
            for peer in eo.get("systems", PEERS):
                r = res.get(peer, {})
                if "search" not in r:
                    log(f"peer {peer}: SKIPPED ({r.get('skipped') or res.get('error')})")
                    continue
                log(
                    f"peer {peer}: add p50 {r['add']['p50_ms']} ms, search p50 "
                    f"{r['search']['p50_ms']} ms e2e, "
                    f"{r['search_excl_embed']['p50_ms']} ms excl. encode"
                )
            if (
                not quick and not args.no_rss and encoder == "shared"
            ):  # RSS of the stores, one encoder for all
                for peer in eo.get("systems", PEERS):
                    rss = _sub("peers", "rss", peer, json.dumps(eo), timeout=3600)
                    res.setdefault(peer, {})["rss"] = rss
    if "locomo" not in skip:
        from . import locomo

        if quick:
            result["locomo"] = locomo.run(
                rankers=("product", "vector_only", "bm25_only"), only=(3,), log=log
            )
        else:
            result["locomo"] = locomo.run(log=log)
    if "embedders" not in skip and not quick:
        # Minutes per candidate (every LOCOMO dev turn embedded by each): full runs only.
        log("embedders: python -m bench.embedders (one process per candidate) ...")
        proc = subprocess.run(
            [sys.executable, "-m", "bench.embedders", "--name", f"{name}-embedders"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3 * 3600,
        )
        result["embedders"] = {
            "returncode": proc.returncode,
            "result_file": f"bench/results/{name}-embedders.json",
            "stdout_tail": proc.stdout[-2000:],
        }
    for extra in ("decay", "extraction"):
        script = ROOT / "bench" / f"bench_{extra}.py"
        if extra in skip or not script.is_file():
            continue
        log(f"{extra}: running bench/bench_{extra}.py ...")
        proc = subprocess.run(
            [sys.executable, "-m", f"bench.bench_{extra}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        result[extra] = {"returncode": proc.returncode, "stdout_tail": proc.stdout[-4000:]}
    result["total_s"] = round(time.perf_counter() - t_start, 1)
    json_path = RESULTS / f"{name}.json"
    json_path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    md = write_markdown(result, RESULTS / f"{name}.md")
    plots = write_plots(result, RESULTS, name)
    log(f"wrote {json_path}, {md} and {len(plots)} plot(s)")


if __name__ == "__main__":
    main()
