"""An MCP server face: the memory of one scope as tools an agent can call.

Built on the official ``mcp`` SDK's ``FastMCP`` (1.x: ``langchain-mcp-adapters``, the way
LangChain agents load MCP tools, requires ``mcp<2``; in 2.x the class is ``MCPServer``). The
server is bound to one scope when it starts (``--user-id``, ``--agent-id``, ...), so the model
never chooses whose memory it touches: the tools take no scope arguments at all.

Tools run the synchronous core on worker threads (through ``AsyncMemory``), so one slow call
does not stall other sessions on the streamable HTTP transport.
"""

from __future__ import annotations

from typing import Any

from mcp.server.fastmcp import FastMCP

from mem_integrations import AsyncMemory, Memory, ScopeRequiredError

__all__ = ["TOOL_NAMES", "build_mcp"]

TOOL_NAMES = ("add", "search", "list", "get", "update", "delete", "delete_all", "history")


def build_mcp(
    memory: Memory,
    scope: dict[str, str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> FastMCP:
    """A ``FastMCP`` server whose eight tools act on ``memory`` inside ``scope`` only."""
    if not any(scope.values()):
        raise ScopeRequiredError("the MCP server needs a scope: --user-id, --agent-id, ...")
    bound = {k: v for k, v in scope.items() if v}
    mem = AsyncMemory(memory=memory)
    who = ", ".join(f"{k}={v}" for k, v in bound.items())
    server = FastMCP(
        "mem_integrations",
        instructions=f"Long-term memory of {who}. Search it before answering; add what lasts.",
        host=host,
        port=port,
    )

    @server.tool()
    async def add(text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """Remember a fact about the user or the task (stored verbatim)."""
        return await mem.add(text, **bound, metadata=metadata, infer=False)

    @server.tool()
    async def search(
        query: str, top_k: int = 5, filters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Find memories relevant to a query, best first, with scores in [0, 1]."""
        return await mem.search(query, **bound, top_k=top_k, filters=filters)

    @server.tool(name="list")
    async def list_memories(
        page: int = 1, page_size: int = 20, filters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """List memories, newest first, one page at a time."""
        return await mem.get_all(**bound, page=page, page_size=page_size, filters=filters)

    @server.tool()
    async def get(memory_id: str) -> dict[str, Any]:
        """One memory by id."""
        return await mem.get(memory_id, **bound)

    @server.tool()
    async def update(memory_id: str, text: str) -> dict[str, Any]:
        """Replace a memory's text (its history keeps the old one)."""
        return await mem.update(memory_id, text, **bound)

    @server.tool()
    async def delete(memory_id: str) -> dict[str, Any]:
        """Forget one memory."""
        return await mem.delete(memory_id, **bound)

    @server.tool()
    async def delete_all() -> dict[str, Any]:
        """Forget every memory of this scope."""
        return await mem.delete_all(**bound)

    @server.tool()
    async def history(memory_id: str) -> dict[str, Any]:
        """Every change of one memory, oldest first."""
        return {"results": await mem.history(memory_id, **bound)}

    return server
