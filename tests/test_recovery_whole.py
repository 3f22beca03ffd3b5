"""The whole-store recovery pass (Arrow) finds exactly what the exact, row-by-row check finds.

The pass compares both tables in Arrow and sends only the memories that do not plainly agree
to the exact check (``storage.recovery._suspects``): a random store with lost ADD, UPDATE
and DELETE events, recovered events and timestamp ties must get the same repairs both ways.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage import recovery
from mem_integrations.testing import FrozenClock, HashEmbedder


def _event(mid: str, event: str, old: str | None, new: str | None, at: datetime, n: int,
           recovered: bool = False) -> dict[str, Any]:  # fmt: skip
    prefix = recovery.RECOVERED_PREFIX if recovered else ""
    return {
        "id": f"{prefix}e{n}", "memory_id": mid, "event": event, "old_memory": old,
        "new_memory": new, "user_id": "u", "created_at": at,
        "is_deleted": event in ("DELETE", "EXPIRE"),
    }  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
def test_whole_pass_repairs_exactly_what_the_exact_check_repairs(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if seed % 2:  # compare in id slices, as a store over ``_SLICE_ROWS`` memories is
        monkeypatch.setattr(recovery, "_SLICE_ROWS", 0)
    rng = random.Random(seed)
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    m = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock))
    m.add([{"role": "user", "content": f"fact {i}"} for i in range(60)], user_id="u",
          infer=False)  # fmt: skip
    m.wait_for_housekeeping()
    m.store.history.delete("true")  # rebuild history by hand, with every kind of gap
    rows = m.store.query(None, ["id", "memory", "created_at"]).to_pylist()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[dict[str, Any]] = []
    n = 0
    for r in rows:
        kind = rng.choice(["ok", "ok", "none", "stale", "gone", "tie", "recovered_ok"])
        at = t0 + timedelta(seconds=rng.randint(0, 1000))
        n += 1
        if kind == "ok":
            events.append(_event(r["id"], "ADD", None, r["memory"], at, n))
        elif kind == "stale":  # the last UPDATE's history was lost
            events.append(_event(r["id"], "ADD", None, "older text", at, n))
        elif kind == "gone":  # the memory's DELETE came after its last event
            events.append(_event(r["id"], "ADD", None, r["memory"], at, n))
            n += 1
            events.append(_event(r["id"], "DELETE", r["memory"], None, at + timedelta(1), n))
        elif kind == "tie":
            events.append(_event(r["id"], "ADD", None, r["memory"], at, n))
            n += 1
            events.append(_event(r["id"], "DELETE", r["memory"], None, at, n))
        elif kind == "recovered_ok":
            events.append(_event(r["id"], "ADD", None, r["memory"], at, n, recovered=True))
    for i in range(10):  # memories that vanished with their DELETE lost, or not
        n += 1
        events.append(_event(f"lost-{i}", "ADD", None, f"was {i}", t0, n))
        if i % 2:
            n += 1
            events.append(_event(f"lost-{i}", "DELETE", f"was {i}", None, t0 + timedelta(1), n))
    m.store.add_history(events)
    ids = {r["id"] for r in rows} | {e["memory_id"] for e in events}
    exact = recovery.reconcile_ids(m.store.memories, m.store.history, clock, ids)
    whole = recovery.reconcile(m.store.memories, m.store.history, clock)
    key = sorted((e["memory_id"], e["event"], e["new_memory"] or "") for e in exact)
    assert exact, "the random store has gaps to repair"
    assert sorted((e["memory_id"], e["event"], e["new_memory"] or "") for e in whole) == key
    m.close()


def test_the_whole_pass_leaves_the_stores_caches_as_it_found_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its scans go through datasets of their own, not the store's index and metadata cache.

    The searches share that cache: the btree pages the slices' id ranges loaded stayed
    there after the check (at 1M memories most of what the store's open left in RAM).
    """
    monkeypatch.setattr(recovery, "_SLICE_ROWS", 0)  # id slices, as over ``_SLICE_ROWS``
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    m = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock))
    m.add([{"role": "user", "content": f"fact {i}"} for i in range(60)], user_id="u",
          infer=False)  # fmt: skip
    m.wait_for_housekeeping()
    m.store.memories.count_rows()  # the pass counts rows first: that metadata is cached anyway
    session = m.store.session
    items, size = session.approx_num_items, session.size_bytes
    assert recovery.reconcile(m.store.memories, m.store.history, clock) == []
    assert (session.approx_num_items, session.size_bytes) == (items, size)
    m.close()
