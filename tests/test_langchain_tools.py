"""Memory tools: the standard LangChain tool suites, scope binding and error reporting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from mem_integrations import AsyncMemory, Memory, MemoryConfig
from mem_integrations.langchain import (
    MemoryAddTool,
    MemoryDeleteTool,
    MemorySearchTool,
    MemoryUpdateTool,
    create_memory_tools,
)
from mem_integrations.testing import HashEmbedder


class _Suite:
    """Shared fixture: a real store with one memory whose id the examples use."""

    tool_class: type[BaseTool]
    example: dict[str, Any]

    @pytest.fixture(autouse=True)
    def _memory(self, tmp_path: Path) -> Iterator[None]:
        self.mem = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder()))
        out = self.mem.put("m-1", "Alice drinks green tea", user_id="alice")
        self.memory_id = out.id
        yield
        self.mem.close()

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return self.tool_class

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"memory": self.mem, "user_id": "alice"}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {k: (self.memory_id if v == "<id>" else v) for k, v in self.example.items()}


SUITES = {
    MemorySearchTool: {"query": "green tea", "limit": 3},
    MemoryAddTool: {"text": "Alice likes hiking", "categories": ["hobby"]},
    MemoryUpdateTool: {"memory_id": "<id>", "text": "Alice drinks oolong tea"},
    MemoryDeleteTool: {"memory_id": "<id>"},
}


class TestSearchUnit(_Suite, ToolsUnitTests):
    tool_class, example = MemorySearchTool, SUITES[MemorySearchTool]


class TestSearchIntegration(_Suite, ToolsIntegrationTests):
    tool_class, example = MemorySearchTool, SUITES[MemorySearchTool]


class TestAddUnit(_Suite, ToolsUnitTests):
    tool_class, example = MemoryAddTool, SUITES[MemoryAddTool]


class TestAddIntegration(_Suite, ToolsIntegrationTests):
    tool_class, example = MemoryAddTool, SUITES[MemoryAddTool]


class TestUpdateUnit(_Suite, ToolsUnitTests):
    tool_class, example = MemoryUpdateTool, SUITES[MemoryUpdateTool]


class TestUpdateIntegration(_Suite, ToolsIntegrationTests):
    tool_class, example = MemoryUpdateTool, SUITES[MemoryUpdateTool]


class TestDeleteUnit(_Suite, ToolsUnitTests):
    tool_class, example = MemoryDeleteTool, SUITES[MemoryDeleteTool]


class TestDeleteIntegration(_Suite, ToolsIntegrationTests):
    tool_class, example = MemoryDeleteTool, SUITES[MemoryDeleteTool]


def _by_name(memory: Any, **scope: str) -> dict[str, BaseTool]:
    return {t.name: t for t in create_memory_tools(memory, **scope)}


def test_scope_is_not_part_of_the_model_facing_schema(memory: Memory) -> None:
    for tool in create_memory_tools(memory, user_id="alice"):
        props = tool.tool_call_schema.model_json_schema()["properties"]
        assert not {"user_id", "agent_id", "run_id", "app_id", "memory"} & set(props)
    with pytest.raises(ValueError, match="need a user_id"):
        MemorySearchTool(memory=memory)
    with pytest.raises(ValueError, match="unknown memory tools"):
        create_memory_tools(memory, user_id="a", include=("search", "recall"))


def test_add_search_update_delete_round_trip(memory: Memory) -> None:
    tools = _by_name(memory, user_id="alice")
    (added,) = json.loads(tools["add_memory"].invoke({"text": "Alice drinks green tea"}))
    assert added["event"] == "ADD"
    hits = json.loads(tools["search_memory"].invoke({"query": "green tea"}))
    assert [h["id"] for h in hits] == [added["id"]] and 0 < hits[0]["score"] <= 1
    tools["update_memory"].invoke({"memory_id": added["id"], "text": "Alice drinks oolong"})
    assert memory.get(added["id"], user_id="alice")["memory"] == "Alice drinks oolong"
    tools["delete_memory"].invoke({"memory_id": added["id"]})
    assert memory.get_all(user_id="alice")["results"] == []


def test_another_scope_is_out_of_reach(memory: Memory) -> None:
    bob_id = memory.add("Bob's PIN is 1234", user_id="bob")["results"][0]["id"]
    alice = _by_name(memory, user_id="alice")
    assert json.loads(alice["search_memory"].invoke({"query": "Bob PIN"})) == []
    call = {"name": "delete_memory", "args": {"memory_id": bob_id}, "id": "c1", "type": "tool_call"}
    msg = alice["delete_memory"].invoke(call)
    assert isinstance(msg, ToolMessage) and msg.status == "error"
    assert "no memory with id" in msg.content
    upd = alice["update_memory"].invoke({"memory_id": bob_id, "text": "Bob's PIN is 0000"})
    assert "no memory with id" in upd
    assert memory.get(bob_id)["memory"] == "Bob's PIN is 1234"


def test_core_validation_errors_reach_the_model_as_text(memory: Memory) -> None:
    add = _by_name(memory, user_id="alice")["add_memory"]
    out = add.invoke({"text": "Alice likes tea", "categories": [""]})
    assert "every category must be a non-empty, valid string" in out
    assert memory.get_all(user_id="alice")["results"] == []


def test_add_tool_metadata_and_duplicates(memory: Memory) -> None:
    add = MemoryAddTool(memory=memory, agent_id="helper", memory_metadata={"source": "agent"})
    first = json.loads(add.invoke({"text": "The office closes at 6pm"}))
    again = json.loads(add.invoke({"text": "The office closes at 6pm"}))
    assert first[0]["event"] == "ADD" and again[0]["event"] == "NONE"
    rec = memory.get(first[0]["id"])
    assert rec["agent_id"] == "helper" and rec["metadata"] == {"source": "agent"}


async def test_async_tools_with_async_memory(memory: Memory) -> None:
    tools = _by_name(AsyncMemory(memory=memory), run_id="session-1")
    (added,) = json.loads(await tools["add_memory"].ainvoke({"text": "Meeting moved to 3pm"}))
    hits = json.loads(await tools["search_memory"].ainvoke({"query": "meeting"}))
    assert hits[0]["id"] == added["id"]
    await tools["delete_memory"].ainvoke({"memory_id": added["id"]})
    assert memory.get_all(run_id="session-1")["results"] == []
