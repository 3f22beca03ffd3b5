"""The decay reranker nodes inside real LangChain and LlamaIndex retrieval pipelines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from llama_index.core.chat_engine import CondensePlusContextChatEngine
from llama_index.core.llms import MockLLM
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeWithScore, TextNode

from mem_integrations import AsyncMemory, Memory, MemoryConfig
from mem_integrations.core.decay import decay_score
from mem_integrations.langchain.compressor import DecayCompressor
from mem_integrations.langchain.retriever import MemoryRetriever as LCRetriever
from mem_integrations.llama_index.postprocessor import DecayPostprocessor
from mem_integrations.llama_index.retriever import MemoryRetriever as LIRetriever
from mem_integrations.testing import FrozenClock, HashEmbedder

QUERY = "my favourite morning drink"
QUIET = {"flush_interval": 3600, "flush_rows": 10_000}


@pytest.fixture
def mem(tmp_path: Path, clock: FrozenClock) -> Iterator[Memory]:
    """Decay is off in the store: the nodes alone apply it."""
    m = Memory(
        MemoryConfig(
            uri=str(tmp_path / "store"), embedder=HashEmbedder(), clock=clock,
            decay_settings=QUIET,
        )
    )  # fmt: skip
    yield m
    m.close()


@pytest.fixture
def ids(mem: Memory, clock: FrozenClock) -> dict[str, str]:
    """Two weeks ago: a strong match and an old preference; today: a fresh preference."""
    out = {}
    for name, text in (
        ("strong", "my favourite morning drink: coffee"),
        ("old", "I drink coffee every morning"),
        ("noise", "my sister lives in Paris"),
    ):
        out[name] = mem.add(text, user_id="u", infer=False)["results"][0]["id"]
    clock.advance(days=14)
    out["fresh"] = mem.add("lately I drink green tea", user_id="u", infer=False)["results"][0]["id"]
    return out


def _expected(mem: Memory, record: dict[str, Any], relevance: float) -> float:
    """The core curve on the store's history: never accessed, so ``updated_at`` is one touch."""
    updated = datetime.fromisoformat(record["updated_at"])
    return decay_score(relevance, [], updated, mem.clock.now(), settings=mem.decay.settings)


# -- LangChain --------------------------------------------------------------------------------


def test_compressor_in_contextual_compression_retriever(mem: Memory, ids: dict[str, str]) -> None:
    retriever = ContextualCompressionRetriever(
        base_compressor=DecayCompressor(memory=mem, top_n=2),
        base_retriever=LCRetriever(memory=mem, user_id="u", k=10, decay=False),
    )
    docs = retriever.invoke(QUERY)
    assert [d.id for d in docs] == [ids["strong"], ids["fresh"]]
    assert docs[1].metadata["score"] == pytest.approx(docs[1].metadata["relevance"] * 1.5)
    for d in docs:  # the core's curve over the same history, not a copy of it
        assert d.metadata["score"] == pytest.approx(
            _expected(mem, d.metadata, d.metadata["relevance"])
        )


def test_compressor_in_an_lcel_chain_feeds_the_model_fresh_memories_first(
    mem: Memory, ids: dict[str, str]
) -> None:
    seen: list[str] = []

    def capture(prompt: Any) -> Any:
        seen.append(prompt.to_string())
        return prompt

    retriever = LCRetriever(memory=mem, user_id="u", k=10, decay=False)
    rerank = RunnableLambda(
        lambda q: DecayCompressor(memory=mem, top_n=3).compress_documents(retriever.invoke(q), q)
    )
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Memories:\n{context}"), ("human", "{question}")]
    )
    chain = (
        {
            "context": rerank | (lambda docs: "\n".join(d.page_content for d in docs)),
            "question": RunnablePassthrough(),
        }
        | prompt
        | RunnableLambda(capture)
        | FakeListChatModel(responses=["You like green tea lately."])
        | StrOutputParser()
    )
    assert chain.invoke(QUERY) == "You like green tea lately."
    text = seen[0]
    assert text.index("coffee\n") < text.index("green tea") < text.index("every morning")


