"""Queued adds (``MemoryConfig(queue_adds=True)``): acknowledged once logged, committed behind.

What must hold: the same events as a plain add, every later call of the handle sees the add,
nothing acknowledged is lost on a crash, and nothing deleted comes back from a log file.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.errors import ConfigurationError, PartialWriteError, StoreError
from mem_integrations.core.storage.store import Store
from mem_integrations.testing import HashEmbedder
from reliability.workers import kill_when_done, open_memory, queued_add_writer, read_log

SPAWN = mp.get_context("spawn")


def _open(uri: Path, **kw: object) -> Memory:
    return Memory(MemoryConfig(uri=str(uri), embedder=HashEmbedder(), **kw))  # type: ignore[arg-type]


def _events(m: Memory, texts: list[str], **kw: object) -> list[tuple[str, str]]:
    res = m.add([{"role": "user", "content": t} for t in texts], user_id="u", infer=False, **kw)
    return [(e["event"], e["memory"]) for e in res["results"]]


def test_events_match_the_plain_path_for_new_repeated_and_enriched_texts(tmp_path: Path) -> None:
    plain, queued = _open(tmp_path / "plain"), _open(tmp_path / "queued", queue_adds=True)
    steps: list[tuple[list[str], dict[str, object]]] = [
        (["likes tea", "likes tea", "owns a cat"], {}),  # a repeat within the call
        (["likes tea"], {}),  # a repeat of a text still queued
        (["owns a cat"], {"metadata": {"pet": "cat"}}),  # a repeat that brings metadata
        (["walks daily"], {"categories": ["habits"]}),
    ]
    for texts, kw in steps:
        assert _events(queued, texts, **kw) == _events(plain, texts, **kw)
    got = {r["memory"]: r for r in queued.get_all(user_id="u")["results"]}
    want = {r["memory"]: r for r in plain.get_all(user_id="u")["results"]}
    assert sorted(got) == sorted(want) == ["likes tea", "owns a cat", "walks daily"]
    assert got["owns a cat"]["metadata"] == {"pet": "cat"}
    assert got["walks daily"]["categories"] == ["habits"]
    plain.close()
    queued.close()


def test_every_later_call_sees_a_queued_add(tmp_path: Path) -> None:
    m = _open(tmp_path / "s", queue_adds=True)
    mid = m.add("my dog is called Rex", user_id="u", infer=False)["results"][0]["id"]
    assert m.search("dog name", user_id="u")["results"][0]["id"] == mid
    mid2 = m.add("I live in Lyon", user_id="u", infer=False)["results"][0]["id"]
    assert m.get(mid2)["memory"] == "I live in Lyon"
    mid3 = m.add("I play chess", user_id="u", infer=False)["results"][0]["id"]
    m.update(mid3, "I play chess on Sundays")
    assert m.get(mid3)["memory"] == "I play chess on Sundays"
    mid4 = m.add("I drink coffee", user_id="u", infer=False)["results"][0]["id"]
    m.delete(mid4)
    assert sorted(r["id"] for r in m.get_all(user_id="u")["results"]) == sorted([mid, mid2, mid3])
    assert [e["event"] for e in m.history(mid3)] == ["ADD", "UPDATE"]
    m.close()


def test_another_handle_sees_a_queued_add_once_committed_and_close_commits(
    tmp_path: Path,
) -> None:
    m = _open(tmp_path / "s", queue_adds=True)
    other = _open(tmp_path / "s")
    mid = m.add("a queued fact", user_id="u", infer=False)["results"][0]["id"]
    m.close()  # commits what is queued, then lets go of its log folder
    assert other.get(mid)["memory"] == "a queued fact"
    assert [p for p in (tmp_path / "s" / "_add_queue").iterdir()] == []
    other.close()


def test_two_handles_never_replay_each_others_live_logs(tmp_path: Path) -> None:
    a = _open(tmp_path / "s", queue_adds=True)
    with a.store.write_lock:  # a's writer thread cannot commit: its add stays logged only
        a.add("held in a's log", user_id="u", infer=False)
        b = _open(tmp_path / "s", queue_adds=True)  # opens while a's log is live
        assert b.get_all(user_id="u")["results"] == []
        assert len(list((tmp_path / "s" / "_add_queue").glob("*/*.arrow"))) == 1
    assert [r["memory"] for r in a.get_all(user_id="u")["results"]] == ["held in a's log"]
    assert [r["memory"] for r in b.get_all(user_id="u")["results"]] == ["held in a's log"]
    a.close()
    b.close()


def test_a_store_on_object_storage_needs_a_local_queue_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="add_queue_dir"):
        Memory(MemoryConfig(uri="s3://bucket/store", embedder=HashEmbedder(), queue_adds=True))


@pytest.mark.parametrize("committed_then_deleted", [False, True])
def test_a_crash_loses_no_acknowledged_add_and_resurrects_no_deleted_one(
    tmp_path: Path, committed_then_deleted: bool
) -> None:
    uri, log = kill_when_done(tmp_path, queued_add_writer, 6, committed_then_deleted)
    entries = read_log(log)
    acked = {i: t for e in entries if e["op"] == "add" for i, t in e["ids"].items()}
    deleted = {i for e in entries if e["op"] == "delete" for i in e["ids"]}
    assert len(acked) == 12 and len(deleted) == int(committed_then_deleted)
    logged = list((Path(uri) / "_add_queue").glob("*/*.arrow"))
    assert len(logged) == 6 + int(committed_then_deleted)  # nothing was committed before the kill
    m = open_memory(uri)
    table = m.store.query(None, ["id", "memory"]).to_pylist()
    assert len(table) == len({r["id"] for r in table}), "a memory is stored twice"
    assert {r["id"]: r["memory"] for r in table} == acked
    m.wait_for_housekeeping()
    events = m.store.history.to_arrow().to_pylist()
    assert sorted(e["memory_id"] for e in events if e["event"] == "ADD") == sorted(
        [*acked, *deleted]
    )  # the replayed adds have their ADD event, once
    assert list((Path(uri) / "_add_queue").iterdir()) == []
    m.close()
    again = open_memory(uri)  # a second open finds nothing more to replay
    assert again.store.count() == len(acked)
    again.close()


def test_a_file_cut_short_by_a_crash_was_never_acknowledged(tmp_path: Path) -> None:
    uri, log = kill_when_done(tmp_path, queued_add_writer, 1, False)  # died with 1 add queued
    acked = {i: t for e in read_log(log) if e["op"] == "add" for i, t in e["ids"].items()}
    folder = next((Path(uri) / "_add_queue").iterdir())
    (folder / "000000000099.tmp").write_bytes(b"ARROW1\x00\x00 cut")  # died mid-write
    m = open_memory(uri)
    assert {r["id"]: r["memory"] for r in m.get_all(user_id="crash")["results"]} == acked
    assert not folder.exists()
    m.close()


def test_an_add_during_an_own_append_does_not_read_the_table_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newer version on disk during this process's append is that append's: no rebase.

    The writer thread commits queued adds while more adds arrive; each used to find the
    writer's version on disk before ``seen`` learned it, and re-read the rows since (~27 ms).
    """
    m = _open(tmp_path / "s", queue_adds=True)
    m.add("first fact", user_id="u", infer=False)
    m.get_all(user_id="u")  # committed, and the scope's hashes are held
    reads: list[str | None] = []
    real = m.store.seen._read

    def counted(where: str | None, *args: object, **kw: object) -> object:
        reads.append(where)
        return real(where, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(m.store.seen, "_read", counted)
    first = m.store.query(None, None).to_pylist()[0]
    other = m._core.rows([{**first, "id": "other", "memory": "from another process", "hash": "h"}])
    with m.store.seen.appending():  # as ``Store.append`` is between its commit and ``committed``
        m.store.memories.add(other)  # a version this process's ``seen`` has not learned
        m.add("second fact", user_id="u", infer=False)
        assert reads == []
    m.get_all(user_id="u")  # the queue is committed: no append of this process is in flight
    m.add("third fact", user_id="u", infer=False)  # the unknown version is read back now
    assert len(reads) == 1
    m.close()


def test_a_live_handle_adopts_a_dead_handles_queued_adds_without_reopening(
    tmp_path: Path,
) -> None:
    live = _open(tmp_path / "store")
    uri, log = kill_when_done(tmp_path, queued_add_writer, 1, False)  # died with 1 add queued
    acked = {i: t for e in read_log(log) if e["op"] == "add" for i, t in e["ids"].items()}
    assert live.get_all(user_id="crash")["results"] == []
    live.optimize()  # also runs after each background optimize
    got = {r["id"]: r["memory"] for r in live.get_all(user_id="crash")["results"]}
    assert got == acked and len(acked) == 2
    assert list((Path(uri) / "_add_queue").iterdir()) == []
    live.close()


def test_exit_without_close_commits_queued_adds_then_their_history(tmp_path: Path) -> None:
    """A script that never closes its Memory: the exit commits its queued adds, then history.

    Both writer threads fail in the child, so what lands is what the exit flushed, in order.
    """
    uri = str(tmp_path / "s")
    script = (
        "import threading\n"
        "from mem_integrations import Memory, MemoryConfig\n"
        "from mem_integrations.testing import HashEmbedder\n"
        f"m = Memory(MemoryConfig(uri={uri!r}, embedder=HashEmbedder(), queue_adds=True))\n"
        "def main_thread_only(real):\n"
        "    def call(rows):\n"
        "        if threading.current_thread().name in ('mem-adds', 'mem-history'):\n"
        "            raise OSError('the writer threads cannot commit')\n"
        "        return real(rows)\n"
        "    return call\n"
        "m.store.append = main_thread_only(m.store.append)\n"
        "m.store.add_history = main_thread_only(m.store.add_history)\n"
        "for i in range(5):\n"
        "    m.add(f'exit fact {i}', user_id='u', infer=False)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    folder = tmp_path / "s" / "_add_queue"
    assert list(folder.glob("*/*.arrow")) == []  # committed at exit, not left for the next open
    with open_memory(uri) as m:
        m.wait_for_housekeeping()
        hist = m.store.history.to_arrow().to_pylist()
        assert sorted(e["new_memory"] for e in hist) == [f"exit fact {i}" for i in range(5)]
        assert not [e for e in hist if e["id"].startswith("recovered-")]


def test_two_handles_of_one_process_store_a_text_once(tmp_path: Path) -> None:
    a = _open(tmp_path / "s", queue_adds=True)
    b = _open(tmp_path / "s", queue_adds=True)
    with a.store.write_lock:  # a's add stays queued while b adds the same text
        first = a.add("shared text", user_id="u", infer=False)["results"][0]
        assert b.add("other text", user_id="u", infer=False)["results"][0]["event"] == "ADD"
    again = b.add("shared text", user_id="u", infer=False)["results"][0]
    assert (again["event"], again["id"]) == ("NONE", first["id"])
    assert sorted(r["memory"] for r in b.get_all(user_id="u")["results"]) == [
        "other text",
        "shared text",
    ]
    a.close()
    b.close()
    b.close()  # closing twice is harmless


def test_a_log_that_cannot_be_written_is_a_typed_error_and_changes_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the queue folder should go")
    m = _open(tmp_path / "s", queue_adds=True, add_queue_dir=str(tmp_path / "not-a-folder" / "q"))
    with pytest.raises(StoreError, match="logging a queued add failed.*Nothing was changed"):
        m.add("never acknowledged", user_id="u", infer=False)
    assert m.get_all(user_id="u")["results"] == []
    assert m.search("never acknowledged", user_id="u")["results"] == []
    m.close()


def test_a_handle_that_only_reads_writes_nothing_to_the_folder(tmp_path: Path) -> None:
    m = _open(tmp_path / "s", queue_adds=True)
    m.search("anything", user_id="u")
    assert not (tmp_path / "s" / "_add_queue").exists()
    m.close()


def test_a_commit_that_fails_keeps_the_adds_queued_and_the_next_call_lands_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = _open(tmp_path / "s", queue_adds=True)
    real = m.store.append

    def full(rows: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(m.store, "append", full)
    mid = m.add("acknowledged before the disk filled", user_id="u", infer=False)["results"][0]["id"]
    with pytest.raises(PartialWriteError) as err:
        m.get_all(user_id="u")  # must see the add, cannot: says so, changes nothing itself
    assert err.value.committed == {"added": [mid]}
    assert "changed nothing itself" in str(err.value)
    assert len(list((tmp_path / "s" / "_add_queue").glob("*/*.arrow"))) == 1  # still logged
    monkeypatch.setattr(m.store, "append", real)
    assert [r["id"] for r in m.get_all(user_id="u")["results"]] == [mid]
    assert [e["event"] for e in m.history(mid)] == ["ADD"]
    m.close()


def test_a_store_that_cannot_take_a_dead_handles_adds_still_opens_and_takes_them_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, log = kill_when_done(tmp_path, queued_add_writer, 1, False)  # died with 1 add queued
    real = Store.append

    def full(self: Store, rows: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "append", full)
    m = open_memory(uri)  # opens for reads; the file stays for later
    assert m.get_all(user_id="crash")["results"] == []
    assert len(list((Path(uri) / "_add_queue").glob("*/*.arrow"))) == 1
    monkeypatch.setattr(Store, "append", real)
    m.optimize()
    assert len(m.get_all(user_id="crash")["results"]) == 2
    m.close()
