"""Recovery skips the writes of handles that closed cleanly (issue 21: open of a 1M store).

A clean close, once its queued adds and history are committed, records its writer settled
(``storage.watermark``); the next open, still within the grace, reads none of its rows or
deletion-log entries into Python (``recovery.ROWS_READ``), while a killed writer's unfinished
writes are recovered as before. The kills here are real SIGKILLs of spawned writers
(``reliability.workers``), or an in-process handle that is dropped without its close.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import lancedb
import pyarrow as pa
import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.errors import PartialWriteError
from mem_integrations.core.storage import watermark
from mem_integrations.core.storage.recovery import RECOVERED_PREFIX, ROWS_READ, visible
from mem_integrations.core.storage.schema import (
    ACCESSES_SCHEMA,
    HISTORY_SCHEMA,
    SCHEMA_VERSION,
    memories_schema,
    read_meta,
    write_meta,
)
from mem_integrations.testing import FrozenClock, HashEmbedder
from reliability.workers import (
    crash_writer,
    kill_when_done,
    open_memory,
    queued_add_writer,
    read_log,
)
from test_history_commit_failures import HistoryDisk
from test_recovery_watermark import seed_old_rows

SPAWN = mp.get_context("spawn")


def _open(path: Path | str, **kw: object) -> Memory:
    return Memory(MemoryConfig(uri=str(path), embedder=HashEmbedder(), clock=FrozenClock(), **kw))


def _reads() -> dict[str, int]:
    return dict(ROWS_READ)


def _read_since(before: dict[str, int], table: str) -> int:
    return ROWS_READ.get(table, 0) - before.get(table, 0)


def _add_many(m: Memory, n: int, user: str = "u") -> list[str]:
    res = m.add([{"role": "user", "content": f"fact {user} {i}"} for i in range(n)],
                user_id=user, infer=False)  # fmt: skip
    return [r["id"] for r in res["results"]]


def _settled(m: Memory) -> set[str]:
    return set(watermark.settled_writers(read_meta(m.store.db))[0])


def _events(m: Memory, memory_id: str) -> list[str]:
    rows = m.store.history.search().where(f"memory_id = '{memory_id}'").limit(None).to_list()
    return [e["event"] for e in visible(rows)]


def test_an_open_right_after_a_clean_close_reads_none_of_its_writes(tmp_path: Path) -> None:
    m = _open(tmp_path / "s")
    m.wait_for_housekeeping()
    ids = _add_many(m, 300)
    m.update(ids[0], "fact rewritten")
    for i in ids[1:40]:
        m.delete(i)
    writer = m.store.writer.id
    m.close()
    assert writer in _settled(m)
    before = _reads()
    again = _open(tmp_path / "s")  # at once: the grace has not passed
    again.wait_for_housekeeping()
    assert _read_since(before, "memories") == 0
    assert _read_since(before, "deletions") == 0
    assert _read_since(before, "history") == 0
    assert len(again.get_all(user_id="u", limit=1000)["results"]) == 300 - 39
    assert _events(again, ids[0]) == ["ADD", "UPDATE"]
    again.close()


def test_a_handle_that_only_read_records_nothing(tmp_path: Path) -> None:
    _open(tmp_path / "s").close()
    m = _open(tmp_path / "s")
    m.search("anything", user_id="u")
    m.close()
    assert _settled(m) == set()


def test_two_handles_of_one_process_are_two_writers(tmp_path: Path) -> None:
    a, b = _open(tmp_path / "s"), _open(tmp_path / "s")
    assert a.store.writer.id != b.store.writer.id
    a_ids, b_ids = _add_many(a, 5, "ua"), _add_many(b, 5, "ub")
    rows = a.store.query(None, ["id", "writer"]).to_pylist()
    assert {r["writer"] for r in rows if r["id"] in a_ids} == {a.store.writer.id}
    assert {r["writer"] for r in rows if r["id"] in b_ids} == {b.store.writer.id}
    b_writer = b.store.writer.id
    a.close()
    b.wait_for_housekeeping()  # its history is in: only the settled record is missing
    b.store.close()  # b is dropped without its clean close: never vouched for
    assert b_writer not in _settled(a)
    before = _reads()
    again = _open(tmp_path / "s")
    again.wait_for_housekeeping()
    assert _read_since(before, "memories") == 2 * 5  # b's rows: found by seq, then read by id
    again.close()


def test_a_close_whose_history_flush_failed_vouches_for_nothing(tmp_path: Path) -> None:
    m = _open(tmp_path / "s")
    m.wait_for_housekeeping()
    disk = HistoryDisk(m)
    ids = _add_many(m, 3)
    writer = m.store.writer.id
    with pytest.raises(PartialWriteError):
        m.close()
    disk.full = False
    assert writer not in _settled(m)
    again = _open(tmp_path / "s")
    again.wait_for_housekeeping()
    for i in ids:  # the events the close could not write are recovered
        assert _events(again, i) == ["ADD"]
    again.close()


def test_writes_through_a_closed_handle_are_not_covered(tmp_path: Path) -> None:
    m = _open(tmp_path / "s")
    _add_many(m, 2)
    first = m.store.writer.id
    m.close()
    assert first in _settled(m) and m.store.writer.id != first
    row = m.store.query(None, None).slice(0, 1).drop_columns(["seq", "writer"])
    late = row.set_column(0, "id", pa.array([str(uuid.uuid4())]))
    m.store.append(late)  # through the closed handle, with no history: a fresh writer id
    stored = m.store.query(f"id = '{late['id'][0]}'", ["writer"])["writer"][0].as_py()
    assert stored not in _settled(m)
    again = _open(tmp_path / "s")
    again.wait_for_housekeeping()
    assert _events(again, late["id"][0].as_py()) == ["ADD"]
    again.close()


def _kill_writer(uri: str, log: Path, kill: tuple[str, int]) -> list[dict[str, object]]:
    p = SPAWN.Process(target=crash_writer, args=(uri, str(log), 5, 7, kill))
    p.start()
    p.join(timeout=120)
    assert p.exitcode == -signal.SIGKILL
    entries = read_log(log)
    assert entries[-1]["op"] == "begin", "the kill hook must fire inside a call"
    return entries


@pytest.mark.parametrize(("method", "nth"), [("append", 2), ("delete", 1)])
def test_a_killed_writer_is_recovered_and_a_clean_one_is_not_read(
    tmp_path: Path, method: str, nth: int
) -> None:
    uri = str(tmp_path / "store")
    clean = open_memory(uri)
    clean_ids = _add_many(clean, 200, "clean")
    for i in clean_ids[:50]:
        clean.delete(i)
    clean.close()
    entries = _kill_writer(uri, tmp_path / "log.jsonl", (method, nth))
    before = _reads()
    with open_memory(uri) as m:
        m.wait_for_housekeeping()
        (killed,) = set(m.store.query("user_id = 'crash'", ["writer"])["writer"].to_pylist())
        live = m.store.count(f"writer = '{killed}'")
        assert 0 < live < 50
        # the killed writer's rows, found by seq, read by id, maybe read again by id before
        # the recovered events are written; never the clean handle's 150
        assert 2 * live <= _read_since(before, "memories") <= 3 * live
        logged = m.store.deletions.count_rows(f"writer = '{killed}'")
        assert _read_since(before, "deletions") == logged < 50
        recovered = [
            e for e in m.store.history.to_arrow().to_pylist()
            if e["id"].startswith(RECOVERED_PREFIX)
        ]  # fmt: skip
        inflight = entries[-1]
        assert inflight["kind"] == ("add" if method == "append" else "delete")
        lost = inflight["texts"] if method == "append" else inflight["ids"]
        assert isinstance(lost, list)
        assert len(recovered) >= len(lost)
        if method == "delete":
            for i in lost:
                assert _events(m, str(i))[-1] == "DELETE"
        else:
            texts = {e["new_memory"] for e in recovered if e["event"] == "ADD"}
            assert set(lost) <= texts
        assert not {e["memory_id"] for e in recovered} & set(clean_ids)
        assert len(m.get_all(user_id="clean", limit=1000)["results"]) == 150


def test_adopted_queued_adds_are_the_adopters_writes(tmp_path: Path) -> None:
    uri, log = kill_when_done(tmp_path, queued_add_writer, 3, False)  # died with 3 adds queued
    acked = {i for e in read_log(log) if e["op"] == "add" for i in e["ids"]}
    adopter = open_memory(uri)  # commits them at open, with their ADD events queued
    adopter.wait_for_housekeeping()
    rows = adopter.store.query(None, ["id", "writer"]).to_pylist()
    assert {r["id"] for r in rows} == acked and len(acked) == 6
    assert {r["writer"] for r in rows} == {adopter.store.writer.id}
    adopter.close()
    before = _reads()
    with open_memory(uri) as m:
        m.wait_for_housekeeping()
        assert _read_since(before, "memories") == 0
        for i in acked:
            assert _events(m, i) == ["ADD"]


def _v2_store(path: Path, clock: FrozenClock) -> tuple[str, str]:
    """A store as schema version 2 left it: ``seq`` and the deletion log, no writer."""
    db = lancedb.connect(str(path))
    dim = HashEmbedder().dim
    schema = memories_schema(dim).append(pa.field("seq", pa.int64()))
    db.create_table("memories", schema=schema)
    db.create_table("history", schema=HISTORY_SCHEMA)
    db.create_table("accesses", schema=ACCESSES_SCHEMA)
    db.create_table("deletions", schema=pa.schema(
        [pa.field("memory_id", pa.string(), nullable=False),
         pa.field("seq", pa.int64(), nullable=False)]))  # fmt: skip
    mark = watermark.next_seq() - 2 * watermark.GRACE_NS  # as a check long ago left it
    meta = {"schema_version": "2", "dim": str(dim), "model_id": HashEmbedder().model_id,
            watermark.WATERMARK: str(mark)}  # fmt: skip
    write_meta(db, meta)
    return seed_old_rows(db, schema, clock.now(), seq=watermark.next_seq())


def test_a_schema_2_store_gets_the_writer_column_and_its_rows_are_checked(
    tmp_path: Path, clock: FrozenClock
) -> None:
    ok, orphan = _v2_store(tmp_path / "s", clock)
    before = _reads()
    m = _open(tmp_path / "s")
    m.wait_for_housekeeping()
    assert int(read_meta(m.store.db)["schema_version"]) == SCHEMA_VERSION == 3
    assert "writer" in m.store.memories.schema.names
    assert "writer" in m.store.deletions.schema.names
    assert m.store.query(None, ["writer"])["writer"].null_count == 2
    # unknown writer: checked as before (found by seq, read by id, the orphan read once more
    # before its recovered event is written)
    assert _read_since(before, "memories") == 2 + 2 + 1
    assert _events(m, orphan) == ["ADD"] and _events(m, ok) == ["ADD"]
    new = _add_many(m, 1)[0]
    m.delete(ok)
    assert m.store.deletions.to_arrow()["writer"].to_pylist() == [m.store.writer.id]
    m.close()
    before = _reads()
    again = _open(tmp_path / "s")
    again.wait_for_housekeeping()
    # written within the grace, the old rows are still above the watermark: their null writer
    # passes the filter (the orphan is read; ``ok`` is deleted, by a settled writer)
    assert _read_since(before, "memories") == 2
    assert _read_since(before, "deletions") == 0
    assert _events(again, orphan) == ["ADD"]  # recovered once, not again
    assert _events(again, ok) == ["ADD", "DELETE"] and _events(again, new) == ["ADD"]
    again.close()


@pytest.fixture
def no_grace(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The watermark moves to the check's start, as it does five quiet minutes later."""
    monkeypatch.setattr(watermark, "GRACE_NS", 0)
    yield


