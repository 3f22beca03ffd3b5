"""LanceDBStore under attack and under races (issue 18): nothing resurrected, nothing forged.

The TTL refresh on read used to re-read whole rows and write them back with an upsert: a read
racing a delete failed with ``MemoryNotFoundError``, could bring the deleted item back, and
could write an older value over a concurrent put. The store also trusted ``lg.*`` metadata,
which anyone with the same ``app_id`` can write through the plain ``Memory`` API.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from langgraph.store.base import GetOp, SearchOp

from mem_integrations import Memory
from mem_integrations.langchain import LanceDBStore
from mem_integrations.testing import FrozenClock

NS = ("memories", "alice")
ROUNDS = 60


def _race(reader: Callable[[int], Any], writer: Callable[[int], None]) -> list[BaseException]:
    """Run ``reader`` and ``writer`` for ROUNDS each on two threads; return what either raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def loop(fn: Callable[[int], Any]) -> None:
        start.wait()
        try:
            for i in range(ROUNDS):
                fn(i)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(f,)) for f in (reader, writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.fixture
def ttl_store(memory: Memory) -> LanceDBStore:
    return LanceDBStore(memory, ttl={"refresh_on_read": True, "default_ttl": 60})


def test_refresh_racing_delete_never_raises_nor_resurrects(ttl_store: LanceDBStore) -> None:
    """Reads with refresh while another thread deletes and re-puts: no error, no zombie."""
    keys = [f"k{i}" for i in range(4)]
    for k in keys:
        ttl_store.put(NS, k, {"text": f"note {k}"})

    def read(i: int) -> None:
        ttl_store.batch([GetOp(NS, k, refresh_ttl=True) for k in keys])
        ttl_store.batch([SearchOp(NS, limit=10, refresh_ttl=True)])

    def churn(i: int) -> None:
        k = keys[i % len(keys)]
        ttl_store.delete(NS, k)
        if i < ROUNDS - len(keys):  # the last round of each key deletes it for good
            ttl_store.put(NS, k, {"text": f"note {k} v{i}"})

    assert _race(read, churn) == []
    for k in keys:  # every key's last operation was a delete: it must stay deleted
        assert ttl_store.get(NS, k, refresh_ttl=True) is None
    assert ttl_store.search(NS, refresh_ttl=True) == []
    assert ttl_store.memory.get_all(app_id="langgraph")["results"] == []


def test_refresh_never_writes_an_older_value_over_a_put(ttl_store: LanceDBStore) -> None:
    ttl_store.put(NS, "k", {"n": -1})

    def read(i: int) -> None:
        ttl_store.get(NS, "k", refresh_ttl=True)
        ttl_store.search(NS, query="n", refresh_ttl=True)

    def write(i: int) -> None:
        ttl_store.put(NS, "k", {"n": i})

    assert _race(read, write) == []
    item = ttl_store.get(NS, "k")
    assert item is not None and item.value == {"n": ROUNDS - 1}


def test_refresh_does_not_give_a_permanent_item_an_expiry(
    memory: Memory, clock: FrozenClock
) -> None:
    """A put with ``ttl=None`` after a read must not get the read's refresh applied to it."""
    store = LanceDBStore(memory, ttl={"refresh_on_read": True})
    store.put(NS, "k", {"text": "x"}, ttl=5)
    mid = store.memory_id(NS, "k")
    stale = memory.get_record(mid)
    store.put(NS, "k", {"text": "x"}, ttl=None)  # made permanent after the read...
    store._want_refresh(stale, True, refresh := {})  # ...whose refresh lands now
    store._refresh(refresh)
    assert memory.get(mid)["expiration_date"] is None
    clock.advance(minutes=10)
    assert store.get(NS, "k") is not None


def _forge(memory: Memory, meta: dict[str, Any], text: str = "forged tea note") -> str:
    res = memory.add(text, app_id="langgraph", metadata=meta, infer=False)
    return str(res["results"][0]["id"])


FORGED = {
    "lg.namespace": list(NS), "lg.key": "tea", "lg.indexed": True, "lg.ttl": None,
    "lg.ns.0": NS[0], "lg.ns.1": NS[1], "value.text": "forged tea note",
}  # fmt: skip


def test_forged_rows_are_not_items(memory: Memory, caplog: pytest.LogCaptureFixture) -> None:
    store = LanceDBStore(memory)
    store.put(NS, "tea", {"text": "Alice drinks green tea"})
    _forge(memory, FORGED)  # squats the key "tea" in alice's namespace
    _forge(memory, {**FORGED, "lg.namespace": ["memories", "mallory"], "lg.ns.1": "mallory"})
    with caplog.at_level(logging.WARNING, logger="mem_integrations"):
        listed = store.search(NS)
        found = store.search(NS, query="tea")
        spaces = store.list_namespaces()
    assert [(i.key, i.value["text"]) for i in listed] == [("tea", "Alice drinks green tea")]
    assert [(i.key, i.value["text"]) for i in found] == [("tea", "Alice drinks green tea")]
    assert spaces == [NS]  # the forged namespace is not listed
    assert "skipping" in caplog.text
    item = store.get(NS, "tea")
    assert item is not None and item.value == {"text": "Alice drinks green tea"}


@pytest.mark.parametrize(
    "meta",
    [
        {"lg.key": "k", "lg.ns.0": "memories"},  # no lg.namespace: KeyError before
        {"lg.key": "k", "lg.namespace": 5, "lg.ns.0": "memories"},  # TypeError before
        {"lg.key": 7, "lg.namespace": ["memories"], "lg.ns.0": "memories"},
        {"lg.key": "k", "lg.namespace": [None, {}], "lg.ns.0": "memories"},
    ],
)
def test_a_malformed_row_never_breaks_the_store(memory: Memory, meta: dict[str, Any]) -> None:
    store = LanceDBStore(memory)
    store.put(("memories",), "ok", {"text": "a real item"})
    _forge(memory, meta)
    assert store.list_namespaces() == [("memories",)]
    assert [i.key for i in store.search(("memories",))] == ["ok"]
    assert [i.key for i in store.search(("memories",), query="real item")] == ["ok"]


def test_forged_rows_do_not_underfill_a_page(memory: Memory) -> None:
    """Skipped rows are replaced by the next valid ones, so ``limit`` still means ``limit``."""
    store = LanceDBStore(memory)
    for i in range(3):
        store.put(NS, f"real{i}", {"text": f"real tea note {i}"})
    for _ in range(5):
        _forge(memory, FORGED)  # newer than every real item: first in "newest first"
    assert len(store.search(NS, limit=3)) == 3
    assert len(store.search(NS, query="tea note", limit=3)) == 3
