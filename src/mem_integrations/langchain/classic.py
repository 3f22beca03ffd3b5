"""``ChainMemory``: the memory layer as a classic ``BaseMemory`` for ``langchain_classic`` chains.

Classic chains (``ConversationChain``, ``LLMChain``) call ``load_memory_variables`` before
the prompt is formatted and ``save_context`` after the LLM answered. Here the first searches
long-term memory with the chain's input and the second adds the exchange, so a classic chain
gets the same memories as an agent using :class:`MemoryMiddleware` in the same scope.

Needs the ``[classic]`` extra (``langchain-classic``), separately from ``[langchain]``.
"""

from __future__ import annotations

from typing import Any

from ._common import SCOPE_FIELDS, acall, call, missing
from .retriever import hit_to_document

try:
    from langchain_classic.base_memory import BaseMemory
    from pydantic import ConfigDict, Field, model_validator
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise missing(exc, 'pip install "mem-integrations[classic]"') from exc

__all__ = ["ChainMemory"]


class ChainMemory(BaseMemory):
    """Long-term memory for a classic chain, confined to one scope.

    Example::

        chain = ConversationChain(llm=llm, memory=ChainMemory(memory=mem, user_id="alice"))

    The prompt variable ``memory_key`` (default ``"history"``, what ``ConversationChain``
    expects) receives the ``k`` most relevant memories, one per line, or a list of
    ``Document`` objects with ``return_docs=True``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = Field(description="the Memory or AsyncMemory behind the chain")
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = None
    k: int = Field(default=5, ge=1)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    filters: dict[str, Any] | None = None
    memory_key: str = "history"
    input_key: str | None = Field(
        default=None, description="which chain input is the user's message (inferred if one)"
    )
    output_key: str | None = Field(
        default=None, description="which chain output is the reply (inferred if one)"
    )
    return_docs: bool = False
    infer: bool = True

    @model_validator(mode="after")
    def _needs_scope(self) -> ChainMemory:
        if not self.scope():
            raise ValueError("ChainMemory needs a user_id, agent_id, run_id or app_id")
        return self

    def scope(self) -> dict[str, str]:
        """Return the ids this memory is confined to."""
        return {k: v for k in SCOPE_FIELDS if (v := getattr(self, k)) is not None}

    @property
    def memory_variables(self) -> list[str]:
        """Return the prompt variable this memory fills."""
        return [self.memory_key]

    def _pick(self, values: dict[str, Any], key: str | None, what: str) -> str:
        if key is None:
            keys = [k for k in values if k not in (self.memory_key, "stop")]
            if len(keys) != 1:
                raise ValueError(f"ChainMemory cannot tell the {what} among {keys}; set {what}_key")
            key = keys[0]
        return str(values[key])

    def _search_args(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            "query": self._pick(inputs, self.input_key, "input"), "top_k": self.k,
            "threshold": self.threshold, "filters": self.filters, **self.scope(),
        }  # fmt: skip

    def _variables(self, hits: list[Any]) -> dict[str, Any]:
        if self.return_docs:
            return {self.memory_key: [hit_to_document(h) for h in hits]}
        return {self.memory_key: "\n".join(h.memory for h in hits)}

    def load_memory_variables(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Search memory with the chain's input."""
        args = self._search_args(inputs)
        return self._variables(call(self.memory, "search_hits", args.pop("query"), **args))

    async def aload_memory_variables(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Async twin of :meth:`load_memory_variables`."""
        args = self._search_args(inputs)
        return self._variables(await acall(self.memory, "search_hits", args.pop("query"), **args))

    def _turn(self, inputs: dict[str, Any], outputs: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {"role": "user", "content": self._pick(inputs, self.input_key, "input")},
            {"role": "assistant", "content": self._pick(outputs, self.output_key, "output")},
        ]

    def save_context(self, inputs: dict[str, Any], outputs: dict[str, str]) -> None:
        """Add the exchange (extraction when the Memory has an LLM and ``infer`` is on)."""
        call(self.memory, "add", self._turn(inputs, outputs), infer=self.infer, **self.scope())

    async def asave_context(self, inputs: dict[str, Any], outputs: dict[str, str]) -> None:
        """Async twin of :meth:`save_context`."""
        await acall(
            self.memory, "add", self._turn(inputs, outputs), infer=self.infer, **self.scope()
        )

    def clear(self) -> None:
        """Delete every memory of this scope (long-term memory: this is not a buffer reset)."""
        call(self.memory, "delete_all", **self.scope())

    async def aclear(self) -> None:
        """Async twin of :meth:`clear`."""
        await acall(self.memory, "delete_all", **self.scope())
