"""A cold search through LanceDB in two steps (``storage.late``), and the background loader.

The two queries select only what ranking reads; the kept rows' records are fetched after
ranking, at the version searched. Checked against the one-step search on the same store,
with writes, a compaction and a cleanup injected between the two steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cold_corpus import QUERIES, USERS, text
from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage.late import LateRecords
from mem_integrations.core.storage.rows import RECORD_COLUMNS, materialize
from mem_integrations.testing import FrozenClock, HashEmbedder


@pytest.fixture
def cold(tmp_path: Path, clock: FrozenClock) -> Iterator[Memory]:
    """A store searched through LanceDB only, in many fragments (one per commit of 8 rows)."""
    m = Memory(
        MemoryConfig(
            uri=str(tmp_path / "s"),
            embedder=HashEmbedder(),
            clock=clock,
            search_cache_rows=0,
            optimize_every=10**6,
        )
    )
    for batch in range(24):
        rows = [{"role": "user", "content": text(batch * 8 + j)} for j in range(8)]
        m.add(rows, user_id=USERS[batch % 3], metadata={"batch": batch}, infer=False)
    m.store.wait_for_housekeeping()
    yield m
    m.close()


def _one_step(m: Memory, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make ``m`` search in one step (every column in the queries); returns the undo."""
    real = m.store.scoped_search

    def one_step(*args: Any, **kw: Any) -> Any:
        return real(*args, **{**kw, "fetch_later": False})

    monkeypatch.setattr(m.store, "scoped_search", one_step)
    return lambda: monkeypatch.setattr(m.store, "scoped_search", real)


def _hits(m: Memory, query: str, user: str, **kw: Any) -> list[dict[str, Any]]:
    found = m.search_hits(query, user_id=user, top_k=6, record_access=False, **kw)
    return [h.model_dump() for h in found]


