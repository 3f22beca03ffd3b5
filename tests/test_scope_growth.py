"""Scopes held in RAM grow with this process's own writes instead of being rebuilt (issue 21).

What is checked: an index extended by appends, updates and deletes answers exactly as one
rebuilt from the same live rows would (the text index alone, a snapshot, and the whole
search through ``Memory`` against a store opened afresh), on randomised sequences.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage import text_index
from mem_integrations.core.storage.text_index import TextIndex
from mem_integrations.testing import FrozenClock, HashEmbedder

WORDS = (
    "kayak tent river lake park dog cat shelter marathon coffee café tea kettle garden "
    "guitar piano bread sourdough trip lisbon paint sunrise adoption 2024 42 running"
).split()


def _texts(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9))) for _ in range(n)]


QUERIES = ["kayak river", "dog shelter dog", "marathon running 42", "café coffee", "piano", "x"]


@pytest.fixture
def small_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flatten the postings often, so sequences cross many flattenings."""
    monkeypatch.setattr(text_index, "_TAIL_MIN", 7)


@pytest.mark.parametrize("seed", range(6))
def test_extended_text_index_scores_like_a_rebuilt_one(seed: int, small_tail: None) -> None:
    rng = random.Random(seed)
    texts = _texts(rng, 120)
    grown = TextIndex(texts[: rng.randint(0, 20)])
    while grown.size < len(texts):
        grown.extend(texts[grown.size : grown.size + rng.randint(1, 15)])
    for query in QUERIES:
        np.testing.assert_allclose(grown.scores(query), TextIndex(texts).scores(query), rtol=1e-5)
        n = rng.randint(1, len(texts))  # an older snapshot sees a prefix, scored as its own
        prefix = TextIndex(texts[:n])
        np.testing.assert_allclose(
            grown.scores(query, n, None, n, prefix.total_length), prefix.scores(query), rtol=1e-5
        )


@pytest.mark.parametrize("seed", range(4))
def test_dead_documents_leave_the_statistics(seed: int, small_tail: None) -> None:
    rng = random.Random(100 + seed)
    texts = _texts(rng, 60)
    index = TextIndex(texts)
    alive = np.array([rng.random() > 0.3 for _ in texts])
    live = [t for t, a in zip(texts, alive, strict=True) if a]
    rebuilt = TextIndex(live)
    for query in QUERIES:
        got = index.scores(query, len(texts), alive, len(live), rebuilt.total_length)
        assert (got[~alive] == 0).all()
        np.testing.assert_allclose(got[alive], rebuilt.scores(query), rtol=1e-5)


def _memory(path: Path, clock: FrozenClock, **kw: object) -> Memory:
    return Memory(MemoryConfig(uri=str(path), embedder=HashEmbedder(), clock=clock, **kw))


def _same_hits(a: Memory, b: Memory, user: str) -> None:
    for query in QUERIES:
        x = a.search_hits(query, user_id=user, top_k=8)
        y = b.search_hits(query, user_id=user, top_k=8)
        got = {h.id: (h.memory, h.score) for h in x}
        want = {h.id: (h.memory, h.score) for h in y}
        assert {i: m for i, (m, _) in got.items()} == {i: m for i, (m, _) in want.items()}, query
        for i, (_, score) in got.items():
            assert score == pytest.approx(want[i][1], rel=1e-5, abs=1e-6), (query, i)


@pytest.mark.parametrize("seed", range(3))
def test_randomised_writes_search_like_a_store_opened_afresh(
    tmp_path: Path, clock: FrozenClock, seed: int, small_tail: None
) -> None:
    rng = random.Random(seed)
    m = _memory(tmp_path / "s", clock, optimize_every=10**6)  # no compaction: versions stay put
    ids: dict[str, list[str]] = {"u": [], "v": []}
    for text in _texts(rng, 20):
        user = rng.choice(["u", "v"])
        ids[user] += [e["id"] for e in m.add(text, user_id=user, infer=False)["results"]]
    m.search_hits("kayak", user_id="u")
    m.search_hits("kayak", user_id="v")
    for step in range(40):
        user = rng.choice(["u", "v"])
        op = rng.random()
        if op < 0.55 or not ids[user]:
            batch = [{"role": "user", "content": t} for t in _texts(rng, rng.randint(1, 3))]
            out = m.add(batch, user_id=user, infer=False)["results"]
            ids[user] += [e["id"] for e in out if e["event"] == "ADD"]
        elif op < 0.85:
            mid = rng.choice(ids[user])
            m.update(mid, _texts(rng, 1)[0] + f" step{step}", user_id=user)
        else:
            mid = ids[user].pop(rng.randrange(len(ids[user])))
            m.delete(mid, user_id=user)
        if step % 5 == 4:
            fresh = _memory(tmp_path / "s", clock, optimize_every=10**6)
            _same_hits(m, fresh, user)
            fresh.close()
    m.close()


def test_own_update_is_applied_without_reading_the_scope_again(
    memory: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = memory.add("the kayak is red", user_id="u", infer=False)["results"][0]["id"]
    memory.add("the tent is green", user_id="u", infer=False)
    assert memory.search_hits("kayak", user_id="u")
    memory.store.wait_for_housekeeping()
    reads: list[object] = []
    real_run = memory.store._reader.run

    def counting_run(coro: object) -> object:
        reads.append(coro)
        return real_run(coro)  # type: ignore[arg-type]

    monkeypatch.setattr(memory.store._reader, "run", counting_run)
    memory.update(a, "the canoe is blue", user_id="u")
    assert [h.memory for h in memory.search_hits("canoe", user_id="u")][:1] == ["the canoe is blue"]
    assert all(h.memory != "the kayak is red" for h in memory.search_hits("kayak", user_id="u"))
    assert reads == []
    assert memory.store.scopes.rows == 3  # the replaced row's slot is held until the next read
