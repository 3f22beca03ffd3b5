"""LongTermChatMemory inside real LlamaIndex chat engines (MockLLM echoes its prompt)."""

from __future__ import annotations

import json

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.chat_engine import CondensePlusContextChatEngine, SimpleChatEngine
from llama_index.core.llms.mock import MockLLM, MockLLMWithChatMemoryOfLastCall

from mem_integrations import Memory, MemoryConfig, ScopeRequiredError
from mem_integrations.core.extraction import MemoryPlan
from mem_integrations.llama_index import LongTermChatMemory, MemoryRetriever
from mem_integrations.testing import FrozenClock, HashEmbedder, ScriptedLLM

SYSTEM = "You are a helpful assistant."
FIRST_SESSION = [
    "My favourite colour is teal.",
    "I have a dog called Rex.",
    "I work as a nurse in Porto.",
]


def reopen(memory: Memory, clock: FrozenClock, **kw: object) -> Memory:
    """A second Memory object on the same store: a later session, as a new process sees it."""
    return Memory(MemoryConfig(uri=memory.config.uri, embedder=HashEmbedder(), clock=clock, **kw))


def texts(memory: Memory, **scope: str) -> list[str]:
    return sorted(r["memory"] for r in memory.get_all(**scope)["results"])


def system_text(messages: list[ChatMessage] | None) -> str:
    assert messages is not None
    return "\n".join(m.content or "" for m in messages if m.role == MessageRole.SYSTEM)


def test_simple_chat_engine_recalls_a_fact_from_an_earlier_session(
    memory: Memory, clock: FrozenClock
) -> None:
    engine = SimpleChatEngine.from_defaults(
        llm=MockLLM(), system_prompt=SYSTEM,
        memory=LongTermChatMemory(memory=memory, user_id="alice"),
    )  # fmt: skip
    for line in FIRST_SESSION:
        engine.chat(line)
    # One memory per turn, the user's words verbatim; the assistant's echo is not stored.
    assert texts(memory, user_id="alice") == sorted(FIRST_SESSION)

    later = reopen(memory, clock)
    llm = MockLLMWithChatMemoryOfLastCall()
    engine = SimpleChatEngine.from_defaults(
        llm=llm, system_prompt=SYSTEM,
        memory=LongTermChatMemory(memory=later, user_id="alice", top_k=1),
    )  # fmt: skip
    answer = engine.chat("What is the name of my dog?")
    assert "I have a dog called Rex." in system_text(llm.last_chat_messages)
    assert "teal" not in system_text(llm.last_chat_messages)  # top_k=1: the relevant one only
    assert "Rex" in str(answer)
    # The system prompt is kept, and the user's question is the last message sent.
    assert SYSTEM in system_text(llm.last_chat_messages)
    assert llm.last_chat_messages is not None
    assert llm.last_chat_messages[-1].content == "What is the name of my dog?"


def test_other_scopes_recall_nothing(memory: Memory) -> None:
    engine = SimpleChatEngine.from_defaults(
        llm=MockLLM(), memory=LongTermChatMemory(memory=memory, user_id="alice")
    )
    engine.chat("I have a dog called Rex.")
    llm = MockLLMWithChatMemoryOfLastCall()
    for scope in ({"user_id": "bob"}, {"user_id": "alice", "agent_id": "other"}):
        other = LongTermChatMemory(memory=memory, **scope)
        SimpleChatEngine.from_defaults(llm=llm, memory=other).chat("What is my dog called?")
        assert "Rex" not in system_text(llm.last_chat_messages)
    assert texts(memory, user_id="bob") == []  # a question holds no fact: not stored


def test_memories_already_in_the_chat_are_not_repeated(memory: Memory) -> None:
    chat = LongTermChatMemory(memory=memory, user_id="alice")
    engine = SimpleChatEngine.from_defaults(llm=MockLLM(), memory=chat)
    engine.chat("I have a dog called Rex.")
    got = chat.get(input="Tell me about my dog Rex")
    assert system_text(got) == ""  # the only memory is still in the short-term history
    chat.reset()
    assert "I have a dog called Rex." in system_text(chat.get(input="my dog Rex"))


