"""``MemoryMiddleware``: long-term memory for ``langchain.agents.create_agent``.

Two halves, each with an off-switch:

- **recall** (``wrap_model_call``): before every model call, search memory with the latest
  user message and append the ``k`` most relevant memories to the system prompt.
- **remember** (``after_agent``): when the agent finishes, add the turn (the latest user
  message and the assistant's replies) to memory. With an LLM configured on the ``Memory``
  and ``infer=True`` the core extracts and reconciles facts; otherwise it stores the user's
  words verbatim (exact duplicates are skipped).

The scope is the constructor's ids overlaid with those found on the runtime context
(``create_agent(..., context_schema=...)`` then ``agent.invoke(..., context={"user_id": ...})``),
so one agent serves many users without leaking memories between them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ..core.errors import ScopeRequiredError
from ..core.recall import DEFAULT_RELEVANCE_FLOOR, check_floor, prompt_hits
from ..core.records import SearchHit
from ._common import SCOPE_FIELDS, acall, call, missing, scope_from

try:
    from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest
    from langchain.agents.middleware.types import ModelResponse
    from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
    from langgraph.runtime import Runtime
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise missing(exc) from exc

__all__ = ["DEFAULT_TEMPLATE", "MemoryMiddleware"]

#: How recalled memories are appended to the system prompt; ``{memories}`` is one per line.
DEFAULT_TEMPLATE = (
    "Long-term memories relevant to this conversation (most relevant first; use them when "
    "they help, and never mention this list):\n{memories}"
)

Handler = Callable[[ModelRequest[Any]], ModelResponse[Any]]
AsyncHandler = Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]]


def latest_user_text(messages: Sequence[AnyMessage]) -> str | None:
    """Return the text of the last human message, or ``None`` when there is none."""
    for msg in reversed(messages):
        if isinstance(msg, HumanMessage):
            return msg.text.strip() or None
    return None


def last_turn(messages: Sequence[AnyMessage]) -> list[dict[str, str]]:
    """Return the last user message and the assistant's text replies after it, as dicts.

    Tool calls and tool results are left out: they are how the agent worked, not what was
    said, and tool output can be large and untrusted.
    """
    start = next(
        (i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], HumanMessage)),
        None,
    )
    if start is None:
        return []
    turn = [{"role": "user", "content": messages[start].text}]
    turn += [
        {"role": "assistant", "content": m.text}
        for m in messages[start + 1 :]
        if isinstance(m, AIMessage) and m.text.strip()
    ]
    return [t for t in turn if t["content"].strip()]


class MemoryMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Recall relevant memories into the system prompt; remember each finished turn.

    Example::

        agent = create_agent(
            model, tools=create_memory_tools(mem, user_id="alice"),
            middleware=[MemoryMiddleware(mem, user_id="alice", k=5)],
        )

    Args:
        memory: a :class:`Memory` or :class:`AsyncMemory`.
        user_id, agent_id, run_id, app_id: default scope; the runtime context overrides it.
        k: how many memories to inject.
        threshold: minimum score for a memory to be returned by the search.
        relevance_floor: minimum relevance (before decay) for a memory to be injected, so
            a search's top k does not bring unrelated memories into the prompt (0: all).
        filters: Mem0 v2 filter JSON applied to recall.
        recall: inject memories before model calls (off: never search).
        remember: add the turn after the agent finishes (off: never write).
        infer: let the core's LLM extract facts from the turn (when it has one).
        template: the text appended to the system prompt, with a ``{memories}`` slot.
        metadata: attached to every memory this middleware writes.

    """

    def __init__(
        self,
        memory: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        app_id: str | None = None,
        k: int = 5,
        threshold: float | None = None,
        relevance_floor: float = DEFAULT_RELEVANCE_FLOOR,
        filters: Mapping[str, Any] | None = None,
        recall: bool = True,
        remember: bool = True,
        infer: bool = True,
        template: str = DEFAULT_TEMPLATE,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if "{memories}" not in template:
            raise ValueError("template needs a {memories} placeholder")
        self.memory = memory
        ids = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id, "app_id": app_id}
        self.defaults = {k_: v for k_, v in ids.items() if v is not None}
        self.k = k
        self.threshold = threshold
        self.relevance_floor = check_floor(relevance_floor)
        self.filters = dict(filters) if filters is not None else None
        self.recall = recall
        self.remember = remember
        self.infer = infer
        self.template = template
        self.metadata = dict(metadata) if metadata is not None else None

    def scope(self, runtime: Runtime[Any] | None) -> dict[str, str]:
        """Resolve the scope of one run: defaults overlaid with the runtime context's ids."""
        ids = {**self.defaults, **scope_from(getattr(runtime, "context", None))}
        if not ids:
            raise ScopeRequiredError(
                "MemoryMiddleware needs a scope: pass user_id/agent_id/run_id/app_id to it or "
                f"put one of {list(SCOPE_FIELDS)} on the runtime context"
            )
        return ids

    # -- recall ----------------------------------------------------------------------------

    def _search_args(self, request: ModelRequest[Any]) -> dict[str, Any] | None:
        query = latest_user_text(request.messages) if self.recall else None
        if query is None:
            return None
        return {
            "query": query, "top_k": self.k, "threshold": self.threshold,
            "filters": self.filters, **self.scope(request.runtime),
        }  # fmt: skip

    def render(self, hits: Sequence[SearchHit]) -> str:
        """Format recalled memories for the prompt (override to change the layout).

        Each memory is shown as text (a LangGraph-store item's JSON value as its words), and
        only those at or above ``relevance_floor``; empty when none is.
        """
        shown = prompt_hits(hits, floor=self.relevance_floor)
        if not shown:
            return ""
        lines = "\n".join(f"- {text} (memory id: {h.id})" for h, text in shown)
        return self.template.replace("{memories}", lines)

    def _with_memories(
        self, request: ModelRequest[Any], hits: Sequence[SearchHit]
    ) -> ModelRequest[Any]:
        block = self.render(hits) if hits else ""
        if not block:
            return request
        base = request.system_message
        if base is None:
            system = SystemMessage(content=block)
        elif isinstance(base.content, str):
            system = SystemMessage(content=f"{base.content}\n\n{block}")
        else:
            system = SystemMessage(content=[*base.content, {"type": "text", "text": block}])
        return request.override(system_message=system)

    def wrap_model_call(self, request: ModelRequest[Any], handler: Handler) -> Any:
        """Search memory with the latest user message and extend the system prompt."""
        args = self._search_args(request)
        if args is not None:
            hits = call(self.memory, "search_hits", args.pop("query"), **args)
            request = self._with_memories(request, hits)
        return handler(request)

    async def awrap_model_call(self, request: ModelRequest[Any], handler: AsyncHandler) -> Any:
        """Async twin of :meth:`wrap_model_call`."""
        args = self._search_args(request)
        if args is not None:
            hits = await acall(self.memory, "search_hits", args.pop("query"), **args)
            request = self._with_memories(request, hits)
        return await handler(request)

    # -- remember --------------------------------------------------------------------------

    def _add_args(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        turn = last_turn(state["messages"]) if self.remember else []
        if not turn:
            return None
        return {
            "messages": turn, "infer": self.infer, "metadata": self.metadata,
            **self.scope(runtime),
        }  # fmt: skip

    def after_agent(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        """Add the finished turn to memory; the agent's state is left unchanged."""
        args = self._add_args(state, runtime)
        if args is not None:
            call(self.memory, "add", args.pop("messages"), **args)
        return None

    async def aafter_agent(
        self, state: AgentState[Any], runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        """Async twin of :meth:`after_agent`."""
        args = self._add_args(state, runtime)
        if args is not None:
            await acall(self.memory, "add", args.pop("messages"), **args)
        return None
