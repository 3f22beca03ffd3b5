"""What recall prompts show, with the real default embedder: facts as text, nothing unrelated.

Issue 19, as a new user met it: a chat engine recalled "- What is my dog's name?", the agent
middleware stored "What do I drink?", and LangGraph-store items reached prompts as JSON
(``- {"text": "what tea?"}``). Each face is driven here as its users drive it, and every
prompt the model receives is checked: questions and greetings were not stored, no memory is
a JSON dump, and a memory unrelated to the question is not injected (relevance floor).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.llms.mock import MockLLM, MockLLMWithChatMemoryOfLastCall
from pydantic import Field

from mem_integrations import Memory, MemoryConfig
from mem_integrations.core.recall import memory_text
from mem_integrations.langchain import LanceDBStore, MemoryMiddleware
from mem_integrations.llama_index import LongTermChatMemory, LongTermMemoryBlock
from mem_integrations.testing import FrozenClock

JSON_DUMP = re.compile(r"[{\[]\s*\"")  # '{"text": ...' or '["...' anywhere in a prompt
CHATTER = ["Hi there!", "What was my dog's name again?", "Thanks!"]
FACTS = ["I adopted a beagle called Biscuit last spring.", "I work night shifts as a nurse."]


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Memory]:
    """One store with the shipped MiniLM (loading it is the slow part; scopes keep tests apart)."""
    uri = str(tmp_path_factory.mktemp("recall") / "store")
    with Memory(MemoryConfig(uri=uri, clock=FrozenClock())) as m:
        yield m


def stored(m: Memory, **scope: str) -> set[str]:
    return {r["memory"] for r in m.get_all(**scope)["results"]}


def system_text(messages: Sequence[ChatMessage] | None) -> str:
    assert messages is not None
    return "\n".join(x.content or "" for x in messages if x.role == MessageRole.SYSTEM)


def test_memory_text_shows_a_json_value_as_its_words() -> None:
    assert memory_text('{"text": "what tea?"}') == "what tea?"
    assert memory_text('{"topic": "cuisine", "preference": "vegetarian Thai"}') == (
        "topic: cuisine; preference: vegetarian Thai"
    )
    assert memory_text('["tea", "coffee"]') == "tea; coffee"
    assert memory_text("{not json") == "{not json"
    assert memory_text("Lives in Porto") == "Lives in Porto"


def test_chat_engine_stores_facts_not_chatter_and_recalls_text(real: Memory) -> None:
    engine = SimpleChatEngine.from_defaults(
        llm=MockLLM(), memory=LongTermChatMemory(memory=real, user_id="chat")
    )
    for line in [*CHATTER, *FACTS]:
        engine.chat(line)
    assert stored(real, user_id="chat") == set(FACTS)

    llm = MockLLMWithChatMemoryOfLastCall()
    later = SimpleChatEngine.from_defaults(
        llm=llm, memory=LongTermChatMemory(memory=real, user_id="chat")
    )
    later.chat("What was my dog's name again?")
    prompt = system_text(llm.last_chat_messages)
    assert "Biscuit" in prompt
    assert "nurse" not in prompt  # unrelated to the question: under the floor
    assert "?" not in prompt.split(":", 1)[1] and not JSON_DUMP.search(prompt)
    assert stored(real, user_id="chat") == set(FACTS)  # the question was not stored either


async def test_memory_block_stores_facts_not_chatter_and_shows_text(real: Memory) -> None:
    block = LongTermMemoryBlock(memory=real, user_id="block")
    await block.aput([ChatMessage(role="user", content=t) for t in [*CHATTER, *FACTS]])
    assert stored(real, user_id="block") == set(FACTS)
    real.add('{"text": "Prefers window seats"}', user_id="block", infer=False)  # as LangGraph
    shown = await block.aget([ChatMessage(role="user", content="Which seat should I book?")])
    assert "Prefers window seats" in shown and not JSON_DUMP.search(shown)
    assert "nurse" not in shown and "Biscuit" not in shown
    dog = await block.aget([ChatMessage(role="user", content="What was my dog's name again?")])
    assert dog == "- I adopted a beagle called Biscuit last spring."


class Recorder(GenericFakeChatModel):
    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Recorder:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.prompts.append(list(messages))
        return super()._generate(messages, *args, **kwargs)

    def system(self, call: int) -> str:
        first = self.prompts[call][0]
        return first.text if isinstance(first, SystemMessage) else ""


def test_middleware_stores_facts_not_chatter_and_renders_store_items_as_text(
    real: Memory,
) -> None:
    store = LanceDBStore(real, namespace_scope={"user_id": 1})
    store.put(("prefs", "mw"), "drink", {"text": "Drinks green tea every morning"})
    store.put(("prefs", "mw"), "job", {"text": "Works night shifts as a nurse"})
    model = Recorder(messages=iter([AIMessage(content="ok")] * 4))
    agent = create_agent(
        model, middleware=[MemoryMiddleware(real, user_id="mw", app_id="langgraph")]
    )
    for line in ["Hello!", "What do I drink in the morning?"]:
        agent.invoke({"messages": [HumanMessage(line)]})
    prompt = model.system(1)
    assert "Drinks green tea every morning" in prompt
    assert not JSON_DUMP.search(prompt)
    assert "nurse" not in prompt  # unrelated: under the floor
    texts = stored(real, user_id="mw", app_id="langgraph")
    assert "Hello!" not in texts and "What do I drink in the morning?" not in texts


def test_floor_zero_injects_every_hit_and_bad_floors_are_refused(real: Memory) -> None:
    real.add(FACTS, user_id="floor")
    shown = LongTermChatMemory(memory=real, user_id="floor", relevance_floor=0.0).recall(
        "What was my dog's name again?"
    )
    assert len(shown) == 2
    with pytest.raises(ValueError):
        MemoryMiddleware(real, user_id="x", relevance_floor=1.5)
    with pytest.raises(ValueError):
        LongTermMemoryBlock(memory=real, user_id="x", relevance_floor=-0.1)