async def test_condense_plus_context_engine_recalls_across_sessions(
    memory: Memory, clock: FrozenClock
) -> None:
    # Async on purpose: the engine's sync path runs LlamaIndex's asyncio_run, which leaves an
    # unclosed event loop behind in the main thread (a LlamaIndex quirk, not ours).
    # The engine's retriever serves a shared handbook (app scope); the chat memory serves the
    # user's own facts. Both come from the same store, each confined to its scope.
    memory.add("Clinic opening hours are 8 to 18 on weekdays.", app_id="handbook")
    handbook = MemoryRetriever(memory, app_id="handbook", top_k=2)

    def engine(mem: Memory, llm: MockLLM) -> CondensePlusContextChatEngine:
        return CondensePlusContextChatEngine.from_defaults(
            retriever=handbook, llm=llm, system_prompt=SYSTEM,
            memory=LongTermChatMemory(memory=mem, user_id="alice", top_k=2),
        )  # fmt: skip

    first = engine(memory, MockLLM())
    for line in FIRST_SESSION:
        await first.achat(line)
    assert texts(memory, user_id="alice") == sorted(FIRST_SESSION)
    assert texts(memory, app_id="handbook") == ["Clinic opening hours are 8 to 18 on weekdays."]

    second = engine(reopen(memory, clock), MockLLM())
    answer = await second.achat("Which city do I work in as a nurse?")
    assert "I work as a nurse in Porto." in str(answer)  # recalled from the first session
    assert "opening hours" in str(answer)  # the handbook context, from the retriever
    assert answer.source_nodes and answer.source_nodes[0].node.metadata["app_id"] == "handbook"


async def test_async_chat_writes_and_recalls(memory: Memory, clock: FrozenClock) -> None:
    chat = LongTermChatMemory(memory=memory, user_id="alice")
    engine = SimpleChatEngine.from_defaults(llm=MockLLM(), memory=chat)
    await engine.achat("My favourite colour is teal.")
    assert texts(memory, user_id="alice") == ["My favourite colour is teal."]
    assert [m.role for m in await chat.aget_all()] == [MessageRole.USER, MessageRole.ASSISTANT]

    later = LongTermChatMemory(memory=reopen(memory, clock), user_id="alice")
    got = await later.aget(input="what colour do I like, my favourite?")
    assert "My favourite colour is teal." in system_text(got)


def test_turns_are_written_without_an_llm_call_unless_extraction_is_on(
    memory: Memory, clock: FrozenClock
) -> None:
    # A store with an extraction LLM: each completed turn is one add (one LLM call seeing the
    # user's message and the reply), not one call per message as Mem0's Mem0Memory.put makes.
    llm = ScriptedLLM(default=MemoryPlan(actions=[]))
    smart = reopen(memory, clock, llm=llm)
    engine = SimpleChatEngine.from_defaults(
        llm=MockLLM(), memory=LongTermChatMemory(memory=smart, user_id="alice")
    )
    engine.chat("I have a dog called Rex.")
    engine.chat("I work as a nurse in Porto.")
    assert len(llm.calls) == 2
    prompt = "\n".join(m.content for m in llm.calls[0].messages)
    assert "I have a dog called Rex." in prompt and "assistant" in prompt.lower()

    # infer=False on the chat memory: verbatim writes, the LLM is never called.
    quiet = LongTermChatMemory(memory=smart, user_id="carol", infer=False)
    SimpleChatEngine.from_defaults(llm=MockLLM(), memory=quiet).chat("I like tea.")
    assert len(llm.calls) == 2
    assert texts(smart, user_id="carol") == ["I like tea."]


def test_turn_in_progress_is_written_on_flush_and_reset(memory: Memory) -> None:
    chat = LongTermChatMemory(memory=memory, user_id="alice")
    chat.put(ChatMessage(role="user", content="I am allergic to peanuts."))
    assert texts(memory, user_id="alice") == []  # the turn is not complete yet
    assert len(chat.pending) == 1
    chat.reset()
    assert texts(memory, user_id="alice") == ["I am allergic to peanuts."]
    assert chat.get_all() == [] and chat.pending == []

    # A history set wholesale is not new conversation: nothing is written.
    chat.set([ChatMessage(role="user", content="Old news."), ChatMessage(role="assistant")])
    chat.flush()
    assert texts(memory, user_id="alice") == ["I am allergic to peanuts."]

    read_only = LongTermChatMemory(memory=memory, user_id="alice", write_turns=False)
    SimpleChatEngine.from_defaults(llm=MockLLM(), memory=read_only).chat("I moved to Lyon.")
    assert texts(memory, user_id="alice") == ["I am allergic to peanuts."]


def test_history_is_token_limited_and_memories_count_against_it(memory: Memory) -> None:
    memory.add("I have a dog called Rex.", user_id="alice")
    chat = LongTermChatMemory(memory=memory, user_id="alice", token_limit=40, write_turns=False)
    for i in range(10):
        chat.put(ChatMessage(role="user", content=f"message number {i} about the dog"))
        chat.put(ChatMessage(role="assistant", content=f"reply number {i}"))
    got = chat.get()
    assert got[0].role == MessageRole.SYSTEM and "Rex" in (got[0].content or "")
    history = got[1:]
    assert 0 < len(history) < 20 and history[0].role == MessageRole.USER
    assert history[-1].content == "reply number 9"
    assert len(chat.get_all()) == 20  # get_all is the whole history, without memories
    with pytest.raises(ValueError, match="exceeds token limit"):
        chat.get(initial_token_count=41)


