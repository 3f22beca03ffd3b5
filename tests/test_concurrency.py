"""Many writers at once: threads, processes, asyncio and compaction on one store lose nothing.

LanceDB commits optimistically: concurrent commits are rebased, and the ones that cannot be
(a compaction that rewrote the fragments an update touches) fail with a retryable conflict that
the store retries. These tests hold the store to "every acknowledged write is present exactly
once and every acknowledged delete is applied", replaying each writer's acknowledgement log.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from mem_integrations import AsyncMemory, StoreError
from reliability.checks import all_rows, assert_history_agrees, run_writer_processes
from reliability.workers import open_memory


def run_writers(tmp_path: Path, writers: int, ops: int) -> int:
    return run_writer_processes(str(tmp_path / "store"), tmp_path, writers, ops)


def test_four_processes_mixed_ops(tmp_path: Path) -> None:
    acked = run_writers(tmp_path, writers=4, ops=100)
    assert acked >= 4 * 100 * 0.5  # reads are not logged; writes are about 70% of the mix


@pytest.mark.slow
def test_four_processes_thousand_ops_each(tmp_path: Path) -> None:
    acked = run_writers(tmp_path, writers=4, ops=1000)
    assert acked >= 4 * 1000 * 0.5


def test_threads_share_one_memory_and_compaction_runs_alongside(tmp_path: Path) -> None:
    """Six threads write through one Memory while a seventh compacts it in a loop."""
    m = open_memory(str(tmp_path / "store"), optimize_every=1000)
    acked: dict[str, str] = {}
    deleted: set[str] = set()
    lock = threading.Lock()
    errors: list[BaseException] = []
    done = threading.Event()
    won, lost = 0, 0

    def writer(t: int) -> None:
        try:
            for i in range(15):
                res = m.add(f"thread {t} fact {i}", user_id=f"t{t}")
                (ev,) = res["results"]
                if i % 5 == 4:
                    m.update(ev["id"], f"thread {t} fact {i} v2", user_id=f"t{t}")
                    text = f"thread {t} fact {i} v2"
                else:
                    text = ev["memory"]
                with lock:
                    acked[ev["id"]] = text
                if i % 7 == 6:
                    m.delete(ev["id"], user_id=f"t{t}")
                    with lock:
                        acked.pop(ev["id"])
                        deleted.add(ev["id"])
                hits = m.search("fact", user_id=f"t{t}", top_k=3)["results"]
                assert all(h["user_id"] == f"t{t}" for h in hits)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    def compactor() -> None:
        # Under sustained writes a compaction can lose every race it runs (each update or
        # delete of its fragments preempts it); it then says so with a typed StoreError.
        nonlocal won, lost
        try:
            while not done.is_set():
                try:
                    m.optimize()
                    won += 1
                except StoreError:
                    lost += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
    comp = threading.Thread(target=compactor)
    comp.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    comp.join()
    assert errors == []
    assert won + lost >= 1
    m.optimize()  # quiet again: compaction wins, and still nothing is lost
    assert m.stats()["fragments"] <= 2
    rows = {r["id"]: r["memory"] for r in all_rows(m)}
    assert rows == acked and deleted.isdisjoint(rows)
    assert_history_agrees(m, acked, deleted)
    m.close()


async def gather_hundreds(tmp_path: Path, n: int) -> int:
    """``n`` concurrent adds, then ``n`` concurrent searches, updates, deletes and gets."""
    mem = AsyncMemory(memory=open_memory(str(tmp_path / "store")), max_concurrency=16)
    q = n // 4
    adds = await asyncio.gather(
        *(mem.add(f"async fact number {i}", user_id=f"u{i % 5}") for i in range(n))
    )
    ids = [r["results"][0]["id"] for r in adds]
    assert len(set(ids)) == n
    mixed = await asyncio.gather(
        *(mem.search("fact", user_id=f"u{i % 5}", top_k=5) for i in range(q)),
        *(mem.update(ids[i], f"async fact number {i} changed") for i in range(q)),
        *(mem.get(ids[i]) for i in range(q, 2 * q)),
        *(mem.delete(ids[i]) for i in range(2 * q, n)),
    )
    assert all(len(r["results"]) == 5 for r in mixed[:q])
    assert [g["id"] for g in mixed[2 * q : 3 * q]] == ids[q : 2 * q]
    rows = {r["id"]: r["memory"] for r in all_rows(mem.sync)}
    want = {ids[i]: f"async fact number {i}" + (" changed" if i < q else "") for i in range(2 * q)}
    assert rows == want
    await mem.close()
    return n + len(mixed)


async def test_async_memory_under_gather_of_hundreds(tmp_path: Path) -> None:
    assert await gather_hundreds(tmp_path, 100) == 225


@pytest.mark.slow
async def test_async_memory_under_gather_of_many_hundreds(tmp_path: Path) -> None:
    assert await gather_hundreds(tmp_path, 400) == 900
