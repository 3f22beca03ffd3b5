"""How good is the chatter rule? Precision/recall against hand labels, and LOCOMO's cost.

``python -m bench.chatter [--recall]`` scores the rule the offline default ``add`` uses to drop
turns with nothing to remember (see ``chatter_reason``) against ``bench/data/chatter-labels.jsonl``:
240 LOCOMO dev turns drawn at random (seed 19; the file holds their ids and our labels, the
texts are read from the data set in place, never copied) and every user turn of the cookbooks
plus the issue's examples. A label says whether the turn can carry a fact about the speaker or
anyone else; "chatter" is the positive class (what the rule drops). The rule was designed
looking at the first 120 LOCOMO rows only; rows 120-239 are reported apart as held out.

It then counts, over every LOCOMO dev turn, how many the rule drops and how many of those are
gold evidence for a question; with ``--recall`` it also rebuilds the store from the kept turns
only and reports the product's recall@k (categories 1-4) beside the all-turns figure.
Writes ``bench/results/chatter.json`` and ``chatter.md``.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from mem_integrations.core.write.chatter import chatter_reason

from . import locomo

LABELS = Path(__file__).resolve().parent / "data" / "chatter-labels.jsonl"
RESULTS = Path(__file__).resolve().parent / "results"
DESIGN_ROWS = 120


def _texts(samples: list[dict[str, Any]]) -> dict[tuple[int, str], str]:
    out = {}
    for ci, s in enumerate(samples):
        conv = s["conversation"]
        n = 1
        while f"session_{n}" in conv:
            for t in conv[f"session_{n}"]:
                out[(ci, t["dia_id"])] = t["text"]
            n += 1
    return out


def _scores(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tp = sum(1 for r in rows if r["dropped"] and not r["fact"])
    fp = sum(1 for r in rows if r["dropped"] and r["fact"])
    fn = sum(1 for r in rows if not r["dropped"] and not r["fact"])
    facts = sum(1 for r in rows if r["fact"])
    return {
        "turns": len(rows),
        "labelled_chatter": len(rows) - facts,
        "dropped": tp + fp,
        "precision": round(tp / max(1, tp + fp), 3),
        "recall": round(tp / max(1, tp + fn), 3),
        "facts_dropped": fp,
        "facts_kept_share": round(1 - fp / max(1, facts), 3),
    }


def main() -> None:
    samples = json.loads(locomo.locomo_path().read_text())
    texts = _texts(samples)
    rows = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    loc_i = 0
    for r in rows:
        if r["source"] == "locomo-dev":
            r["text"] = texts[(r["conversation"], r["dia_id"])]
            r["split"] = "design" if loc_i < DESIGN_ROWS else "held_out"
            loc_i += 1
        else:
            r["split"] = "cookbook"
        r["reason"] = chatter_reason(r["text"])
        r["dropped"] = r["reason"] is not None
    result: dict[str, Any] = {"labels": str(LABELS.name), "attribution": locomo.ATTRIBUTION}
    result["scores"] = {
        "all": _scores(rows),
        "locomo_design": _scores([r for r in rows if r["split"] == "design"]),
        "locomo_held_out": _scores([r for r in rows if r["split"] == "held_out"]),
        "cookbook_and_issue": _scores([r for r in rows if r["split"] == "cookbook"]),
    }
    result["errors"] = [
        {
            "where": r.get("dia_id") or r["source"],
            "label": "fact" if r["fact"] else "chatter",
            "rule": r["reason"] or "kept",
            # LOCOMO texts stay out of the repo: only ids for them, our own texts in full
            "text": r["text"] if r["source"] != "locomo-dev" else None,
            "conversation": r.get("conversation"),
        }
        for r in rows
        if r["dropped"] == r["fact"]
    ]
    # Every LOCOMO dev turn: how many dropped, how many of those answer a question.
    gold = {}
    for q in locomo.questions(samples):
        for g in q.gold:
            gold.setdefault((q.conv, g), set()).add(q.category)
    dropped = {
        (ci, locomo.normalise_dia(dia)): reason
        for (ci, dia), text in texts.items()
        if (reason := chatter_reason(text)) is not None
    }
    ev_all = {k for k in gold}
    ev_14 = {k for k, cats in gold.items() if cats & set(locomo.HEADLINE_CATEGORIES)}
    by_reason: dict[str, int] = {}
    for r in dropped.values():
        by_reason[r] = by_reason.get(r, 0) + 1
    result["locomo_dev"] = {
        "turns": len(texts),
        "dropped": len(dropped),
        "dropped_share": round(len(dropped) / len(texts), 3),
        "evidence_turns": len(ev_all),
        "evidence_dropped": len(ev_all & dropped.keys()),
        "evidence_turns_cats_1_4": len(ev_14),
        "evidence_dropped_cats_1_4": len(ev_14 & dropped.keys()),
        "dropped_evidence_ids": sorted(f"{c}:{d}" for c, d in ev_all & dropped.keys()),
        "dropped_by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
    }
    if "--recall" in sys.argv:
        result["recall"] = _recall(samples)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "chatter.json").write_text(json.dumps(result, indent=1) + "\n")
    _markdown(result, RESULTS / "chatter.md")
    print(json.dumps({k: v for k, v in result.items() if k != "errors"}, indent=1))


def _recall(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Product recall with every turn stored vs with chatter dropped (gold turns lost = misses)."""
    kept = copy.deepcopy(samples)
    for s in kept:
        conv = s["conversation"]
        n = 1
        while f"session_{n}" in conv:
            conv[f"session_{n}"] = [
                t for t in conv[f"session_{n}"] if chatter_reason(t["text"]) is None
            ]
            n += 1
    qs = locomo.questions(samples)
    out = {}
    for name, data in (("all_turns", samples), ("chatter_dropped", kept)):
        with tempfile.TemporaryDirectory(prefix="bench-chatter-") as tmp:
            store = locomo.build_store(data, str(Path(tmp) / "s"))
            rec, _ = locomo.evaluate(store, qs, locomo.product_ranker)
            rep = locomo.report(rec, sorted(store.users), (0, 1, 2), (3, 4))["all"]
            rep["stored"] = store.n_turns
            out[name] = rep
            store.memory.close()
    return out


