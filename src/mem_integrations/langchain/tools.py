"""Agent tools over one scope of a ``Memory``: search, add, update and delete.

The scope is bound when the tool is built and is not part of the tool's input schema, so a
model can neither see nor choose whose memories it touches: an id from another scope is
"not found", exactly as in the core. Core errors come back to the model as the tool's
output (``handle_tool_error=True``) so it can correct itself instead of crashing the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from ..core.errors import MemoryLayerError
from ._common import SCOPE_FIELDS, acall, call, missing

try:
    from langchain_core.tools import BaseTool, ToolException
    from pydantic import BaseModel, ConfigDict, Field, model_validator
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise missing(exc) from exc

__all__ = [
    "MemoryAddTool",
    "MemoryDeleteTool",
    "MemorySearchTool",
    "MemoryUpdateTool",
    "create_memory_tools",
]


class SearchInput(BaseModel):
    """What the model may pass to ``search_memory``."""

    query: str = Field(description="what to look for, in natural language")
    limit: int = Field(default=5, ge=1, le=50, description="how many memories to return")


class AddInput(BaseModel):
    """What the model may pass to ``add_memory``."""

    text: str = Field(description="the fact to remember, as one self-contained sentence")
    categories: list[str] | None = Field(
        default=None, description="optional labels such as 'preference' or 'schedule'"
    )


class UpdateInput(BaseModel):
    """What the model may pass to ``update_memory``."""

    memory_id: str = Field(description="the id of the memory, as returned by search_memory")
    text: str = Field(description="the corrected fact that replaces the memory's text")


class DeleteInput(BaseModel):
    """What the model may pass to ``delete_memory``."""

    memory_id: str = Field(description="the id of the memory, as returned by search_memory")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class _MemoryTool(BaseTool):
    """Common fields: the memory, the bound scope, and error handling."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = Field(description="the Memory or AsyncMemory the tool works on", exclude=True)
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = None
    handle_tool_error: bool = True  # core errors become the tool's answer to the model

    @model_validator(mode="after")
    def _needs_scope(self) -> _MemoryTool:
        if not self.scope():
            raise ValueError("memory tools need a user_id, agent_id, run_id or app_id")
        return self

    def scope(self) -> dict[str, str]:
        """Return the ids this tool is confined to."""
        return {k: v for k in SCOPE_FIELDS if (v := getattr(self, k)) is not None}

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(self.memory, method, *args, **self.scope(), **kwargs)
        except MemoryLayerError as exc:
            raise ToolException(str(exc)) from exc

    async def _acall(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await acall(self.memory, method, *args, **self.scope(), **kwargs)
        except MemoryLayerError as exc:
            raise ToolException(str(exc)) from exc


class MemorySearchTool(_MemoryTool):
    """Let the model look up what it knows before answering.

    Returns a JSON list of ``{"id", "memory", "score", "categories", "updated_at"}``, best
    first; the ids are what ``update_memory`` and ``delete_memory`` take.
    """

    name: str = "search_memory"
    description: str = (
        "Search long-term memory for facts relevant to the conversation. Returns a JSON list "
        "of memories with their ids and relevance scores (0-1, higher is better)."
    )
    args_schema: type[BaseModel] = SearchInput
    filters: dict[str, Any] | None = Field(
        default=None, description="Mem0 v2 filter JSON fixed at construction"
    )
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)

    _FIELDS: ClassVar[tuple[str, ...]] = ("id", "memory", "score", "categories", "updated_at")

    def _format(self, hits: list[Any]) -> str:
        return _dumps([{k: h.to_dict()[k] for k in self._FIELDS} for h in hits])

    def _run(self, query: str, limit: int = 5, **_: Any) -> str:
        hits = self._call(
            "search_hits", query, top_k=limit, filters=self.filters, threshold=self.threshold
        )
        return self._format(hits)

    async def _arun(self, query: str, limit: int = 5, **_: Any) -> str:
        hits = await self._acall(
            "search_hits", query, top_k=limit, filters=self.filters, threshold=self.threshold
        )
        return self._format(hits)


class MemoryAddTool(_MemoryTool):
    """Let the model write a fact down. Exact duplicates in the scope are not stored twice.

    ``infer=True`` sends the text through the core's LLM extraction (when the Memory has an
    LLM); the default stores the model's sentence verbatim, since the model already chose it.
    """

    name: str = "add_memory"
    description: str = (
        "Save a fact worth remembering in future conversations (a preference, a plan, a "
        "personal detail). Returns the stored memory with its id."
    )
    args_schema: type[BaseModel] = AddInput
    memory_metadata: dict[str, Any] | None = Field(
        default=None, description="metadata attached to every memory this tool adds"
    )
    infer: bool = False

    def _kwargs(self, categories: list[str] | None) -> dict[str, Any]:
        return {"categories": categories, "metadata": self.memory_metadata, "infer": self.infer}

    def _run(self, text: str, categories: list[str] | None = None, **_: Any) -> str:
        result = self._call("add", [{"role": "user", "content": text}], **self._kwargs(categories))
        return _dumps(result["results"])

    async def _arun(self, text: str, categories: list[str] | None = None, **_: Any) -> str:
        result = await self._acall(
            "add", [{"role": "user", "content": text}], **self._kwargs(categories)
        )
        return _dumps(result["results"])


class MemoryUpdateTool(_MemoryTool):
    """Let the model correct a memory it found with ``search_memory``."""

    name: str = "update_memory"
    description: str = (
        "Replace the text of an existing memory (by id) when a fact has changed or was wrong."
    )
    args_schema: type[BaseModel] = UpdateInput

    def _run(self, memory_id: str, text: str, **_: Any) -> str:
        rec = self._call("update", memory_id, text=text)
        return _dumps({"id": rec["id"], "memory": rec["memory"], "event": "UPDATE"})

    async def _arun(self, memory_id: str, text: str, **_: Any) -> str:
        rec = await self._acall("update", memory_id, text=text)
        return _dumps({"id": rec["id"], "memory": rec["memory"], "event": "UPDATE"})


class MemoryDeleteTool(_MemoryTool):
    """Let the model forget a memory (the history keeps a DELETE event)."""

    name: str = "delete_memory"
    description: str = "Delete a memory by id when it is obsolete or the user asks to forget it."
    args_schema: type[BaseModel] = DeleteInput

    def _run(self, memory_id: str, **_: Any) -> str:
        self._call("delete", memory_id)
        return _dumps({"id": memory_id, "event": "DELETE"})

    async def _arun(self, memory_id: str, **_: Any) -> str:
        await self._acall("delete", memory_id)
        return _dumps({"id": memory_id, "event": "DELETE"})


_TOOLS: dict[str, Callable[..., BaseTool]] = {
    "search": MemorySearchTool,
    "add": MemoryAddTool,
    "update": MemoryUpdateTool,
    "delete": MemoryDeleteTool,
}


def create_memory_tools(
    memory: Any,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
    app_id: str | None = None,
    include: Iterable[str] = ("search", "add", "update", "delete"),
) -> list[BaseTool]:
    """Build the memory tools for one scope, ready for ``create_agent(tools=...)``.

    ``include`` picks a subset, e.g. ``("search",)`` for a read-only agent.
    """
    names = list(include)
    unknown = set(names) - set(_TOOLS)
    if unknown:
        raise ValueError(f"unknown memory tools {sorted(unknown)}; choose from {sorted(_TOOLS)}")
    return [
        _TOOLS[n](memory=memory, user_id=user_id, agent_id=agent_id, run_id=run_id, app_id=app_id)
        for n in names
    ]
