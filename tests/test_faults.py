"""Full disk and read-only mount under every write: typed errors, nothing half-applied.

The store lives on a real tmpfs (see ``reliability.faults``; root only, skipped with the reason
elsewhere). Three runs:

- the fault is there before the call: the call raises a typed error and changes nothing, reads
  keep working, and the same call succeeds once the disk is healed;
- the fault strikes between the memories commit and the history commit, the one window where
  two tables can disagree: the call returns once its memories commit landed (history is
  committed behind it, ``storage.history_queue``); the flush that meets the fault says
  exactly what is committed without history (``PartialWriteError``), the events stay queued
  and land once the disk is healed, and retrying the call creates no duplicate;
- a sweep of almost-full disks, so that the space runs out wherever it runs out.

Every call is classified (``reliability.faults.classify``); the targets are zero untyped errors
and zero calls that raised yet were applied without saying so.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mem_integrations import Memory, MemoryLayerError
from mem_integrations.core.storage.recovery import RECOVERED_PREFIX
from reliability.checks import last_events
from reliability.faults import Disk, PartialWriteError, changes, run, state, tmpfs
from reliability.workers import open_memory

FIGURES: Counter[str] = Counter()
_seq = itertools.count()


def top_up(m: Memory) -> list[str]:
    """Keep six memories of user u and two of user v; return u's ids."""
    have = m.get_all(user_id="u", limit=100)["results"]
    for _ in range(6 - len(have)):
        m.add(f"u fact {next(_seq)}", user_id="u", metadata={"k": 1})
    for _ in range(2 - len(m.get_all(user_id="v")["results"])):
        m.add(f"v fact {next(_seq)}", user_id="v")
    m.wait_for_housekeeping()  # history of the above committed before the fault is injected
    return [r["id"] for r in m.get_all(user_id="u", limit=100)["results"]]


def _add(m: Memory, ids: list[str]) -> Any:
    return m.add(f"new fact {next(_seq)}", user_id="u")


OPS: dict[str, Callable[[Memory, list[str]], Any]] = {
    "add": _add,
    "add_batch": lambda m, ids: m.add([f"batch {next(_seq)}", f"batch {next(_seq)}"], user_id="u"),
    "update": lambda m, ids: m.update(ids[0], f"changed {next(_seq)}"),
    "batch_update": lambda m, ids: m.batch_update(
        [{"memory_id": i, "text": f"bulk {next(_seq)}"} for i in ids[:2]]
    ),
    "delete": lambda m, ids: m.delete(ids[0]),
    "batch_delete": lambda m, ids: m.batch_delete([{"memory_id": i} for i in ids[:2]]),
    "delete_all": lambda m, ids: m.delete_all(user_id="v"),
    "delete_users": lambda m, ids: m.delete_users(user_id="v"),
    "put": lambda m, ids: m.put(f"key-{next(_seq)}", "put text", user_id="u"),
    "put_replace": lambda m, ids: m.put(ids[0], f"replaced {next(_seq)}", user_id="u"),
    "optimize": lambda m, ids: m.optimize(),
    "reset": lambda m, ids: m.reset(),
}
TWO_COMMITS = [k for k in OPS if k not in ("optimize", "reset")]


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    with tmpfs(tmp_path) as d:
        yield d


def open_store(disk: Disk) -> Memory:
    m = open_memory(str(disk.path / "store"), optimize_every=10**6)
    m.wait_for_housekeeping()
    return m


def record(kind: str, exc: BaseException | None) -> None:
    FIGURES["calls"] += 1
    FIGURES[kind] += 1
    assert kind in ("ok", "refused", "partial"), f"{kind}: {exc!r}"
    if exc is not None:
        assert isinstance(exc, MemoryLayerError)
        assert len(str(exc)) > 20, "an error must say what happened and what to do"


def assert_history_complete(m: Memory) -> None:
    """Each live memory's last event carries its text; nothing unexplained."""
    last = last_events(m)
    rows = m.store.query(None, ["id", "memory"]).to_pylist()
    for r in rows:
        assert last[r["id"]]["new_memory"] == r["memory"]
        assert last[r["id"]]["event"] in ("ADD", "UPDATE")
    live = {r["id"] for r in rows}
    for mid, e in last.items():
        if mid not in live:
            assert e["event"] in ("DELETE", "EXPIRE")


@pytest.mark.parametrize("fault", ["read_only", "full"])
@pytest.mark.parametrize("op", list(OPS))
def test_fault_before_the_call(disk: Disk, op: str, fault: str) -> None:
    m = open_store(disk)
    ids = top_up(m)
    (disk.read_only if fault == "read_only" else disk.fill)()
    FIGURES["faults injected"] += 1
    kind, exc, before, after = run(m, lambda: OPS[op](m, ids))
    record(kind, exc)
    # reads still work on a broken disk
    assert {r["id"] for r in m.get_all(user_id="u", limit=100)["results"]} >= set(ids) - set(
        changes_deleted(before, after)
    )
    assert m.search("fact", user_id="u")["results"] is not None
    disk.heal()
    if kind != "ok":
        OPS[op](m, top_up(m))  # the operator fixed the disk: the same call now works
    m.close()
    with open_store(disk) as again:
        assert_history_complete(again)


def changes_deleted(before: Any, after: Any) -> list[str]:
    return sorted(set(before[0]) - set(after[0]))


