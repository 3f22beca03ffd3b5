"""Compaction rewrites the small fragments single writes leave, never the big ones (issue 21)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage import compaction
from mem_integrations.testing import FrozenClock, HashEmbedder


def _fragments(m: Memory) -> list[tuple[int, int]]:
    m.store.memories.checkout_latest()
    ds = m.store.memories.to_lance()
    return [(f.fragment_id, f.count_rows()) for f in ds.get_fragments()]


def _manual(tmp_path: Path, clock: FrozenClock) -> Memory:
    """A store whose compactions happen only when a test runs them."""
    config = MemoryConfig(
        uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock, optimize_every=10**6
    )
    return Memory(config)


def test_big_fragments_are_left_alone(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compaction, "TARGET_ROWS", 50)
    m = _manual(tmp_path, clock)
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
    m = _manual(tmp_path, clock)
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


def test_the_schedule_merges_often_and_indexes_at_the_cadence() -> None:
    """At 1M rows a merge comes every MERGE_EVERY commits, an index refresh every 250."""
    s = compaction.Schedule(None)
    due = [n for n in range(1, 501) if s.commit(1_000_000) and s.start(1_000_000)[1] is not None]
    assert due[:3] == [16, 32, 48] and len(due) == 500 // compaction.MERGE_EVERY
    s = compaction.Schedule(None)
    full = []
    for n in range(1, 501):
        if s.commit(1_000_000) and s.start(1_000_000)[1]:
            full.append(n)
    assert full == [256]  # the first merge at or after 250 commits; the next at 512
    small = compaction.Schedule(None)  # small tables: every merge is a full optimize
    runs = [small.start(100) for n in range(1, 31) if small.commit(100)]
    assert runs == [(64, True)] * 3
    fixed = compaction.Schedule(7)  # optimize_every: full compactions at that cadence
    assert [fixed.start(10**6)[1] for n in range(1, 22) if fixed.commit(10**6)] == [True] * 3


def test_a_large_store_merges_single_adds_without_reindexing(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """Fragments cost every search; a merge is cheap at any size, an index refresh is not."""
    m = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock))
    m.add([{"role": "user", "content": f"bulk memory {i}"} for i in range(40)], user_id="u",
          infer=False)  # fmt: skip
    m.optimize()
    m.store._rows_at_optimize = 1_000_000  # as a 1M store: index refreshes every 250 commits
    for i in range(compaction.MERGE_EVERY):
        m.add(f"single memory {i}", user_id="u", infer=False)
    m.store.wait_for_housekeeping()
    sizes = [n for _, n in _fragments(m)]
    # The bulk commit counted too, so the merge came at the 15th single add (the 16th may
    # have landed after it started): the single adds now sit in at most two fragments.
    assert sizes[0] == 40 and len(sizes) <= 3 and sum(sizes) == 40 + compaction.MERGE_EVERY
    assert m.stats()["unindexed_rows"] == compaction.MERGE_EVERY  # and none was indexed
    assert [h.memory for h in m.search_hits("single memory 7", user_id="u", limit=1)] == [
        "single memory 7"
    ]
    m.close()


def test_trimming_freed_memory_is_throttled_and_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    from mem_integrations.core.storage import memtrim

    calls: list[int] = []
    monkeypatch.setattr(memtrim, "_malloc_trim", calls.append)
    monkeypatch.setattr(memtrim, "_last", -float("inf"))
    assert memtrim.trim() is True and calls == [0]
    assert memtrim.trim() is False and calls == [0]  # within MIN_INTERVAL_S of the last
    monkeypatch.setattr(memtrim, "_last", -float("inf"))
    monkeypatch.setattr(memtrim, "_malloc_trim", None)  # not glibc: only Arrow's pool
    released: list[str] = []

    class Pool:
        def release_unused(self) -> None:
            released.append("arrow")

    monkeypatch.setattr(memtrim.pa, "default_memory_pool", Pool)
    assert memtrim.trim() is True and released == ["arrow"] and calls == [0]


def test_same_rows_stops_at_the_first_version_that_changed_rows(
    tmp_path: Path, clock: FrozenClock
) -> None:
    m = _manual(tmp_path, clock)
    for i in range(6):
        m.add(f"single memory {i}", user_id="u", infer=False)
    table = m.store.memories
    table.checkout_latest()
    before = int(table.version)
    kept = compaction.compact(table, m.store.cleanup_older_than, 64, indexes=False)
    assert kept and kept[0] == before + 1 and kept[-1] == int(table.version)
    m.add("one more memory", user_id="u", infer=False)  # an append: it changed the rows
    table.checkout_latest()
    assert compaction.same_rows(table.to_lance(), before, int(table.version)) == kept
    m.close()


def test_held_scopes_and_hash_sets_move_on_over_a_compaction(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compaction keeps the rows: no scope is read again, no hash set rebased for it."""
    from mem_integrations.core.storage import search as search_module
    from mem_integrations.core.storage import seen_hashes

    m = _manual(tmp_path, clock)
    m.add([{"role": "user", "content": f"bulk memory {i}"} for i in range(30)], user_id="u",
          infer=False)  # fmt: skip
    for i in range(8):
        m.add(f"single memory {i}", user_id="u", infer=False)
    reads: list[str] = []
    rebases: list[int] = []
    read_scope = search_module.Searcher._read_scope

    async def counted(self: Any, table: Any, where: str, columns: Any) -> Any:
        reads.append(where)
        return await read_scope(self, table, where, columns)

    rebase = seen_hashes.SeenHashes._rebase

    def counted_rebase(self: Any, latest: int) -> int:
        rebases.append(latest)
        return rebase(self, latest)

    monkeypatch.setattr(search_module.Searcher, "_read_scope", counted)
    monkeypatch.setattr(seen_hashes.SeenHashes, "_rebase", counted_rebase)
    assert m.search_hits("single memory 3", user_id="u", limit=1)[0].memory == "single memory 3"
    m.add("single memory 8", user_id="u", infer=False)  # the hash sets are held from here
    assert len(reads) == 1
    reads.clear()
    rebases.clear()
    m.store.optimize(target_rows=64, indexes=False)
    assert [n for _, n in _fragments(m)][-1] == 9  # the single adds were merged
    assert m.search_hits("single memory 8", user_id="u", limit=1)[0].memory == "single memory 8"
    assert m.add("single memory 9", user_id="u", infer=False)["results"][0]["event"] == "ADD"
    assert reads == [] and rebases == []
    m.close()


