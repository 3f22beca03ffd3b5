"""``create_agent`` end to end, offline: a scripted chat model drives the memory tools while
``MemoryMiddleware`` recalls into the system prompt and remembers each finished turn."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.tools import ToolRuntime, tool
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import Field

from mem_integrations import AsyncMemory, Memory, MemoryConfig, ScopeRequiredError
from mem_integrations.core.extraction import MemoryAction, MemoryPlan
from mem_integrations.langchain import LanceDBStore, MemoryMiddleware, create_memory_tools
from mem_integrations.testing import HashEmbedder, ScriptedLLM


class ScriptedChatModel(GenericFakeChatModel):
    """Plays back AI messages (tool calls included) and keeps every prompt it was sent."""

    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.prompts.append(list(messages))
        return super()._generate(messages, *args, **kwargs)

    def system_prompt(self, call: int) -> str:
        first = self.prompts[call][0]
        return first.text if isinstance(first, SystemMessage) else ""


def script(*messages: AIMessage) -> ScriptedChatModel:
    return ScriptedChatModel(messages=iter(messages))


def tool_call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


@dataclass
class Ctx:
    user_id: str


@pytest.fixture
def mem(memory: Memory) -> Memory:
    memory.add("Alice drinks green tea every morning", user_id="alice")
    memory.add("Alice is allergic to peanuts", user_id="alice")
    memory.add("Bob drinks black coffee", user_id="bob")
    return memory


def test_agent_uses_tools_and_middleware_end_to_end(mem: Memory) -> None:
    model = script(
        tool_call("add_memory", {"text": "Alice is vegetarian"}, "c1"),
        tool_call("search_memory", {"query": "Alice food", "limit": 5}, "c2"),
        AIMessage(content="Noted: vegetarian, no peanuts, and green tea to drink."),
    )
    agent = create_agent(
        model, tools=create_memory_tools(mem, user_id="alice"),
        system_prompt="You are a helpful cook.",
        middleware=[MemoryMiddleware(mem, user_id="alice", k=3)],
    )  # fmt: skip
    out = agent.invoke({"messages": [HumanMessage("I went vegetarian. What tea do I drink?")]})

    # recall: every model call got the base prompt plus alice's memories, never bob's
    assert len(model.prompts) == 3
    first = model.system_prompt(0)
    assert first.startswith("You are a helpful cook.")
    assert "Alice drinks green tea every morning" in first and "Bob" not in first
    assert "Alice is vegetarian" in model.system_prompt(2)  # written by the tool mid-run
    # the tools ran against the store in alice's scope
    tool_msgs = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    found = json.loads(tool_msgs[1].content)
    assert "Alice is vegetarian" in [h["memory"] for h in found]
    # remember: the user's words were added after the run (verbatim: no LLM configured)
    texts = {r["memory"] for r in mem.get_all(user_id="alice")["results"]}
    assert "I went vegetarian. What tea do I drink?" in texts
    assert out["messages"][-1].text.startswith("Noted")
    bob = {r["memory"] for r in mem.get_all(user_id="bob")["results"]}
    assert bob == {"Bob drinks black coffee"}


def test_scope_comes_from_the_runtime_context(mem: Memory) -> None:
    model = script(AIMessage(content="Coffee, as usual."), AIMessage(content="Green tea."))
    agent = create_agent(model, middleware=[MemoryMiddleware(mem)], context_schema=Ctx)
    agent.invoke({"messages": [HumanMessage("what do I drink")]}, context=Ctx(user_id="bob"))
    agent.invoke({"messages": [HumanMessage("what do I drink")]}, context=Ctx(user_id="alice"))
    assert "Bob drinks black coffee" in model.system_prompt(0)
    assert "Alice" not in model.system_prompt(0)
    second = model.system_prompt(1)
    assert "Alice drinks green tea" in second and "Bob" not in second
    # the question was not remembered (it holds no fact): only bob's fact comes back
    assert [r["memory"] for r in mem.get_all(user_id="bob")["results"]] == [
        "Bob drinks black coffee"
    ]
    with pytest.raises(ScopeRequiredError):
        create_agent(script(AIMessage(content="x")), middleware=[MemoryMiddleware(mem)]).invoke(
            {"messages": [HumanMessage("hi")]}
        )


def test_off_switches(mem: Memory) -> None:
    before = mem.get_all(user_id="alice")["results"]
    model = script(AIMessage(content="ok"))
    silent = MemoryMiddleware(mem, user_id="alice", recall=False, remember=False)
    create_agent(model, system_prompt="base", middleware=[silent]).invoke(
        {"messages": [HumanMessage("I like tea")]}
    )
    assert model.system_prompt(0) == "base"
    assert mem.get_all(user_id="alice")["results"] == before
    model = script(AIMessage(content="ok"))
    recall_only = MemoryMiddleware(mem, user_id="alice", remember=False, k=1)
    create_agent(model, middleware=[recall_only]).invoke({"messages": [HumanMessage("tea")]})
    assert model.system_prompt(0).count("- ") == 1  # k=1, and no base prompt needed
    assert mem.get_all(user_id="alice")["results"] == before
    with pytest.raises(ValueError, match="placeholder"):
        MemoryMiddleware(mem, user_id="a", template="no slot")


def test_extraction_when_the_memory_has_an_llm(tmp_path: Path) -> None:
    llm = ScriptedLLM([MemoryPlan(actions=[MemoryAction(event="ADD", text="Dana is vegan")])])
    cfg = MemoryConfig(uri=str(tmp_path / "x"), embedder=HashEmbedder(), llm=llm)
    with Memory(cfg) as m:
        agent = create_agent(
            script(AIMessage(content="Got it!")),
            middleware=[MemoryMiddleware(m, user_id="dana", recall=False)],
        )
        agent.invoke({"messages": [HumanMessage("Btw I stopped eating any animal products")]})
        assert [r["memory"] for r in m.get_all(user_id="dana")["results"]] == ["Dana is vegan"]
    (asked,) = llm.calls
    assert any("animal products" in msg.content for msg in asked.messages)
    assert any("Got it!" in msg.content for msg in asked.messages)


async def test_async_agent_with_async_memory(mem: Memory) -> None:
    amem = AsyncMemory(memory=mem)
    model = script(tool_call("search_memory", {"query": "peanuts"}, "c1"), AIMessage(content="ok"))
    agent = create_agent(
        model, tools=create_memory_tools(amem, user_id="alice", include=("search",)),
        # HashEmbedder has no semantics: no floor here (test_recall_prompts covers the floor)
        middleware=[MemoryMiddleware(amem, user_id="alice", relevance_floor=0.0)],
    )  # fmt: skip
    out = await agent.ainvoke({"messages": [HumanMessage("Do I have allergies?")]})
    found = json.loads(next(m for m in out["messages"] if isinstance(m, ToolMessage)).content)
    assert found[0]["memory"] == "Alice is allergic to peanuts"
    assert "Alice is allergic to peanuts" in model.system_prompt(0)
    # a question is not a fact: the offline default add does not store it
    assert "Do I have allergies?" not in {
        r["memory"] for r in mem.get_all(user_id="alice")["results"]
    }


@pytest.fixture
def store_agent_parts(memory: Memory) -> Iterator[tuple[LanceDBStore, Any]]:
    store = LanceDBStore(memory, namespace_scope={"user_id": 1})

    @tool
    def save_preference(text: str, runtime: ToolRuntime[Ctx]) -> str:
        """Save a user preference in the LangGraph store."""
        assert runtime.store is not None
        runtime.store.put(("prefs", runtime.context.user_id), "latest", {"text": text})
        return "saved"

    yield store, save_preference


def test_create_agent_with_the_store(store_agent_parts: tuple[LanceDBStore, Any]) -> None:
    store, save_preference = store_agent_parts
    model = script(
        tool_call("save_preference", {"text": "window seat"}, "c1"), AIMessage(content="done")
    )
    agent = create_agent(model, tools=[save_preference], store=store, context_schema=Ctx)
    agent.invoke({"messages": [HumanMessage("I prefer window seats")]}, context=Ctx("erin"))
    item = store.get(("prefs", "erin"), "latest")
    assert item is not None and item.value == {"text": "window seat"}
    assert store.memory.get_all(user_id="erin")["results"][0]["memory"] == '{"text": "window seat"}'
