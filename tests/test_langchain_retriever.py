"""MemoryRetriever on a real LanceDB store: the standard LangChain suite plus our semantics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

import mem_integrations.langchain as lc
from mem_integrations import AsyncMemory, Memory, MemoryConfig, ScopeRequiredError
from mem_integrations.langchain import MemoryRetriever
from mem_integrations.testing import FrozenClock, HashEmbedder

FACTS = [
    "Alice drinks green tea every morning",
    "Alice prefers tea over coffee",
    "Alice bought a tea kettle",
    "Alice keeps her tea in a tin",
    "Alice runs on Sundays",
]


class TestStandardRetriever(RetrieversIntegrationTests):
    """langchain_tests' retriever suite, as a unit test: the store is embedded."""

    @pytest.fixture(autouse=True)
    def _memory(self, tmp_path: Path) -> Iterator[None]:
        self.mem = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder()))
        self.mem.add([{"role": "user", "content": f} for f in FACTS], user_id="alice")
        yield
        self.mem.close()

    @property
    def retriever_constructor(self) -> type[MemoryRetriever]:
        return MemoryRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"memory": self.mem, "user_id": "alice"}

    @property
    def retriever_query_example(self) -> str:
        return "what tea does alice drink"


def test_public_names_are_curated() -> None:
    assert lc.__all__ == sorted(lc.__all__)
    assert set(lc.__all__) >= {
        "ChainMemory", "LanceDBStore", "MemoryMiddleware", "MemoryRetriever",
        "create_memory_tools", "DecayCompressor", "LangChainEmbedder", "LangChainLLM",
    }  # fmt: skip
    assert lc.MemoryRetriever is MemoryRetriever
    with pytest.raises(AttributeError):
        lc.NoSuchThing  # noqa: B018


def test_documents_carry_the_record(memory: Memory) -> None:
    memory.add(
        "Alice drinks green tea", user_id="alice", categories=["food"],
        metadata={"source": "chat"}, expiration_date="2030-01-01",
    )  # fmt: skip
    (doc,) = MemoryRetriever(memory=memory, user_id="alice").invoke("green tea")
    assert isinstance(doc, Document)
    assert doc.page_content == "Alice drinks green tea"
    assert doc.id == doc.metadata["id"]
    assert memory.get(doc.metadata["id"])["memory"] == "Alice drinks green tea"
    assert doc.metadata["user_id"] == "alice" and doc.metadata["categories"] == ["food"]
    assert doc.metadata["metadata"] == {"source": "chat"}
    assert doc.metadata["expiration_date"] == memory.get(doc.id)["expiration_date"] is not None
    assert 0.0 < doc.metadata["score"] <= 1.0
    assert "memory" not in doc.metadata


def test_scope_is_isolated_and_overridable_per_call(memory: Memory) -> None:
    memory.add("Alice drinks green tea", user_id="alice")
    memory.add("Bob drinks black tea", user_id="bob")
    alice = MemoryRetriever(memory=memory, user_id="alice", k=10)
    assert [d.page_content for d in alice.invoke("tea")] == ["Alice drinks green tea"]
    assert [d.page_content for d in alice.invoke("tea", user_id="bob")] == ["Bob drinks black tea"]
    with pytest.raises(ScopeRequiredError):
        MemoryRetriever(memory=memory).invoke("tea")


def test_filters_and_k_at_construction_and_per_call(memory: Memory) -> None:
    memory.add("tea with milk", user_id="u", categories=["food"])
    memory.add("tea at the office", user_id="u", categories=["work"])
    memory.add("tea in the garden", user_id="u", categories=["home"])
    food = MemoryRetriever(memory=memory, user_id="u", filters={"categories": {"in": ["food"]}})
    assert [d.page_content for d in food.invoke("tea")] == ["tea with milk"]
    work = food.invoke("tea", filters={"categories": {"in": ["work"]}})
    assert [d.page_content for d in work] == ["tea at the office"]
    assert len(food.invoke("tea", filters=None, k=2)) == 2
    with pytest.raises(TypeError, match="unknown retriever options"):
        food.invoke("tea", top_n=2)


def test_expired_memories_are_not_retrieved(memory: Memory, clock: FrozenClock) -> None:
    memory.add("temporary door code 4321", user_id="u", expiration_date=clock.now().date())
    retriever = MemoryRetriever(memory=memory, user_id="u")
    assert len(retriever.invoke("door code")) == 1
    clock.advance(days=2)
    assert retriever.invoke("door code") == []
    assert len(retriever.invoke("door code", show_expired=True)) == 1


def test_decay_lowers_the_score_of_stale_memories(tmp_path: Path) -> None:
    clock = FrozenClock()
    mem = Memory(MemoryConfig(uri=str(tmp_path / "d"), embedder=HashEmbedder(), clock=clock))
    mem.add("Alice drinks green tea", user_id="alice")
    clock.advance(days=90)
    retriever = MemoryRetriever(memory=mem, user_id="alice")
    # decayed first: every search records an access, which makes the memory fresh again
    decayed = retriever.invoke("green tea", decay=True)[0].metadata["score"]
    plain = retriever.invoke("green tea", decay=False)[0].metadata["score"]
    mem.close()
    assert decayed < plain


async def test_ainvoke_with_async_memory_and_with_sync_memory(memory: Memory) -> None:
    memory.add("Alice drinks green tea", user_id="alice")
    memory.add("Bob drinks black tea", user_id="bob")
    for backend in (AsyncMemory(memory=memory), memory):
        docs = await MemoryRetriever(memory=backend, user_id="bob").ainvoke("tea")
        assert [d.page_content for d in docs] == ["Bob drinks black tea"]


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [
        ("retriever", "langchain_core.retrievers", "[langchain]"),
        ("store", "langgraph.store.base", "[langchain]"),
        ("tools", "langchain_core.tools", "[langchain]"),
        ("middleware", "langchain.agents.middleware", "[langchain]"),
        ("classic", "langchain_classic.base_memory", "[classic]"),
    ],
)
def test_missing_framework_names_the_extra(
    module: str, blocked: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import sys

    monkeypatch.delitem(sys.modules, f"mem_integrations.langchain.{module}", raising=False)
    monkeypatch.setitem(sys.modules, blocked, None)  # makes `import blocked` fail
    with pytest.raises(ImportError, match=rf'pip install "mem-integrations\{extra}"'):
        importlib.import_module(f"mem_integrations.langchain.{module}")
