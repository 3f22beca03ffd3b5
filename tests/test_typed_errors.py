"""Odd but legal-looking input: a typed error that says what to do, and nothing written.

Each case here used to escape as a builtin error (RecursionError, OverflowError,
UnicodeEncodeError), to be silently changed (big integers, ``page_size=0``), to be stored
unbounded (a 10 MB category), or to write before refusing (the expired-memory purge).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from mem_integrations import (
    ExtractionError,
    InvalidExpirationError,
    LimitExceededError,
    Memory,
    MemoryConfig,
    MemoryLayerError,
    MemoryNotFoundError,
    StoreError,
    ValidationError,
)
from mem_integrations.core.storage.commits import retry_on_conflict
from mem_integrations.testing import FrozenClock, HashEmbedder, ScriptedLLM


def snapshot(m: Memory) -> tuple[list[dict[str, Any]], int]:
    m.wait_for_housekeeping()  # history is committed behind the writes: all of it first
    rows = m.store.memories.to_arrow().drop_columns(["vector"]).sort_by("id").to_pylist()
    return rows, m.store.history.count_rows()


def refused(m: Memory, call: Callable[[], Any], error: type[Exception]) -> Exception:
    """``call`` raises ``error`` (a MemoryLayerError) and the store is exactly as before."""
    before = snapshot(m)
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, MemoryLayerError)
    assert snapshot(m) == before, "a refused call wrote"
    return info.value


def nested(depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        out = {"a": out}
    return out


# -- metadata -----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_metadata_is_a_typed_error(memory: Memory, depth: int) -> None:
    mid = memory.add("keep me", user_id="u")["results"][0]["id"]
    meta = nested(depth)
    err = refused(memory, lambda: memory.add("x", user_id="u", metadata=meta), ValidationError)
    assert "deep" in str(err) or "nest" in str(err)
    refused(memory, lambda: memory.update(mid, metadata=meta), ValidationError)
    refused(memory, lambda: memory.put("k", "x", user_id="u", metadata=meta), ValidationError)


def test_reasonably_nested_metadata_round_trips(memory: Memory) -> None:
    meta = nested(20)
    mid = memory.add("x", user_id="u", metadata=meta)["results"][0]["id"]
    assert memory.get(mid)["metadata"] == meta


@pytest.mark.parametrize(
    "value",
    [2**64, -(2**63) - 1, 10**400, -(10**400), [1, 2**70], {"deep": 2**100}],
    ids=["2**64", "-2**63-1", "10**400", "-10**400", "in-list", "in-dict"],
)
def test_integers_outside_int64_are_kept_exactly_or_refused(memory: Memory, value: Any) -> None:
    before = snapshot(memory)
    try:
        mid = memory.add("big number", user_id="u", metadata={"n": value})["results"][0]["id"]
    except ValidationError as exc:
        assert "integer" in str(exc)
        assert snapshot(memory) == before
        return
    got = memory.get(mid)["metadata"]
    assert json.dumps(got) == json.dumps({"n": value}), "the number came back changed"


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 2**53 + 1, 0, -1])
def test_int64_metadata_round_trips_exactly(memory: Memory, value: int) -> None:
    mid = memory.add(f"number {value}", user_id="u", metadata={"n": value})["results"][0]["id"]
    got = memory.get(mid)["metadata"]["n"]
    assert got == value and type(got) is int


# -- categories and page size -------------------------------------------------------------------


def test_a_ten_megabyte_category_is_refused(memory: Memory) -> None:
    mid = memory.add("keep me", user_id="u")["results"][0]["id"]
    big = ["c" * 10_000_000]
    err = refused(memory, lambda: memory.add("x", user_id="u", categories=big), LimitExceededError)
    assert "categor" in str(err)
    refused(memory, lambda: memory.update(mid, categories=big), LimitExceededError)
    refused(memory, lambda: memory.put("k", "x", user_id="u", categories=big), LimitExceededError)


def test_an_ordinary_category_is_accepted(memory: Memory) -> None:
    cat = "preferences/food-and-drink " * 4
    mid = memory.add("x", user_id="u", categories=[cat])["results"][0]["id"]
    assert memory.get(mid)["categories"] == [cat]


@pytest.mark.parametrize("arg", ["page_size", "limit", "top_k"])
def test_zero_page_size_is_a_typed_error(memory: Memory, arg: str) -> None:
    memory.add("x", user_id="u")
    with pytest.raises(ValidationError, match=arg):
        memory.get_all(user_id="u", page=1, **{arg: 0})
    with pytest.raises(ValidationError, match=arg):
        memory.get_all(user_id="u", **{arg: 0})


# -- expiration at the edges of the calendar ---------------------------------------------------

PLUS5 = timezone(timedelta(hours=5))
MINUS5 = timezone(timedelta(hours=-5))
EDGES = [
    "9999-12-31T23:00:00-05:00",
    datetime(9999, 12, 31, 23, tzinfo=MINUS5),
    "0001-01-01T00:00:00+05:00",
    datetime(1, 1, 1, tzinfo=PLUS5),
]


@pytest.mark.parametrize("when", ["9999-12-31", "99991231", date(9999, 12, 31)], ids=str)
def test_the_last_representable_day_is_accepted(memory: Memory, when: Any) -> None:
    """A bare date expires at the end of that day (Mem0's rule), so 9999-12-31 still fits."""
    mid = memory.add("far future", user_id="u", expiration_date=when)["results"][0]["id"]
    assert memory.get(mid)["expiration_date"] == "9999-12-31"
    assert [h["id"] for h in memory.search("far future", user_id="u")["results"]] == [mid]


@pytest.mark.parametrize("when", EDGES, ids=str)
def test_unrepresentable_expiration_is_a_typed_error(memory: Memory, when: Any) -> None:
    mid = memory.add("keep me", user_id="u")["results"][0]["id"]
    err = refused(
        memory, lambda: memory.add("x", user_id="u", expiration_date=when), InvalidExpirationError
    )
    assert "None" in str(err)  # says what to use for "never"
    refused(memory, lambda: memory.update(mid, expiration_date=when), InvalidExpirationError)
    refused(memory, lambda: memory.set_expiration([mid], when, user_id="u"), InvalidExpirationError)


@pytest.mark.parametrize(
    "when", [datetime(9999, 12, 31, 12, tzinfo=UTC), "9999-12-30", datetime(1, 1, 2, tzinfo=UTC)]
)
def test_extreme_but_representable_expiration_round_trips(memory: Memory, when: Any) -> None:
    mid = memory.add("x", user_id="u", expiration_date=when)["results"][0]["id"]
    got = memory.get(mid, show_expired=True)["expiration_date"]
    assert got is not None and got.startswith(("9999-12-3", "0001-01-02"))


# -- an LLM answer that cannot be stored ----------------------------------------------------------


@pytest.mark.parametrize("where", ["text", "category"])
def test_lone_surrogate_from_the_llm_is_an_extraction_error(tmp_path: Any, where: str) -> None:
    action = {"event": "ADD", "text": "likes tea \udbff"}
    if where == "category":
        action = {"event": "ADD", "text": "likes tea", "categories": ["food \udbff"]}
    llm = ScriptedLLM(default={"actions": [action]})
    m = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), llm=llm))
    if where == "category":  # categories outside the allowed list are dropped: stored clean
        out = m.add("I like tea", user_id="u")["results"]
        assert [e["memory"] for e in out] == ["likes tea"]
        assert m.get(out[0]["id"])["categories"] == []
    else:
        refused(m, lambda: m.add("I like tea", user_id="u"), ExtractionError)
    m.close()


