"""MemoryRetriever in a real RetrieverQueryEngine, with the decay postprocessor."""

from __future__ import annotations

import pytest
from llama_index.core.llms.mock import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode

from mem_integrations import InvalidFilterError, Memory, ScopeRequiredError
from mem_integrations.llama_index import DecayPostprocessor, MemoryRetriever
from mem_integrations.testing import FrozenClock


@pytest.fixture
def stocked(memory: Memory) -> dict[str, str]:
    """Alice's and Bob's memories; returns Alice's ids by text."""
    ids = {}
    for text, cats in (
        ("Alice has a dog called Rex.", ["pets"]),
        ("Alice is allergic to peanuts.", ["health"]),
        ("Alice likes long walks with her dog.", ["hobbies", "pets"]),
    ):
        event = memory.add(text, user_id="alice", categories=cats, metadata={"source": "chat"})
        ids[text] = event["results"][0]["id"]
    memory.add("Bob has a dog called Max.", user_id="bob", categories=["pets"])
    return ids


def test_nodes_carry_ids_scores_and_record_metadata(
    memory: Memory, stocked: dict[str, str]
) -> None:
    nodes = MemoryRetriever(memory, user_id="alice", top_k=2).retrieve("Alice dog")
    assert len(nodes) == 2
    hits = memory.search("Alice dog", user_id="alice", top_k=2)["results"]
    assert [n.node.node_id for n in nodes] == [h["id"] for h in hits]
    assert [n.score for n in nodes] == pytest.approx([h["score"] for h in hits])
    assert all(0.0 <= (n.score or 0.0) <= 1.0 for n in nodes)
    # The metadata is the record in Mem0's shape (as the LangChain face's Document.metadata).
    meta = nodes[0].node.metadata
    record = {k: v for k, v in hits[0].items() if k not in ("memory", "score")}
    assert {k: meta[k] for k in record} == record
    assert meta["id"] == nodes[0].node.node_id and meta["user_id"] == "alice"
    assert meta["metadata"] == {"source": "chat"} and "pets" in meta["categories"]
    assert meta["relevance"] == pytest.approx(hits[0]["score"])  # no decay here
    # The LLM sees the text and the descriptive fields, not the ids.
    shown = nodes[0].node.get_content(metadata_mode=MetadataMode.LLM)
    assert nodes[0].node.get_content() in shown and "categories" in shown
    assert "alice" not in shown and nodes[0].node.node_id not in shown


def test_query_engine_answers_from_memories(memory: Memory, stocked: dict[str, str]) -> None:
    engine = RetrieverQueryEngine.from_args(
        MemoryRetriever(memory, user_id="alice", top_k=1), llm=MockLLM()
    )
    response = engine.query("What is Alice allergic to?")
    assert [n.node.node_id for n in response.source_nodes] == [
        stocked["Alice is allergic to peanuts."]
    ]
    assert "Alice is allergic to peanuts." in str(response)  # MockLLM echoes the prompt


def test_scope_and_filters_per_retriever_and_per_call(
    memory: Memory, stocked: dict[str, str]
) -> None:
    alice = MemoryRetriever(memory, user_id="alice")
    assert {n.node.metadata["user_id"] for n in alice.retrieve("dog")} == {"alice"}
    bob_nodes = alice.search("dog", user_id="bob")  # per call: another scope
    assert [n.node.get_content() for n in bob_nodes] == ["Bob has a dog called Max."]
    health = alice.search("Alice", filters={"categories": {"in": ["health"]}})
    assert [n.node.node_id for n in health] == [stocked["Alice is allergic to peanuts."]]
    assert len(alice.retrieve("Alice")) == 3  # the per-call options did not stick

    bound = alice.bind(filters={"categories": {"contains": "hobbies"}}, top_k=5)
    assert [n.node.get_content() for n in bound.retrieve("dog")] == [
        "Alice likes long walks with her dog."
    ]
    with pytest.raises(InvalidFilterError):
        # a bare key is a metadata key (Mem0's grammar, issue 16); an unknown operator is not
        alice.search("dog", filters={"colour": {"like": "red"}})
    with pytest.raises(TypeError):
        alice.bind(colour="red")
    with pytest.raises(ScopeRequiredError):
        MemoryRetriever(memory)


async def test_async_retrieval(memory: Memory, stocked: dict[str, str]) -> None:
    retriever = MemoryRetriever(memory, user_id="alice", top_k=1)
    nodes = await retriever.aretrieve("peanuts allergy")
    assert [n.node.node_id for n in nodes] == [stocked["Alice is allergic to peanuts."]]
    other = await retriever.asearch("dog", user_id="bob")
    assert [n.node.metadata["user_id"] for n in other] == ["bob"]


def test_query_engine_with_decay_postprocessor(memory: Memory, clock: FrozenClock) -> None:
    # The old memory matches the question better; the new one was written 30 days later.
    old = memory.add("The spare key is under the blue pot.", user_id="alice")["results"][0]["id"]
    clock.advance(days=30)
    new = memory.add("The spare key is now under the red pot.", user_id="alice")
    new_id = new["results"][0]["id"]
    question = "Is the spare key under the blue pot?"

    # (No retrieval before the query: a retrieval counts as an access and refreshes both.)
    retriever = MemoryRetriever(memory, user_id="alice", top_k=10, decay=False)
    engine = RetrieverQueryEngine.from_args(
        retriever, llm=MockLLM(), node_postprocessors=[DecayPostprocessor(memory=memory, top_n=1)]
    )
    response = engine.query(question)
    assert [n.node.node_id for n in response.source_nodes] == [new_id]  # recency wins
    assert "red pot" in str(response) and "blue pot." not in str(response)
    node = response.source_nodes[0]
    assert node.score is not None and node.score > node.node.metadata["relevance"]

    # Without the postprocessor, relevance alone puts the old memory first.
    assert [n.node.node_id for n in retriever.retrieve(question)] == [old, new_id]
