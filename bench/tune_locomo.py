"""How the fusion defaults were chosen: a grid over LOCOMO conversations 0-2 only.

``python -m bench.tune_locomo`` caches, per question, the vector and BM25 candidate lists the
store returns (the same calls ``Memory.search_hits`` makes), then scores fusion variants
offline. The winner on the tuning conversations becomes the default in ``core/ranking.py``;
conversations 3-4 are reported only afterwards, by ``python -m bench`` (held-out).
Data: LoCoMo (Maharana et al., 2024), CC BY-NC 4.0, read in place, never copied.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from mem_integrations.core.embeddings import embed_query_checked
from mem_integrations.core.read import ranking
from mem_integrations.core.read.select import where as scope_where

from .locomo import HEADLINE_CATEGORIES, KS, build_store, locomo_path, questions

POOL = 100


def candidates(store: Any, qs: list[Any]) -> list[dict[str, Any]]:
    m = store.memory
    out = []
    for q in qs:
        text = q.text
        where = scope_where(m._engine, m._engine.check.scope(user_id=store.users[q.conv]), None)
        qv = embed_query_checked(m.embedder, text)
        vec = m.store.vector_search(qv, where, POOL, ["id", "vector"]).to_pylist()
        fts = m.store.text_search(text, where, POOL, ["id", "vector"]).to_pylist()
        out.append({"q": q, "qv": qv, "vec": vec, "fts": fts})
    return out


def score(
    cands: list[dict[str, Any]], dia_of: dict[str, set[str]], convs: set[int], mult: int, **kw: Any
) -> dict[int, float]:
    sums: dict[int, float] = defaultdict(float)
    n = 0
    for c in cands:
        q = c["q"]
        if q.conv not in convs or q.category not in HEADLINE_CATEGORIES:
            continue
        n += 1
        for k in KS:
            pool = k * mult
            ranked = ranking.fuse(c["qv"], c["vec"][:pool], c["fts"][:pool], **kw)
            found: set[str] = set()
            for row, _ in ranked[:k]:
                found |= dia_of.get(row["id"], set())
            sums[k] += len(found & q.gold) / len(q.gold)
    return {k: round(100 * v / max(n, 1), 2) for k, v in sums.items()}


def main() -> None:
    samples = json.loads(locomo_path().read_text())
    tune = {0, 1, 2} if "--all" not in sys.argv else {0, 1, 2, 3, 4}
    qs = [q for q in questions(samples) if q.conv in tune]
    with tempfile.TemporaryDirectory() as tmp:
        store = build_store(samples, str(Path(tmp) / "s"), only=sorted(tune))
        for variant in ("plain",):
            cands = candidates(store, qs)
            grid = ranking.TUNING_GRID
            results = []
            for combo in itertools.product(*grid.values()):
                kw = dict(zip(grid, combo, strict=True))
                r = score(cands, store.dia_of, tune, 4, **kw)
                results.append((r[10], r, kw))
            results.sort(key=lambda t: -t[0])
            for r10, r, kw in results[:8]:
                print(variant, r10, r, kw, flush=True)
        store.memory.close()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