def test_an_open_merges_the_small_fragments_a_previous_process_left(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """Every small fragment costs each search a read (2.5x raw at 1M with 115 of them)."""
    m = _manual(tmp_path, clock)
    m.add([{"role": "user", "content": f"bulk memory {i}"} for i in range(40)], user_id="u",
          infer=False)  # fmt: skip
    for i in range(compaction.MERGE_EVERY + 4):
        m.add(f"single memory {i}", user_id="u", infer=False)
    m.close()
    assert len(_fragments(m)) == compaction.MERGE_EVERY + 5
    again = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock))
    again.store.wait_for_housekeeping()
    sizes = [n for _, n in _fragments(again)]
    assert sizes[0] == 40 and len(sizes) == 2 and sum(sizes) == 40 + compaction.MERGE_EVERY + 4
    assert again.search_hits("single memory 7", user_id="u", limit=1)[0].memory == (
        "single memory 7"
    )
    again.close()
    kept = Memory(MemoryConfig(uri=str(tmp_path / "t"), embedder=HashEmbedder(), clock=clock,
                               optimize_every=10**6))  # fmt: skip
    for i in range(compaction.MERGE_EVERY + 4):
        kept.add(f"single memory {i}", user_id="u", infer=False)
    kept.close()
    reopened = Memory(kept.config)  # a fixed cadence was asked for: no merge at open
    reopened.store.wait_for_housekeeping()
    assert len(_fragments(reopened)) == compaction.MERGE_EVERY + 4
    reopened.close()


def test_commits_made_during_a_long_compaction_are_merged_when_it_ends(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index refresh takes seconds at 1M; the adds made meanwhile must not wait for more adds.

    Before, the next merge waited for the next commit: an agent that stopped writing searched
    over every fragment written during the refresh until it wrote again.
    """
    import threading

    from mem_integrations.core.storage import store as store_module

    release = threading.Event()
    started = threading.Event()
    real = store_module.compact

    def held(*args: Any, **kwargs: Any) -> list[int]:
        kept: list[int] = real(*args, **kwargs)
        if not started.is_set():  # the first background one: as if its index refresh were slow
            started.set()
            assert release.wait(60)
        return kept

    monkeypatch.setattr(store_module, "compact", held)
    m = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock))
    m.add([{"role": "user", "content": f"bulk memory {i}"} for i in range(40)], user_id="u",
          infer=False)  # fmt: skip
    started.set()  # the explicit optimize below is not held
    m.optimize()
    started.clear()
    m.store._rows_at_optimize = 1_000_000  # as a 1M store: merges only, every MERGE_EVERY
    i = 0
    while not started.is_set():  # single adds until a background merge starts (and holds)
        m.add(f"single memory {i}", user_id="u", infer=False)
        i += 1
    later = compaction.MERGE_EVERY + 3
    for j in range(later):
        m.add(f"later memory {j}", user_id="u", infer=False)
    release.set()
    m.store.wait_for_housekeeping()
    sizes = [n for _, n in _fragments(m)]
    assert sum(sizes) == 40 + i + later
    assert len(sizes) <= 4  # the bulk, the held merge's output, and the later adds merged
    m.close()
