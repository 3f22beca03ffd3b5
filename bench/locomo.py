"""LOCOMO evidence recall@k, no LLM: how often the turns that answer a question come back.

Data: LoCoMo (Maharana et al., "Evaluating Very Long-Term Conversational Memory of LLM
Agents", ACL 2024), CC BY-NC 4.0. The file is read from where it lies (default
``../shared/bench-data/locomo-dev.json``, or ``$LOCOMO_PATH``) and never copied into the repo.

Protocol: one user scope per conversation; every turn is one memory added with
``Memory.add(..., infer=False)`` as ``<speaker> said, "<text>"`` (plus `` and shared <caption>``
when the turn has an image caption), with ``created_at`` set to the session date through an
injected clock and the date also in metadata. Each question is searched in its conversation's
scope; recall@k is the share of the question's gold evidence turns found in the top k,
averaged over questions. Categories: 1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop,
5 adversarial; the headline is categories 1-4.

Ablations rank the same store three ways: the product's search (``Memory.search_hits``),
vector-only (the store's exact cosine search, which is what Mem0 OSS, LangGraph, Chroma and
LlamaIndex do offline) and BM25-only (the store's full-text index), plus plain
reciprocal-rank fusion of those two lists as the textbook reference.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.embeddings import embed_query_checked
from mem_integrations.core.read.select import where
from mem_integrations.testing import FrozenClock

KS = (1, 5, 10, 25)
HEADLINE_CATEGORIES = (1, 2, 3, 4)
CATEGORY_NAMES = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "locomo-dev.json"
ATTRIBUTION = (
    "LoCoMo (Maharana et al., 'Evaluating Very Long-Term Conversational Memory of LLM Agents', "
    "ACL 2024), CC BY-NC 4.0; evaluation only, not redistributed"
)

_ID = re.compile(r"D\s*:?\s*(\d+)\s*:\s*(\d+)")


def locomo_path() -> Path:
    return Path(os.environ.get("LOCOMO_PATH") or DEFAULT_PATH)


def normalise_evidence(raw: Iterable[str]) -> set[str]:
    """Gold ids are sometimes loose ("D:11:26", "D30:05", "D8:6; D9:17"): canonical D<s>:<t>."""
    out: set[str] = set()
    for item in raw:
        for s, t in _ID.findall(str(item)):
            out.add(f"D{int(s)}:{int(t)}")
    return out


def session_date(text: str) -> datetime:
    """'1:56 pm on 8 May, 2023' -> an aware UTC datetime."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


@dataclass
class Turn:
    dia_id: str
    session: int
    date: datetime
    text: str


def turns(sample: dict[str, Any]) -> list[Turn]:
    conv = sample["conversation"]
    out: list[Turn] = []
    n = 1
    while f"session_{n}" in conv:
        date = session_date(conv[f"session_{n}_date_time"])
        for t in conv[f"session_{n}"]:
            text = f'{t["speaker"]} said, "{t["text"]}"'
            if t.get("blip_caption"):
                text += f" and shared {t['blip_caption']}"
            out.append(Turn(normalise_dia(t["dia_id"]), n, date, text))
        n += 1
    return out


def normalise_dia(dia: str) -> str:
    ids = normalise_evidence([dia])
    return next(iter(ids)) if ids else dia


@dataclass
class Question:
    conv: int
    category: int
    text: str
    gold: set[str]


def questions(samples: Sequence[dict[str, Any]]) -> list[Question]:
    out = []
    for ci, s in enumerate(samples):
        for q in s["qa"]:
            gold = normalise_evidence(q.get("evidence") or [])
            if gold:
                out.append(Question(ci, int(q["category"]), q["question"], gold))
    return out


@dataclass
class LoadedStore:
    memory: Memory
    users: dict[int, str]
    #: memory id -> the dialogue ids whose (identical) text it holds
    dia_of: dict[str, set[str]]
    seconds: float
    n_turns: int


def build_store(
    samples: Sequence[dict[str, Any]],
    uri: str,
    *,
    only: Sequence[int] | None = None,
    config: dict[str, Any] | None = None,
) -> LoadedStore:
    """Add every turn as a memory (one add call per session, so one commit per session)."""
    clock = FrozenClock()
    memory = Memory(MemoryConfig(uri=uri, clock=clock, **(config or {})))
    dia_of: dict[str, set[str]] = defaultdict(set)
    users: dict[int, str] = {}
    n_turns = 0
    t0 = time.perf_counter()
    for ci, sample in enumerate(samples):
        if only is not None and ci not in only:
            continue
        user = f"locomo-{ci}-{sample.get('sample_id', ci)}"
        users[ci] = user
        by_session: dict[int, list[Turn]] = defaultdict(list)
        for t in turns(sample):
            by_session[t.session].append(t)
        for session, ts in sorted(by_session.items()):
            clock.set(ts[0].date)
            msgs = [{"role": "user", "content": t.text} for t in ts]
            res = memory.add(
                msgs,
                user_id=user,
                infer=False,
                metadata={"session": session, "session_date": ts[0].date.isoformat()},
            )
            by_text = {t.text: t.dia_id for t in ts}
            for ev in res["results"]:
                dia_of[ev["id"]].add(by_text[ev["memory"]])
            n_turns += len(ts)
    memory.optimize()
    return LoadedStore(memory, users, dict(dia_of), time.perf_counter() - t0, n_turns)


Ranker = Callable[[LoadedStore, Question, int], list[str]]

#: Rankers whose top k is the prefix of their top 25 (no k-dependent candidate pool): searched
#: once per question and sliced, which keeps the ablations cheap.
PREFIX_RANKERS = {"vector_only", "bm25_only", "rrf"}


