"""LanceDBStore: LangGraph's BaseStore contract on the real store, and its mapping onto scopes."""

from __future__ import annotations

import asyncio
import json
import operator
import uuid
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool
from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import InvalidNamespaceError, Item, SearchItem

from mem_integrations import InvalidFilterError, Memory, MemoryConfig
from mem_integrations.langchain import LanceDBStore
from mem_integrations.testing import FrozenClock, HashEmbedder

NS = ("memories", "alice")


@pytest.fixture
def store(memory: Memory) -> LanceDBStore:
    return LanceDBStore(memory, namespace_scope={"user_id": -1})


def test_put_get_replace_delete(store: LanceDBStore, clock: FrozenClock) -> None:
    store.put(NS, "tea", {"text": "Alice drinks green tea", "n": 1})
    item = store.get(NS, "tea")
    assert isinstance(item, Item) and not isinstance(item, SearchItem)
    assert (item.namespace, item.key) == (NS, "tea")
    assert item.value == {"text": "Alice drinks green tea", "n": 1}
    assert item.created_at == clock.now()
    clock.advance(minutes=5)
    store.put(NS, "tea", {"text": "Alice drinks oolong", "n": 2})
    again = store.get(NS, "tea")
    assert again is not None and again.value["n"] == 2
    assert again.created_at == item.created_at and again.updated_at == clock.now()
    assert store.get(NS, "coffee") is None
    assert store.get(("memories", "bob"), "tea") is None
    store.delete(NS, "tea")
    assert store.get(NS, "tea") is None
    store.delete(NS, "tea")  # deleting what is gone is not an error


def test_items_are_memories_in_the_mapped_scope(memory: Memory, store: LanceDBStore) -> None:
    store.put(NS, "tea", {"text": "Alice drinks green tea"})
    store.put(("memories", "bob"), "tea", {"text": "Bob drinks black tea"})
    mid = store.memory_id(NS, "tea")
    assert uuid.UUID(mid).version == 5 and mid == LanceDBStore(memory).memory_id(NS, "tea")
    rec = memory.get(mid)
    assert (rec["user_id"], rec["app_id"]) == ("alice", "langgraph")
    assert rec["metadata"]["value.text"] == "Alice drinks green tea"
    hits = memory.search("tea", user_id="alice")["results"]
    assert [h["id"] for h in hits] == [mid]
    memory.delete_users(user_id="alice")  # erasing a user erases their LangGraph items
    assert store.get(NS, "tea") is None and store.get(("memories", "bob"), "tea") is not None
    with pytest.raises(InvalidNamespaceError):
        LanceDBStore(memory, namespace_scope={"user_id": 3}).put(NS, "k", {"a": 1})
    with pytest.raises(ValueError, match="namespace_scope keys"):
        LanceDBStore(memory, namespace_scope={"app_id": 0})


def test_stores_with_different_app_ids_are_isolated(memory: Memory) -> None:
    one, two = LanceDBStore(memory, app_id="one"), LanceDBStore(memory, app_id="two")
    one.put(NS, "k", {"text": "secret of app one"})
    assert two.get(NS, "k") is None
    assert two.search(("memories",), query="secret") == []
    assert two.list_namespaces() == []
    assert [i.key for i in one.search(("memories",), query="secret")] == ["k"]


