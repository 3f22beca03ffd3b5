"""A history commit that fails after the memories commit landed: what each call says.

Memories and history are two tables and no transaction spans both (docs/reliability.md). With
``history_behind_writes=False`` (the server's setting) a write commits its history before it
returns, so when that commit fails the write itself raises ``PartialWriteError``: it must name
exactly this call's changes (not those of an earlier call whose events are still queued) and
carry the call's result. A call that meets queued events of earlier writes and changed nothing
itself must say so. The history commit fails here the way a full disk makes it fail (the
store's typed ``StorageFullError``); ``tests/test_faults.py`` does the same on a real full
tmpfs, as root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.errors import PartialWriteError, StorageFullError
from mem_integrations.testing import HashEmbedder
from reliability.checks import last_events


class HistoryDisk:
    """The store's history commit, failing like a full disk while ``full`` is set."""

    def __init__(self, m: Memory) -> None:
        self.real = m.store.add_history
        self.full = True
        m.store.add_history = self  # type: ignore[method-assign]

    def __call__(self, rows: Any) -> None:
        if self.full:
            raise StorageFullError("no space left on device: nothing was changed (injected)")
        self.real(rows)


def open_memory(tmp_path: Path, behind: bool) -> Memory:
    config = MemoryConfig(
        uri=str(tmp_path / "store"), embedder=HashEmbedder(), history_behind_writes=behind
    )
    return Memory(config)


def ids(m: Memory, user: str = "u") -> set[str]:
    return {r["id"] for r in m.get_all(user_id=user, limit=100)["results"]}


def test_a_write_names_only_its_own_changes_and_carries_its_result(tmp_path: Path) -> None:
    m = open_memory(tmp_path, behind=False)
    m.wait_for_housekeeping()
    disk = HistoryDisk(m)
    with pytest.raises(PartialWriteError) as first:
        m.add("the first fact", user_id="u")
    (a,) = ids(m)
    assert first.value.committed == {"added": [a]}
    # the first call's events are still queued (retried); the second call names its own only
    with pytest.raises(PartialWriteError) as second:
        m.add("the second fact", user_id="u")
    (b,) = ids(m) - {a}
    assert second.value.committed == {"added": [b]}
    assert [e.id for e in second.value.result.results] == [b]
    assert [e.event for e in second.value.result.results] == ["ADD"]
    assert "this call" in str(second.value)
    with pytest.raises(PartialWriteError) as third:
        m.update(a, "the first fact, changed")
    assert third.value.committed == {"updated": [a]}
    assert [r.memory for r in third.value.result] == ["the first fact, changed"]
    with pytest.raises(PartialWriteError) as fourth:
        m.delete(b)
    assert fourth.value.committed == {"deleted": [b]}
    assert fourth.value.result == 1
    # a call whose own commit changed nothing raises nothing for the others' queued events
    assert [e["event"] for e in m.add("the first fact, changed", user_id="u")["results"]] == [
        "NONE"
    ]
    disk.full = False
    m.wait_for_housekeeping()  # every queued event lands once the disk has room again
    last = last_events(m)
    assert last[a]["new_memory"] == "the first fact, changed"
    assert last[b]["event"] == "DELETE"
    m.close()


def test_a_call_that_meets_earlier_writes_queued_events_says_it_changed_no_memory(
    tmp_path: Path,
) -> None:
    m = open_memory(tmp_path, behind=True)
    m.add("kept fact", user_id="u")
    m.wait_for_housekeeping()
    disk = HistoryDisk(m)
    m.add("a fact whose history waits", user_id="u")  # returns: history follows the call
    before = ids(m)
    with pytest.raises(PartialWriteError) as met:
        m.reset()
    assert ids(m) == before, "the reset was refused: nothing was emptied"
    assert met.value.result is None
    assert "changed no memory or history itself" in str(met.value)
    assert set(met.value.committed["added"]) < before
    disk.full = False
    m.reset()
    assert ids(m) == set()
    m.close()