def product_ranker(store: LoadedStore, q: Question, k: int) -> list[str]:
    hits = store.memory.search_hits(q.text, user_id=store.users[q.conv], top_k=k)
    return [h.id for h in hits]


def _where(store: LoadedStore, q: Question) -> str:
    engine = store.memory._engine
    return where(engine, engine.check.scope(user_id=store.users[q.conv]), None)


def vector_ranker(store: LoadedStore, q: Question, k: int) -> list[str]:
    m = store.memory
    qvec = embed_query_checked(m.embedder, q.text)
    rows = m.store.vector_search(qvec, _where(store, q), k, ["id"]).to_pylist()
    return [r["id"] for r in rows]


def bm25_ranker(store: LoadedStore, q: Question, k: int) -> list[str]:
    rows = store.memory.store.text_search(q.text, _where(store, q), k, ["id"]).to_pylist()
    return [r["id"] for r in rows]


def rrf_ranker(store: LoadedStore, q: Question, k: int, c: int = 60) -> list[str]:
    pool = max(KS) * 4
    scores: dict[str, float] = defaultdict(float)
    for ranked in (vector_ranker(store, q, pool), bm25_ranker(store, q, pool)):
        for rank, mid in enumerate(ranked):
            scores[mid] += 1.0 / (c + rank + 1)
    return sorted(scores, key=lambda i: (-scores[i], i))[:k]


RANKERS: dict[str, Ranker] = {
    "product": product_ranker,
    "vector_only": vector_ranker,
    "bm25_only": bm25_ranker,
    "rrf": rrf_ranker,
}


@dataclass
class Recall:
    """Sums of per-question recall, by conversation and category."""

    sums: dict[tuple[int, int, int], float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))

    def add(self, q: Question, k: int, found: int) -> None:
        self.sums[(q.conv, q.category, k)] += found / len(q.gold)

    def count(self, q: Question) -> None:
        self.counts[(q.conv, q.category)] += 1

    def score(self, k: int, convs: Iterable[int], cats: Iterable[int]) -> float | None:
        convs, cats = set(convs), set(cats)
        n = sum(v for (c, cat), v in self.counts.items() if c in convs and cat in cats)
        if n == 0:
            return None
        s = sum(
            v for (c, cat, kk), v in self.sums.items() if kk == k and c in convs and cat in cats
        )
        return round(100.0 * s / n, 1)


def evaluate(
    store: LoadedStore, qs: Sequence[Question], ranker: Ranker, prefix: bool = False
) -> tuple[Recall, float]:
    """Search every question at each k (the product's pool depends on k) and count gold hits."""
    rec = Recall()
    t0 = time.perf_counter()
    for q in qs:
        rec.count(q)
        top = ranker(store, q, max(KS)) if prefix else []
        for k in KS:
            ids = top[:k] if prefix else ranker(store, q, k)
            found = set().union(*(store.dia_of.get(i, set()) for i in ids)) if ids else set()
            rec.add(q, k, len(found & q.gold))
    return rec, (time.perf_counter() - t0) / max(1, len(qs))


def report(
    rec: Recall, present: Sequence[int], tune: Sequence[int], held: Sequence[int]
) -> dict[str, Any]:
    splits = {"all": present, "tuned_on": tune, "held_out": held}
    out: dict[str, Any] = {}
    for name, convs in splits.items():
        convs = [c for c in convs if c in present]
        if not convs:
            continue
        block: dict[str, Any] = {"conversations": list(convs)}
        for k in KS:
            block[f"recall@{k}"] = rec.score(k, convs, HEADLINE_CATEGORIES)
        block["by_category"] = {
            f"{cat} {CATEGORY_NAMES[cat]}": {f"@{k}": rec.score(k, convs, [cat]) for k in KS}
            for cat in CATEGORY_NAMES
        }
        out[name] = block
    return out


def run(
    *,
    rankers: Sequence[str] = tuple(RANKERS),
    only: Sequence[int] | None = None,
    tune: Sequence[int] = (0, 1, 2),
    held: Sequence[int] = (3, 4),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    path = locomo_path()
    if not path.is_file():
        log(f"LOCOMO: skipped, {path} not found (set LOCOMO_PATH)")
        return {"skipped": f"{path} not found"}
    samples = json.loads(path.read_text())
    qs = [q for q in questions(samples) if only is None or q.conv in only]
    with tempfile.TemporaryDirectory(prefix="bench-locomo-") as tmp:
        store = build_store(samples, str(Path(tmp) / "store"), only=only)
        log(
            f"LOCOMO: {store.n_turns} turns in {len(store.users)} conversations stored in "
            f"{store.seconds:.1f} s; {len(qs)} questions"
        )
        result: dict[str, Any] = {
            "dataset": str(path.name),
            "attribution": ATTRIBUTION,
            "turns": store.n_turns,
            "questions": len(qs),
            "ks": list(KS),
            "headline_categories": list(HEADLINE_CATEGORIES),
            "tuned_on": list(tune),
            "held_out": list(held),
            "rankers": {},
            "conversations": sorted(store.users),
            "store_s": round(store.seconds, 1),
        }
        for name in rankers:
            rec, per_q = evaluate(store, qs, RANKERS[name], name in PREFIX_RANKERS)
            rep = report(rec, sorted(store.users), tune, held)
            rep["seconds_per_question"] = round(per_q, 4)
            result["rankers"][name] = rep
            msg = f"LOCOMO {name:12s} recall@10 cats 1-4: all {rep['all']['recall@10']}"
            if "held_out" in rep:
                msg += f", held-out {rep['held_out']['recall@10']}"
            log(msg)
        store.memory.close()
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