def _fetches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count ``LateRecords.records`` calls (the second step's takes)."""
    calls: list[int] = []
    real = LateRecords.records

    def counting(self: LateRecords, numbers: Any) -> Any:
        calls.append(len(numbers))
        return real(self, numbers)

    monkeypatch.setattr(LateRecords, "records", counting)
    return calls


CASES: list[dict[str, Any]] = [
    {},
    {"decay": True},
    {"explain": True},
    {"threshold": 0.3},
    {"filters": {"batch": {"gte": 6}}},
]


def test_two_steps_return_what_one_step_returns(
    cold: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    undo = _one_step(cold, monkeypatch)
    want = {(q, u, i): _hits(cold, q, u, **kw) for q in QUERIES for u in USERS for i, kw in
            enumerate(CASES)}  # fmt: skip
    undo()
    fetches = _fetches(monkeypatch)
    got = {(q, u, i): _hits(cold, q, u, **kw) for q in QUERIES for u in USERS for i, kw in
           enumerate(CASES)}  # fmt: skip
    assert got == want  # same ids, order, scores and every record field
    assert sum(len(v) for v in want.values()) > 3 * len(want)  # most searches found rows
    # At most one take per search with hits, and none when every row kept came with the
    # vector query's head (which returns every column of its few rows).
    assert len(fetches) < sum(1 for v in want.values() if v)
    assert max(fetches) <= 18  # 3 x top_k at most (with decay), not the whole pool
    assert cold.store.scopes.rows == 0  # all answered by LanceDB


def _between_steps(m: Memory, monkeypatch: pytest.MonkeyPatch, act: Callable[[], None]) -> None:
    """Run ``act`` once, after the next search's queries and before its records are read.

    Without the vector query's head (every record then comes from the take), as when the
    head does not suffice.
    """
    real = m.store.scoped_search
    done: list[bool] = []

    def then_act(*args: Any, **kw: Any) -> Any:
        out = real(*args, **{**kw, "head": None})
        if not done:
            done.append(True)
            act()
        return out

    monkeypatch.setattr(m.store, "scoped_search", then_act)


def test_a_compaction_between_the_steps_changes_nothing(
    cold: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = _hits(cold, "kayak river dog", "u", explain=True)
    before = cold.store.stats()
    _between_steps(cold, monkeypatch, cold.store.optimize)
    fetches = _fetches(monkeypatch)
    got = _hits(cold, "kayak river dog", "u", explain=True)
    after = cold.store.stats()
    assert before.fragments >= 24 and after.fragments <= 2  # rows moved to new fragments
    assert after.version > before.version
    assert got == want and len(fetches) == 1 and len(got) == 6


def test_writes_between_the_steps_do_not_leak_into_the_result(
    cold: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records are those of the version ranked: not a later update, not a later row."""
    want = _hits(cold, "dog shelter", "v")
    top = want[0]["id"]

    def write() -> None:
        cold.update(top, "dog shelter dog shelter rewritten", user_id="v")
        cold.delete(want[1]["id"], user_id="v")
        cold.add("dog shelter dog shelter dog", user_id="v", infer=False)
        cold.store.optimize()

    _between_steps(cold, monkeypatch, write)
    assert _hits(cold, "dog shelter", "v") == want  # exactly the search at that version
    now = _hits(cold, "dog shelter", "v")  # the next search sees the writes
    assert want[1]["id"] not in [h["id"] for h in now]
    assert [h["memory"] for h in now if h["id"] == top] == ["dog shelter dog shelter rewritten"]


def test_a_version_cleaned_up_between_the_steps_is_searched_again(
    cold: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No record is guessed from a later version: the search runs again, in one step."""
    want = _hits(cold, "marathon running 42", "w")
    gone = want[0]["id"]
    modes: list[bool] = []
    real = cold.store.scoped_search

    def noting(*args: Any, **kw: Any) -> Any:
        modes.append(kw["fetch_later"])
        return real(*args, **kw)

    monkeypatch.setattr(cold.store, "scoped_search", noting)

    def delete_and_clean() -> None:
        cold.delete(gone, user_id="w")
        cold.store.optimize(cleanup_older_than=timedelta(0))

    _between_steps(cold, monkeypatch, delete_and_clean)
    got = _hits(cold, "marathon running 42", "w")
    assert modes == [True, False]  # the first version was gone: searched again in one step
    assert gone not in [h["id"] for h in got] and got
    assert got == _hits(cold, "marathon running 42", "w")  # what a search at that version finds


def test_a_row_moved_under_the_take_is_read_by_id(cold: Memory) -> None:
    """Row ids are addresses: a take at a version after a compaction finds other rows."""
    qvec = np.asarray(HashEmbedder().embed_query("kayak river"), dtype=np.float32)
    cols = [*RECORD_COLUMNS, "vector"]
    args = (qvec, "kayak river", "user_id = 'u'", None, 12, cols)
    by_vector, by_text = cold.store.scoped_search(*args)
    one_step = cold.store.scoped_search(*args, fetch_later=False)
    want = materialize([*one_step[0], *one_step[1]])
    late = by_vector[0]["_source"][0]
    assert isinstance(late, LateRecords)
    cold.store.optimize()
    late.version = cold.store.stats().version  # as if the take ran after the compaction
    got = materialize([*by_vector, *by_text])
    assert [r["id"] for r in got] == [r["id"] for r in want]
    strip = ("_distance", "_score")
    assert [{k: v for k, v in r.items() if k not in strip} for r in want] == got


def test_at_most_one_background_scope_read_is_pending(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under access over many scopes, re-missed scopes do not queue a read each."""
    path = str(tmp_path / "s")
    m = Memory(MemoryConfig(uri=path, embedder=HashEmbedder(), clock=clock))
    users = [f"user-{i}" for i in range(6)]
    for i, user in enumerate(users):
        m.add([{"role": "user", "content": text(i * 3 + j)} for j in range(3)], user_id=user,
              infer=False)  # fmt: skip
    m.close()
    m = Memory(MemoryConfig(uri=path, embedder=HashEmbedder(), clock=clock, search_cache_rows=4))
    search = m.store.search
    reads: list[str] = []
    real_load = search._load

    def counting(where: str, *args: Any) -> None:
        reads.append(where)
        real_load(where, *args)

    monkeypatch.setattr(search, "_load", counting)
    release = threading.Event()
    search._loader.submit(release.wait)  # the loader is busy with something else
    for user in users:  # first search: noted as missed; second: a read is asked for
        m.search_hits("kayak", user_id=user)
        m.search_hits("kayak", user_id=user)
    release.set()
    search.wait_for_loads()
    assert len(reads) == 1  # the first request; the five asked while it was pending dropped
    assert m.store.scopes.rows == 3
    m.search_hits("kayak", user_id=users[-1])  # a dropped scope is still noted as missed
    search.wait_for_loads()
    assert reads[1:] == [reads[1]] and reads[1] != reads[0]  # read now: over budget, alone
    assert m.store.scopes.rows == 3
    m.close()
