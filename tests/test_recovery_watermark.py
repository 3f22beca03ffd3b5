"""Recovery at open reads only what could be unfinished (issue 21): the watermark and m002.

A writer "killed" between its memories commit and its history commit is simulated in-process
by committing to the memories table through the store, never writing the history event, and
never closing the handle cleanly (:func:`_killed`): a clean close vouches for every write of
its handle (``storage.watermark``). The SIGKILL variants are in ``test_crash.py`` and
``test_recovery_writers.py``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import lancedb
import pyarrow as pa
import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.storage import watermark
from mem_integrations.core.storage.recovery import RECOVERED_PREFIX, visible
from mem_integrations.core.storage.schema import (
    ACCESSES_SCHEMA,
    HISTORY_SCHEMA,
    SCHEMA_VERSION,
    memories_schema,
    read_meta,
)
from mem_integrations.testing import FrozenClock, HashEmbedder


def _open(path: Path, clock: FrozenClock) -> Memory:
    m = Memory(MemoryConfig(uri=str(path), embedder=HashEmbedder(), clock=clock))
    m.wait_for_housekeeping()  # open-time recovery has run
    return m


def _killed(m: Memory) -> None:
    """Stop the handle's threads as a kill would, without the clean close's settled record."""
    m.store.close()


def _row(m: Memory, text: str, user: str = "u") -> pa.Table:
    now = m.clock.now()
    row = {
        "id": str(uuid.uuid4()), "memory": text, "hash": uuid.uuid4().hex,
        "vector": HashEmbedder().embed_query(text), "user_id": user, "created_at": now,
        "updated_at": now,
    }  # fmt: skip
    return pa.Table.from_pylist([row], schema=memories_schema(HashEmbedder().dim))


def _events(m: Memory, memory_id: str) -> list[dict[str, object]]:
    rows = m.store.history.search().where(f"memory_id = '{memory_id}'").limit(None).to_list()
    return visible(rows)


def test_a_store_records_its_watermark_after_the_first_check(
    tmp_path: Path, clock: FrozenClock
) -> None:
    m = _open(tmp_path / "s", clock)
    meta = read_meta(m.store.db)
    assert int(meta["schema_version"]) == SCHEMA_VERSION >= 2
    assert int(meta[watermark.WATERMARK]) < watermark.next_seq()
    m.add("I like tea", user_id="u", infer=False)
    assert m.store.query(None, ["seq"])["seq"].to_pylist()[0] > int(meta[watermark.WATERMARK])
    m.close()


def test_crash_between_the_commits_is_recovered_through_the_watermark(
    tmp_path: Path, clock: FrozenClock
) -> None:
    m = _open(tmp_path / "s", clock)
    kept = m.add("the kayak is red", user_id="u", infer=False)["results"][0]["id"]
    gone = m.add("the tent is green", user_id="u", infer=False)["results"][0]["id"]
    m.close()
    m = _open(tmp_path / "s", clock)
    assert watermark.WATERMARK in read_meta(m.store.db)
    # "killed" writers: an add, an update and a delete whose history commits never happened
    lost = _row(m, "the canoe is blue")
    m.store.append(lost)
    changed = m.store.query(f"id = '{kept}'", None).drop_columns(["seq"])
    changed = changed.set_column(1, "memory", pa.array(["the kayak is yellow"]))
    m.store.upsert(changed)
    m.store.delete(f"id = '{gone}'")
    _killed(m)
    m = _open(tmp_path / "s", clock)
    added = _events(m, lost["id"][0].as_py())
    assert [e["event"] for e in added] == ["ADD"]
    assert str(added[0]["id"]).startswith(RECOVERED_PREFIX)
    assert [e["event"] for e in _events(m, kept)] == ["ADD", "UPDATE"]
    assert _events(m, kept)[-1]["new_memory"] == "the kayak is yellow"
    assert [e["event"] for e in _events(m, gone)] == ["ADD", "DELETE"]
    m.close()


def test_only_writes_above_the_watermark_are_looked_at(tmp_path: Path, clock: FrozenClock) -> None:
    m = _open(tmp_path / "s", clock)
    m.add("the kayak is red", user_id="u", infer=False)
    m.close()
    m = _open(tmp_path / "s", clock)
    mark = int(read_meta(m.store.db)[watermark.WATERMARK])
    # A row stamped below the watermark is, by the watermark's contract, settled: recovery
    # must not even read it (here it lacks history, which the full check would repair).
    old = watermark.stamp(_row(m, "written long ago"), mark - 1, None)
    m.store.memories.add(old)
    new = _row(m, "written just now")
    m.store.append(new)
    _killed(m)
    m = _open(tmp_path / "s", clock)
    assert _events(m, old["id"][0].as_py()) == []
    assert [e["event"] for e in _events(m, new["id"][0].as_py())] == ["ADD"]
    m.close()


def _v1_store(path: Path, now: datetime) -> tuple[str, str]:
    """A store as version 1 of the schema left it: no ``seq``, no deletion log."""
    db = lancedb.connect(str(path))
    dim = HashEmbedder().dim
    schema = memories_schema(dim)
    db.create_table("memories", schema=schema)
    db.create_table("history", schema=HISTORY_SCHEMA)
    db.create_table("accesses", schema=ACCESSES_SCHEMA)
    meta = [("schema_version", "1"), ("dim", str(dim)), ("model_id", HashEmbedder().model_id)]
    db.create_table("meta", data=pa.Table.from_pylist([{"key": k, "value": v} for k, v in meta]))
    return seed_old_rows(db, schema, now)


def seed_old_rows(db: Any, schema: pa.Schema, now: datetime, **extra: Any) -> tuple[str, str]:
    """Two memories an old writer left, one with its ADD event and one without (the orphan).

    ``extra``: more columns of both rows (``seq`` for a schema-2 store).
    """
    ok, orphan = str(uuid.uuid4()), str(uuid.uuid4())
    rows = [
        {"id": i, "memory": t, "hash": uuid.uuid4().hex, "vector": HashEmbedder().embed_query(t),
         "user_id": "u", "created_at": now, "updated_at": now, **extra}
        for i, t in ((ok, "old tea memory"), (orphan, "old kayak memory"))
    ]  # fmt: skip
    db.open_table("memories").add(pa.Table.from_pylist(rows, schema=schema))
    event = {"id": str(uuid.uuid4()), "memory_id": ok, "event": "ADD",
             "new_memory": "old tea memory", "user_id": "u", "created_at": now,
             "is_deleted": False}  # fmt: skip
    db.open_table("history").add(pa.Table.from_pylist([event], schema=HISTORY_SCHEMA))
    return ok, orphan


def test_an_old_store_is_upgraded_and_checked_whole_once(
    tmp_path: Path, clock: FrozenClock
) -> None:
    ok, orphan = _v1_store(tmp_path / "s", clock.now() - timedelta(days=1))
    m = _open(tmp_path / "s", clock)
    meta = read_meta(m.store.db)
    assert int(meta["schema_version"]) == SCHEMA_VERSION
    assert watermark.WATERMARK in meta
    assert "seq" in m.store.memories.schema.names
    assert m.store.query(None, ["seq"])["seq"].null_count == 2  # old rows: below any watermark
    # the first check had no watermark, so it read everything: the orphan got its event
    assert [e["event"] for e in _events(m, orphan)] == ["ADD"]
    assert [e["event"] for e in _events(m, ok)] == ["ADD"]
    assert {h.memory for h in m.search_hits("old memory", user_id="u")} == {
        "old tea memory",
        "old kayak memory",
    }
    new = m.add("new memory after the upgrade", user_id="u", infer=False)["results"][0]["id"]
    m.delete(ok, user_id="u")
    m.close()
    m = _open(tmp_path / "s", clock)
    assert [e["event"] for e in _events(m, ok)] == ["ADD", "DELETE"]
    assert [e["event"] for e in _events(m, new)] == ["ADD"]
    assert {r["memory"] for r in m.get_all(user_id="u")["results"]} == {
        "old kayak memory",
        "new memory after the upgrade",
    }
    m.close()


def test_a_check_reports_only_what_it_wrote_not_this_handles_writes_in_flight(
    tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The open's check runs while the handle writes: its own adds are in flight, not lost.

    They are left out of what it writes (``Engine._write_recovered``); the count it returns
    and the warning it logs must say the same, or a fresh store logs phantom recoveries.
    """
    m = _open(tmp_path / "s", clock)
    m.store.append(_row(m, "an add whose history is still queued"))
    engine = m._engine
    with caplog.at_level(logging.WARNING):
        n = watermark.check(m.store, m.clock, engine._write_recovered, settled_only=False)
    assert n == 0
    assert "recovered" not in caplog.text
    _killed(m)
