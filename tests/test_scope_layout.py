"""Rows written together are stored in scope order.

A search in one scope reads every row of it; in a table where users' memories arrived
interleaved, a user's rows are scattered, one random read each. Stored by scope, they are a
few contiguous runs: at 1M memories a per-user search of raw LanceDB took 0.25x the time
with the same rows sorted by user (``bench/results/layout-probe.json``). So every batch a
store writes (an import, a group of queued adds) goes to disk sorted by its scope columns;
the order within a scope (arrival) is kept.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage.rows import in_scope_order
from mem_integrations.testing import HashEmbedder

USERS = ["carol", "alice", "bob"]


def _stored(m: Memory) -> list[tuple[str, str]]:
    """(user_id, memory) of every row, in the table's physical order."""
    t = m.store.memories.to_lance().to_table(columns=["user_id", "memory"])
    return list(zip(t["user_id"].to_pylist(), t["memory"].to_pylist(), strict=True))


def test_an_import_writes_each_batch_in_scope_order_keeping_arrival_within_a_scope(
    tmp_path: Path,
) -> None:
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    with Memory(MemoryConfig(uri=src, embedder=HashEmbedder())) as m:
        for i in range(12):  # interleaved, as a stream of users' adds arrives
            m.add(f"fact number {i}", user_id=USERS[i % 3], infer=False)
        m.optimize()
        arrival = _stored(m)
    users = [u for u, _ in arrival]
    assert users != sorted(users)  # the source is interleaved: the test can fail
    with Memory(MemoryConfig(uri=dst, embedder=HashEmbedder())) as m:
        m.import_store(src, batch_size=256)
        stored = _stored(m)
        assert [u for u, _ in stored] == sorted(users)
        for user in USERS:  # arrival order kept inside each scope
            assert [t for u, t in stored if u == user] == [t for u, t in arrival if u == user]
        bob = sorted(r["memory"] for r in m.get_all(user_id="bob")["results"])
        assert bob == sorted(f"fact number {i}" for i in (2, 5, 8, 11))


def test_scope_order_is_stable_and_puts_rows_without_an_id_after_those_with_one() -> None:
    rows = pa.table({
        "id": ["1", "2", "3", "4", "5"],
        "user_id": ["bob", None, "alice", "bob", "alice"],
        "agent_id": [None, "bot", None, None, "x"],
        "run_id": [None] * 5, "app_id": [None] * 5,
    })  # fmt: skip
    assert in_scope_order(rows)["id"].to_pylist() == ["5", "3", "1", "4", "2"]
    assert in_scope_order(rows.select(["id", "user_id"])) == rows.select(["id", "user_id"])
