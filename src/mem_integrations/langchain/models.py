"""LangChain models serving the core: an ``Embeddings`` as embedder, a chat model as the LLM.

::

    from langchain_openai import ChatOpenAI, OpenAIEmbeddings
    from mem_integrations import Memory
    from mem_integrations.langchain import LangChainEmbedder, LangChainLLM

    memory = Memory(
        embedder=LangChainEmbedder(OpenAIEmbeddings(model="text-embedding-3-small")),
        llm=LangChainLLM(ChatOpenAI(model="gpt-4.1-mini", temperature=0)),
    )

Both are edge adapters: they convert types and count usage; the core decides everything else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from ._common import missing

try:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
    from langchain_core.runnables import Runnable
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise missing(exc) from exc

from pydantic import BaseModel

from ..core.errors import LLMError
from ..core.extraction.llm import LLMUsage, StructuredOutputError, model_label
from ..core.messages import Message

__all__ = ["LangChainEmbedder", "LangChainLLM"]

T = TypeVar("T", bound=BaseModel)

_PROBE = "dimension probe"


class LangChainEmbedder:
    """Any LangChain ``Embeddings`` as the store's embedder.

    The store stamps ``model_id`` and ``dim`` into its tables and refuses to open with a
    different model later (vectors from two models are not comparable), so both must be
    stable: ``model_id`` defaults to ``langchain/<Class>/<model>``, and ``dim`` is probed once
    with a single query embedding unless given.
    """

    def __init__(
        self, embeddings: Embeddings, *, dim: int | None = None, model_id: str | None = None
    ) -> None:
        self.embeddings = embeddings
        self.model_id = model_id or model_label(embeddings, "langchain")
        self.dim = dim if dim is not None else len(embeddings.embed_query(_PROBE))

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed texts to store (batched by the LangChain model)."""
        return self.embeddings.embed_documents(list(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query."""
        return self.embeddings.embed_query(text)


def _to_langchain(messages: Sequence[Message]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for m in messages:
        if m.role == "system":
            out.append(SystemMessage(content=m.content))
        elif m.role == "assistant":
            out.append(AIMessage(content=m.content))
        else:
            out.append(HumanMessage(content=m.content))
    return out


class LangChainLLM:
    """Any LangChain chat model as the extraction LLM, through ``with_structured_output``.

    ``method`` is passed to ``with_structured_output`` when given (``"function_calling"``,
    ``"json_schema"``, ``"json_mode"``); by default each provider uses its own best method.
    ``usage`` adds up calls and tokens, from the response's ``usage_metadata`` when the
    provider reports it and estimated otherwise.
    """

    def __init__(self, model: BaseChatModel, *, method: str | None = None) -> None:
        self.model = model
        self.method = method
        self.usage = LLMUsage()
        self._runnables: dict[type[BaseModel], Runnable[Any, Any]] = {}

    def _structured(self, schema: type[BaseModel]) -> Runnable[Any, Any]:
        runnable = self._runnables.get(schema)
        if runnable is None:
            kwargs: dict[str, Any] = {"include_raw": True}
            if self.method is not None:
                kwargs["method"] = self.method
            runnable = self.model.with_structured_output(schema, **kwargs)
            self._runnables[schema] = runnable
        return runnable

    def structured(self, schema: type[T], messages: Sequence[Message]) -> T:
        """Ask the chat model for one ``schema`` object; raise ValueError if it gives none.

        The answer's parsing problems come back inside ``out`` (``include_raw``); anything the
        call raises is not an answer (an unsupported ``method=``, a context overflow, a refused
        connection) and becomes :class:`LLMError` with the cause, so it is never retried.
        """
        try:
            out = self._structured(schema).invoke(_to_langchain(messages))
        except Exception as exc:
            raise LLMError(
                f"{type(self.model).__name__} call failed: {type(exc).__name__}: {exc}"
            ) from exc
        raw, parsed, error = out.get("raw"), out.get("parsed"), out.get("parsing_error")
        self._count(raw, messages, parsed)
        if error is not None:
            raise StructuredOutputError(f"the model's answer did not parse: {error}") from error
        if parsed is None:
            raise StructuredOutputError(f"the model answered without a {schema.__name__}")
        if isinstance(parsed, schema):
            return parsed
        return schema.model_validate(parsed)

    def _count(self, raw: Any, messages: Sequence[Message], parsed: Any) -> None:
        tokens = _reported_tokens(raw)
        if tokens is not None:
            self.usage.record(*tokens, estimated=False)
        else:
            # What the model produced is its text plus its tool-call arguments: a runaway
            # answer inside a tool call must count, even when it did not parse.
            self.usage.record_estimate(messages, _answer_text(raw) or parsed or "")


def _reported_tokens(raw: Any) -> tuple[int, int] | None:
    """The provider's (prompt, completion) counts, or None when it reported none.

    ``usage_metadata`` first, else the OpenAI-style ``response_metadata["token_usage"]`` that
    llama.cpp and OpenAI-compatible servers send.
    """
    usage = getattr(raw, "usage_metadata", None)
    if usage:
        return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    meta = getattr(raw, "response_metadata", None)
    token_usage = meta.get("token_usage") if isinstance(meta, dict) else None
    if isinstance(token_usage, dict):
        prompt = token_usage.get("prompt_tokens", token_usage.get("input_tokens"))
        completion = token_usage.get("completion_tokens", token_usage.get("output_tokens"))
        if isinstance(prompt, int) or isinstance(completion, int):
            return int(prompt or 0), int(completion or 0)
    return None


def _answer_text(raw: Any) -> str:
    """The reply's text and every tool call's arguments (parsed, unparsed or raw)."""
    if not isinstance(raw, AIMessage):
        return ""
    parts: list[str] = [str(raw.text)]
    parts += [json.dumps(c.get("args", {}), ensure_ascii=False) for c in raw.tool_calls]
    parts += [str(c.get("args") or "") for c in raw.invalid_tool_calls]
    if not raw.tool_calls and not raw.invalid_tool_calls:
        for call in raw.additional_kwargs.get("tool_calls") or []:
            if isinstance(call, dict):
                parts.append(str((call.get("function") or {}).get("arguments") or ""))
    return "\n".join(p for p in parts if p)