# -- checks first, housekeeping after ------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda m, mine, other: m.update("no-such-id", "t", user_id="u"), id="update"),
        pytest.param(
            lambda m, mine, other: m.batch_update(
                [{"memory_id": mine, "text": "t"}, {"memory_id": "no-such-id", "text": "t"}]
            ),
            id="batch_update",
        ),
        pytest.param(lambda m, mine, other: m.put(other, "t", user_id="u"), id="put-other-scope"),
        pytest.param(lambda m, mine, other: m.delete("no-such-id", user_id="u"), id="delete"),
        pytest.param(
            lambda m, mine, other: m.batch_delete([{"memory_id": mine}, {"memory_id": "nope"}]),
            id="batch_delete",
        ),
    ],
)
def test_refused_calls_do_not_purge_expired_memories(
    memory: Memory, clock: FrozenClock, call: Callable[[Memory, str, str], Any]
) -> None:
    memory.add("soon gone", user_id="u", expiration_date=clock.now() + timedelta(minutes=1))
    mine = memory.add("mine", user_id="u")["results"][0]["id"]
    other = memory.add("theirs", user_id="v")["results"][0]["id"]
    memory.purge_expired()
    clock.advance(days=2)  # the first memory is now expired and a purge is due
    refused(memory, lambda: call(memory, mine, other), MemoryNotFoundError)


@pytest.mark.parametrize(
    "text",
    [
        "lance error: Retryable commit conflict for version 7",
        "preempted by concurrent transaction Rewrite at version 9",
        # seen: two first opens of one fresh folder (the stamp lost to a table creation)
        "lance error: Incompatible transaction: This Update transaction is incompatible with "
        "concurrent transaction Overwrite at version 2.",
        # seen: two servers on object storage
        "lance error: Too many concurrent writers. Retry timeout of 30s exceeded",
    ],
)
def test_lost_commit_races_are_retried(text: str) -> None:
    """A commit that lost a race applied nothing: it is run again, not surfaced raw."""
    calls: list[int] = []

    def commit() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError(text)
        return "committed"

    assert retry_on_conflict(commit, "test commit") == "committed"
    assert len(calls) == 3


def test_other_lance_errors_are_not_retried() -> None:
    calls: list[int] = []

    def commit() -> None:
        calls.append(1)
        raise RuntimeError("lance error: Invalid user input: schema mismatch")

    with pytest.raises(StoreError, match="schema mismatch"):
        retry_on_conflict(commit, "test commit")
    assert calls == [1]
