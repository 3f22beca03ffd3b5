"""A real FunctionAgent with the memory tools and LongTermChatMemory (scripted tool calls)."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool
from workflows import Context
from workflows.context.serializers import JsonSerializer

from mem_integrations import Memory, ScopeRequiredError
from mem_integrations.llama_index import (
    TOOL_NAMES,
    LongTermChatMemory,
    create_memory_tools,
    register_memory,
)

# Building a workflow runs inspect.getmembers over the agent, which touches pydantic's
# deprecated ``__fields__`` and friends (llama-index-core 0.14 with pydantic 2.14): the
# warnings come from inspect, not from our code.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")


class Script:
    """Plays the LLM: each user turn calls the next scripted tool; a tool result is echoed."""

    def __init__(self) -> None:
        self.calls: deque[tuple[str, dict[str, Any]]] = deque()
        self.seen: list[list[ChatMessage]] = []

    def __call__(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        self.seen.append(list(messages))
        if messages[-1].role == MessageRole.TOOL:
            return ChatMessage(role="assistant", content=f"Tool said: {messages[-1].content}")
        if not self.calls:
            return ChatMessage(role="assistant", content="Hello!")
        name, args = self.calls.popleft()
        block = ToolCallBlock(tool_call_id=f"call-{len(self.seen)}", tool_name=name,
                              tool_kwargs=args)  # fmt: skip
        return ChatMessage(role="assistant", blocks=[block])


def agent(script: Script, tools: Sequence[FunctionTool] = ()) -> FunctionAgent:
    return FunctionAgent(
        tools=list(tools), llm=MockFunctionCallingLLM(response_generator=script),
        system_prompt="You remember things for the user.",
    )  # fmt: skip


def texts(memory: Memory, **scope: str) -> list[str]:
    return sorted(r["memory"] for r in memory.get_all(**scope)["results"])


async def test_function_agent_searches_adds_updates_and_deletes(memory: Memory) -> None:
    bob_id = memory.add("Bob is allergic to cats.", user_id="bob")["results"][0]["id"]
    script = Script()
    bot = agent(script, create_memory_tools(memory, user_id="alice"))

    script.calls.append(("add_memory", {"text": "Alice is allergic to peanuts."}))
    await bot.run(user_msg="Please remember that I am allergic to peanuts.")
    assert texts(memory, user_id="alice") == ["Alice is allergic to peanuts."]
    alice_id = memory.get_all(user_id="alice")["results"][0]["id"]

    script.calls.append(("search_memory", {"query": "allergic"}))
    answer = str(await bot.run(user_msg="What am I allergic to?"))
    assert "Alice is allergic to peanuts." in answer and alice_id in answer
    assert "cats" not in answer  # Bob's memory is out of the tools' scope

    new_text = "Alice is allergic to peanuts and shellfish."
    script.calls.append(("update_memory", {"memory_id": alice_id, "text": new_text}))
    await bot.run(user_msg="I am also allergic to shellfish.")
    assert texts(memory, user_id="alice") == [new_text]

    # The agent cannot touch another scope's memory, even knowing its id.
    script.calls.append(("delete_memory", {"memory_id": bob_id}))
    answer = str(await bot.run(user_msg="Forget Bob's allergy."))
    assert "Error:" in answer
    assert texts(memory, user_id="bob") == ["Bob is allergic to cats."]

    script.calls.append(("delete_memory", {"memory_id": alice_id}))
    await bot.run(user_msg="Forget my allergies.")
    assert texts(memory, user_id="alice") == []


def test_tool_set_is_bound_to_a_scope(memory: Memory) -> None:
    tools = create_memory_tools(memory, agent_id="helper", include=("search",))
    assert [t.metadata.name for t in tools] == ["search_memory"]
    schema = tools[0].metadata.get_parameters_dict()
    assert set(schema["properties"]) == {"query", "limit"}  # no scope for the LLM to set
    assert {t.metadata.name for t in create_memory_tools(memory, user_id="a")} == set(
        TOOL_NAMES.values()
    )
    with pytest.raises(ScopeRequiredError):
        create_memory_tools(memory)
    with pytest.raises(ValueError, match="unknown memory tools"):
        create_memory_tools(memory, user_id="a", include=("forget_everything",))
    # The sync face works too; add stores the agent's sentence verbatim.
    search = tools[0]
    assert str(search.call(query="units")) == "No memories found."
    add = create_memory_tools(memory, agent_id="helper", include=("add",))[0]
    out = json.loads(str(add.call(text="The user prefers metric units.")))
    assert out[0]["event"] == "ADD" and out[0]["memory"] == "The user prefers metric units."
    found = json.loads(str(search.call(query="metric units", limit=1)))
    assert [f["id"] for f in found] == [out[0]["id"]] and 0.0 <= found[0]["score"] <= 1.0


async def test_function_agent_memory_recalls_and_survives_context_serialization(
    memory: Memory,
) -> None:
    memory.add("I have a dog called Rex.", user_id="alice")
    script = Script()
    bot = agent(script)
    chat = LongTermChatMemory(memory=memory, user_id="alice")

    handler = bot.run(user_msg="What is my dog called?", memory=chat)
    assert str(await handler) == "Hello!"
    system = [m.content or "" for m in script.seen[-1] if m.role == MessageRole.SYSTEM]
    assert system[0] == "You remember things for the user."  # the agent's own prompt first
    assert any("I have a dog called Rex." in s for s in system[1:])
    assert "What is my dog called?" not in texts(memory, user_id="alice")  # a question: no fact

    data = handler.ctx.to_dict(serializer=JsonSerializer())
    blob = json.dumps(data)  # plain JSON: no connection, table or thread handles
    assert memory.config.uri in blob and "LongTermChatMemory" in blob

    restored = Context.from_dict(bot, json.loads(blob), serializer=JsonSerializer())
    again = await restored.store.get("memory")
    assert isinstance(again, LongTermChatMemory) and again.memory is None
    assert [m.content for m in again.get_all()] == ["What is my dog called?", "Hello!"]

    register_memory(memory)  # what a new process does before restoring
    handler = bot.run(user_msg="He is brown and white.", ctx=restored)
    await handler
    seen = [m.content for m in script.seen[-1]]
    assert "What is my dog called?" in seen  # the short-term history came back
    used = await handler.ctx.store.get("memory")
    assert used.memory is memory  # the registered store, not a reopened one
    assert "He is brown and white." in texts(memory, user_id="alice")
