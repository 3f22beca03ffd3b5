"""``LongTermMemoryBlock`` against what LlamaIndex's ``VectorMemoryBlock`` suite checks.

Each test mirrors one test of run-llama/llama_index
``llama-index-core/tests/memory/blocks/test_vector.py`` at commit
312cdfb6a3596a8fe194a32126d6f54f9c26d840 (named in its docstring). Their mock vector store
and mock embedding are our store with the ``HashEmbedder``; where they read the vector
store's nodes, we read the store's memories.
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, TextBlock
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import PromptTemplate, RichPromptTemplate
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from mem_integrations import Memory, ValidationError
from mem_integrations.llama_index import LongTermMemoryBlock

PARIS = [
    ("user", "What's the capital of France?"),
    ("assistant", "The capital of France is Paris."),
    ("user", "What about Germany?"),
    ("assistant", "The capital of Germany is Berlin."),
]


def chat(*turns: tuple[str, str]) -> list[ChatMessage]:
    return [ChatMessage(role=r, content=None, blocks=[TextBlock(text=t)]) for r, t in turns]


def stored(memory: Memory) -> list[str]:
    return [r["memory"] for r in memory.get_all(user_id="u")["results"]]


def block(memory: Memory, **kw: Any) -> LongTermMemoryBlock:
    return LongTermMemoryBlock(memory=memory, user_id="u", infer=False, **kw)


class Prefix(BaseNodePostprocessor):
    """Marks each node it keeps, and keeps only nodes that mention the query's last word."""

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        word = (query_bundle.query_str if query_bundle else "").split()[-1].strip("?.")
        out = [n for n in nodes if word.lower() in n.node.get_content().lower()]
        for n in out:
            assert isinstance(n.node, TextNode)
            n.node.text = f"PROCESSED: {n.node.text}"
        return out


async def test_put_stores_user_turns_or_the_whole_exchange(memory: Memory) -> None:
    """Mirrors ``test_vector_memory_block_put``.

    Stored verbatim (``infer=False``, as ``block`` builds it), the user's messages are kept
    (no assistant words without an LLM to judge them); ``store_assistant=True`` stores the
    exchange as one memory, as the vector block does.
    """
    turn = chat(("user", "Hello, how are you?"),
                ("assistant", "I'm doing well, thank you for asking!"))  # fmt: skip
    await block(memory).aput(messages=turn)
    assert stored(memory) == ["Hello, how are you?"]
    memory.delete_all(user_id="u")
    await block(memory, store_assistant=True).aput(messages=turn)
    assert stored(memory) == [
        "user: Hello, how are you?\nassistant: I'm doing well, thank you for asking!"
    ]


async def test_get_recalls_the_assistants_answer_when_stored(memory: Memory) -> None:
    """Mirrors ``test_vector_memory_block_get``."""
    remembers = block(memory, store_assistant=True)
    await remembers.aput(messages=chat(*PARIS))
    got = await remembers.aget(messages=chat(("user", "Tell me about Paris.")))
    assert "capital of France is Paris" in got


async def test_default_offline_path_keeps_no_questions(memory: Memory) -> None:
    """Why ``test_vector_memory_block_get`` and ``test_retrieval_context_window`` fail upstream.

    With the defaults (``infer=True``, no LLM) a question is not a fact and is not stored, so
    their all-question histories leave nothing to recall; ``store_assistant=True`` keeps the
    exchange, and the answer in it is recalled.
    """
    default = LongTermMemoryBlock(memory=memory, user_id="u", relevance_floor=0.0)
    await default.aput(messages=chat(*PARIS))
    assert stored(memory) == []
    assert await default.aget(messages=chat(("user", "Tell me about Paris."))) == ""
    exchange = LongTermMemoryBlock(
        memory=memory, user_id="u", relevance_floor=0.0, store_assistant=True
    )
    await exchange.aput(messages=chat(*PARIS))
    assert len(stored(memory)) == 1
    got = await exchange.aget(messages=chat(("user", "Tell me about Paris.")))
    assert "capital of France is Paris" in got


async def test_empty_messages(memory: Memory) -> None:
    """Mirrors ``test_empty_messages``."""
    b = block(memory)
    assert await b.aget(messages=[]) == ""
    await b.aput(messages=[])
    assert stored(memory) == []


async def test_message_without_text(memory: Memory) -> None:
    """Mirrors ``test_message_without_text``."""
    for b in (block(memory), block(memory, store_assistant=True)):
        await b.aput(messages=[ChatMessage(role="user", content=None, blocks=[])])
    assert stored(memory) == []


async def test_retrieval_context_window(memory: Memory) -> None:
    """Mirrors ``test_retrieval_context_window``: ``query_window`` user messages are searched."""
    memory.add("Alice keeps bees in Lyon.", user_id="u", infer=False)
    query = chat(("user", "Where do the bees live?"), ("assistant", "Somewhere."),
                 ("user", "And then?"))  # fmt: skip
    assert await block(memory, query_window=1, threshold=0.3).aget(messages=query) == ""
    widened = await block(memory, query_window=2, threshold=0.3).aget(messages=query)
    assert widened == "- Alice keeps bees in Lyon."


async def test_node_postprocessors(memory: Memory) -> None:
    """Mirrors ``test_node_postprocessors``: they see the query and shape what is shown."""
    await block(memory).aput(messages=chat(*PARIS))
    b = block(memory, node_postprocessors=[Prefix()])
    got = await b.aget(messages=chat(("user", "What is the capital of France?")))
    assert got == "- PROCESSED: What's the capital of France?"


async def test_format_template(memory: Memory) -> None:
    """Mirrors ``test_format_template``; ``{{ text }}`` (rich) and ``{text}`` both work."""
    await block(memory, store_assistant=True).aput(messages=chat(*PARIS[:2]))
    query = chat(("user", "Tell me about Paris."))
    for template in (RichPromptTemplate("Relevant context: {{ text }}"),
                     "Relevant context: {{ text }}", "Relevant context: {text}",
                     PromptTemplate("Relevant context: {text}")):  # fmt: skip
        got = await block(memory, format_template=template).aget(messages=query)
        assert got.startswith("Relevant context: - user: ")
        assert "capital of France is Paris" in got
    # Nothing recalled: no template text either, so Memory skips the block.
    assert await block(memory, format_template="Context: {text}").aget(messages=[]) == ""


async def test_unknown_arguments_are_refused_not_ignored(memory: Memory) -> None:
    """Not upstream: arguments we do not have (e.g. ``similarity_top_k``) raise."""
    with pytest.raises(ValidationError, match="similarity_top_k"):
        block(memory, similarity_top_k=2)
    with pytest.raises(ValidationError, match="format_template"):
        block(memory, format_template="no placeholder")