@pytest.mark.parametrize("fault", ["read_only", "full"])
@pytest.mark.parametrize("op", TWO_COMMITS)
def test_fault_between_memories_and_history_commit(disk: Disk, op: str, fault: str) -> None:
    m = open_store(disk)
    ids = top_up(m)
    real = m.store.add_history
    armed = [True]

    def broken(*args: Any, **kwargs: Any) -> Any:
        if armed:  # the first history commit after the call meets the fault
            armed.clear()
            (disk.read_only if fault == "read_only" else disk.fill)()
        return real(*args, **kwargs)

    m.store.add_history = broken  # type: ignore[method-assign]
    FIGURES["faults injected"] += 1
    text = f"retried fact {next(_seq)}"
    call = (lambda: m.add(text, user_id="u")) if op == "add" else (lambda: OPS[op](m, ids))
    kind, exc, before, after = run(m, call)
    record(kind, exc)
    assert kind == "ok", "the call waits for its memories commit only; history follows it"
    assert PartialWriteError is not None
    with pytest.raises(PartialWriteError) as info:  # the flush that meets the fault says so
        m.wait_for_housekeeping()
    committed = {k: sorted(v) for k, v in getattr(info.value, "committed", {}).items()}
    assert committed == changes(before, after)
    assert "next open" in str(info.value)
    m.store.add_history = real  # type: ignore[method-assign]
    disk.heal()
    m.wait_for_housekeeping()  # the queued events were kept: they land now
    assert_history_complete(m)
    assert not [i for i in state(m)[1] if i.startswith(RECOVERED_PREFIX)]
    if op == "add":  # a caller that retries anyway gets no duplicate
        again = m.add(text, user_id="u")["results"]
        assert [e["event"] for e in again] == ["NONE"]
    m.close()
    with open_store(disk) as reopened:
        assert_history_complete(reopened)
        assert state(reopened)[0] == after[0]


@pytest.mark.parametrize("fault", ["read_only", "full"])
@pytest.mark.parametrize("op", ["add", "update", "delete", "put"])
def test_history_before_return_the_call_says_what_it_committed(
    disk: Disk, op: str, fault: str
) -> None:
    """``history_behind_writes=False`` (the server): the write itself meets the fault."""
    m = open_memory(str(disk.path / "store"), optimize_every=10**6, history_behind_writes=False)
    ids = top_up(m)
    real = m.store.add_history
    armed = [True]

    def broken(*args: Any, **kwargs: Any) -> Any:
        if armed:
            armed.clear()
            (disk.read_only if fault == "read_only" else disk.fill)()
        return real(*args, **kwargs)

    m.store.add_history = broken  # type: ignore[method-assign]
    FIGURES["faults injected"] += 1
    kind, exc, before, after = run(m, lambda: OPS[op](m, ids))
    record(kind, exc)
    assert kind == "partial" and isinstance(exc, PartialWriteError)
    assert getattr(exc, "result", None) is not None, "the error carries what the call returned"
    assert "this call" in str(exc)
    m.store.add_history = real  # type: ignore[method-assign]
    disk.heal()
    m.wait_for_housekeeping()
    assert_history_complete(m)
    m.close()


@pytest.mark.parametrize("fault", ["read_only", "full"])
def test_add_that_appends_then_fails_to_enrich_says_what_it_added(
    disk: Disk, fault: str
) -> None:
    """One add, two memories commits: new rows, then a stored repeat given new metadata."""
    m = open_store(disk)
    top_up(m)
    known = m.get_all(user_id="u", limit=100)["results"][0]["memory"]
    real = m.store.merge

    def broken(*args: Any, **kwargs: Any) -> Any:
        (disk.read_only if fault == "read_only" else disk.fill)()
        return real(*args, **kwargs)

    m.store.merge = broken  # type: ignore[method-assign]
    FIGURES["faults injected"] += 1
    call = lambda: m.add([known, f"brand new {next(_seq)}"], user_id="u", metadata={"k": 2})  # noqa: E731
    kind, exc, before, after = run(m, call)
    record(kind, exc)
    assert kind == "partial" and changes(before, after).keys() == {"added"}
    m.store.merge = real  # type: ignore[method-assign]
    disk.heal()
    m.wait_for_housekeeping()
    assert_history_complete(m)
    m.close()


def sweep(disk: Disk, leaves: list[int]) -> None:
    m = open_store(disk)
    for leave in leaves:
        for op in OPS:
            ids = top_up(m)
            disk.fill(leave)
            FIGURES["faults injected"] += 1
            kind, exc, _, _ = run(m, lambda op=op, ids=ids: OPS[op](m, ids))  # type: ignore[misc]
            disk.heal()
            record(kind, exc)
    m.close()
    with open_store(disk) as again:
        assert_history_complete(again)


def test_almost_full_disk_sweep(disk: Disk) -> None:
    sweep(disk, [0, 4096, 16_384, 65_536])


@pytest.mark.slow
def test_almost_full_disk_sweep_fine(disk: Disk) -> None:
    sweep(disk, [0, *range(4096, 300_000, 12_288)])


def test_zz_report_figures() -> None:
    """Print what the fault run did (run with ``-s`` to see it); a summary, not a check."""
    print("\nFAULT FIGURES", dict(FIGURES))
    assert FIGURES["untyped"] == FIGURES["applied"] == 0
