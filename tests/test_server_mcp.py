"""The MCP face, driven by the official SDK's own client over stdio and streamable HTTP, and
loaded into a LangChain agent by ``langchain-mcp-adapters``. Every server is a real child
process (``mem-integrations mcp``) on a LanceDB store in ``tmp_path``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving import HASH_EMBEDDER, cli, free_port, require, stop

require("mcp")
from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from mem_integrations import Memory, MemoryConfig  # noqa: E402
from mem_integrations.server.mcp import TOOL_NAMES  # noqa: E402
from mem_integrations.testing import HashEmbedder  # noqa: E402

pytestmark = pytest.mark.asyncio


def mcp_args(uri: str, *extra: str) -> list[str]:
    return cli("mcp", "--uri", uri, "--embedder", HASH_EMBEDDER, "--user-id", "alice", *extra)


def call_data(result: Any) -> Any:
    assert not result.isError, result.content
    return result.structuredContent


async def exercise(session: ClientSession) -> None:
    """Every tool once, in the order an agent would use them."""
    await session.initialize()
    names = {t.name for t in (await session.list_tools()).tools}
    assert names == set(TOOL_NAMES)
    tea = call_data(await session.call_tool("add", {"text": "I drink green tea"}))
    mid = tea["results"][0]["id"]
    call_data(await session.call_tool("add", {"text": "I ride a red bike",
                                              "metadata": {"kind": "hobby"}}))  # fmt: skip
    hits = call_data(await session.call_tool("search", {"query": "green tea", "top_k": 1}))
    assert [h["id"] for h in hits["results"]] == [mid]
    listed = call_data(await session.call_tool("list", {"page_size": 1}))
    assert listed["count"] == 2 and len(listed["results"]) == 1
    hobby = call_data(await session.call_tool("list", {"filters": {"metadata": {"kind": "hobby"}}}))
    assert [r["memory"] for r in hobby["results"]] == ["I ride a red bike"]
    assert call_data(await session.call_tool("get", {"memory_id": mid}))["user_id"] == "alice"
    call_data(await session.call_tool("update", {"memory_id": mid, "text": "I drink oolong"}))
    events = call_data(await session.call_tool("history", {"memory_id": mid}))["results"]
    assert [e["event"] for e in events] == ["ADD", "UPDATE"]
    call_data(await session.call_tool("delete", {"memory_id": mid}))
    missing = await session.call_tool("get", {"memory_id": mid})
    assert missing.isError and "no memory" in missing.content[0].text.lower()
    assert call_data(await session.call_tool("delete_all", {}))["deleted"] == 1


def store_after(uri: str) -> Memory:
    return Memory(MemoryConfig(uri=uri, embedder=HashEmbedder()))


async def test_stdio_transport(tmp_path: Path) -> None:
    uri = str(tmp_path / "store")
    with store_after(uri) as m:  # bob's memory must stay out of reach of alice's server
        m.add("bob's secret", user_id="bob")
    args = mcp_args(uri)
    params = StdioServerParameters(command=args[0], args=args[1:], env=dict(os.environ))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await exercise(session)
        hits = call_data(await session.call_tool("search", {"query": "secret"}))
        assert hits["results"] == []
    with store_after(uri) as m:
        assert m.get_all(user_id="alice")["results"] == []
        assert [r["memory"] for r in m.get_all(user_id="bob")["results"]] == ["bob's secret"]


@asynccontextmanager
async def http_server(tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()
    log = tmp_path / "mcp.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            mcp_args(str(tmp_path / "store"), "--transport", "streamable-http",
                     "--port", str(port)),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        for _ in range(1200):  # bounded: at most ~120 s on a loaded machine
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                pass
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"MCP server exited:\n{log.read_text()}")
        else:
            raise AssertionError(f"MCP server did not start:\n{log.read_text()}")
        yield url
    finally:
        stop(proc)


async def test_streamable_http_transport(tmp_path: Path) -> None:
    async with (
        http_server(tmp_path) as url,
        streamable_http_client(url) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await exercise(session)


async def test_http_transport_refuses_public_interfaces(tmp_path: Path) -> None:
    out = subprocess.run(
        mcp_args(str(tmp_path / "s"), "--transport", "streamable-http", "--host", "0.0.0.0"),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and "refusing to bind 0.0.0.0" in out.stderr


async def test_langchain_agent_loads_the_tools(tmp_path: Path) -> None:
    require("langchain_mcp_adapters")
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langchain_mcp_adapters.client import MultiServerMCPClient

    from test_langchain_agent import script, tool_call

    uri = str(tmp_path / "store")
    args = mcp_args(uri)
    client = MultiServerMCPClient({"memory": {
        "transport": "stdio", "command": args[0], "args": args[1:], "env": dict(os.environ),
    }})  # fmt: skip
    tools = await client.get_tools()
    assert {t.name for t in tools} == set(TOOL_NAMES)
    model = script(
        tool_call("add", {"text": "Alice is allergic to peanuts"}, "c1"),
        tool_call("search", {"query": "allergies", "top_k": 3}, "c2"),
        AIMessage(content="Noted: no peanuts."),
    )
    agent = create_agent(model, tools)
    out = await agent.ainvoke({"messages": [HumanMessage("Remember my allergy, then check.")]})
    tool_texts = [m.text for m in out["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_texts) == 2 and "Alice is allergic to peanuts" in tool_texts[1]
    assert out["messages"][-1].text == "Noted: no peanuts."
    with store_after(uri) as m:
        assert [r["memory"] for r in m.get_all(user_id="alice")["results"]] == [
            "Alice is allergic to peanuts"]  # fmt: skip
