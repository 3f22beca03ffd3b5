"""Turn a results dict into the markdown tables and PNG plots (``bench/results/<name>.*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _g(d: Any, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "**yes**" if v else "no"
    if isinstance(v, float):
        return f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return out + [""]


def _ratio(a: Any, b: Any) -> float | None:
    if not a or not b:
        return None
    return round(float(a) / float(b), 2)


def targets(result: dict[str, Any]) -> list[list[Any]]:
    """The issue's targets, each with the figure measured in this run and whether it is met."""
    rows: list[list[Any]] = []
    speed = result.get("speed", {})
    for size, r in speed.items():
        ratio = _g(r, "bulk_add", "bulk_add_vs_embedder")
        if ratio is not None:
            rows.append(
                [f"bulk add >= 90% of bare embedder ({int(size):,})", f"{ratio:.0%}", ratio >= 0.9]
            )
    r100 = speed.get("100000") or {}
    p = _g(r100, "decay_off", "search_excl_embed", "p50_ms")
    if p is not None:
        rows.append(["search p50 excl. encode <= 10 ms at 100k", f"{p} ms", p <= 10])
    frag = result.get("fragmentation") or {}
    fr = _g(frag, "default_policy", "during_stream_p50_ratio_vs_compacted")
    if fr is not None:
        rows.append(
            [
                f"during {frag['single_adds']:,} single adds, search p50 <= 1.5x compacted",
                f"{fr}x",
                fr <= 1.5,
            ]
        )
    for key, how in (("peers_native", "peers' own MiniLM set-up"), ("peers", "same encoder")):
        peers = result.get(key) or {}
        ours = _g(peers, "ours", "search", "p50_ms")
        mem0 = _g(peers, "mem0", "search", "p50_ms")
        if ours and mem0:
            x = mem0 / ours
            rows.append([f"search e2e p50 >= 8x faster than Mem0 OSS ({how})", f"{x:.1f}x", x >= 8])
        mem0_add = _g(peers, "mem0", "add", "p50_ms")
        for name in ("ours", "ours_queued"):
            add = _g(peers, name, "add", "p50_ms")
            if add and mem0_add:
                rows.append([
                    f"add p50 ({name}) <= Mem0 OSS's ({how})", f"{add / mem0_add:.2f}x Mem0's",
                    add <= mem0_add,
                ])  # fmt: skip
        others = [
            _g(peers, p, "search", "p50_ms") for p in ("mem0", "langgraph", "chroma", "llamaindex")
        ]
        others = [o for o in others if o]
        if ours and others:
            x = min(others) / ours
            rows.append(
                [f"search e2e p50 >= 2x faster than the fastest peer ({how})", f"{x:.2f}x", x >= 2]
            )
    loc = _g(result, "locomo", "rankers", "product")
    if loc:
        v = _g(loc, "all", "recall@10")
        convs = _g(result, "locomo", "conversations") or []
        names = ", ".join(map(str, convs))
        which = "" if len(convs) >= 5 else f" (quick run: conversation {names} only)"
        rows.append([f"LOCOMO recall@10 (cats 1-4) >= 64{which}", v, v is not None and v >= 64])
        h = _g(loc, "held_out", "recall@10")
        if h is not None:
            rows.append(["  held-out conversations only", h, h >= 64])
    return rows


def _peers_section(peers: dict[str, Any]) -> list[str]:
    """One side-by-side table: a workload, one encoder set-up, every system's figures."""
    lines: list[str] = []
    if not peers:
        return lines
    if "skipped" in peers:
        return [f"Peers with encoder={peers.get('encoder')}: skipped ({peers['skipped']}).", ""]
    w = peers.get("workload", {})
    ours = _g(peers, "ours", "search", "p50_ms")
    ours_add = _g(peers, "ours", "add", "p50_ms")
    if w.get("locomo"):
        shape = (
            f"LOCOMO turns: {w['locomo']} conversations loaded {w.get('copies', 1)}x "
            f"({peers.get('adds', '?')} turns in {peers.get('scopes', '?')} scopes), one add "
            f"per turn, {w.get('queries')} LOCOMO questions searched in their scope (top 10)"
        )
    else:
        shape = (
            f"{w.get('users')} users x {w.get('per_user')} memories, one add per memory, "
            f"{w.get('queries')} searches (top 10)"
        )
    if peers.get("encoder") == "native":
        how = (
            "each as set up offline: the peers embed with all-MiniLM-L6-v2 through "
            "sentence-transformers (fp32, torch), ours with its default int8 ONNX export"
        )
    else:
        how = "every system embedding with our int8 MiniLM (the stores alone differ)"
    lines += [f"## Side by side: {shape}; {how}", ""]
    ours_x = _g(peers, "ours", "search_excl_embed", "p50_ms")
    rows = []
    for name, r in peers.items():
        if not isinstance(r, dict) or name in ("workload", "machine"):
            continue
        if name == "peer_embedder" and peers.get("encoder") != "native":
            continue  # the peers' own encoder exists only in the native set-up
        if "search" not in r:
            reason = r.get("skipped") or r.get("error") or "no result"
            rows.append([name, f"skipped: {reason}"] + [None] * 9)
            continue
        s50 = _g(r, "search", "p50_ms")
        x50 = _g(r, "search_excl_embed", "p50_ms")
        a50 = _g(r, "add", "p50_ms")
        rows.append(
            [
                name,
                a50,
                r.get("adds_per_s"),
                s50,
                _g(r, "search", "p95_ms"),
                x50,
                _ratio(s50, ours),
                _ratio(x50, ours_x),
                _ratio(a50, ours_add),
                _g(r, "rss", "rss_mb"),
                r.get("note", ""),
            ]
        )
    lines += _table(
        [
            "system",
            "add p50",
            "adds/s",
            "search p50 e2e",
            "search p95 e2e",
            "search p50 excl. encode",
            "e2e / ours",
            "excl. encode / ours",
            "add p50 / ours",
            "RSS MB (alone)",
            "note",
        ],
        rows,
    )
    bulk = _g(peers, "ours", "bulk_adds_per_s")
    emb = peers.get("embedder_bulk_per_s")
    if bulk and emb:
        lines += [
            f"Ours, same workload added in bulk (one call per user): {bulk} memories/s; "
            f"bare embedder {emb} texts/s ({bulk / emb:.0%}).",
            "",
        ]
    return lines