async def test_compressor_async_and_foreign_documents(mem: Memory, ids: dict[str, str]) -> None:
    amem = AsyncMemory(memory=mem)
    base = await LCRetriever(memory=amem, user_id="u", k=10, decay=False).ainvoke(QUERY)
    foreign = Document(page_content="a web page", metadata={"score": 0.3})
    docs = await DecayCompressor(memory=amem).acompress_documents([*base, foreign], QUERY)
    assert [d for d in docs if d.page_content == "a web page"][0].metadata["score"] == 0.3
    assert docs[0].id == ids["strong"]
    assert foreign.metadata == {"score": 0.3}  # inputs are not modified


def test_compressor_reads_access_history_from_the_store(
    mem: Memory, ids: dict[str, str], clock: FrozenClock
) -> None:
    mem.search_hits("coffee every morning", user_id="u", top_k=1)  # touches "old" now
    mem.decay.flush()
    mem.decay._cache.clear()  # force the history to come from the accesses table
    clock.advance(hours=1)
    docs = DecayCompressor(memory=mem, settings={"half_life": 3600}).compress_documents(
        LCRetriever(memory=mem, user_id="u", k=10, decay=False).invoke(QUERY), QUERY
    )
    by = {d.id: d.metadata for d in docs}
    assert by[ids["old"]]["score"] == pytest.approx(by[ids["old"]]["relevance"] * 0.9)
    idle = 14 * 24 + 1  # hours since the strong match was written, never accessed
    assert by[ids["strong"]]["score"] == pytest.approx(
        by[ids["strong"]]["relevance"] * (0.3 + 1.2 / (1 + idle))
    )


# -- LlamaIndex -------------------------------------------------------------------------------


def test_postprocessor_in_retriever_query_engine(mem: Memory, ids: dict[str, str]) -> None:
    engine = RetrieverQueryEngine.from_args(
        LIRetriever(mem, user_id="u", top_k=10, decay=False),
        llm=MockLLM(),
        node_postprocessors=[DecayPostprocessor(memory=mem, top_n=2)],
    )
    response = engine.query(QUERY)
    got = [(n.node.node_id, n.score) for n in response.source_nodes]
    assert [i for i, _ in got] == [ids["strong"], ids["fresh"]]
    for n in response.source_nodes:
        meta = n.node.metadata
        assert n.score == pytest.approx(_expected(mem, meta, meta["relevance"]))
    assert "coffee" in str(response)  # MockLLM echoes the context it was given


def test_postprocessor_in_a_chat_engine(mem: Memory, ids: dict[str, str]) -> None:
    chat = CondensePlusContextChatEngine.from_defaults(
        LIRetriever(mem, user_id="u", top_k=10, decay=False),
        llm=MockLLM(),
        memory=ChatMemoryBuffer.from_defaults(),  # the default opens an aiosqlite store
        node_postprocessors=[DecayPostprocessor(memory=mem, top_n=3)],
    )
    response = chat.chat(QUERY)
    assert [n.node.node_id for n in response.source_nodes] == [
        ids["strong"], ids["fresh"], ids["old"],
    ]  # fmt: skip
    old, fresh = response.source_nodes[2].node, response.source_nodes[1].node
    assert old.metadata["relevance"] > fresh.metadata["relevance"]  # plain order was the reverse


async def test_postprocessor_async_keeps_foreign_nodes(mem: Memory, ids: dict[str, str]) -> None:
    nodes = await LIRetriever(
        AsyncMemory(memory=mem), user_id="u", top_k=10, decay=False
    ).aretrieve(QUERY)
    foreign = NodeWithScore(node=TextNode(text="a web page"), score=0.3)
    post = DecayPostprocessor(memory=mem, settings={"category_weights": {"x": 0.5}})
    out = await post.apostprocess_nodes([*nodes, foreign], query_str=QUERY)
    assert [n for n in out if n.node.get_content() == "a web page"][0].score == 0.3
    assert out[0].node.node_id == ids["strong"]
    assert foreign.score == 0.3
