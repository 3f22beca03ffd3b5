"""The single add's fast path: duplicate check from RAM, history committed behind the write.

The duplicate check answers "certainly new" from per-scope hash sets (``storage.seen_hashes``)
and must never miss a stored text: not after a compaction, not after another handle's or
process's commit, not after this process's own updates. History is queued
(``storage.history_queue``) and must still read back at once in this process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage import hash_keys, seen_hashes
from mem_integrations.testing import FrozenClock, HashEmbedder
from reliability.workers import open_memory

SPAWN = mp.get_context("spawn")
SCOPE = ("u", None, None, None)


def events(m: Memory, text: str, **scope: str) -> list[str]:
    return [e["event"] for e in m.add(text, infer=False, **scope)["results"]]


def other_process_adds(uri: str, text: str) -> None:
    with open_memory(uri) as m:
        m.add(text, user_id="u", infer=False)


def test_the_scope_is_held_after_an_add_and_repeats_are_found(memory: Memory) -> None:
    assert events(memory, "likes tea", user_id="u") == ["ADD"]
    assert memory.store.seen.held(seen_hashes.ALL) is not None  # later adds check in RAM
    assert events(memory, "likes coffee", user_id="u") == ["ADD"]
    assert events(memory, "likes tea", user_id="u") == ["NONE"]
    assert events(memory, "likes coffee", user_id="u") == ["NONE"]
    assert events(memory, "likes tea", user_id="v") == ["ADD"]  # another scope
    assert events(memory, "likes tea", user_id="u", agent_id="a") == ["ADD"]  # exact scope


def _count_reads(m: Memory, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The ``where`` of every store query ``m`` makes from now on, the hash sets' own too."""
    reads: list[str | None] = []
    real = m.store.query

    def counted(where: str | None, *args: Any, **kw: Any) -> Any:
        reads.append(where)
        return real(where, *args, **kw)

    monkeypatch.setattr(m.store, "query", counted)
    monkeypatch.setattr(m.store.seen, "_read", counted)
    return reads


def test_a_cold_scope_needs_no_query_for_a_text_the_store_lacks(
    memory: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole table's hashes answer "not stored" for any scope, held or not."""
    memory.add([{"role": "user", "content": f"fact {i}"} for i in range(20)], user_id="u",
               infer=False)  # fmt: skip
    queries = _count_reads(memory, monkeypatch)
    for i in range(5):  # five scopes never seen by this process
        assert events(memory, f"new text {i}", user_id=f"cold-{i}") == ["ADD"]
    lookups = [q for q in queries if not (q or "").startswith("seq >")]  # rebases aside
    assert lookups == []  # neither a scope read nor a duplicate query
    assert events(memory, "fact 3", user_id="cold-9") == ["ADD"]  # stored, in another scope
    lookups = [q for q in queries if not (q or "").startswith("seq >")]
    assert len(lookups) == 1  # that one maybe is looked up, and is not in this scope
    assert events(memory, "fact 3", user_id="u") == ["NONE"]


def test_repeats_are_found_across_compactions(tmp_path: Path) -> None:
    m = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), optimize_every=3))
    texts = [f"fact number {i}" for i in range(12)]
    for t in texts:
        assert events(m, t, user_id="u") == ["ADD"]
    m.optimize()  # versions this process's check did not log: a rebase reads what changed
    for t in texts:
        assert events(m, t, user_id="u") == ["NONE"]
    assert len(m.get_all(user_id="u", limit=100)["results"]) == 12
    m.close()


def test_another_handles_commits_are_seen(tmp_path: Path) -> None:
    uri = str(tmp_path / "s")
    a = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))
    b = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))
    assert events(a, "first", user_id="u") == ["ADD"]
    assert events(b, "second", user_id="u") == ["ADD"]  # a's hash set does not know it
    assert events(a, "second", user_id="u") == ["NONE"]
    b.optimize()
    assert events(b, "third", user_id="u") == ["ADD"]
    assert events(a, "third", user_id="u") == ["NONE"]
    a.close()
    b.close()


def test_another_process_commit_is_seen(tmp_path: Path) -> None:
    uri = str(tmp_path / "s")
    m = open_memory(uri)
    assert events(m, "mine", user_id="u") == ["ADD"]
    p = SPAWN.Process(target=other_process_adds, args=(uri, "theirs"))
    p.start()
    p.join(timeout=120)
    assert p.exitcode == 0
    assert events(m, "theirs", user_id="u") == ["NONE"]
    assert len(m.get_all(user_id="u")["results"]) == 2
    m.close()


def test_own_updates_deletes_and_expiry_keep_the_check_right(tmp_path: Path) -> None:
    clock = FrozenClock()
    m = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock))
    mid = m.add("old text", user_id="u", infer=False)["results"][0]["id"]
    m.update(mid, "new text")
    assert events(m, "new text", user_id="u") == ["NONE"]  # the update's text is known
    assert events(m, "old text", user_id="u") == ["ADD"]  # no longer stored
    m.delete(mid)
    assert events(m, "new text", user_id="u") == ["ADD"]  # deleted: stored again
    soon = clock.now() + timedelta(minutes=1)
    assert events(m, "fleeting", user_id="u") == ["ADD"]
    fid = m.get_all(user_id="u", limit=10)["results"]
    gone = next(r["id"] for r in fid if r["memory"] == "fleeting")
    m.set_expiration([gone], soon)
    clock.advance(minutes=2)
    assert events(m, "fleeting", user_id="u") == ["ADD"]  # the stored one expired
    m.close()


