"""The core API end to end on a real LanceDB store in a temp dir."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mem_integrations import (
    IdentityFieldError,
    InvalidExpirationError,
    InvalidFilterError,
    LimitExceededError,
    Memory,
    MemoryConfig,
    MemoryNotFoundError,
    ScopeRequiredError,
    ValidationError,
)
from mem_integrations.core.storage import reader as store_module
from mem_integrations.testing import FrozenClock, HashEmbedder
from reliability.checks import assert_own_writes_searchable

RECORD_KEYS = {
    "id", "memory", "hash", "metadata", "categories", "user_id", "agent_id", "run_id", "app_id",
    "actor_id", "role", "created_at", "updated_at", "expiration_date",
}  # fmt: skip


def test_add_string_returns_mem0_shape(memory: Memory) -> None:
    out = memory.add("User prefers dark mode", user_id="sarah", metadata={"type": "preference"})
    assert list(out) == ["results"]
    (ev,) = out["results"]
    assert ev["event"] == "ADD" and ev["memory"] == "User prefers dark mode"
    rec = memory.get(ev["id"])
    assert set(rec) == RECORD_KEYS
    assert rec["metadata"] == {"type": "preference"} and rec["user_id"] == "sarah"


def test_add_messages_stores_user_turns_only(memory: Memory) -> None:
    msgs = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "I love hiking in the Alps"},
        {"role": "assistant", "content": "Great, the Alps are lovely"},
        {"role": "user", "content": "I am allergic to peanuts", "name": "alex"},
    ]
    out = memory.add(msgs, user_id="alex", run_id="trip", categories=["travel"])
    assert [e["memory"] for e in out["results"]] == [
        "I love hiking in the Alps",
        "I am allergic to peanuts",
    ]
    recs = memory.get_all(user_id="alex")["results"]
    assert {r["actor_id"] for r in recs} == {None, "alex"}
    assert all(r["categories"] == ["travel"] and r["run_id"] == "trip" for r in recs)


def test_assistant_turns_stored_when_agent_is_only_scope(memory: Memory) -> None:
    msgs = [{"role": "user", "content": "I study maths"},
            {"role": "assistant", "content": "I am a bot"}]  # fmt: skip
    out = memory.add(msgs, agent_id="bot")
    assert [e["memory"] for e in out["results"]] == ["I study maths", "I am a bot"]


def test_exact_duplicate_is_none_event(memory: Memory) -> None:
    a = memory.add("likes tea", user_id="u")["results"][0]
    b = memory.add("likes tea", user_id="u")["results"][0]
    assert b == {"id": a["id"], "memory": "likes tea", "event": "NONE"}
    c = memory.add("likes tea", user_id="other")["results"][0]
    assert c["event"] == "ADD"
    d = memory.add(["likes coffee", "likes coffee"], user_id="u")["results"]
    assert [e["event"] for e in d] == ["ADD", "NONE"] and d[0]["id"] == d[1]["id"]
    assert len(memory.get_all(user_id="u")["results"]) == 2


def test_scope_required_everywhere(memory: Memory) -> None:
    with pytest.raises(ScopeRequiredError):
        memory.add("x")
    with pytest.raises(ScopeRequiredError):
        memory.search("x")
    with pytest.raises(ScopeRequiredError):
        memory.get_all()
    with pytest.raises(ScopeRequiredError):
        memory.delete_all()
    with pytest.raises(ScopeRequiredError):  # an OR branch without an entity (issue 16)
        memory.get_all(filters={"OR": [{"user_id": "a"}, {"run_id": {"ne": "b"}}]})
    memory.add("x", user_id="a")
    assert len(memory.get_all(filters={"AND": [{"user_id": "a"}]})["results"]) == 1
    # an OR across entity ids scopes the call, as in Mem0 (it was refused before issue 16)
    assert len(memory.get_all(filters={"OR": [{"user_id": "a"}, {"user_id": "b"}]})["results"]) == 1


def test_scope_isolation(memory: Memory) -> None:
    a = memory.add("secret of alice", user_id="alice")["results"][0]["id"]
    memory.add("secret of bob", user_id="bob")
    hits = memory.search("secret", user_id="bob")["results"]
    assert [h["memory"] for h in hits] == ["secret of bob"]
    with pytest.raises(MemoryNotFoundError):
        memory.get(a, user_id="bob")
    with pytest.raises(MemoryNotFoundError):
        memory.update(a, "hacked", user_id="bob")
    with pytest.raises(MemoryNotFoundError):
        memory.delete(a, user_id="bob")
    memory.delete_all(user_id="bob")
    assert memory.get(a)["memory"] == "secret of alice"


def test_identity_fields_cannot_come_through_metadata(memory: Memory) -> None:
    with pytest.raises(IdentityFieldError):
        memory.add("x", user_id="a", metadata={"user_id": "b"})
    mid = memory.add("x", user_id="a")["results"][0]["id"]
    with pytest.raises(IdentityFieldError):
        memory.update(mid, metadata={"agent_id": "evil"})
    assert memory.get(mid)["agent_id"] is None


def test_search_scores_and_threshold(memory: Memory) -> None:
    memory.add(["I like to cook pasta", "The weather is cold", "I cook rice daily"], user_id="u")
    res = memory.search("what do I cook", user_id="u", top_k=5)["results"]
    assert res[0]["memory"] in {"I like to cook pasta", "I cook rice daily"}
    assert all(0.0 <= h["score"] <= 1.0 for h in res)
    assert [h["score"] for h in res] == sorted((h["score"] for h in res), reverse=True)
    cut = memory.search("what do I cook", user_id="u", threshold=res[1]["score"])["results"]
    assert len(cut) == 2 and all(h["score"] >= res[1]["score"] for h in cut)
    assert len(memory.search("cook", user_id="u", top_k=1)["results"]) == 1
    with pytest.raises(ValidationError):
        memory.search("cook", user_id="u", threshold=2)
    with pytest.raises(LimitExceededError):
        memory.search("cook", user_id="u", top_k=10_000)


def test_search_with_filters(memory: Memory) -> None:
    memory.add("tea please", user_id="alex", agent_id="a")
    memory.add("tea now", user_id="alex", agent_id="b")
    memory.add("tea later", user_id="alex", agent_id="c")
    f = {"AND": [{"user_id": "alex"}, {"agent_id": {"in": ["a", "b"]}}]}
    got = {h["agent_id"] for h in memory.search("tea", filters=f)["results"]}
    assert got == {"a", "b"}
    with pytest.raises(InvalidFilterError):
        memory.search("tea", filters={"AND": [{"user_id": "alex"}, {"nope": {"bogus": 1}}]})


def test_get_all_filters_categories_keywords_pages(memory: Memory, clock: FrozenClock) -> None:
    for i in range(7):
        clock.advance(minutes=1)
        memory.add(
            f"item {i} to play",
            user_id="alex",
            categories=["likes"] if i % 2 else [],
            metadata={"type": "preference" if i < 3 else "fact", "n": i},
        )
    page1 = memory.get_all(user_id="alex", page=1, page_size=3)
    assert page1["count"] == 7 and page1["next"] == 2 and page1["previous"] is None
    assert [r["memory"] for r in page1["results"]] == [
        "item 6 to play",
        "item 5 to play",
        "item 4 to play",
    ]
    page3 = memory.get_all(user_id="alex", page=3, page_size=3)
    assert [r["memory"] for r in page3["results"]] == ["item 0 to play"] and page3["next"] is None
    liked = memory.get_all(user_id="alex", categories=["likes"], keywords="to play")
    assert {r["memory"] for r in liked["results"]} == {
        "item 1 to play",
        "item 3 to play",
        "item 5 to play",
    }
    prefs = memory.get_all(
        filters={"AND": [{"user_id": "alex"}, {"metadata": {"type": "preference"}}]}
    )
    assert len(prefs["results"]) == 3
    big = memory.get_all(filters={"AND": [{"user_id": "alex"}, {"metadata": {"n": {"gte": 5}}}]})
    assert len(big["results"]) == 2
    assert len(memory.get_all(user_id="alex", limit=2)["results"]) == 2


def test_update_text_metadata_expiration_and_history(memory: Memory, clock: FrozenClock) -> None:
    mid = memory.add("likes chicken", user_id="u", expiration_date="2030-01-01")["results"][0]["id"]
    assert memory.get(mid)["expiration_date"] == "2030-01-01"  # a date reads back as given
    clock.advance(hours=1)
    out = memory.update(mid, "is vegetarian", metadata={"diet": "veg"}, expiration_date=None)
    assert out["message"] == "Memory updated successfully!"
    rec = memory.get(mid)
    assert rec["memory"] == "is vegetarian" and rec["metadata"] == {"diet": "veg"}
    assert rec["expiration_date"] is None and rec["updated_at"] > rec["created_at"]
    assert memory.search("vegetarian", user_id="u")["results"][0]["id"] == mid
    memory.delete(mid)
    hist = memory.history(mid)
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in hist] == [
        ("ADD", None, "likes chicken"),
        ("UPDATE", "likes chicken", "is vegetarian"),
        ("DELETE", "is vegetarian", None),
    ]
    assert hist[-1]["is_deleted"] is True
    with pytest.raises(MemoryNotFoundError):
        memory.get(mid)


def test_expiration_read_time_and_purge(memory: Memory, clock: FrozenClock) -> None:
    soon = clock.now() + timedelta(days=7)
    mid = memory.add("session context", user_id="u", expiration_date=soon.isoformat())["results"][
        0
    ]["id"]
    memory.add("durable fact", user_id="u")
    assert len(memory.search("context", user_id="u")["results"]) == 2
    clock.advance(days=8)
    assert [h["memory"] for h in memory.search("context", user_id="u")["results"]] == [
        "durable fact"
    ]
    assert len(memory.get_all(user_id="u")["results"]) == 1
    assert len(memory.get_all(user_id="u", show_expired=True)["results"]) == 2
    # get returns an expired memory (Mem0); show_expired=False hides it (issue 16)
    assert memory.get(mid)["memory"] == "session context"
    with pytest.raises(MemoryNotFoundError):
        memory.get(mid, show_expired=False)
    assert memory.users()["results"][0]["total_memories"] == 1
    # expired memories are kept (Mem0) until purged explicitly, not on the next write
    clock.advance(hours=1)
    memory.add("another", user_id="u")
    assert memory.get_all(user_id="u", show_expired=True, limit=10)["results"].__len__() == 3
    assert memory.purge_expired() == {"purged": 1}
    assert memory.get_all(user_id="u", show_expired=True, limit=10)["results"].__len__() == 2
    assert [h["event"] for h in memory.history(mid)] == ["ADD", "EXPIRE"]


def test_bad_expiration_writes_nothing(memory: Memory) -> None:
    with pytest.raises(InvalidExpirationError):
        memory.add("x", user_id="u", expiration_date="next tuesday")
    assert memory.get_all(user_id="u")["results"] == []


def test_users_and_delete_users(memory: Memory) -> None:
    memory.add("a1", user_id="alice")
    memory.add("a2", user_id="alice", agent_id="helper")
    memory.add("b1", user_id="bob")
    users = {(e["type"], e["name"]): e["total_memories"] for e in memory.users()["results"]}
    assert users == {("user", "alice"): 2, ("user", "bob"): 1, ("agent", "helper"): 1}
    memory.delete_users(user_id="alice")
    assert {e["name"] for e in memory.users()["results"]} == {"bob"}
    with pytest.raises(ScopeRequiredError):
        memory.delete_users(user_id=None)  # no argument at all wipes the store (issue 16)


def test_batch_ops_and_limits(memory: Memory) -> None:
    ids = [e["id"] for e in memory.add([f"fact {i}" for i in range(5)], user_id="u")["results"]]
    memory.batch_update([{"memory_id": i, "text": f"new {n}"} for n, i in enumerate(ids)])
    assert sorted(r["memory"] for r in memory.get_all(user_id="u")["results"]) == [
        f"new {n}" for n in range(5)
    ]
    with pytest.raises(LimitExceededError):
        memory.batch_delete([{"memory_id": str(i)} for i in range(1001)])
    with pytest.raises(MemoryNotFoundError):
        memory.batch_delete([{"memory_id": ids[0]}, {"memory_id": "missing"}])
    assert len(memory.get_all(user_id="u")["results"]) == 5  # nothing deleted on error
    memory.batch_delete([{"memory_id": i} for i in ids[:3]])
    assert len(memory.get_all(user_id="u")["results"]) == 2


def test_batch_of_1000_is_allowed(memory: Memory) -> None:
    ids = [e["id"] for e in memory.add([f"f{i}" for i in range(1000)], user_id="u")["results"]]
    assert memory.batch_delete([{"memory_id": i} for i in ids])["message"].endswith("1000 memories")


def test_bad_input_writes_nothing(memory: Memory) -> None:
    with pytest.raises(ValidationError):
        memory.add(["ok", {"role": "user", "content": 5}], user_id="u")
    with pytest.raises(LimitExceededError):
        memory.add("x" * 40_000, user_id="u")
    with pytest.raises(ValidationError):
        memory.add("nul\x00byte", user_id="u")
    with pytest.raises(ValidationError):
        memory.add("x", user_id="")
    with pytest.raises(ValidationError):
        memory.add("x", user_id="u", metadata={"f": object()})
    assert memory.stats()["memories"] == 0


def test_reset_and_reopen(tmp_path: Path, clock: FrozenClock) -> None:
    cfg = MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock)
    m = Memory(cfg)
    mid = m.add("persist me", user_id="u", categories=["x"])["results"][0]["id"]
    m.close()
    m2 = Memory(cfg)
    assert m2.get(mid)["categories"] == ["x"]
    assert m2.history(mid)[0]["event"] == "ADD"
    m2.reset()
    assert m2.get_all(user_id="u")["results"] == []
    m2.close()


def test_different_embedder_refused(tmp_path: Path) -> None:
    from mem_integrations import ConfigurationError

    Memory(uri=str(tmp_path / "s"), embedder=HashEmbedder(dim=64)).close()
    with pytest.raises(ConfigurationError):
        Memory(uri=str(tmp_path / "s"), embedder=HashEmbedder(dim=32))


async def test_async_memory(tmp_path: Path) -> None:
    import asyncio

    from mem_integrations import AsyncMemory

    am = AsyncMemory(uri=str(tmp_path / "s"), embedder=HashEmbedder())
    results = await asyncio.gather(*(am.add(f"fact {i}", user_id="u") for i in range(50)))
    assert all(r["results"][0]["event"] == "ADD" for r in results)
    assert len((await am.get_all(user_id="u"))["results"]) == 50
    hits = await asyncio.gather(*(am.search("fact", user_id="u", top_k=3) for _ in range(50)))
    assert all(len(h["results"]) == 3 for h in hits)
    await am.close()


def test_batch_ops_and_history_confined_by_optional_scope(memory: Memory) -> None:
    a = memory.add("alice fact", user_id="alice")["results"][0]["id"]
    b = memory.add("bob fact", user_id="bob")["results"][0]["id"]
    with pytest.raises(MemoryNotFoundError):
        memory.batch_delete([{"memory_id": a}, {"memory_id": b}], user_id="bob")
    with pytest.raises(MemoryNotFoundError):
        memory.batch_update([{"memory_id": a, "text": "pwned"}], user_id="bob")
    assert memory.get(a)["memory"] == "alice fact"  # nothing changed on error
    assert memory.history(a, user_id="bob") == []
    assert [h["event"] for h in memory.history(a, user_id="alice")] == ["ADD"]
    memory.batch_delete([{"memory_id": b}], user_id="bob")
    assert memory.get_all(user_id="bob")["results"] == []


def test_set_expiration_moves_expiry_only(memory: Memory, clock: FrozenClock) -> None:
    mid = memory.add("session note", user_id="u", expiration_date=clock.now() + timedelta(hours=1))[
        "results"
    ][0]["id"]
    before = memory.get(mid)
    clock.advance(minutes=30)
    assert memory.set_expiration([mid], clock.now() + timedelta(hours=1), user_id="u") == 1
    after = memory.get(mid)
    assert after["expiration_date"] > before["expiration_date"]
    assert after["updated_at"] == before["updated_at"]
    assert [h["event"] for h in memory.history(mid)] == ["ADD"]
    with pytest.raises(MemoryNotFoundError):
        memory.set_expiration([mid], None, user_id="someone-else")
    clock.advance(minutes=45)  # past the old expiry, inside the new one
    assert memory.get(mid)["memory"] == "session note"


def test_background_compaction_cadence_scales_with_the_table(tmp_path: Path) -> None:
    """Small stores compact every 10 commits; the cadence grows with sqrt(rows), capped."""
    auto = Memory(MemoryConfig(uri=str(tmp_path / "a"), embedder=HashEmbedder()))
    fixed = Memory(
        MemoryConfig(uri=str(tmp_path / "f"), embedder=HashEmbedder(), optimize_every=100)
    )
    assert auto.store.optimize_due_after() == 10
    assert fixed.store.optimize_due_after() == 100
    for m in (auto, fixed):
        for i in range(30):
            m.add(f"fact number {i} about tea", user_id="u", infer=False)
        m.store.wait_for_housekeeping()
    # One fragment per single add until a compaction folds them; commits made while a
    # compaction runs stay outside it (how many depends on how fast adds are against the
    # compaction), but at least the compaction due at the 10th commit ran: it folded the
    # single-row fragments after the first, indexed, one (9 or more into one).
    assert fixed.stats()["fragments"] >= 30
    assert auto.stats()["fragments"] <= 22
    auto.store._rows_at_optimize = 10_000
    assert auto.store.optimize_due_after() == 25
    auto.store._rows_at_optimize = 10_000_000
    assert auto.store.optimize_due_after() == 250
    with pytest.raises(Exception, match="greater than or equal to 1"):
        MemoryConfig(uri=str(tmp_path / "x"), optimize_every=0)


def test_background_optimize_prunes_superseded_versions(tmp_path: Path) -> None:
    """Each read lists the kept versions, so optimize must drop the old ones as it goes."""
    m = Memory(
        MemoryConfig(
            uri=str(tmp_path / "s"),
            embedder=HashEmbedder(),
            cleanup_older_than=timedelta(milliseconds=1),
        )
    )
    for i in range(40):
        m.add(f"fact number {i} about coffee", user_id="u", infer=False)
    m.store.wait_for_housekeeping()
    kept = len(list((tmp_path / "s" / "memories.lance" / "_versions").iterdir()))
    # 40 commits (plus index builds) with compaction every 10: only the versions made since
    # the last cleanup remain, not one per commit.
    assert m.stats()["version"] > 40
    assert kept <= 15
    assert len(m.get_all(user_id="u")["results"]) == 40


def test_search_sees_another_writers_commit_through_the_cheap_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the periodic re-list switched off, only the next-manifest check can notice.

    A second ``Memory`` on the same folder writes as another process would: the reader of the
    first holds an older version and must move on before its next search.
    """
    monkeypatch.setattr(store_module, "FULL_REFRESH_S", float("inf"))
    uri = str(tmp_path / "s")
    reader = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))
    writer = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))
    try:
        writer.add("the cat is called Miso", user_id="u", infer=False)
        assert [h["memory"] for h in reader.search("Miso", user_id="u")["results"]] == [
            "the cat is called Miso"
        ]
        held = reader.store._reader._version
        refreshed = reader.store._reader._refreshed_at
        reader.search("Miso", user_id="u")  # nothing committed since: no re-list
        assert reader.store._reader._refreshed_at == refreshed
        for i in range(3):  # several versions ahead, not just one
            writer.add(f"the dog is called Rex {i}", user_id="u", infer=False)
        found = {h["memory"] for h in reader.search("dog Rex", user_id="u", top_k=10)["results"]}
        assert {f"the dog is called Rex {i}" for i in range(3)} <= found
        assert reader.store._reader._version > held
        writer.delete_all(user_id="u")
        assert reader.search("Miso", user_id="u")["results"] == []
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize("interval", [None, timedelta(hours=1)])
def test_search_sees_own_writes_whatever_the_consistency_interval(
    tmp_path: Path, interval: timedelta | None
) -> None:
    """A lax interval is for other processes' commits; this process's own are seen at once."""
    m = Memory(
        MemoryConfig(
            uri=str(tmp_path / "s"), embedder=HashEmbedder(), read_consistency_interval=interval
        )
    )
    try:
        assert_own_writes_searchable(m)
    finally:
        m.close()