def write_markdown(result: dict[str, Any], path: Path) -> Path:
    m = result.get("machine", {})
    lines = [
        f"# Benchmark results: `{result.get('name')}`",
        "",
        f"Machine: {m.get('cpus')} CPUs, Python {m.get('python')}, {m.get('platform')}; "
        f"load average {m.get('loadavg_1m')} at start; run took {result.get('total_s')} s. "
        "Latencies in ms; every ratio compares figures of this same run.",
        "",
        "## Targets",
        "",
    ]
    lines += _table(["target", "measured", "met"], targets(result))

    speed = result.get("speed") or {}
    if speed:
        lines += ["## Our store by size (1,000 memories per user)", ""]
        rows = []
        for size, r in speed.items():
            if "error" in r:
                rows.append([int(size), r["error"]] + [None] * 13)
                continue
            rows.append(
                [
                    int(size),
                    _g(r, "decay_off", "search_e2e", "p50_ms"),
                    _g(r, "decay_off", "search_e2e", "p95_ms"),
                    _g(r, "decay_off", "search_excl_embed", "p50_ms"),
                    _g(r, "decay_off", "search_excl_embed", "p95_ms"),
                    _g(r, "decay_on", "search_excl_embed", "p50_ms"),
                    _g(r, "lancedb_path", "search_excl_embed", "p50_ms"),
                    _g(r, "query_embed", "p50_ms"),
                    _g(r, "numpy_bruteforce_scope", "p50_ms"),
                    _g(r, "bulk_add", "bulk_add_per_s"),
                    _g(r, "bulk_add", "embedder_per_s"),
                    _g(r, "bulk_add", "bulk_add_vs_embedder"),
                    _g(r, "single_add", "p50_ms"),
                    _g(r, "single_add", "p95_ms"),
                    r.get("peak_rss_mb"),
                ]
            )
        lines += _table(
            [
                "memories",
                "search p50 e2e",
                "p95 e2e",
                "p50 excl. encode",
                "p95 excl. encode",
                "p50 excl. encode, decay on",
                "p50 excl. encode, no scope in RAM",
                "query encode p50",
                "numpy brute force (1 scope)",
                "bulk add /s",
                "bare embedder /s",
                "bulk / embedder",
                "single add p50",
                "single add p95",
                "peak RSS MB",
            ],
            rows,
        )
        lines += [
            "Fill (set-up, not measured as add): "
            + "; ".join(
                f"{int(s):,}: {_g(r, 'fill', 'write_s')} s write + {_g(r, 'fill', 'optimize_s')} s "
                f"optimize, {(_g(r, 'fill', 'bytes') or 0) / 2**20:,.0f} MB"
                for s, r in speed.items()
                if "fill" in r
            )
            + ".",
            "",
        ]

    frag = result.get("fragmentation") or {}
    if "default_policy" in frag:
        lines += [f"## Fragmentation: a store built by {frag['single_adds']:,} single adds", ""]
        rows = []
        for pol in ("default_policy", "every_100", "no_compaction"):
            b = frag.get(pol)
            if not b:
                continue
            rows.append(
                [
                    pol.replace("_", " "),
                    b["adds_per_s"],
                    _g(b, "add_latency_first_10pct", "p50_ms"),
                    _g(b, "add_latency_last_10pct", "p50_ms"),
                    _g(b, "search_during_stream", "p50_ms"),
                    _g(b, "stats_before", "fragments"),
                    _g(b, "before", "search_excl_embed", "p50_ms"),
                    _g(b, "after_optimize", "search_excl_embed", "p50_ms"),
                    b.get("during_stream_p50_ratio_vs_compacted"),
                    b["p50_ratio_vs_compacted"],
                    b.get("disk_mb_before"),
                ]
            )
        lines += _table(
            [
                "policy",
                "adds/s",
                "add p50 first 10%",
                "add p50 last 10%",
                "search p50 during the stream",
                "fragments at the end",
                "search p50 at the end",
                "after optimize()",
                "during / compacted",
                "end / compacted",
                "disk MB at the end",
            ],
            rows,
        )
        lines += [
            "Search is sampled every 2% of the stream (excluding query encode): with compaction "
            "every N commits the fragment count saw-tooths, so the end alone depends on where "
            "the cycle stopped. The default policy compacts every clamp(sqrt(rows)/4, 10, 250) "
            "commits.",
            "",
        ]

    for key in ("peers_native", "peers"):
        lines += _peers_section(result.get(key) or {})

    loc = result.get("locomo") or {}
    if "rankers" in loc:
        lines += [
            f"## LOCOMO evidence recall@k, no LLM ({loc['turns']} turns, {loc['questions']} "
            f"questions, conversations {loc.get('conversations')})",
            "",
            f"Data: {loc['attribution']}. Headline: categories 1-4. Tuned on conversations "
            f"{loc['tuned_on']}, held out {loc['held_out']}.",
            "",
        ]
        rows = []
        for rk, rep in loc["rankers"].items():
            for split in ("all", "tuned_on", "held_out"):
                if split in rep:
                    rows.append([rk, split] + [rep[split][f"recall@{k}"] for k in loc["ks"]])
        lines += _table(["ranker", "conversations"] + [f"R@{k}" for k in loc["ks"]], rows)
        prod = _g(loc, "rankers", "product", "all", "by_category") or {}
        if prod:
            lines += ["Our search (product) by category, all conversations:", ""]
            lines += _table(
                ["category"] + [f"R@{k}" for k in loc["ks"]],
                [[c] + [v[f"@{k}"] for k in loc["ks"]] for c, v in prod.items()],
            )
    for extra in ("decay", "extraction"):
        if extra in result:
            lines += [
                f"## bench_{extra}.py (return code {result[extra]['returncode']})",
                "",
                "```",
                result[extra]["stdout_tail"].strip(),
                "```",
                "",
            ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_plots(result: dict[str, Any], folder: Path, name: str) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plots: skipped, matplotlib not installed (pip install matplotlib)")
        return []
    out: list[Path] = []
    speed = {int(k): v for k, v in (result.get("speed") or {}).items() if "decay_off" in v}
    if speed:
        xs = sorted(speed)
        fig, ax = plt.subplots(figsize=(6, 4))
        for key, label in (
            ("search_e2e", "end to end"),
            ("search_excl_embed", "excl. query encode"),
        ):
            for pct, style in (("p50_ms", "-o"), ("p95_ms", "--x")):
                ax.plot(
                    xs,
                    [speed[x]["decay_off"][key][pct] for x in xs],
                    style,
                    label=f"{label} {pct[:3]}",
                )
        ax.set_xscale("log")
        ax.set_xlabel("memories in store (1k per user)")
        ax.set_ylabel("search latency, ms")
        ax.legend()
        ax.grid(alpha=0.3)
        p = folder / f"{name}-search-by-size.png"
        fig.tight_layout()
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    for key, suffix in (("peers_native", "peers-native"), ("peers", "peers")):
        peers = {
            k: v
            for k, v in (result.get(key) or {}).items()
            if isinstance(v, dict) and "search" in v
        }
        if not peers:
            continue
        names = list(peers)
        fig, ax = plt.subplots(figsize=(7, 4))
        xs = range(len(names))
        ax.bar(
            [x - 0.2 for x in xs],
            [peers[n].get("add", {}).get("p50_ms", 0) for n in names],
            0.4,
            label="add p50",
        )
        ax.bar(
            [x + 0.2 for x in xs],
            [peers[n]["search"]["p50_ms"] for n in names],
            0.4,
            label="search p50 (e2e)",
        )
        ax.set_xticks(list(xs), names, rotation=20)
        ax.set_ylabel("ms")
        ax.set_title("peers' own encoder" if key == "peers_native" else "same encoder")
        ax.legend()
        ax.grid(axis="y", alpha=0.3)
        p = folder / f"{name}-{suffix}.png"
        fig.tight_layout()
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    loc = result.get("locomo") or {}
    if "rankers" in loc:
        fig, ax = plt.subplots(figsize=(6, 4))
        for rk, rep in loc["rankers"].items():
            ax.plot(loc["ks"], [rep["all"][f"recall@{k}"] for k in loc["ks"]], "-o", label=rk)
        ax.set_xlabel("k")
        ax.set_ylabel("evidence recall@k, cats 1-4 (%)")
        ax.set_title("LOCOMO (Maharana et al., 2024), no LLM")
        ax.legend()
        ax.grid(alpha=0.3)
        p = folder / f"{name}-locomo.png"
        fig.tight_layout()
        fig.savefig(p, dpi=110)
        plt.close(fig)
        out.append(p)
    return out