def test_history_reads_back_at_once(memory: Memory) -> None:
    mid = memory.add("queued history", user_id="u", infer=False)["results"][0]["id"]
    memory.update(mid, "queued history, rewritten")
    got = [(e["event"], e["new_memory"]) for e in memory.history(mid)]
    assert got == [("ADD", "queued history"), ("UPDATE", "queued history, rewritten")]
    memory.delete(mid)
    assert [e["event"] for e in memory.history(mid)] == ["ADD", "UPDATE", "DELETE"]


def test_close_commits_queued_history(tmp_path: Path) -> None:
    uri = str(tmp_path / "s")
    m = open_memory(uri)
    ids = [m.add(f"fact {i}", user_id="u", infer=False)["results"][0]["id"] for i in range(5)]
    m.close()
    with open_memory(uri) as again:
        again.wait_for_housekeeping()  # recovery at open has looked: it found nothing missing
        hist = again.store.history.to_arrow().to_pylist()
        assert sorted(e["memory_id"] for e in hist if e["event"] == "ADD") == sorted(ids)
        assert not [e for e in hist if e["id"].startswith("recovered-")]


def test_exit_without_close_commits_queued_history(tmp_path: Path) -> None:
    """A script that never closes its Memory still leaves complete history (atexit).

    The writer thread's commits fail in the child, so what lands is what the exit flushed.
    """
    uri = str(tmp_path / "s")
    script = (
        "import threading\n"
        "from mem_integrations import Memory, MemoryConfig\n"
        "from mem_integrations.testing import HashEmbedder\n"
        f"m = Memory(MemoryConfig(uri={uri!r}, embedder=HashEmbedder()))\n"
        "real = m.store.add_history\n"
        "def main_thread_only(rows):\n"
        "    if threading.current_thread().name == 'mem-history':\n"
        "        raise OSError('the writer thread cannot commit')\n"
        "    return real(rows)\n"
        "m.store.add_history = main_thread_only\n"
        "for i in range(5):\n"
        "    m.add(f'exit fact {i}', user_id='u', infer=False)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", script]
    subprocess.run(cmd, check=True, env=env, timeout=120, capture_output=True)
    with open_memory(uri) as m:
        m.wait_for_housekeeping()
        hist = m.store.history.to_arrow().to_pylist()
        assert sorted(e["new_memory"] for e in hist) == [f"exit fact {i}" for i in range(5)]
        assert not [e for e in hist if e["id"].startswith("recovered-")]


def test_many_foreign_rows_drop_the_held_scopes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_DELTA rows written elsewhere, scopes are re-read instead of patched."""
    monkeypatch.setattr(seen_hashes, "MAX_DELTA", 2)
    uri = str(tmp_path / "s")
    a = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))
    b = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))
    assert events(a, "first", user_id="u") == ["ADD"]
    assert events(a, "other scope", user_id="w") == ["ADD"]
    b.add([{"role": "user", "content": f"bulk {i}"} for i in range(5)], user_id="u", infer=False)
    assert events(a, "bulk 3", user_id="u") == ["NONE"]
    assert a.store.seen.scopes == 1  # w was dropped with the rebase; u re-read
    assert events(a, "other scope", user_id="w") == ["NONE"]
    a.close()
    b.close()


def test_history_before_return_lets_another_handle_read_it_at_once(tmp_path: Path) -> None:
    """``history_behind_writes=False`` (the server's setting): nothing is left queued."""
    uri = str(tmp_path / "s")
    a = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder(), history_behind_writes=False))
    b = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))
    mid = a.add("likes tea", user_id="u", infer=False)["results"][0]["id"]
    assert a._engine.history_queue.pending == 0
    a.delete(mid)
    assert a._engine.history_queue.pending == 0
    assert [e["event"] for e in b.history(mid)] == ["ADD", "DELETE"]
    a.close()
    b.close()


def test_recovery_during_this_process_writes_adds_no_event_for_them(memory: Memory) -> None:
    """The open-time check runs while this process writes, its history queued behind.

    A memory committed with its ADD still queued looks lost to a check that reads in
    between; writing what the check found must not add a recovered twin of that ADD
    (CI saw 5 history rows for 4 events: ``test_reembed``).
    """
    from mem_integrations.core.storage import recovery
    from mem_integrations.core.storage.rows import history_event

    memory.wait_for_housekeeping()
    engine = memory._engine
    row = {"id": "m-1", "memory": "likes tea", "hash": "0" * 32, "user_id": "u",
           "vector": [0.0] * memory.embedder.dim, "created_at": engine.clock.now(),
           "updated_at": engine.clock.now()}  # fmt: skip
    memory.store.append(engine.rows([row]))  # the memories commit has landed ...
    found = recovery.reconcile(memory.store.memories, memory.store.history, engine.clock)
    assert [e["memory_id"] for e in found] == ["m-1"]  # ... so the check sees it as lost
    engine.history_after([history_event(row, "ADD", None, "likes tea", engine.clock.now())])
    engine._write_recovered(found)  # its real event was queued meanwhile
    memory.wait_for_housekeeping()
    events = memory.store.history.search().where("memory_id = 'm-1'").to_arrow().to_pylist()
    assert [(e["event"], e["id"].startswith("recovered-")) for e in events] == [("ADD", False)]


