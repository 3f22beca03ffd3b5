"""LongTermMemoryBlock inside LlamaIndex's own Memory, and the write-through Memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms.mock import MockLLMWithChatMemoryOfLastCall
from llama_index.core.memory import Memory as LlamaMemory
from llama_index.core.storage.chat_store.sql import MessageStatus

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.extraction import MemoryPlan
from mem_integrations.llama_index import (
    LongTermMemoryBlock,
    WriteThroughMemory,
    long_term_memory,
)
from mem_integrations.testing import FrozenClock, HashEmbedder, ScriptedLLM


def texts(memory: Memory, **scope: str) -> list[str]:
    return sorted(r["memory"] for r in memory.get_all(**scope)["results"])


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


def assistant(text: str) -> ChatMessage:
    return ChatMessage(role="assistant", content=text)


async def test_write_through_memory_recalls_from_the_first_turn_and_across_sessions(
    memory: Memory, clock: FrozenClock, disposing: Callable[[Any], Any]
) -> None:
    first = disposing(long_term_memory(memory, user_id="alice", session_id="s1"))
    engine = SimpleChatEngine.from_defaults(llm=MockLLMWithChatMemoryOfLastCall(), memory=first)
    await engine.achat("I have a dog called Rex.")
    # Written at once, although the chat is far below Memory's flush threshold.
    assert texts(memory, user_id="alice") == ["I have a dog called Rex."]
    await engine.achat("My favourite colour is teal.")
    assert len(texts(memory, user_id="alice")) == 2

    later = Memory(MemoryConfig(uri=memory.config.uri, embedder=HashEmbedder(), clock=clock))
    second = disposing(long_term_memory(later, user_id="alice", session_id="s2", top_k=1))
    llm = MockLLMWithChatMemoryOfLastCall()
    await SimpleChatEngine.from_defaults(llm=llm, memory=second).achat("What is my dog called?")
    assert llm.last_chat_messages is not None
    system = llm.last_chat_messages[0]
    assert system.role == MessageRole.SYSTEM
    assert "<long_term_memory>" in (system.content or "")
    assert "I have a dog called Rex." in (system.content or "")
    assert "teal" not in (system.content or "")

    # Another user's block, same store: nothing to recall.
    bob = disposing(long_term_memory(later, user_id="bob"))
    got = await bob.aget(input="What is my dog called?")
    assert all("Rex" not in (m.content or "") for m in got)


async def test_a_turn_with_tool_calls_is_written_once_when_the_answer_comes(
    memory: Memory, clock: FrozenClock, disposing: Callable[[Any], Any]
) -> None:
    llm = ScriptedLLM(default=MemoryPlan(actions=[]))
    smart = Memory(
        MemoryConfig(uri=memory.config.uri, embedder=HashEmbedder(), clock=clock, llm=llm)
    )
    mem = disposing(long_term_memory(smart, user_id="alice", token_limit=200))
    call = ToolCallBlock(tool_call_id="c1", tool_name="weather", tool_kwargs={"city": "Porto"})
    await mem.aput(user("I am in Porto, what is the weather?"))
    await mem.aput(ChatMessage(role="assistant", blocks=[call]))
    await mem.aput(
        ChatMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": "c1"})
    )
    assert llm.calls == []  # the turn is not over yet
    await mem.aput(assistant("It is sunny in Porto."))
    assert len(llm.calls) == 1  # one extraction call for the whole turn
    prompt = "\n".join(m.content for m in llm.calls[0].messages)
    assert "I am in Porto" in prompt and "It is sunny in Porto." in prompt

    # Many more turns push old messages out of the short-term queue: the flush must not
    # write them a second time (one call per turn, not one more per flush).
    for i in range(12):
        await mem.aput_messages([user(f"Question {i} about the long weather report"),
                                 assistant(f"Answer {i} with plenty of words in it")])  # fmt: skip
    assert len(llm.calls) == 13
    archived = await mem.aget_all(status=MessageStatus.ARCHIVED)
    assert len(archived) >= 4  # the flush did happen


async def test_block_in_plain_memory_stores_flushed_messages(
    memory: Memory, disposing: Callable[[Any], Any]
) -> None:
    block = LongTermMemoryBlock(memory=memory, user_id="alice")
    assert block.accept_short_term_memory  # in a plain Memory it learns from the flushes
    mem = disposing(LlamaMemory.from_defaults(memory_blocks=[block], token_limit=60))
    for i in range(8):
        await mem.aput_messages([user(f"Fact {i}: Alice owns {i} bicycles"), assistant("ok")])
    stored = texts(memory, user_id="alice")
    assert stored and all(s.startswith("Fact ") for s in stored)  # user turns, verbatim
    assert "ok" not in stored
    # Those flushed facts now come back through the block.
    got = await mem.aget(input="How many bicycles does Alice own? Fact 0")
    assert "Fact 0: Alice owns 0 bicycles" in (got[0].content or "")


async def test_block_get_is_scoped_filtered_and_skips_what_the_chat_already_shows(
    memory: Memory,
) -> None:
    memory.add("I have a dog called Rex.", user_id="alice", categories=["pets"])
    memory.add("I am allergic to peanuts.", user_id="alice", categories=["health"])
    # HashEmbedder has no semantics: no relevance floor here (test_recall_prompts covers it)
    block = LongTermMemoryBlock(memory=memory, user_id="alice", relevance_floor=0.0)
    assert await block.aget([]) == ""
    assert await block.aget([assistant("Hello, how can I help?")]) == ""  # no user message
    got = await block.aget([user("Tell me about my dog")])
    assert got.splitlines()[0] == "- I have a dog called Rex."
    shown = await block.aget([user("I have a dog called Rex."), user("and my dog?")])
    assert "Rex" not in shown  # already in the conversation
    pets_only = LongTermMemoryBlock(
        memory=memory, user_id="alice", filters={"categories": {"in": ["health"]}},
        relevance_floor=0.0,
    )  # fmt: skip
    assert await pets_only.aget([user("dog peanuts")]) == "- I am allergic to peanuts."
    assert await LongTermMemoryBlock(memory=memory, user_id="bob").aget([user("dog")]) == ""


async def test_truncation_drops_the_least_relevant_lines_first(memory: Memory) -> None:
    block = LongTermMemoryBlock(memory=memory, user_id="alice")
    content = "- first and most relevant\n- second\n- third"
    assert await block.atruncate(content, 2) == "- first and most relevant\n- second"
    assert await block.atruncate(content, 1000) is None


async def test_write_through_memory_keeps_flushes_away_from_its_blocks(
    memory: Memory, disposing: Callable[[Any], Any]
) -> None:
    block = LongTermMemoryBlock(memory=memory, user_id="alice")
    mem = disposing(WriteThroughMemory.from_defaults(memory_blocks=[block]))
    assert isinstance(mem, WriteThroughMemory) and not block.accept_short_term_memory
    await mem.aput(user("I moved to Lyon."))
    await mem.aflush()  # write the turn in progress without waiting for an answer
    assert texts(memory, user_id="alice") == ["I moved to Lyon."]
    await mem.aset([user("Replayed history.")])  # set wholesale: not a new turn
    await mem.areset()
    assert texts(memory, user_id="alice") == ["I moved to Lyon."]


async def test_block_renders_json_memories_as_plain_text(memory: Memory) -> None:
    memory.add('{"drink": "green tea", "time": "morning"}', user_id="alice", infer=False)
    got = await LongTermMemoryBlock(memory=memory, user_id="alice").aget([user("which tea?")])
    assert got == "- drink: green tea; time: morning"
