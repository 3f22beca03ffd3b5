"""SIGKILL in the middle of writes: the store opens, batches are all-or-nothing, history agrees.

Two kinds of faults. Deterministic ones kill the writer right after a memories commit and before
its history commit (the one window where two tables can disagree), through a hook installed in
the child. Random ones kill the writer at an arbitrary instant, round after round on the same
store. After every kill the parent reopens the store (which reconciles history) and checks it
against the writer's acknowledgement log.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from mem_integrations import Memory
from mem_integrations.core.storage.recovery import RECOVERED_PREFIX, visible
from reliability.workers import (
    crash_writer,
    kill_when_done,
    open_memory,
    queued_history_writer,
    read_log,
)

SPAWN = mp.get_context("spawn")


def rows(m: Memory) -> dict[str, str]:
    table = m.store.query(None, ["id", "memory"]).to_pylist()
    assert len({r["id"] for r in table}) == len(table), "a memory is stored twice"
    return {r["id"]: r["memory"] for r in table}


def history_by_memory(m: Memory) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    m.wait_for_housekeeping()  # recovery at open runs in the background
    for e in m.store.history.to_arrow().to_pylist():
        out.setdefault(e["memory_id"], []).append(e)
    return {k: visible(v) for k, v in out.items()}


def check_round(m: Memory, before: dict[str, str], log: Path) -> tuple[dict[str, str], int]:
    """Replay the log over ``before``; the op in flight at the kill is all-or-nothing."""
    entries = read_log(log)
    want = dict(before)
    inflight: dict[str, Any] | None = None
    for e in entries:
        if e["op"] == "begin":
            inflight = e
            continue
        inflight = None
        if e["op"] in ("add", "update"):
            want.update(e["ids"])
        elif e["op"] == "delete":
            for i in e["ids"]:
                want.pop(i)
    got = rows(m)
    if inflight is not None and inflight["kind"] == "add":
        new = {i: t for i, t in got.items() if i not in want}
        assert sorted(new.values()) in ([], sorted(inflight["texts"])), "half a batch"
        want.update(new)
    elif inflight is not None and inflight["kind"] == "update":
        done = [got.get(i) == t for i, t in inflight["ids"].items()]
        assert all(done) or not any(done), "half a batch update"
        if all(done):
            want.update(inflight["ids"])
    elif inflight is not None:
        done = [i not in got for i in inflight["ids"]]
        assert all(done) or not any(done), "half a batch delete"
        if all(done):
            for i in inflight["ids"]:
                want.pop(i)
    assert got == want, "an acknowledged write was lost or a ghost appeared"
    # History agrees with memories: every live memory's last event carries its text and every
    # memory that history knows but the table lacks ends with a DELETE.
    hist = history_by_memory(m)
    for mid, text in got.items():
        last = hist[mid][-1]
        assert (last["event"], last["new_memory"]) in (("ADD", text), ("UPDATE", text))
    for mid in set(hist) - set(got):
        assert hist[mid][-1]["event"] in ("DELETE", "EXPIRE")
    for r in m.get_all(user_id="crash", limit=1000)["results"][:5]:
        assert m.history(r["id"])[-1]["new_memory"] == r["memory"]
    return got, len(entries)


def run_child(uri: str, log: Path, seed: int, kill: tuple[str, int] | None) -> Any:
    p = SPAWN.Process(target=crash_writer, args=(uri, str(log), 20, seed, kill))
    p.start()
    return p


@pytest.mark.parametrize(("method", "nth"), [("append", 3), ("merge", 2), ("delete", 2)])
def test_kill_between_memories_and_history_commit(tmp_path: Path, method: str, nth: int) -> None:
    uri = str(tmp_path / "store")
    open_memory(uri).close()
    log = tmp_path / "log.jsonl"
    p = run_child(uri, log, seed=nth, kill=(method, nth))
    p.join(timeout=120)
    assert p.exitcode == -signal.SIGKILL
    entries = read_log(log)
    assert entries[-1]["op"] == "begin", "the kill hook must fire inside a call"
    with open_memory(uri) as m:
        got, _ = check_round(m, {}, log)
        recovered = [
            e
            for e in m.store.history.to_arrow().to_pylist()
            if e["id"].startswith(RECOVERED_PREFIX)
        ]
        # The in-flight call's events were recovered; so may be events of earlier calls that
        # were still queued at the kill (history is committed behind the writes), but only
        # of memories the writer touched: recovery invents nothing.
        inflight = entries[-1]
        expected = {"add": 20, "update": 20, "delete": len(inflight.get("ids", []))}
        assert len(recovered) >= expected[inflight["kind"]]
        touched = {i for e in entries for i in e.get("ids", [])} | set(got)
        assert {e["memory_id"] for e in recovered} <= touched
    with open_memory(uri) as again:  # reopening a reconciled store changes nothing
        again.wait_for_housekeeping()
        assert again.store.history.count_rows() == m.store.history.count_rows()
        assert rows(again) == got


def random_kills(tmp_path: Path, rounds: int, seed: int) -> tuple[int, int]:
    """Kill a writer at random instants, ``rounds`` times, on the same store."""
    uri = str(tmp_path / "store")
    open_memory(uri).close()
    rng = random.Random(seed)
    state: dict[str, str] = {}
    calls = 0
    for r in range(rounds):
        log = tmp_path / f"round{r}.jsonl"
        log.touch()
        p = run_child(uri, log, seed=seed * 1000 + r, kill=None)
        deadline = time.monotonic() + 120
        target = rng.randint(1, 12)  # log lines (begins + acks) before the kill
        while len(read_log(log)) < target and p.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)  # waiting for the child's progress, not for a time to pass
        time.sleep(rng.random() * 0.05)  # then an arbitrary instant inside the next call
        assert p.pid is not None and p.is_alive()
        os.kill(p.pid, signal.SIGKILL)
        p.join(timeout=60)
        assert p.exitcode == -signal.SIGKILL
        with open_memory(uri) as m:
            state, n = check_round(m, state, log)
            calls += n // 2
    return calls, len(state)


def test_random_kills(tmp_path: Path) -> None:
    calls, live = random_kills(tmp_path, rounds=3, seed=1)
    assert calls > 0 and live > 0


@pytest.mark.slow
def test_random_kills_many_rounds(tmp_path: Path) -> None:
    calls, live = random_kills(tmp_path, rounds=25, seed=2)
    assert calls > 25


def test_kill_with_history_still_queued(tmp_path: Path) -> None:
    """Acknowledged adds, an update and a delete, history never committed, then SIGKILL.

    The calls returned once their memories commit landed (history follows behind it): after
    the kill every acknowledged change is in the store and history is complete again, rebuilt
    by recovery (the writer committed none of it).
    """
    uri, log = kill_when_done(tmp_path, queued_history_writer, 12)
    with open_memory(uri) as m:
        got, _ = check_round(m, {}, log)  # every acknowledged change is there, nothing else
        assert len(got) == 11
        hist = history_by_memory(m)
        for mid, text in got.items():
            events = hist[mid]
            assert all(e["id"].startswith(RECOVERED_PREFIX) for e in events)
            assert (events[-1]["event"], events[-1]["new_memory"]) in (
                ("ADD", text),
                ("UPDATE", text),
            )
        assert m.history(next(iter(got)))[-1]["new_memory"] == next(iter(got.values()))