def test_the_open_time_check_leaves_writes_since_this_open_to_later_checks(
    memory: Memory,
) -> None:
    """A write of this process whose history is not even queued yet is in flight, not lost.

    (CI saw a recovered twin of an ADD whose write was between its memories commit and its
    history submit while the open-time check read: ``test_close_commits_queued_history``.)
    """
    from mem_integrations.core.storage import recovery

    memory.wait_for_housekeeping()
    engine = memory._engine
    row = {"id": "m-2", "memory": "likes jazz", "hash": "1" * 32, "user_id": "u",
           "vector": [0.0] * memory.embedder.dim, "created_at": engine.clock.now(),
           "updated_at": engine.clock.now()}  # fmt: skip
    memory.store.append(engine.rows([row]))  # stamped after this Memory opened
    found = recovery.reconcile(memory.store.memories, memory.store.history, engine.clock)
    assert [e["memory_id"] for e in found] == ["m-2"]
    engine._write_recovered(found)
    assert memory.store.history.count_rows("memory_id = 'm-2'") == 0


def test_a_hash_column_decodes_to_the_same_keys_as_its_strings_one_by_one() -> None:
    """The whole table's hashes are decoded as a matrix (no Python strings); same keys."""
    import hashlib

    import numpy as np
    import pyarrow as pa

    digests = [hashlib.md5(str(i).encode()).hexdigest() for i in range(1000)]
    chunked = pa.chunked_array([pa.array(digests[:300]), pa.array(digests[300:])])
    expected = hash_keys.as_keys(digests)
    assert len(expected) == 1000
    assert np.array_equal(hash_keys.column_keys(chunked), expected)
    assert np.array_equal(hash_keys.column_keys(pa.array(digests)[5:9]), expected[5:9])
    upper = [d.upper() for d in digests[:3]]
    assert np.array_equal(hash_keys.column_keys(pa.array(upper)), expected[:3])
    # Null, short, non-hex and non-ASCII hashes are skipped exactly as the strings' way skips them.
    for odd in ([digests[0], None, digests[1]], [digests[0], "abc"], ["zz" * 16, digests[2]],
                ["é" * 16, digests[3]], []):  # fmt: skip
        got = hash_keys.column_keys(pa.array(odd, pa.string()))
        assert got.dtype == np.uint64
        assert np.array_equal(got, hash_keys.as_keys(odd))


def test_the_whole_tables_held_hashes_are_every_stored_hash(memory: Memory) -> None:
    memory.add([{"role": "user", "content": f"fact {i}"} for i in range(50)], user_id="u",
               infer=False)  # fmt: skip
    memory.store.seen.clear()  # the next add reads the whole table's hashes from LanceDB
    stored = memory.store.query(None, ["hash"])["hash"].to_pylist()
    assert events(memory, "fact 7", user_id="u") == ["NONE"]
    held = memory.store.seen.held(seen_hashes.ALL)
    assert held is not None and len(held.sorted) == len(stored) == 50
    assert all(held.has(int(k)) for k in hash_keys.as_keys(stored))


def test_a_compaction_keeps_the_held_hashes_within_a_bulk_loads_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Versions that kept the rows (another handle's compaction here) need no re-read.

    Within the grace of a bulk load (over MAX_DELTA rows), the ``seq`` query a rebase makes
    returns the load, so every compaction dropped the held scopes and the next add re-read
    the whole table's hashes.
    """
    monkeypatch.setattr(seen_hashes, "MAX_DELTA", 2)
    uri = str(tmp_path / "s")
    a = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))
    b = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))
    a.add([{"role": "user", "content": f"bulk {i}"} for i in range(5)], user_id="u", infer=False)
    assert events(a, "first", user_id="u") == ["ADD"]
    assert events(a, "other", user_id="w") == ["ADD"]
    held = a.store.seen.held(seen_hashes.ALL)
    assert held is not None
    scopes = a.store.seen.scopes
    version = a.store.memories.version
    b.store.optimize()  # merges fragments and builds indexes: versions a did not make
    assert a.store.memories.version > version
    reads = _count_reads(a, monkeypatch)
    assert events(a, "new after the compaction", user_id="u") == ["ADD"]
    assert a.store.seen.held(seen_hashes.ALL) is held  # kept, moved on, not re-read
    assert a.store.seen.scopes == scopes
    assert not [w for w in reads if w is None or "seq" in w]
    assert events(a, "bulk 3", user_id="u") == ["NONE"]  # still a superset
    assert events(a, "other", user_id="w") == ["NONE"]
    a.close()
    b.close()