def test_a_settled_entry_goes_once_the_watermark_passes_it(tmp_path: Path, no_grace: None) -> None:
    m = _open(tmp_path / "s")
    _add_many(m, 3)
    writer = m.store.writer.id
    m.close()
    assert writer in _settled(m)
    again = _open(tmp_path / "s")
    again.wait_for_housekeeping()
    meta = read_meta(again.store.db)
    assert int(meta[watermark.WATERMARK]) > int(meta.get(watermark.SETTLED_PREFIX + writer, "0"))
    assert writer not in _settled(again)
    again.close()


def test_writer_ids_reach_sql_only_quoted(tmp_path: Path) -> None:
    sql = watermark.unsettled_sql(["it's", "b" * 32])
    assert sql is not None and "'it''s'" in sql
    m = _open(tmp_path / "s")
    _add_many(m, 2)
    assert m.store.count(sql) == 2  # a valid filter, whatever the ids hold
    m.wait_for_housekeeping()
    m.store.close()  # dropped, not closed: its rows must be checked
    hostile = watermark.SETTLED_PREFIX + "x' OR writer IS NOT NULL OR 'a"
    write_meta(m.store.db, {hostile: "1"})
    assert _settled(m) == set()  # not an id a handle makes: vouches for nothing
    before = _reads()
    again = _open(tmp_path / "s")
    again.wait_for_housekeeping()
    assert _read_since(before, "memories") == 2 * 2  # the dropped handle's rows, checked
    assert hostile not in read_meta(again.store.db)  # and the junk entry is gone
    again.close()


