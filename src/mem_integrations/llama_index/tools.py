"""``FunctionTool``s that let an agent search, add, update and delete its memories.

The tools are bound to one ``Memory`` and one scope when they are made: the LLM chooses what
to look for or remember, never whose memories it touches. Results come back as compact JSON
(ids included, so the agent can update or delete what it found). A bad id or bad input comes
back as an ``Error: ...`` string the agent can read and recover from, instead of ending the run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any

from llama_index.core.bridge.pydantic import BaseModel, Field
from llama_index.core.tools import FunctionTool

from ..core.async_memory import AsyncMemory
from ..core.errors import MemoryLayerError, ScopeRequiredError
from ..core.memory import Memory
from ._common import unwrap

__all__ = ["TOOL_NAMES", "create_memory_tools"]

#: ``include`` keys and the tool names the LLM sees (the same as the LangChain face's).
TOOL_NAMES = {
    "search": "search_memory",
    "add": "add_memory",
    "update": "update_memory",
    "delete": "delete_memory",
}


class SearchMemoryArgs(BaseModel):
    """Arguments of ``search_memory``."""

    query: str = Field(description="What to look for, in natural language.")
    limit: int | None = Field(
        default=None, ge=1, le=100, description="How many memories to return at most."
    )


class AddMemoryArgs(BaseModel):
    """Arguments of ``add_memory``."""

    text: str = Field(description="The fact to remember, as one short self-contained sentence.")


class UpdateMemoryArgs(BaseModel):
    """Arguments of ``update_memory``."""

    memory_id: str = Field(description="The id of the memory to change (from search_memory).")
    text: str = Field(description="The memory's new text.")


class DeleteMemoryArgs(BaseModel):
    """Arguments of ``delete_memory``."""

    memory_id: str = Field(description="The id of the memory to delete (from search_memory).")


def _safe(fn: Callable[..., str]) -> Callable[..., str]:
    def run(**kwargs: Any) -> str:
        try:
            return fn(**kwargs)
        except MemoryLayerError as exc:
            return f"Error: {exc}"

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def create_memory_tools(
    memory: Memory | AsyncMemory,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    app_id: str | None = None,
    top_k: int = 5,
    infer: bool = False,
    include: Iterable[str] = ("search", "add", "update", "delete"),
) -> list[FunctionTool]:
    """Build the memory tools for one scope: ``search_memory``, ``add_memory``, ... .

    ``add_memory`` stores the agent's sentence as given (``infer=False``): the agent already
    decided what is worth remembering, so no extraction LLM call is spent on it. Pass
    ``infer=True`` to send it through the store's extraction LLM anyway. ``include`` picks a
    subset, e.g. ``("search",)`` for a read-only agent.
    """
    mem = unwrap(memory)
    scope: dict[str, Any] = {
        k: v
        for k, v in (("user_id", user_id), ("agent_id", agent_id), ("run_id", run_id),
                     ("app_id", app_id))
        if v is not None
    }  # fmt: skip
    if not scope:
        raise ScopeRequiredError("create_memory_tools needs a user_id, agent_id, run_id or app_id")
    wanted = list(dict.fromkeys(include))
    unknown = set(wanted) - set(TOOL_NAMES)
    if unknown:
        raise ValueError(f"unknown memory tools {sorted(unknown)}; choose from {list(TOOL_NAMES)}")

    def search_memory(query: str, limit: int | None = None) -> str:
        """Search long-term memory; returns the matching memories with ids and scores."""
        hits = mem.search_hits(query, top_k=limit or top_k, **scope)
        if not hits:
            return "No memories found."
        return json.dumps(
            [{"id": h.id, "memory": h.memory, "score": round(h.score, 4),
              "categories": h.categories, "updated_at": h.updated_at.isoformat()}
             for h in hits],
            ensure_ascii=False,
        )  # fmt: skip

    def add_memory(text: str) -> str:
        """Remember a fact for later conversations."""
        result = mem.add_events(text, infer=infer, **scope)
        return json.dumps([e.to_dict() for e in result.results], ensure_ascii=False)

    def update_memory(memory_id: str, text: str) -> str:
        """Replace the text of a memory found with search_memory."""
        out = mem.update(memory_id, text=text, **scope)
        return json.dumps({"id": out["id"], "memory": out["memory"], "event": "UPDATE"})

    def delete_memory(memory_id: str) -> str:
        """Forget a memory found with search_memory."""
        mem.delete(memory_id, **scope)
        return json.dumps({"id": memory_id, "event": "DELETE"})

    specs: dict[str, tuple[Callable[..., str], type[BaseModel]]] = {
        "search": (search_memory, SearchMemoryArgs),
        "add": (add_memory, AddMemoryArgs),
        "update": (update_memory, UpdateMemoryArgs),
        "delete": (delete_memory, DeleteMemoryArgs),
    }
    tools = []
    for name in wanted:
        fn, schema = specs[name]
        sync_fn = _safe(fn)
        tools.append(
            FunctionTool.from_defaults(
                fn=sync_fn,
                async_fn=_threaded(sync_fn),
                name=TOOL_NAMES[name],
                description=fn.__doc__,
                fn_schema=schema,
            )
        )
    return tools


def _threaded(fn: Callable[..., str]) -> Callable[..., Any]:
    async def run(**kwargs: Any) -> str:
        return await asyncio.to_thread(fn, **kwargs)

    run.__name__ = fn.__name__
    return run
