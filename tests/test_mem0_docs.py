"""Mem0's own documentation code, run against us with one import changed.

Every case is a call pattern from a page of Mem0's docs at commit
``8d5b7865bd0521e75fe9ab1b260eeccc83f8a378`` of github.com/mem0ai/mem0 (the page path is in
each docstring), or from the client it documents (``mem0/client/main.py``,
``mem0/memory/main.py`` at the same commit). The only change a Mem0 user makes is the line
that builds the object:

* ``MemoryClient(api_key=...)`` (platform, v3 API) becomes ``Memory(api_key=...)``;
* ``AsyncMemoryClient(...)`` becomes ``AsyncMemory(api_key=...)``;
* OSS ``Memory()`` / ``AsyncMemory()`` stay ``Memory()`` / ``AsyncMemory()``.

The store goes where ``Memory()`` puts it by default (here ``$MEM_INTEGRATIONS_URI``, set to a
temp dir). Where the constructor itself is not what a case is about, the fixtures add the
deterministic ``HashEmbedder`` and a ``FrozenClock`` as extra keywords, so the cases run fast
and the dates are exact; the constructor cases use the default offline embedder.
No LLM is configured anywhere: each case asserts what the page promises for the call's
*shape and semantics*, not the LLM's wording of the facts.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mem_integrations import AsyncMemory, Memory
from mem_integrations.testing import FrozenClock, HashEmbedder

MEM0_COMMIT = "8d5b7865bd0521e75fe9ab1b260eeccc83f8a378"

#: Keys of a memory in Mem0's platform search response (docs/platform/quickstart.mdx).
SEARCH_KEYS = {
    "id", "memory", "user_id", "agent_id", "app_id", "run_id", "categories", "metadata",
    "created_at", "updated_at", "expiration_date", "score",
}  # fmt: skip
ENVELOPE = {"count", "next", "previous", "results"}


# -- the constructor a Mem0 user changes ------------------------------------------------------


@pytest.fixture
def store_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where ``Memory()`` keeps its tables by default in these tests."""
    uri = str(tmp_path / "store")
    monkeypatch.setenv("MEM_INTEGRATIONS_URI", uri)
    return uri


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2025, 1, 1, 12, tzinfo=UTC))


@pytest.fixture
def client(store_uri: str, clock: FrozenClock) -> Iterator[Memory]:
    """``client = MemoryClient(api_key="your-api-key")``, with a test embedder and clock."""
    c = Memory(api_key="your-api-key", embedder=HashEmbedder(), clock=clock)
    yield c
    c.close()


@pytest.fixture
def m(store_uri: str, clock: FrozenClock) -> Iterator[Memory]:
    """OSS ``m = Memory()``, with a test embedder and clock."""
    mem = Memory(embedder=HashEmbedder(), clock=clock)
    yield mem
    mem.close()


@pytest.fixture
async def aclient(store_uri: str, clock: FrozenClock) -> AsyncIterator[AsyncMemory]:
    """``client = AsyncMemoryClient(api_key=...)``, with a test embedder and clock."""
    c = AsyncMemory(api_key="your-api-key", embedder=HashEmbedder(), clock=clock)
    yield c
    await c.close()


def texts(result: dict[str, Any]) -> set[str]:
    return {r["memory"] for r in result["results"]}


# -- constructors -----------------------------------------------------------------------------


def test_platform_quickstart_constructor(store_uri: str) -> None:
    """docs/platform/quickstart.mdx: ``client = MemoryClient(api_key="your-api-key")``."""
    client = Memory(api_key="your-api-key")
    try:
        messages = [
            {"role": "user", "content": "I'm a vegetarian and allergic to nuts."},
            {"role": "assistant", "content": "Got it! I'll remember your dietary preferences."},
        ]
        added = client.add(messages, user_id="user123")
        assert added["results"] and all(e["event"] == "ADD" for e in added["results"])
        results = client.search("What are my dietary restrictions?", filters={"user_id": "user123"})
        assert "I'm a vegetarian and allergic to nuts." in texts(results)
        assert client.config.uri == store_uri  # the key opens the default store, no service
        assert client.api_key == "your-api-key"
    finally:
        client.close()