def test_semantic_search_prefix_filter_and_paging(store: LanceDBStore) -> None:
    store.put(NS, "tea", {"text": "Alice drinks green tea", "kind": "pref", "n": 3})
    store.put(NS, "job", {"text": "Alice works as a nurse", "kind": "fact", "n": 5})
    store.put(NS, "cup", {"text": "Alice owns a tea cup", "kind": "fact", "n": 1})
    store.put(("memories", "bob"), "tea", {"text": "Bob drinks tea", "kind": "pref", "n": 9})
    hits = store.search(NS, query="tea")
    assert all(isinstance(h, SearchItem) for h in hits)
    assert {h.key for h in hits[:2]} == {"tea", "cup"} and all(h.namespace == NS for h in hits)
    assert all(0.0 <= (h.score or 0.0) <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    wide = store.search(("memories",), query="tea", limit=10)
    assert ("memories", "bob") in {h.namespace for h in wide}
    assert [h.key for h in store.search(NS, filter={"kind": "fact", "n": {"$gte": 3}})] == ["job"]
    assert {h.key for h in store.search(NS, filter={"kind": {"$ne": "fact"}})} == {"tea"}
    assert {h.key for h in store.search(("memories",), filter={"n": {"$gt": 4}})} == {"job", "tea"}
    page = store.search(NS, query="Alice", limit=1, offset=1)
    assert len(page) == 1 and page[0].key == store.search(NS, query="Alice", limit=2)[1].key
    assert store.search(NS, filter={"nested": {"a": 1}}) == []  # nested match, no such field
    with pytest.raises(InvalidFilterError, match="unknown operators"):
        store.search(NS, filter={"n": {"$in": [1, 3]}})


def test_search_without_query_is_newest_first(store: LanceDBStore, clock: FrozenClock) -> None:
    for key in ("a", "b", "c"):
        store.put(NS, key, {"text": key})
        clock.advance(seconds=1)
    items = store.search(NS)
    assert [i.key for i in items] == ["c", "b", "a"] and {i.score for i in items} == {None}
    assert [i.key for i in store.search(NS, limit=1, offset=1)] == ["b"]


def test_index_false_and_index_fields(store: LanceDBStore, memory: Memory) -> None:
    store.put(NS, "hidden", {"text": "Alice has a hidden tea stash"}, index=False)
    store.put(NS, "title", {"title": "tea notes", "body": "unrelated words"}, index=["title"])
    keys = [h.key for h in store.search(NS, query="tea stash")]
    assert "hidden" not in keys and "title" in keys
    assert store.get(NS, "hidden") is not None
    assert {i.key for i in store.search(NS)} == {"hidden", "title"}
    assert memory.get(store.memory_id(NS, "title"))["memory"] == "tea notes"
    fielded = LanceDBStore(memory, app_id="f", fields=["text"])
    fielded.put(NS, "k", {"text": "Alice likes tea", "other": 1})
    assert memory.get(fielded.memory_id(NS, "k"))["memory"] == "Alice likes tea"


def test_ttl_expires_and_refreshes_on_read(memory: Memory, clock: FrozenClock) -> None:
    store = LanceDBStore(memory, ttl={"refresh_on_read": True})
    assert store.supports_ttl
    store.put(NS, "short", {"text": "door code 1234"}, ttl=10)
    store.put(NS, "kept", {"text": "door colour is red"})
    clock.advance(minutes=8)
    assert store.get(NS, "short") is not None  # refreshes: now expires at minute 18
    clock.advance(minutes=8)
    assert store.get(NS, "short", refresh_ttl=False) is not None
    clock.advance(minutes=3)
    assert store.get(NS, "short") is None
    assert [h.key for h in store.search(NS, query="door")] == ["kept"]
    assert memory.purge_expired()["purged"] == 1


def test_default_ttl_from_config(memory: Memory, clock: FrozenClock) -> None:
    store = LanceDBStore(memory, ttl={"default_ttl": 1, "refresh_on_read": False})
    store.put(NS, "k", {"text": "x"})
    assert memory.get(store.memory_id(NS, "k"))["expiration_date"] is not None
    clock.advance(minutes=2)
    assert store.get(NS, "k") is None


def test_list_namespaces(store: LanceDBStore) -> None:
    for ns in [("a", "x", "1"), ("a", "y", "1"), ("b", "x", "2"), ("a", "x", "2")]:
        store.put(ns, "k", {"v": 1})
    assert store.list_namespaces() == sorted(
        [("a", "x", "1"), ("a", "x", "2"), ("a", "y", "1"), ("b", "x", "2")]
    )
    assert store.list_namespaces(prefix=("a",), max_depth=2) == [("a", "x"), ("a", "y")]
    x_second = [("a", "x", "1"), ("a", "x", "2"), ("b", "x", "2")]
    assert store.list_namespaces(prefix=("*", "x")) == x_second
    assert store.list_namespaces(suffix=("1",)) == [("a", "x", "1"), ("a", "y", "1")]
    assert store.list_namespaces(limit=1, offset=1) == [("a", "x", "2")]


def test_batch_reads_see_state_before_puts(store: LanceDBStore) -> None:
    from langgraph.store.base import GetOp, PutOp, SearchOp

    store.put(NS, "k", {"v": 1})
    got, _, _ = store.batch([GetOp(NS, "k"), PutOp(NS, "k", {"v": 2}), PutOp(NS, "k", {"v": 3})])
    assert isinstance(got, Item) and got.value == {"v": 1}
    after = store.get(NS, "k")
    assert after is not None and after.value == {"v": 3}
    one, two = store.batch([SearchOp(NS), SearchOp(NS)])  # answered once, one list each
    assert one == two and one is not two and [i.key for i in one] == ["k"]  # type: ignore[union-attr]


def test_decay_shapes_store_scores(tmp_path: Path) -> None:
    clock = FrozenClock()
    cfg = MemoryConfig(uri=str(tmp_path / "d"), embedder=HashEmbedder(), clock=clock, decay=True)
    with Memory(cfg) as mem:
        store = LanceDBStore(mem)
        store.put(NS, "old", {"text": "Alice drinks tea"})
        clock.advance(days=60)
        store.put(NS, "new", {"text": "Alice drinks tea!"})
        hits = {h.key: h.score for h in store.search(NS, query="Alice drinks tea")}
        plain = {h.id: h.score for h in mem.search_hits("Alice drinks tea", app_id="langgraph",
                                                         decay=False)}  # fmt: skip
    assert hits["new"] is not None and hits["old"] is not None
    assert hits["new"] > hits["old"]
    assert abs(plain[store.memory_id(NS, "old")] - plain[store.memory_id(NS, "new")]) < 0.2


async def test_async_api(store: LanceDBStore) -> None:
    await store.aput(NS, "tea", {"text": "Alice drinks green tea"})
    item = await store.aget(NS, "tea")
    assert item is not None and item.value["text"] == "Alice drinks green tea"
    assert [h.key for h in await store.asearch(NS, query="green tea")] == ["tea"]
    assert await store.alist_namespaces() == [NS]
    await store.adelete(NS, "tea")
    assert await store.aget(NS, "tea") is None


class Chat(TypedDict):
    user: str
    said: str
    recalled: Annotated[list[str], operator.add]


def test_stategraph_reads_and_writes_through_the_store(store: LanceDBStore) -> None:
    def remember(state: Chat, runtime: Runtime[None]) -> dict[str, Any]:
        assert runtime.store is not None
        ns = ("memories", state["user"])
        runtime.store.put(ns, str(uuid.uuid4()), {"text": state["said"]})
        return {}

    def recall(state: Chat, runtime: Runtime[None]) -> dict[str, Any]:
        assert runtime.store is not None
        hits = runtime.store.search(("memories", state["user"]), query=state["said"], limit=3)
        return {"recalled": [h.value["text"] for h in hits]}

    graph = StateGraph(Chat)
    graph.add_node("remember", remember)
    graph.add_node("recall", recall)
    graph.add_edge(START, "remember")
    graph.add_edge("remember", "recall")
    graph.add_edge("recall", END)
    app = graph.compile(store=store)
    app.invoke({"user": "alice", "said": "I love green tea", "recalled": []})
    out = app.invoke({"user": "bob", "said": "I love black coffee", "recalled": []})
    assert out["recalled"] == ["I love black coffee"]  # bob never sees alice's memory
    out = app.invoke({"user": "alice", "said": "which tea do I love", "recalled": []})
    assert "I love green tea" in out["recalled"]
    assert "I love black coffee" not in out["recalled"]


def test_langmem_style_tools_use_the_store_from_the_graph(store: LanceDBStore) -> None:
    """The same store calls LangMem's manage/search memory tools make (via ``get_store``)."""

    def namespace(config: RunnableConfig) -> tuple[str, ...]:
        return ("memories", config["configurable"]["langgraph_user_id"])

    def manage_memory(content: str, config: RunnableConfig) -> str:
        key = str(uuid.uuid4())
        get_store().put(namespace(config), key, {"content": content})
        return f"created memory {key}"

    def search_memory(query: str, config: RunnableConfig) -> str:
        items = get_store().search(namespace(config), query=query, limit=5)
        return json.dumps([i.dict() for i in items], default=str)

    manage = StructuredTool.from_function(manage_memory, description="Save a memory.")
    search = StructuredTool.from_function(search_memory, description="Search memories.")

    class S(TypedDict):
        content: str
        found: str

    def node(state: S, config: RunnableConfig) -> dict[str, Any]:
        manage.invoke({"content": state["content"]}, config)
        return {"found": search.invoke({"query": state["content"]}, config)}

    graph = StateGraph(S)
    graph.add_node("node", node)
    graph.add_edge(START, "node")
    app = graph.compile(store=store)
    cfg: RunnableConfig = {"configurable": {"langgraph_user_id": "carol"}}
    out = app.invoke({"content": "Carol is allergic to peanuts", "found": ""}, cfg)
    (found,) = json.loads(out["found"])
    assert found["value"] == {"content": "Carol is allergic to peanuts"}
    assert found["namespace"] == ["memories", "carol"] and found["score"] > 0
    assert store.memory.get_all(user_id="carol")["results"][0]["app_id"] == "langgraph"


async def test_concurrent_async_calls_share_one_batch(tmp_path: Path) -> None:
    """A gather of 50 aputs is one put_many commit, not 50; each caller gets its own result."""
    cfg = MemoryConfig(uri=str(tmp_path / "c"), embedder=HashEmbedder(), optimize_every=10_000)
    with Memory(cfg) as mem:
        store = LanceDBStore(mem)
        before = mem.stats()["version"]
        await asyncio.gather(*(store.aput(NS, f"k{i}", {"text": f"note {i}"}) for i in range(50)))
        assert mem.stats()["version"] - before == 1
        got = await asyncio.gather(*(store.aget(NS, f"k{i}") for i in range(50)))
        assert [g.value["text"] if g else None for g in got] == [f"note {i}" for i in range(50)]
        bad, good = await asyncio.gather(
            store.asearch(NS, filter={"n": {"$bogus": 1}}), store.asearch(NS, limit=3),
            return_exceptions=True,
        )  # fmt: skip
        assert isinstance(bad, InvalidFilterError) and len(good) == 3  # type: ignore[arg-type]
