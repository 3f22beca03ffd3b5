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
        """Ask the chat model for one ``schema`` object; raise ValueError if it gives none."""
        out = self._structured(schema).invoke(_to_langchain(messages))
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
        usage = getattr(raw, "usage_metadata", None)
        if usage:
            self.usage.record(
                int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)),
                estimated=False,
            )  # fmt: skip
        else:
            text = raw.text if isinstance(raw, AIMessage) else ""
            self.usage.record_estimate(messages, parsed if parsed is not None else text)