def test_platform_client_from_environment(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/platform/features/timestamp.mdx: ``os.environ["MEM0_API_KEY"] = ...;
    client = MemoryClient()``."""
    monkeypatch.setenv("MEM0_API_KEY", "your-api-key")
    client = Memory()
    try:
        assert client.config.uri == store_uri
        assert client.api_key == "your-api-key"
    finally:
        client.close()


def test_oss_python_quickstart(store_uri: str) -> None:
    """docs/open-source/python-quickstart.mdx: ``m = Memory()``, add, search by filters."""
    m = Memory()
    try:
        messages = [
            {"role": "user", "content": "Hi, I'm Alex. I love basketball and gaming."},
            {"role": "assistant", "content": "Hey Alex! I'll remember your interests."},
        ]
        m.add(messages, user_id="alex")
        results = m.search("What do you know about me?", filters={"user_id": "alex"})
        assert "Hi, I'm Alex. I love basketball and gaming." in texts(results)
    finally:
        m.close()


def test_platform_constructor_retired_arguments(store_uri: str, clock: FrozenClock) -> None:
    """docs/migration/platform-v2-to-v3.mdx: ``MemoryClient(api_key=..., org_id=...,
    project_id=...)`` and ``add(..., async_mode=True, output_format="v1.1")`` are removed
    parameters: still accepted, with a warning naming them."""
    with pytest.warns(DeprecationWarning, match="org_id"):
        client = Memory(
            api_key="...", org_id="org-1", project_id="proj-1",
            embedder=HashEmbedder(), clock=clock,
        )  # fmt: skip
    try:
        messages = [{"role": "user", "content": "I just moved to San Francisco"}]
        with pytest.warns(DeprecationWarning, match="async_mode"):
            out = client.add(messages, user_id="alice", async_mode=True, output_format="v1.1")
        assert [e["event"] for e in out["results"]] == ["ADD"]
        with warnings.catch_warnings():  # one warning per argument, not one per call
            warnings.simplefilter("error")
            client.add("Second fact", user_id="alice", async_mode=True, output_format="v1.1")
    finally:
        client.close()


def test_unknown_constructor_argument_is_refused(store_uri: str) -> None:
    """``mem0/client/main.py``: ``MemoryClient.__init__`` takes api_key, host, client and
    nothing else; an argument nobody knows must not be dropped silently."""
    with pytest.raises(TypeError, match="url"):
        Memory(url="/x")


# -- add -----------------------------------------------------------------------------------


def test_quickstart_add_and_search_shapes(client: Memory) -> None:
    """docs/platform/quickstart.mdx: add returns ``{"results": [{id, memory, event}]}``; search
    returns memories with scope ids, categories, metadata, dates, expiration and score."""
    messages = [
        {"role": "user", "content": "I'm a vegetarian and allergic to nuts."},
        {"role": "assistant", "content": "Got it! I'll remember your dietary preferences."},
    ]
    added = client.add(messages, user_id="user123")
    for event in added["results"]:
        assert {"id", "memory", "event"} <= set(event) and event["event"] == "ADD"
    results = client.search("What are my dietary restrictions?", filters={"user_id": "user123"})
    hit = results["results"][0]
    assert SEARCH_KEYS <= set(hit)
    assert hit["user_id"] == "user123" and hit["agent_id"] is None and hit["run_id"] is None
    assert 0.0 <= hit["score"] <= 1.0


def test_add_with_messages_keyword(client: Memory) -> None:
    """docs/core-concepts/memory-operations/add.mdx: ``client.add(messages=messages,
    user_id="alice")``."""
    messages = [
        {"role": "user", "content": "I'm planning a trip to Tokyo next month."},
        {"role": "assistant", "content": "Great! I'll remember that for future suggestions."},
    ]
    out = client.add(messages=messages, user_id="alice")
    assert "I'm planning a trip to Tokyo next month." in {e["memory"] for e in out["results"]}


def test_add_is_additive(client: Memory) -> None:
    """docs/core-concepts/memory-operations/add.mdx ("Automatic conversation context"): send
    only the new turn; memories accumulate, nothing is overwritten."""
    client.add(
        [{"role": "user", "content": "My dog's name is Biscuit. He's a golden retriever."}],
        user_id="alice",
    )
    client.add(
        [
            {
                "role": "user",
                "content": "He turned 5 today, and I'm taking him to the vet on Friday.",
            }
        ],
        user_id="alice",
    )
    assert client.get_all(filters={"user_id": "alice"})["count"] == 2


def test_add_version_argument_is_ignored(client: Memory) -> None:
    """docs/core-concepts/memory-operations/add.mdx: "Earlier SDK versions gated it behind a
    ``version="v2"`` argument on ``add``; that argument no longer exists and is ignored if
    sent"."""
    with pytest.warns(DeprecationWarning, match="version"):
        out = client.add("My dog's name is Biscuit.", user_id="alice", version="v2")
    assert [e["event"] for e in out["results"]] == ["ADD"]


def test_oss_add_metadata_raw_and_expiration(m: Memory) -> None:
    """docs/core-concepts/memory-operations/add.mdx ("Add with Mem0 Open Source"): metadata,
    ``infer=False`` for raw messages, ``expiration_date="2030-01-31"``."""
    messages = [
        {"role": "user", "content": "I'm planning to watch a movie tonight. Any recommendations?"},
        {"role": "assistant", "content": "How about thriller movies? They can be quite engaging."},
        {
            "role": "user",
            "content": "I'm not a big fan of thriller movies but I love sci-fi movies.",
        },
        {"role": "assistant", "content": "Got it! I'll avoid thriller recommendations."},
    ]
    m.add(messages, user_id="alice", metadata={"category": "movie_recommendations"})
    raw = m.add(
        messages, user_id="alice", metadata={"category": "movie_recommendations"}, infer=False
    )
    # raw storage keeps every user and assistant message (Direct Import, below)
    assert {e["memory"] for e in raw["results"]} == {msg["content"] for msg in messages}
    for event in raw["results"]:
        assert m.get(event["id"])["metadata"] == {"category": "movie_recommendations"}
    expiring = m.add(
        [{"role": "user", "content": "My Pro trial ends soon."}],
        user_id="alice",
        expiration_date="2030-01-31",
    )
    assert m.get(expiring["results"][0]["id"])["expiration_date"] == "2030-01-31"


def test_direct_import(client: Memory) -> None:
    """docs/platform/features/direct-import.mdx: ``infer=False`` stores user and assistant
    messages alike, drops system messages, reports ``status``/``message`` and
    ``data.memory`` per result, and dedups exact repeats in the same scope."""
    messages = [
        {"role": "user", "content": "Alice loves playing badminton"},
        {"role": "assistant", "content": "That's great! Alice is a fitness freak"},
        {"role": "user", "content": "Alice mostly cooks at home because of her gym plan"},
    ]
    out = client.add([{"role": "system", "content": "be terse"}, *messages],
                     user_id="alice", infer=False)  # fmt: skip
    assert out["status"] == "SUCCEEDED" and out["message"] and out["event_id"]
    assert [r["data"]["memory"] for r in out["results"]] == [x["content"] for x in messages]
    assert all(r["event"] == "ADD" and r["id"] for r in out["results"])
    again = client.add(messages, user_id="alice", infer=False)
    assert {r["id"] for r in again["results"]} <= {r["id"] for r in out["results"]}

    hits = client.search("What is Alice's favorite sport?", filters={"user_id": "alice"})
    assert "Alice loves playing badminton" in texts(hits)
    listed = client.get_all(filters={"AND": [{"user_id": "alice"}]})
    assert texts(listed) == {x["content"] for x in messages}


def test_timestamp_backdates_created_at(client: Memory) -> None:
    """docs/platform/features/timestamp.mdx: ``client.add(messages, user_id="user1",
    timestamp=unix_timestamp)``; 1672531200 is 2023-01-01 00:00:00 UTC."""
    messages = [{"role": "user", "content": "I'm travelling to SF"}]
    out = client.add(messages, user_id="user1", timestamp=1672531200)
    record = client.get(out["results"][0]["id"])
    assert datetime.fromisoformat(record["created_at"]) == datetime(2023, 1, 1, tzinfo=UTC)
    five_days_ago = int((datetime.now(UTC) - timedelta(days=5)).timestamp())
    out = client.add([{"role": "user", "content": "I'm travelling to LA"}], user_id="user1",
                     timestamp=five_days_ago)  # fmt: skip
    created = datetime.fromisoformat(client.get(out["results"][0]["id"])["created_at"])
    assert created.timestamp() == five_days_ago


# -- search -----------------------------------------------------------------------------------


def _travel_and_sports(client: Memory) -> None:
    client.add("Likes to play cricket on weekends", user_id="alice",
               metadata={"category": "hobbies"}, categories=["hobbies", "sports"])  # fmt: skip
    client.add("Books boutique hotels in Tokyo", agent_id="travel-assistant",
               categories=["travel"])  # fmt: skip
    client.add("Bob likes cricket too", user_id="bob", categories=["sports"])


def test_search_or_across_entities(client: Memory) -> None:
    """docs/core-concepts/memory-operations/search.mdx and
    docs/api-reference/memory/search-memories.mdx: ``OR`` of ``user_id`` and
    ``agent_id in [...]`` at the top of the filter, with ``show_expired=False``."""
    _travel_and_sports(client)
    filters = {
        "OR": [
            {"user_id": "alice"},
            {"agent_id": {"in": ["travel-assistant", "customer-support"]}},
        ]
    }
    results = client.search("What do you know about me?", filters=filters, show_expired=False)
    assert texts(results) == {"Likes to play cricket on weekends",
                              "Books boutique hotels in Tokyo"}  # fmt: skip


def test_oss_search_entity_and_categories_in_filters(m: Memory) -> None:
    """docs/core-concepts/memory-operations/search.mdx ("Search with Mem0 Open Source")."""
    m.add("Drinks green tea, never coffee", user_id="alice", categories=["diet"])
    m.add("Coffee makes alice jittery", user_id="alice", categories=["health"])
    related = m.search("Should I drink coffee or tea?", filters={"user_id": "alice"})
    assert len(related["results"]) == 2
    memories = m.search(
        "food preferences", filters={"user_id": "alice", "categories": {"contains": "diet"}}
    )
    assert texts(memories) == {"Drinks green tea, never coffee"}


def test_oss_search_explain(m: Memory) -> None:
    """docs/core-concepts/memory-operations/search.mdx ("Explain OSS search scores"):
    ``explain=True`` adds ``score_details``; it is omitted otherwise."""
    m.add("Loves spicy food preferences", user_id="alice")
    results = m.search("food preferences", filters={"user_id": "alice"}, explain=True)
    details = results["results"][0]["score_details"]
    assert isinstance(details, dict) and details
    plain = m.search("food preferences", filters={"user_id": "alice"})
    assert "score_details" not in plain["results"][0]


def test_search_session_context(client: Memory, m: Memory) -> None:
    """docs/core-concepts/memory-operations/search.mdx ("Filter by Session Context"): the
    platform AND list and the OSS flat dict mean the same."""
    client.add("Asked about refunds", user_id="alice", agent_id="chatbot", run_id="session-123")
    client.add("Asked about shipping", user_id="alice", agent_id="chatbot", run_id="session-9")
    platform = client.search("query", filters={
        "AND": [{"user_id": "alice"}, {"agent_id": "chatbot"}, {"run_id": "session-123"}]
    })  # fmt: skip
    oss = m.search("query", filters={
        "user_id": "alice", "agent_id": "chatbot", "run_id": "session-123",
    })  # fmt: skip
    assert texts(platform) == texts(oss) == {"Asked about refunds"}


def test_search_date_range_and_categories(client: Memory) -> None:
    """docs/core-concepts/memory-operations/search.mdx ("Filter by Date Range", "Filter by
    Categories")."""
    client.add("Old memory about food", user_id="alice", categories=["food"],
               timestamp="2024-01-15T00:00:00Z")  # fmt: skip
    client.add("Recent memory about food", user_id="alice", categories=["food"])
    client.add("Recent memory about work", user_id="alice", categories=["work"])
    recent = client.search("recent memories", filters={
        "AND": [{"user_id": "alice"}, {"created_at": {"gte": "2024-07-01"}}]
    })  # fmt: skip
    assert texts(recent) == {"Recent memory about food", "Recent memory about work"}
    food = client.search("preferences", filters={
        "AND": [{"user_id": "alice"}, {"categories": {"contains": "food"}}]
    })  # fmt: skip
    assert texts(food) == {"Old memory about food", "Recent memory about food"}


def test_search_wildcard_and_category_filters(client: Memory) -> None:
    """docs/api-reference/memory/search-memories.mdx: ``run_id: "*"`` with a user, categories
    ``contains`` and ``in``."""
    client.add("Saving for a house deposit", user_id="alice", run_id="r1",
               categories=["finance"])  # fmt: skip
    client.add("My passport number ends in 42", user_id="alice",
               categories=["personal_information"])  # fmt: skip
    all_runs = client.search(
        "What are Alice's hobbies?", filters={"AND": [{"user_id": "alice"}, {"run_id": "*"}]}
    )
    assert texts(all_runs) == {"Saving for a house deposit"}
    finance = client.search("What are my financial goals?", filters={
        "AND": [{"user_id": "alice"}, {"categories": {"contains": "finance"}}]
    })  # fmt: skip
    assert texts(finance) == {"Saving for a house deposit"}
    personal = client.search("What personal information do you have?", filters={
        "AND": [{"user_id": "alice"}, {"categories": {"in": ["personal_information"]}}]
    })  # fmt: skip
    assert texts(personal) == {"My passport number ends in 42"}


def test_search_rerank_is_accepted(client: Memory) -> None:
    """docs/platform/features/advanced-retrieval.mdx: ``rerank=True`` changes only the order;
    the same memories come back with the same fields."""
    client.add("Tokyo trip next month", user_id="user123")
    client.add("Went to Paris last year", user_id="user123")
    plain = client.search("What are my upcoming travel plans?", filters={"user_id": "user123"})
    with pytest.warns(DeprecationWarning, match="rerank"):
        reranked = client.search(
            query="What are my upcoming travel plans?", rerank=True,
            filters={"user_id": "user123"},
        )  # fmt: skip
    assert texts(reranked) == texts(plain)
    assert set(reranked["results"][0]) == set(plain["results"][0])


def test_search_categories_and_metadata_arguments(client: Memory) -> None:
    """``mem0/client/types.py`` ``SearchMemoryOptions`` (``categories``, ``metadata``,
    ``keyword_search``, ``reference_date``) as passed by ``MemoryClient.search``, and
    docs/api-reference/memory/search-memories.mdx (the v3 search body)."""
    client.add("Pays rent on the first", user_id="u", categories=["finance"],
               metadata={"source": "email"})  # fmt: skip
    client.add("Runs on Sundays", user_id="u", categories=["health"], metadata={"source": "chat"})
    by_cat = client.search("what", filters={"user_id": "u"}, categories=["finance"])
    assert texts(by_cat) == {"Pays rent on the first"}
    by_meta = client.search("what", filters={"user_id": "u"}, metadata={"source": "chat"})
    assert texts(by_meta) == {"Runs on Sundays"}
    both = client.search("what", filters={"user_id": "u"}, keyword_search=True,
                         reference_date="2025-01-01")  # fmt: skip
    assert len(both["results"]) == 2


# -- get_all / entities -----------------------------------------------------------------------


def test_get_all_paginated_envelope(client: Memory) -> None:
    """docs/api-reference/memory/get-memories.mdx: AND of user and a created_at range, with
    ``show_expired=False, page=1, page_size=50``; the output is count/next/previous/results."""
    client.add("Alex is planning a trip to San Francisco", user_id="alex",
               timestamp="2024-07-01T12:00:00Z")  # fmt: skip
    client.add("Alex prefers vegetarian restaurants", user_id="alex",
               timestamp="2024-07-05T15:30:00Z")  # fmt: skip
    client.add("Alex moved in August", user_id="alex", timestamp="2024-08-02T00:00:00Z")
    memories = client.get_all(
        filters={"AND": [{"user_id": "alex"},
                         {"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}}]},
        show_expired=False, page=1, page_size=50,
    )  # fmt: skip
    assert ENVELOPE <= set(memories)
    assert memories["count"] == 2 and memories["next"] is None and memories["previous"] is None
    assert texts(memories) == {"Alex is planning a trip to San Francisco",
                               "Alex prefers vegetarian restaurants"}  # fmt: skip


def test_get_all_v3_envelope_without_pages(client: Memory) -> None:
    """docs/migration/platform-v2-to-v3.mdx: "get_all / list now returns a paginated
    envelope ... defaults return the first page"."""
    for i in range(3):
        client.add(f"fact number {i}", user_id="alice")
    page = client.get_all(filters={"user_id": "alice"})
    assert ENVELOPE <= set(page) and page["count"] == 3 and len(page["results"]) == 3
    first = client.get_all(filters={"user_id": "alice"}, page=1, page_size=2)
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"] is not None


def test_oss_get_all_top_k(m: Memory) -> None:
    """``mem0/memory/main.py`` ``Memory.get_all(filters=, top_k=20, show_expired=)``."""
    for i in range(5):
        m.add(f"fact number {i}", user_id="alice")
    assert len(m.get_all(filters={"user_id": "alice"}, top_k=2)["results"]) == 2


def test_users_envelope(client: Memory) -> None:
    """``MemoryClient.users()`` (``GET /v1/entities/``, docs/openapi.json): count, next,
    previous and results with id, name, type, created_at, updated_at."""
    client.add("a fact", user_id="alice")
    client.add("another", agent_id="bot")
    users = client.users()
    assert ENVELOPE <= set(users) and users["count"] == 2
    assert {(u["type"], u["name"]) for u in users["results"]} == {("user", "alice"),
                                                                  ("agent", "bot")}  # fmt: skip


# -- update -----------------------------------------------------------------------------------


def test_platform_update_text_metadata_timestamp(client: Memory, clock: FrozenClock) -> None:
    """docs/core-concepts/memory-operations/update.mdx: ``client.update(memory_id=...,
    text=..., metadata=..., timestamp="2025-01-15T12:00:00Z")``."""
    memory_id = client.add("Old content", user_id="alice")["results"][0]["id"]
    clock.advance(days=30)
    client.update(
        memory_id=memory_id,
        text="Updated memory content about the user",
        metadata={"category": "profile-update"},
        timestamp="2025-01-15T12:00:00Z",
    )
    record = client.get(memory_id)
    assert record["memory"] == "Updated memory content about the user"
    assert record["metadata"] == {"category": "profile-update"}
    assert datetime.fromisoformat(record["updated_at"]) == datetime(2025, 1, 15, 12, tzinfo=UTC)


def test_batch_update(client: Memory) -> None:
    """docs/core-concepts/memory-operations/update.mdx ("Batch update")."""
    id1 = client.add("Watches tennis", user_id="alice")["results"][0]["id"]
    id2 = client.add("Likes to stay home", user_id="alice")["results"][0]["id"]
    client.batch_update([{"memory_id": id1, "text": "Watches football"},
                         {"memory_id": id2, "text": "Likes to travel"}])  # fmt: skip
    assert texts(client.get_all(filters={"user_id": "alice"})) == {"Watches football",
                                                                   "Likes to travel"}  # fmt: skip


def test_oss_update_text_metadata_expiration(m: Memory) -> None:
    """docs/core-concepts/memory-operations/update.mdx ("Update with Mem0 Open Source") and
    docs/api-reference/memory/update-memory.mdx (``expiration_date=None`` clears it)."""
    mem_id = m.add("Alex prefers coffee", user_id="alex")["results"][0]["id"]
    m.update(memory_id=mem_id, text="Alex now prefers decaf coffee")
    m.update(memory_id=mem_id, text="Alex now prefers decaf coffee",
             metadata={"category": "preferences"}, expiration_date="2030-01-31")  # fmt: skip
    record = m.get(mem_id)
    assert record["memory"] == "Alex now prefers decaf coffee"
    assert record["metadata"] == {"category": "preferences"}
    assert record["expiration_date"] == "2030-01-31"
    m.update(mem_id, expiration_date=None)
    assert m.get(mem_id)["expiration_date"] is None
    assert m.get(mem_id)["memory"] == "Alex now prefers decaf coffee"


def test_update_unknown_id_is_a_value_error(m: Memory) -> None:
    """``mem0/memory/main.py``: update/delete of an unknown id raise ``ValueError``."""
    with pytest.raises(ValueError):
        m.update("does-not-exist", text="x")
    with pytest.raises(ValueError):
        m.delete("does-not-exist")


# -- delete -----------------------------------------------------------------------------------


def test_delete_single_and_batch(client: Memory) -> None:
    """docs/core-concepts/memory-operations/delete.mdx ("Delete a single memory", "Batch
    delete multiple memories")."""
    ids = [client.add(f"fact {w}", user_id="alice")["results"][0]["id"]
           for w in ("one", "two", "three")]  # fmt: skip
    out = client.delete(memory_id=ids[0])
    assert out["message"] == "Memory deleted successfully!"
    response = client.batch_delete([{"memory_id": ids[1]}, {"memory_id": ids[2]}])
    assert "message" in response
    assert client.get_all(filters={"user_id": "alice"})["count"] == 0


def test_delete_linked(client: Memory) -> None:
    """``MemoryClient.delete(memory_id, delete_linked=False)``; docs/openapi.json: with
    ``delete_linked=true`` the response adds ``cascade_count``."""
    a = client.add("fact a", user_id="alice")["results"][0]["id"]
    b = client.add("fact b", user_id="alice")["results"][0]["id"]
    assert "cascade_count" not in client.delete(a)
    out = client.delete(b, delete_linked=True)
    assert out["cascade_count"] == 0


def test_delete_all_by_entity(client: Memory) -> None:
    """docs/core-concepts/memory-operations/delete.mdx ("Delete memories by filter")."""
    client.add("alice fact", user_id="alice")
    client.add("bot fact", agent_id="support-bot")
    client.add("run fact", run_id="session-xyz")
    client.delete_all(user_id="alice")
    client.delete_all(agent_id="support-bot")
    client.delete_all(run_id="session-xyz")
    assert client.users()["count"] == 0


def test_delete_all_wildcards(client: Memory) -> None:
    """docs/core-concepts/memory-operations/delete.mdx ("Wildcard deletes"): ``user_id="*"``
    deletes every user's memories only; all four set to ``"*"`` wipes the project; no filter
    at all raises."""
    client.add("alice fact", user_id="alice")
    client.add("bob fact", user_id="bob")
    client.add("bot fact", agent_id="support-bot")
    client.add("app fact", app_id="portal")
    with pytest.raises(ValueError):
        client.delete_all()
    client.delete_all(user_id="*")
    assert {u["name"] for u in client.users()["results"]} == {"support-bot", "portal"}
    client.delete_all(user_id="*", agent_id="*", app_id="*", run_id="*")
    assert client.users()["count"] == 0


def test_oss_delete(m: Memory) -> None:
    """docs/core-concepts/memory-operations/delete.mdx ("Delete with Mem0 OSS")."""
    mem_id = m.add("mem one", user_id="alice")["results"][0]["id"]
    m.add("mem two", user_id="alice")
    m.delete(memory_id=mem_id)
    assert texts(m.get_all(filters={"user_id": "alice"})) == {"mem two"}
    m.delete_all(user_id="alice")
    assert m.get_all(filters={"user_id": "alice"})["results"] == []


def test_delete_users(client: Memory) -> None:
    """``MemoryClient.delete_users()``: one entity by id, or every entity with no
    arguments."""
    client.add("alice fact", user_id="alice")
    client.add("bob fact", user_id="bob")
    client.add("bot fact", agent_id="bot")
    assert client.delete_users(user_id="alice")["message"] == "Entity deleted successfully."
    out = client.delete_users()
    assert out["message"] == "All users, agents, apps and runs deleted."
    assert client.users()["count"] == 0


# -- expiration -------------------------------------------------------------------------------


def test_memory_expiration(client: Memory, clock: FrozenClock) -> None:
    """docs/platform/features/memory-expiration.mdx: visible all through the date (UTC),
    hidden from search and get_all after it, still returned by ``get``, back with
    ``show_expired=True``, permanent again with ``expiration_date=None``."""
    messages = [{"role": "user", "content": "My Pro trial ends soon."}]
    mem_id = client.add(messages, user_id="alice", expiration_date="2030-01-31")["results"][0]["id"]
    clock.set(datetime(2030, 1, 31, 23, 59, tzinfo=UTC))
    assert client.get_all(filters={"user_id": "alice"})["count"] == 1
    clock.set(datetime(2030, 2, 1, 0, 0, 1, tzinfo=UTC))
    assert client.get_all(filters={"user_id": "alice"})["count"] == 0
    assert client.search("What plan is Alice on?", filters={"user_id": "alice"})["results"] == []
    assert client.get(mem_id)["expiration_date"] == "2030-01-31"
    shown = client.get_all(filters={"user_id": "alice"}, show_expired=True)
    assert texts(shown) == {"My Pro trial ends soon."}
    found = client.search("What plan is Alice on?", filters={"user_id": "alice"},
                          show_expired=True)  # fmt: skip
    assert texts(found) == {"My Pro trial ends soon."}
    client.update(mem_id, expiration_date=None)
    assert client.get_all(filters={"user_id": "alice"})["count"] == 1


def test_expiration_accepts_date_objects(m: Memory) -> None:
    """docs/platform/features/memory-expiration.mdx ("What each client accepts"): Python takes
    ``YYYY-MM-DD`` or a ``date``; read back as ``YYYY-MM-DD``."""
    a = m.add("fact a", user_id="alice", expiration_date=date(2030, 1, 31))["results"][0]["id"]
    m.update(a, expiration_date="2031-02-01")
    assert m.get(a)["expiration_date"] == "2031-02-01"


# -- feedback ---------------------------------------------------------------------------------


def test_feedback(client: Memory) -> None:
    """docs/platform/features/feedback-mechanism.mdx: give, bulk, and clear feedback (None
    removes it); the values are POSITIVE, NEGATIVE, VERY_NEGATIVE."""
    one = client.add("memory one", user_id="alice")["results"][0]["id"]
    two = client.add("memory two", user_id="alice")["results"][0]["id"]
    out = client.feedback(
        memory_id=one,
        feedback="NEGATIVE",
        feedback_reason="I don't like this memory because it is not relevant.",
    )
    assert out["feedback"] == "NEGATIVE" and out["id"]
    feedback_data = [
        {"memory_id": one, "feedback": "POSITIVE",
         "feedback_reason": "Accurately captured the user's preference"},
        {"memory_id": two, "feedback": "NEGATIVE",
         "feedback_reason": "Contains outdated information"},
    ]  # fmt: skip
    for item in feedback_data:
        client.feedback(**item)
    assert client.get_feedback(one)["feedback"] == "POSITIVE"
    assert client.get_feedback(two)["feedback_reason"] == "Contains outdated information"
    client.feedback(memory_id=two, feedback=None, feedback_reason=None)
    assert client.get_feedback(two) is None
    with pytest.raises(ValueError):
        client.feedback(memory_id=one, feedback="MEH")


# -- project settings (decay) ------------------------------------------------------------------


def test_project_decay_toggle(client: Memory, store_uri: str, clock: FrozenClock) -> None:
    """docs/platform/features/memory-decay.mdx: ``client.project.update(decay=True)``,
    ``client.project.get(fields=["decay"])["decay"]``, ``client.project.update(decay=False)``;
    a project setting, so it outlives the client."""
    client.project.update(decay=True)
    assert client.project.get(fields=["decay"])["decay"] is True
    reopened = Memory(api_key="your-api-key", embedder=HashEmbedder(), clock=clock)
    try:
        assert reopened.project.get(fields=["decay"])["decay"] is True
        reopened.project.update(decay=False)
    finally:
        reopened.close()
    client.project.update(decay=False)
    assert client.project.get()["decay"] is False


# -- filters (platform grammar) ----------------------------------------------------------------


@pytest.fixture
def filtered(client: Memory) -> Memory:
    """Memories for docs/platform/features/v2-memory-filters.mdx."""
    client.add("Paid the invoice for March", user_id="user_123", categories=["finance"],
               metadata={"source": "email", "type": "episodic"},
               timestamp="2024-01-10T00:00:00Z")  # fmt: skip
    client.add("Gym three times a week", user_id="user_123", run_id="run_456",
               app_id="app1", categories=["health"], metadata={"type": "semantic"},
               timestamp="2024-02-10T00:00:00Z")  # fmt: skip
    client.add("Spam about lotteries", user_id="user_123", categories=["spam"])
    client.add("Test entry", user_id="user_1", categories=["test"])
    client.add("User two likes jazz", user_id="user_2")
    client.add("Finance bot knows tax rules", agent_id="finance_bot", run_id="r9")
    client.add("Old agent memory", agent_id="old_agent")
    return client


def _get_all(client: Memory, filters: dict[str, Any]) -> set[str]:
    return texts(client.get_all(filters=filters))


def test_filters_bare_and_flat_forms(filtered: Memory) -> None:
    """docs/platform/features/v2-memory-filters.mdx ("Filter structure"): a bare condition,
    and sibling keys implicitly ANDed, equal to the explicit AND."""
    assert len(_get_all(filtered, {"user_id": "user_123"})) == 3
    flat = _get_all(filtered, {"user_id": "user_123", "categories": {"in": ["finance"]}})
    explicit = _get_all(filtered, {"AND": [{"user_id": "user_123"},
                                           {"categories": {"in": ["finance"]}}]})  # fmt: skip
    assert flat == explicit == {"Paid the invoice for March"}


def test_filters_common_patterns(filtered: Memory) -> None:
    """docs/platform/features/v2-memory-filters.mdx ("Common filter patterns"): single user,
    all users (wildcard skips null user_id), user across all runs."""
    assert len(_get_all(filtered, {"AND": [{"user_id": "user_123"}]})) == 3
    everyone = _get_all(filtered, {"AND": [{"user_id": "*"}]})
    assert len(everyone) == 5 and "Old agent memory" not in everyone
    runs = _get_all(filtered, {"AND": [{"user_id": "user_123"}, {"run_id": "*"}]})
    assert runs == {"Gym three times a week"}


def test_filters_metadata_or_and_keywords(filtered: Memory) -> None:
    """docs/platform/features/v2-memory-filters.mdx: the multi-value metadata workaround
    (an OR of metadata equalities, with the entity id v3 requires), keywords ``icontains``,
    categories ``in``/``contains``, a metadata pin."""
    # the page shows the OR alone; the v3 API needs an entity id beside it (openapi.json)
    multi = _get_all(filtered, {"user_id": "user_123",
                                "OR": [{"metadata": {"type": "semantic"}},
                                       {"metadata": {"type": "episodic"}}]})  # fmt: skip
    assert multi == {"Paid the invoice for March", "Gym three times a week"}
    assert _get_all(filtered, {"AND": [{"user_id": "user_123"},
                                       {"keywords": {"icontains": "INVOICE"}}]}) == {
        "Paid the invoice for March"}  # fmt: skip
    assert (
        len(
            _get_all(
                filtered,
                {"AND": [{"user_id": "user_123"}, {"categories": {"in": ["finance", "health"]}}]},
            )
        )
        == 2
    )
    assert _get_all(filtered, {"AND": [{"user_id": "user_123"},
                                       {"metadata": {"source": "email"}}]}) == {
        "Paid the invoice for March"}  # fmt: skip


def test_filters_time_ranges(filtered: Memory) -> None:
    """docs/platform/features/v2-memory-filters.mdx ("Time-based filtering") and the
    troubleshooting date range between two dates."""
    january = _get_all(
        filtered,
        {
            "AND": [
                {"user_id": "user_123"},
                {"created_at": {"gte": "2024-01-01T00:00:00Z"}},
                {"created_at": {"lt": "2024-02-01T00:00:00Z"}},
            ]
        },
    )
    assert january == {"Paid the invoice for March"}
    assert (
        _get_all(
            filtered,
            {
                "AND": [
                    {"user_id": "user_123"},
                    {"created_at": {"gte": "2024-01-01"}},
                    {"created_at": {"lt": "2024-02-01"}},
                ]
            },
        )
        == january
    )
    recent = _get_all(
        filtered,
        {"AND": [{"user_id": "user_123"}, {"updated_at": {"gte": "2024-12-01T00:00:00Z"}}]},
    )
    assert recent == {"Spam about lotteries"}


def test_filters_multiple_criteria(filtered: Memory) -> None:
    """docs/platform/features/v2-memory-filters.mdx ("Multiple criteria"): users in a list,
    OR of user and run, NOT of categories in, memory_ids, all entities populated."""
    assert _get_all(filtered, {"AND": [{"user_id": {"in": ["user_1", "user_2", "user_3"]}}]}) == {
        "Test entry", "User two likes jazz"}  # fmt: skip
    either = _get_all(filtered, {"OR": [{"user_id": "user_123"}, {"run_id": "run_456"}]})
    assert len(either) == 3
    clean = _get_all(
        filtered,
        {"AND": [{"user_id": "user_123"}, {"NOT": {"categories": {"in": ["spam", "test"]}}}]},
    )
    assert clean == {"Paid the invoice for March", "Gym three times a week"}
    ids = [r["id"] for r in filtered.get_all(filters={"user_id": "user_123"})["results"]][:2]
    picked = filtered.get_all(filters={"AND": [{"user_id": "user_123"}, {"memory_ids": ids}]})
    assert {r["id"] for r in picked["results"]} == set(ids)
    populated = _get_all(filtered, {"AND": [{"user_id": "user_123"}, {"run_id": "*"},
                                            {"app_id": "*"}]})  # fmt: skip
    assert populated == {"Gym three times a week"}


def test_filters_advanced_examples(filtered: Memory) -> None:
    """docs/platform/features/v2-memory-filters.mdx ("Advanced examples" and
    "Troubleshooting")."""
    multi = _get_all(filtered, {"AND": [
        {"user_id": "user_123"}, {"categories": {"in": ["finance"]}},
        {"keywords": {"icontains": "invoice"}},
        {"created_at": {"gte": "2024-01-01T00:00:00Z"}},
        {"created_at": {"lt": "2024-04-01T00:00:00Z"}},
    ]})  # fmt: skip
    assert multi == {"Paid the invoice for March"}
    assert _get_all(filtered, {"AND": [{"agent_id": "finance_bot"}]}) == {
        "Finance bot knows tax rules"}  # fmt: skip
    assert _get_all(filtered, {"AND": [{"agent_id": "finance_bot"}, {"run_id": "*"}]}) == {
        "Finance bot knows tax rules"}  # fmt: skip
    nested = _get_all(filtered, {"AND": [
        {"user_id": "user_123"}, {"created_at": {"gte": "2024-01-01T00:00:00Z"}},
        {"NOT": {"OR": [{"categories": {"in": ["spam"]}}, {"categories": {"in": ["test"]}}]}},
    ]})  # fmt: skip
    assert nested == {"Paid the invoice for March", "Gym three times a week"}
    guarded = _get_all(filtered, {"AND": [{"agent_id": "*"}, {"agent_id": {"ne": "old_agent"}}]})
    assert guarded == {"Finance bot knows tax rules"}
    both = _get_all(filtered, {"OR": [{"user_id": "user_2"}, {"agent_id": "finance_bot"}]})
    assert both == {"User two likes jazz", "Finance bot knows tax rules"}


# -- filters (OSS grammar) ----------------------------------------------------------------------


@pytest.fixture
def tasks(m: Memory) -> Memory:
    """Memories for docs/open-source/features/metadata-filtering.mdx."""
    rows = [
        ("Prefers window seats", {"category": "preferences", "priority": 3, "score": 0.9}),
        ("Finish the quarterly report", {"category": "work", "priority": 8, "status": "active",
                                         "title": "meeting notes", "tags": ["urgent", "q3"],
                                         "archived": False}),
        ("Call the plumber", {"category": "personal", "priority": 5, "status": "completed",
                              "description": "Very IMPORTANT leak"}),
        ("Old archived thing", {"category": "archived", "priority": 9, "status": "deleted",
                                "archived": True}),
        ("No metadata at all", None),
    ]  # fmt: skip
    for text, meta in rows:
        m.add(text, user_id="alice", metadata=meta)
    return m


def _search(m: Memory, filters: dict[str, Any]) -> set[str]:
    return texts(m.search("query", filters=filters, top_k=50))


def test_oss_metadata_selectors_and_comparisons(tasks: Memory) -> None:
    """docs/open-source/features/metadata-filtering.mdx ("Metadata selectors", "Comparison
    operators"): bare top-level keys are metadata."""
    assert _search(tasks, {"user_id": "alice", "category": "preferences"}) == {
        "Prefers window seats"}  # fmt: skip
    assert (
        _search(tasks, {"user_id": "alice", "priority": {"gte": 5}, "score": {"lt": 0.95}}) == set()
    )
    assert (
        _search(tasks, {"user_id": "alice", "priority": {"gte": 5}, "rating": {"lte": 3}}) == set()
    )
    kept = _search(tasks, {"user_id": "alice", "priority": {"gt": 4}, "archived": {"ne": True}})
    assert kept == {"Finish the quarterly report", "Call the plumber"}
    assert _search(tasks, {"user_id": "alice", "status": {"eq": "active"}}) == {
        "Finish the quarterly report"}  # fmt: skip


def test_oss_list_string_and_wildcard_operators(tasks: Memory) -> None:
    """docs/open-source/features/metadata-filtering.mdx ("List-based operators", "String
    operators", "Wildcard matching")."""
    assert _search(tasks, {"user_id": "alice",
                           "category": {"in": ["work", "personal", "archived"]},
                           "status": {"nin": ["deleted", "archived"]}}) == {
        "Finish the quarterly report", "Call the plumber"}  # fmt: skip
    assert _search(
        tasks,
        {"user_id": "alice", "title": {"contains": "meeting"}, "tags": {"contains": "urgent"}},
    ) == {"Finish the quarterly report"}
    assert _search(tasks, {"user_id": "alice", "description": {"icontains": "important"}}) == {
        "Call the plumber"}  # fmt: skip
    assert len(_search(tasks, {"user_id": "alice", "category": "*"})) == 4


def test_oss_logical_combinations(tasks: Memory) -> None:
    """docs/open-source/features/metadata-filtering.mdx ("Logical combinations")."""
    assert _search(tasks, {"user_id": "alice", "AND": [
        {"category": "work"}, {"priority": {"gte": 7}}, {"status": {"ne": "completed"}}]}) == {
        "Finish the quarterly report"}  # fmt: skip
    either = {"OR": [{"category": "urgent"}, {"priority": {"gte": 9}},
                     {"deadline": {"contains": "today"}}]}  # fmt: skip
    assert _search(tasks, {"user_id": "alice", **either}) == {"Old archived thing"}
    assert (
        len(
            _search(
                tasks,
                {"user_id": "alice", "NOT": [{"category": "archived"}, {"status": "deleted"}]},
            )
        )
        == 4
    )
    assert _search(tasks, {"user_id": "alice", "AND": [
        {"OR": [{"category": "work"}, {"category": "personal"}]},
        {"priority": {"gte": 5}}, {"NOT": [{"status": "archived"}]}]}) == {
        "Finish the quarterly report", "Call the plumber"}  # fmt: skip


def test_oss_see_it_in_action(m: Memory) -> None:
    """docs/open-source/features/metadata-filtering.mdx ("See it in action"): project
    management and customer support filters, including a date-string ``gte`` on metadata."""
    m.add(
        "Fix login bug",
        user_id="project_manager",
        metadata={"project": "alpha", "priority": 9, "status": "open", "assignee": "bob"},
    )
    m.add(
        "Write docs",
        user_id="project_manager",
        metadata={"project": "beta", "priority": 9, "status": "open", "assignee": "alice"},
    )
    assert _search(m, {"user_id": "project_manager", "AND": [
        {"project": {"in": ["alpha", ""]}}, {"priority": {"gte": 8}},
        {"status": {"ne": "completed"}},
        {"OR": [{"assignee": "alice"}, {"assignee": "bob"}]}]}) == {"Fix login bug"}  # fmt: skip
    m.add(
        "Refund pending",
        agent_id="support_bot",
        metadata={"ticket_status": "open", "priority": "high", "created_date": "2024-03-01"},
    )
    m.add(
        "Old ticket",
        agent_id="support_bot",
        metadata={"ticket_status": "open", "priority": "high", "created_date": "2023-12-01"},
    )
    assert _search(m, {"agent_id": "support_bot", "AND": [
        {"ticket_status": {"ne": "resolved"}}, {"priority": {"in": ["high", "critical"]}},
        {"created_date": {"gte": "2024-01-01"}}, {"NOT": [{"category": "spam"}]}]}) == {
        "Refund pending"}  # fmt: skip


def test_oss_invalid_operator_is_a_value_error(tasks: Memory) -> None:
    """docs/open-source/features/metadata-filtering.mdx ("Handle invalid operators")."""
    with pytest.raises(ValueError):
        tasks.search(
            "test query", filters={"user_id": "alice", "invalid_operator": {"unknown": "value"}}
        )
    fallback = tasks.search("test query", filters={"user_id": "alice", "category": "general"})
    assert fallback["results"] == []


# -- async clients ----------------------------------------------------------------------------


async def test_async_client(aclient: AsyncMemory) -> None:
    """docs/platform/features/async-client.mdx: add, search, get_all, delete, delete_all,
    history, users, reset."""
    messages = [
        {"role": "user", "content": "Alice loves playing badminton"},
        {"role": "assistant", "content": "That's great! Alice is a fitness freak"},
    ]
    added = await aclient.add(messages, user_id="alice")
    memory_id = added["results"][0]["id"]
    found = await aclient.search("What is Alice's favorite sport?", filters={"user_id": "alice"})
    assert found["results"][0]["id"] == memory_id
    listed = await aclient.get_all(filters={"AND": [{"user_id": "alice"}]})
    assert ENVELOPE <= set(listed) and listed["count"] == 1
    history = await aclient.history(memory_id=memory_id)
    assert [e["event"] for e in history] == ["ADD"]
    assert (await aclient.users())["count"] == 1
    await aclient.delete(memory_id=memory_id)
    await aclient.add("Another fact", user_id="alice")
    await aclient.delete_all(user_id="alice")
    await aclient.add("Bob's fact", user_id="bob")
    await aclient.reset()
    assert (await aclient.users())["count"] == 0


async def test_advanced_memory_operations(aclient: AsyncMemory) -> None:
    """docs/platform/advanced-memory-operations.mdx: metadata with a list, run_id, a dotted
    ``metadata.trip`` filter with ``rerank=True``, update by keyword, delete_all by user and
    run."""
    memory = aclient
    conversation = [
        {"role": "user", "content": "I'm Morgan, planning a 3-week trip to Japan in May."},
        {"role": "assistant", "content": "Great! I'll track dietary notes and cities."},
        {
            "role": "user",
            "content": "Please remember I avoid shellfish and prefer boutique hotels.",
        },
    ]
    await memory.add(
        conversation,
        user_id="traveler-42",
        run_id="planning-call-1",
        metadata={"trip": "japan-2025", "preferences": ["boutique", "no-shellfish"]},
    )
    await memory.add("Unrelated note about food", user_id="traveler-42",
                     metadata={"trip": "peru-2024"})  # fmt: skip
    with pytest.warns(DeprecationWarning, match="rerank"):
        matches = await memory.search(
            "Any food alerts?",
            filters={"user_id": "traveler-42", "metadata.trip": "japan-2025"},
            rerank=True,
        )
    assert len(matches["results"]) == 2
    await memory.update(
        memory_id=matches["results"][0]["id"],
        text="Morgan avoids shellfish and prefers boutique hotels in Tokyo.",
    )
    await memory.delete_all(user_id="traveler-42", run_id="planning-call-1")
    left = await memory.get_all(filters={"user_id": "traveler-42"})
    assert texts(left) == {"Unrelated note about food"}


async def test_oss_async_memory(store_uri: str, clock: FrozenClock) -> None:
    """docs/open-source/features/async-memory.mdx: the core operations, entity scoping in
    filters, concurrent adds with ``asyncio.gather``, and ``ValueError`` for an unknown id or
    an empty query."""
    memory = AsyncMemory(embedder=HashEmbedder(), clock=clock)
    try:
        result = await memory.add(
            messages=[{"role": "user", "content": "I'm travelling to SF"},
                      {"role": "assistant", "content": "That's great to hear!"}],
            user_id="alice",
        )  # fmt: skip
        memory_id = result["results"][0]["id"]
        results = await memory.search(query="Where am I travelling?", filters={"user_id": "alice"})
        assert results["results"][0]["id"] == memory_id
        specific = await memory.get(memory_id=memory_id)
        assert specific["memory"] == "I'm travelling to SF"
        await memory.update(memory_id=memory_id, text="I'm travelling to Seattle")
        assert (await memory.get(memory_id=memory_id))["memory"] == "I'm travelling to Seattle"
        await memory.add(
            messages=[{"role": "user", "content": "I prefer vegetarian food"}],
            user_id="alice",
            agent_id="diet-assistant",
            run_id="consultation-001",
        )
        everything = await memory.get_all(filters={"user_id": "alice"})
        specific_memories = await memory.get_all(
            filters={"user_id": "alice", "agent_id": "diet-assistant", "run_id": "consultation-001"}
        )
        assert len(everything["results"]) == 2 and len(specific_memories["results"]) == 1
        history = await memory.history(memory_id=memory_id)
        assert [e["event"] for e in history] == ["ADD", "UPDATE"]

        tasks = [memory.add(messages=[{"role": "user", "content": f"Message {i}"}],
                            user_id=f"user_{i}") for i in range(5)]  # fmt: skip
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert not any(isinstance(o, Exception) for o in outcomes)

        with pytest.raises(ValueError):
            await memory.get(memory_id="non-existent-id")
        with pytest.raises(ValueError):
            await memory.search(query="", filters={"user_id": "alice"})
        await memory.delete(memory_id=memory_id)
        await memory.delete_all(user_id="alice")
        assert (await memory.get_all(filters={"user_id": "alice"}))["results"] == []
    finally:
        await memory.close()


# -- entity-scoped memory ----------------------------------------------------------------------


def test_entity_scoped_memory(client: Memory) -> None:
    """docs/platform/features/entity-scoped-memory.mdx: all four ids on add; user, agent and
    app scopes (an OR of wildcards) on search/get_all; delete_all by user and run."""
    client.add([{"role": "user", "content": "I teach ninth-grade algebra."},
                {"role": "assistant", "content": "I'll tailor study plans to algebra topics."}],
               user_id="teacher_872", agent_id="study_planner", app_id="district_dashboard",
               run_id="prep-period-2025-09-02")  # fmt: skip
    client.add([{"role": "user", "content": "I prefer boutique hotels and avoid shellfish."},
                {"role": "assistant", "content": "Logged your travel preferences."}],
               user_id="customer_6412", agent_id="travel_planner", app_id="concierge_portal",
               run_id="itinerary-2025-apr", metadata={"category": "preferences"})  # fmt: skip
    user_scope = {"AND": [{"user_id": "customer_6412"}, {"app_id": "concierge_portal"},
                          {"run_id": "itinerary-2025-apr"}]}  # fmt: skip
    user_results = client.search("Any dietary flags?", filters=user_scope)
    assert texts(user_results) == {"I prefer boutique hotels and avoid shellfish."}
    agent_scope = {"AND": [{"agent_id": "travel_planner"}, {"app_id": "concierge_portal"}]}
    assert client.search("Any dietary flags?", filters=agent_scope)["results"]
    app_scope = {"AND": [{"app_id": "concierge_portal"},
                         {"OR": [{"user_id": "*"}, {"agent_id": "*"}]}]}  # fmt: skip
    page = client.get_all(filters=app_scope, page=1, page_size=20)
    assert page["count"] == 1 and ENVELOPE <= set(page)
    client.delete_all(user_id="customer_6412", run_id="itinerary-2025-apr")
    assert client.get_all(filters=app_scope)["count"] == 0
    assert client.get_all(filters={"user_id": "teacher_872"})["count"] == 1


# -- typed options and add's filters (mem0/client/main.py, mem0/client/types.py) ---------------


def test_add_scope_in_filters(client: Memory) -> None:
    """docs/platform/features/custom-instructions.mdx: ``client.add(messages,
    filters={"agent_id": "support-agent"}, agent_custom_instructions=...)``; the client's
    ``AddMemoryOptions`` carries the entity ids in ``filters``."""
    messages = [{"role": "user", "content": "The deploy tool failed with a timeout."}]
    with pytest.warns(DeprecationWarning, match="agent_custom_instructions"):
        added = client.add(
            messages,
            filters={"agent_id": "support-agent"},
            agent_custom_instructions="Only remember which tools errored and why.",
        )
    assert [e["event"] for e in added["results"]] == ["ADD"]
    stored = client.get_all(filters={"agent_id": "support-agent"})
    assert texts(stored) == {"The deploy tool failed with a timeout."}


def test_typed_options(client: Memory) -> None:
    """docs/migration/oss-v2-to-v3.mdx ("Method options"): ``client.search("query",
    options=SearchMemoryOptions(filters={"user_id": "alice"}, top_k=20))``; the client's
    add, get_all, search, update and delete_all take ``options=`` (kwargs win over it)."""
    from mem0.client.types import (
        AddMemoryOptions,
        DeleteAllMemoryOptions,
        GetAllMemoryOptions,
        SearchMemoryOptions,
        UpdateMemoryOptions,
    )

    client.add("I like green tea", options=AddMemoryOptions(filters={"user_id": "alice"},
                                                            metadata={"src": "chat"}))  # fmt: skip
    client.add("I cycle to work", user_id="alice")
    results = client.search(
        "query", options=SearchMemoryOptions(filters={"user_id": "alice"}, top_k=20)
    )
    assert texts(results) == {"I like green tea", "I cycle to work"}
    one = client.search("tea", options=SearchMemoryOptions(filters={"user_id": "alice"}), top_k=1)
    assert len(one["results"]) == 1
    page = client.get_all(options=GetAllMemoryOptions(filters={"user_id": "alice"}, page_size=1))
    assert page["count"] == 2 and len(page["results"]) == 1
    tea = next(r for r in client.get_all(filters={"user_id": "alice"})["results"]
               if r["memory"] == "I like green tea")  # fmt: skip
    assert tea["metadata"] == {"src": "chat"}
    client.update(tea["id"], options=UpdateMemoryOptions(text="I like jasmine tea"))
    assert client.get(tea["id"])["memory"] == "I like jasmine tea"
    client.delete_all(options=DeleteAllMemoryOptions(filters={"user_id": "alice"}))
    assert client.get_all(filters={"user_id": "alice"})["count"] == 0