def test_too_many_settled_writers_fall_back_to_checking_everything(tmp_path: Path) -> None:
    assert watermark.unsettled_sql([uuid.uuid4().hex for _ in range(watermark.MAX_SETTLED)])
    many = [uuid.uuid4().hex for _ in range(watermark.MAX_SETTLED + 1)]
    assert watermark.unsettled_sql(many) is None
    m = _open(tmp_path / "s")
    _add_many(m, 2)
    m.close()
    write_meta(m.store.db, {watermark.SETTLED_PREFIX + w: "1" for w in many})
    before = _reads()
    again = _open(tmp_path / "s")
    again.wait_for_housekeeping()
    assert _read_since(before, "memories") == 2 * 2  # vouched for, but checked: as before
    again.close()


def test_the_meta_table_and_the_log_stay_few_fragments(tmp_path: Path) -> None:
    m = _open(tmp_path / "s")
    ids = _add_many(m, 40)
    for i in ids:  # one log commit each
        m.delete(i)
    m.close()
    for n in range(40):  # as many closes of other handles, one meta commit each
        write_meta(m.store.db, {watermark.SETTLED_PREFIX + uuid.uuid4().hex: str(n)})
    meta = read_meta(m.store.db)
    fragments = len(m.store.db.open_table("meta").to_lance().get_fragments())
    assert fragments > 40 and len(m.store.deletions.to_lance().get_fragments()) >= 40
    again = _open(tmp_path / "s")
    again.wait_for_housekeeping()
    assert len(again.store.db.open_table("meta").to_lance().get_fragments()) <= 32
    assert len(again.store.deletions.to_lance().get_fragments()) <= 32
    kept = read_meta(again.store.db)
    assert kept["schema_version"] == meta["schema_version"] and kept["dim"] == meta["dim"]
    assert len(again.store.deletions.to_arrow()) == 40  # within the grace: all kept
    again.close()


def test_the_housekeeping_check_skips_settled_writers_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = _open(tmp_path / "s")
    live.wait_for_housekeeping()  # its open-time check set the watermark: now less the grace
    clean, dropped = _open(tmp_path / "s"), _open(tmp_path / "s")
    _add_many(clean, 30, "clean")
    clean.close()
    _add_many(dropped, 4, "dropped")
    dropped.wait_for_housekeeping()
    dropped.store.close()  # never vouched for
    monkeypatch.setattr(watermark, "GRACE_NS", 0)  # as if the grace had passed
    before = _reads()
    watermark.check(live.store, live.clock, live._engine.history, settled_only=True)
    assert _read_since(before, "memories") == 2 * 4  # the dropped handle's rows only
    assert _settled(live) == set()  # the watermark passed the clean close: entry removed
    live.close()
