"""Shared checks: what "nothing lost" means, replayed from the writers' acknowledgement logs."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from pathlib import Path
from typing import Any

from mem_integrations import Memory
from mem_integrations.core.storage.recovery import visible

from .workers import expected_state, mixed_writer, open_memory, read_log

SPAWN = mp.get_context("spawn")


def assert_own_writes_searchable(m: Memory) -> None:
    """Each add and delete shows in this process's very next search, whatever the read interval."""
    m.add("the harbour opens at six", user_id="u", infer=False)
    assert len(m.search("harbour", user_id="u")["results"]) == 1
    m.add("the ferry leaves the harbour at seven", user_id="u", infer=False)
    assert len(m.search("harbour", user_id="u")["results"]) == 2
    m.delete_all(user_id="u")
    assert m.search("harbour", user_id="u")["results"] == []


def all_rows(m: Memory) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = m.store.query(None, ["id", "memory", "user_id"]).to_pylist()
    return rows


def assert_nothing_lost(m: Memory, logs: list[Path], writers: int) -> int:
    """Every acknowledged write present exactly once, every delete applied, no ghosts."""
    rows = all_rows(m)
    counts = Counter(r["id"] for r in rows)
    assert [i for i, c in counts.items() if c > 1] == [], "a memory is stored twice"
    stored = {r["id"]: r["memory"] for r in rows}
    want: dict[str, str] = {}
    gone: set[str] = set()
    acked = 0
    for log in logs:
        entries = read_log(log)
        errors = [e["trace"] for e in entries if e["op"] == "error"]
        assert errors == [], errors[0] if errors else ""
        acked += len(entries)
        live, deleted = expected_state(entries)
        want.update(live)
        gone |= deleted
    assert {i: stored.get(i) for i in want} == want, "an acknowledged write is missing or stale"
    assert gone.isdisjoint(stored), "an acknowledged delete did not apply"
    assert set(stored) == set(want), "rows nobody acknowledged"
    assert_history_agrees(m, want, gone)
    return acked


def assert_history_agrees(m: Memory, live: dict[str, str], gone: set[str]) -> None:
    """The last event of every live memory carries its text; every deleted one ends DELETE."""
    last = last_events(m)
    assert {i: last[i]["new_memory"] for i in live} == live
    assert {last[i]["event"] for i in live} <= {"ADD", "UPDATE"}
    assert {last[i]["event"] for i in gone} <= {"DELETE"}
    for mid in sorted(live)[:10]:  # the public path reads the same table
        assert m.history(mid)[-1]["new_memory"] == live[mid]


def last_events(m: Memory) -> dict[str, dict[str, Any]]:
    """One scan of the history table instead of one query per memory."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    m.wait_for_housekeeping()  # recovery at open runs in the background
    for e in m.store.history.to_arrow().to_pylist():
        by_id.setdefault(e["memory_id"], []).append(e)
    return {k: visible(v)[-1] for k, v in by_id.items()}


def run_writer_processes(
    uri: str,
    workdir: Path,
    writers: int,
    ops: int,
    storage_options: dict[str, str] | None = None,
    optimize_every: int = 25,
) -> int:
    """Start ``writers`` spawned processes on one store, wait, and check nothing was lost."""
    open_memory(uri, storage_options).close()  # create the tables once: writers race on data
    logs = [workdir / f"w{w}.jsonl" for w in range(writers)]
    procs = [
        SPAWN.Process(
            target=mixed_writer, args=(uri, w, ops, str(logs[w]), storage_options, optimize_every)
        )
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
    assert [p.exitcode for p in procs] == [0] * writers, [read_log(x)[-1:] for x in logs]
    with open_memory(uri, storage_options) as m:
        return assert_nothing_lost(m, logs, writers)