def _markdown(result: dict[str, Any], path: Path) -> None:
    lines = [
        "# The chatter rule against hand labels",
        "",
        f"Labels: `bench/data/{result['labels']}`. Positive class: chatter (dropped). "
        "LOCOMO texts are read in place; " + result["attribution"] + ".",
        "",
        "| split | turns | labelled chatter | dropped | precision | recall | facts dropped |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in result["scores"].items():
        lines.append(
            f"| {name} | {s['turns']} | {s['labelled_chatter']} | {s['dropped']} | "
            f"{s['precision']} | {s['recall']} | {s['facts_dropped']} |"
        )
    ld = result["locomo_dev"]
    lines += [
        "",
        f"LOCOMO dev, every turn: {ld['dropped']} of {ld['turns']} dropped "
        f"({ld['dropped_share']:.0%}); evidence turns dropped: {ld['evidence_dropped']} of "
        f"{ld['evidence_turns']} (categories 1-4: {ld['evidence_dropped_cats_1_4']} of "
        f"{ld['evidence_turns_cats_1_4']}). By reason: "
        + ", ".join(f"{k} {v}" for k, v in ld["dropped_by_reason"].items()),
        "",
    ]
    if "recall" in result:
        lines += ["| LOCOMO dev, product search | stored | R@1 | R@5 | R@10 | R@25 |"]
        lines += ["|---|---|---|---|---|---|"]
        for name, r in result["recall"].items():
            lines.append(
                f"| {name} | {r['stored']} | {r['recall@1']} | {r['recall@5']} | "
                f"{r['recall@10']} | {r['recall@25']} |"
            )
        lines += ["", "By category, recall@1 / @5 / @10:", ""]
        for name, r in result["recall"].items():
            cats = r["by_category"].items()
            parts = [f"{c}: {v['@1']} / {v['@5']} / {v['@10']}" for c, v in cats]
            lines.append(f"- {name}: " + "; ".join(parts))
        lines.append("")
    lines += ["Disagreements with the labels:", ""]
    for e in result["errors"]:
        where = e["text"] or f"conversation {e['conversation']} {e['where']}"
        lines.append(f"- label {e['label']}, rule {e['rule']}: {where}")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
