"""Compaction rewrites the small fragments single writes leave, never the big ones (issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage import compaction
from mem_integrations.testing import FrozenClock, HashEmbedder


def _fragments(m: Memory) -> list[tuple[int, int]]:
    m.store.memories.checkout_latest()
    ds = m.store.memories.to_lance()
    return [(f.fragment_id, f.count_rows()) for f in ds.get_fragments()]


def test_big_fragments_are_left_alone(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compaction, "TARGET_ROWS", 50)
    m = Memory(
        MemoryConfig(
            uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock, optimize_every=10**6
        )
    )
    m.add([{"role": "user", "content": f"bulk memory {i}"} for i in range(80)], user_id="u",
          infer=False)  # fmt: skip
    for i in range(12):
        m.add(f"single memory {i}", user_id="u", infer=False)
    before = _fragments(m)
    assert before[0][1] == 80 and len(before) == 13
    m.optimize()
    after = _fragments(m)
    assert after[0] == before[0]  # the big fragment was not rewritten
    assert [n for _, n in after[1:]] == [12]  # the small ones were merged into one
    for i in range(5):
        m.add(f"later memory {i}", user_id="u", infer=False)
    m.optimize()
    assert _fragments(m)[0] == before[0]
    assert sum(n for _, n in _fragments(m)) == 97
    assert len(m.search_hits("single memory 3", user_id="u")) > 0
    assert m.stats()["unindexed_rows"] == 0  # new rows were folded into the indexes
    m.close()


def test_background_compactions_merge_in_tiers(tmp_path: Path, clock: FrozenClock) -> None:
    assert [compaction.tier_target(n) for n in (1, 2, 3, 4, 8, 16, 32, 64)] == [
        64, 64, 64, 256, 256, 1024, 1024, 4096
    ]  # fmt: skip
    assert compaction.tier_target(4**12) == compaction.TARGET_ROWS
    m = Memory(
        MemoryConfig(
            uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock, optimize_every=10**6
        )
    )
    m.add([{"role": "user", "content": f"bulk memory {i}"} for i in range(40)], user_id="u",
          infer=False)  # fmt: skip
    for i in range(10):
        m.add(f"single memory {i}", user_id="u", infer=False)
    m.store.optimize(target_rows=8)  # a small tier: the 40-row fragment is not touched
    assert [n for _, n in _fragments(m)] == [40, 10]
    for i in range(5):
        m.add(f"later memory {i}", user_id="u", infer=False)
    m.store.optimize(target_rows=8)  # the 10 rows merged before are not rewritten again
    assert [n for _, n in _fragments(m)] == [40, 10, 5]
    m.store.optimize(target_rows=32)  # the next tier merges them, still not the 40
    assert [n for _, n in _fragments(m)] == [40, 15]
    m.optimize()  # an explicit optimize merges everything under TARGET_ROWS
    assert [n for _, n in _fragments(m)] == [55]
    assert len(m.get_all(user_id="u", limit=100)["results"]) == 55
    m.close()
