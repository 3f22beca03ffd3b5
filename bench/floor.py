"""Where to put the recall prompts' relevance floor: scores of related vs unrelated memories.

``python -m bench.floor`` stores LOCOMO dev conversation 0 (every turn, as ``bench/locomo.py``
does) and searches it with (a) its own questions, recording the score of every gold evidence
turn found in the top 10 (memories a prompt should get), and (b) the questions of conversations
1-4, which are about other people's lives, recording the top hit's score (memories a prompt
should not get). It prints the share of each side that a floor keeps, for a few floors, and
writes ``bench/results/floor.json``. The default embedder and fusion are used.

Data: LoCoMo (Maharana et al., 2024), CC BY-NC 4.0, read in place, never copied.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from . import locomo

RESULTS = Path(__file__).resolve().parent / "results"
FLOORS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)

#: A chat-engine user's memories (the cookbooks') and questions: (question, memory, related?).
PROBE_MEMORIES = (
    "I adopted a beagle called Biscuit last spring.",
    "I work night shifts as a nurse.",
    "I am vegetarian, so no meat in any recipe please.",
    '{"text": "Prefers window seats"}',
    "I live in Porto.",
)
PROBES = (
    ("What was my dog's name again?", PROBE_MEMORIES[0], True),
    ("Can you suggest a dinner for me tonight?", PROBE_MEMORIES[2], True),
    ("Which seat should I book on my flight?", PROBE_MEMORIES[3], True),
    ("Can you suggest a dinner for me tonight?", PROBE_MEMORIES[1], False),
    ("What is the capital of Peru?", PROBE_MEMORIES[4], False),
    ("What was my dog's name again?", PROBE_MEMORIES[2], False),
)


def probes(uri: str) -> list[dict[str, Any]]:
    """Relevance of each probe pair in a small store of the probe memories."""
    from mem_integrations import Memory

    out = []
    with Memory(uri=uri) as m:
        for text in PROBE_MEMORIES:
            m.add(text, user_id="probe", infer=False)
        for question, memory, related in PROBES:
            hits = m.search_hits(question, user_id="probe", top_k=len(PROBE_MEMORIES))
            score = next(h.relevance for h in hits if h.memory == memory)
            out.append({"question": question, "memory": memory, "related": related,
                        "relevance": round(score, 3)})  # fmt: skip
    return out


def main() -> None:
    samples = json.loads(locomo.locomo_path().read_text())
    qs = [q for q in locomo.questions(samples) if q.category in locomo.HEADLINE_CATEGORIES]
    related: list[float] = []
    related_top1: list[float] = []
    unrelated_top1: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        store = locomo.build_store(samples, str(Path(tmp) / "s"), only=[0])
        user = store.users[0]
        for q in qs:
            hits = store.memory.search_hits(q.text, user_id=user, top_k=10, decay=False)
            if not hits:
                continue
            if q.conv == 0:
                related_top1.append(hits[0].score)
                for h in hits:
                    if store.dia_of.get(h.id, set()) & q.gold:
                        related.append(h.score)
            else:
                unrelated_top1.append(hits[0].score)
        store.memory.close()
        probe = probes(str(Path(tmp) / "probe"))
    out: dict[str, Any] = {
        "attribution": locomo.ATTRIBUTION,
        "related_gold_hits": len(related),
        "related_questions": len(related_top1),
        "unrelated_questions": len(unrelated_top1),
        "quantiles": {
            name: {
                f"p{p}": round(float(np.percentile(v, p)), 3) for p in (5, 10, 25, 50, 75, 90, 95)
            }
            for name, v in (
                ("gold_hit_score", related),
                ("related_top1", related_top1),
                ("unrelated_top1", unrelated_top1),
            )
        },
        "floors": {
            str(f): {
                "gold_hits_kept": round(float(np.mean(np.asarray(related) >= f)), 3),
                "unrelated_top1_rejected": round(float(np.mean(np.asarray(unrelated_top1) < f)), 3),
            }
            for f in FLOORS
        },
        "probes": probe,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "floor.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