def test_existing_system_message_gets_the_memories(memory: Memory) -> None:
    memory.add("I have a dog called Rex.", user_id="alice")
    chat = LongTermChatMemory.from_defaults(
        memory,
        chat_history=[ChatMessage(role="system", content=SYSTEM)],
        user_id="alice",
        token_limit=500,
    )
    got = chat.get(input="my dog")
    assert [m.role for m in got] == [MessageRole.SYSTEM]
    assert "Rex" in (got[0].content or "") and SYSTEM in (got[0].content or "")
    assert chat.get_all()[0].content == SYSTEM  # the stored message is not modified


def test_construction_needs_a_scope_and_a_store(memory: Memory) -> None:
    with pytest.raises(ScopeRequiredError):
        LongTermChatMemory(memory=memory)
    from mem_integrations import ConfigurationError

    with pytest.raises(ConfigurationError):
        LongTermChatMemory(user_id="alice")
    with pytest.raises(ConfigurationError):
        LongTermChatMemory(memory=memory, uri="/somewhere/else", user_id="alice")
    # An AsyncMemory is accepted; the adapter keeps the sync core and runs it on threads.
    from mem_integrations import AsyncMemory

    chat = LongTermChatMemory(memory=AsyncMemory(memory=memory), user_id="alice")
    assert chat.memory is memory and chat.uri == memory.config.uri


def test_serialized_state_has_no_live_handles_and_restores(memory: Memory) -> None:
    chat = LongTermChatMemory(memory=memory, user_id="alice", top_k=3)
    SimpleChatEngine.from_defaults(llm=MockLLM(), memory=chat).chat("I have a dog called Rex.")
    chat.put(ChatMessage(role="user", content="I am allergic to peanuts."))
    data = json.loads(json.dumps(chat.to_dict()))  # plain JSON, nothing else
    assert "memory" not in data and "tokenizer_fn" not in data
    assert data["uri"] == memory.config.uri and data["user_id"] == "alice"

    restored = LongTermChatMemory.from_dict(data)
    assert restored.memory is None  # reopened lazily, on first use
    assert [m.content for m in restored.get_all()] == [m.content for m in chat.get_all()]
    assert [m.content for m in restored.pending] == ["I am allergic to peanuts."]
    restored.put(ChatMessage(role="assistant", content="Noted."))  # completes the saved turn
    assert restored.memory is memory  # found through the registry, not reopened
    assert texts(memory, user_id="alice") == [
        "I am allergic to peanuts.", "I have a dog called Rex."
    ]  # fmt: skip


def test_insert_method_user_puts_memories_into_the_latest_user_message(memory: Memory) -> None:
    from llama_index.core.memory.memory import InsertMethod

    memory.add("I have a dog called Rex.", user_id="alice")
    for method in ("user", InsertMethod.USER):
        chat = LongTermChatMemory(memory=memory, user_id="alice", insert_method=method)
        chat.set([ChatMessage(role="system", content=SYSTEM),
                  ChatMessage(role="user", content="hi"),
                  ChatMessage(role="assistant", content="hello"),
                  ChatMessage(role="user", content="What is my dog called?")])  # fmt: skip
        got = chat.get()
        assert [m.role.value for m in got] == ["system", "user", "assistant", "user"]
        assert got[0].content == SYSTEM and got[1].content == "hi"  # untouched
        assert "- I have a dog called Rex." in (got[-1].content or "")
        assert (got[-1].content or "").endswith("What is my dog called?")
        assert chat.get_all()[-1].content == "What is my dog called?"  # the copy, not the history
        assert json.loads(chat.to_string())["insert_method"] == "user"  # state stays plain JSON


def test_recall_renders_json_memories_as_plain_text(memory: Memory) -> None:
    """Items a LangGraph store wrote without indexed text are JSON; the prompt shows prose."""
    memory.add('{"drink": "green tea", "time": "morning"}', user_id="alice", infer=False)
    memory.add('{"text": "what tea do I like?"}', user_id="alice", infer=False)
    chat = LongTermChatMemory(memory=memory, user_id="alice")
    got = chat.get(input="which tea in the morning")
    prompt = got[0].content or ""
    assert "- drink: green tea; time: morning" in prompt and "- what tea do I like?" in prompt
    assert "{" not in prompt and '"' not in prompt


def test_unknown_constructor_arguments_are_refused(memory: Memory) -> None:
    from mem_integrations import ValidationError

    with pytest.raises(ValidationError, match="top_n"):
        LongTermChatMemory(memory=memory, user_id="alice", top_n=3)
    with pytest.raises(ValidationError, match="insert_method"):
        LongTermChatMemory(memory=memory, user_id="alice", insert_method="assistant")


def test_store_assistant_writes_each_turn_as_one_exchange(memory: Memory) -> None:
    chat = LongTermChatMemory(memory=memory, user_id="alice", store_assistant=True)
    SimpleChatEngine.from_defaults(llm=MockLLM(max_tokens=3), memory=chat).chat("I like tea.")
    [stored] = texts(memory, user_id="alice")
    assert stored.startswith("user: I like tea.\nassistant: ")
