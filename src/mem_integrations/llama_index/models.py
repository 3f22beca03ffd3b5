"""LlamaIndex models serving the core: a ``BaseEmbedding`` as embedder, an ``LLM`` as the LLM.

::

    from llama_index.embeddings.openai import OpenAIEmbedding
    from llama_index.llms.openai import OpenAI
    from mem_integrations import Memory
    from mem_integrations.llama_index import LlamaIndexEmbedder, LlamaIndexLLM

    memory = Memory(
        embedder=LlamaIndexEmbedder(OpenAIEmbedding(model="text-embedding-3-small")),
        llm=LlamaIndexLLM(OpenAI(model="gpt-4.1-mini", temperature=0)),
    )

Both are edge adapters: they convert types and count usage; the core decides everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

try:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.base.llms.types import ChatMessage, MessageRole
    from llama_index.core.llms.llm import LLM
    from llama_index.core.prompts import ChatPromptTemplate
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'mem_integrations.llama_index needs LlamaIndex: pip install "mem-integrations[llamaindex]"'
    ) from exc

from pydantic import BaseModel

from ..core.errors import LLMError
from ..core.extraction.llm import LLMUsage, StructuredOutputError, model_label
from ..core.messages import Message

__all__ = ["LlamaIndexEmbedder", "LlamaIndexLLM"]

T = TypeVar("T", bound=BaseModel)

_PROBE = "dimension probe"
_ROLES = {"system": MessageRole.SYSTEM, "assistant": MessageRole.ASSISTANT}


class LlamaIndexEmbedder:
    """Any LlamaIndex ``BaseEmbedding`` as the store's embedder.

    The store stamps ``model_id`` and ``dim`` into its tables and refuses to open with a
    different model later, so both must be stable: ``model_id`` defaults to
    ``llama_index/<Class>/<model_name>``, and ``dim`` is probed once unless given.
    """

    def __init__(
        self, embedding: BaseEmbedding, *, dim: int | None = None, model_id: str | None = None
    ) -> None:
        self.embedding = embedding
        self.model_id = model_id or model_label(embedding, "llama_index")
        self.dim = dim if dim is not None else len(embedding.get_query_embedding(_PROBE))

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed texts to store (batched by the LlamaIndex model)."""
        return self.embedding.get_text_embedding_batch(list(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (query-side instructions apply for asymmetric models)."""
        return self.embedding.get_query_embedding(text)


class LlamaIndexLLM:
    """Any LlamaIndex ``LLM`` as the extraction LLM, through ``structured_predict``.

    Function-calling models answer through a tool call, others through LlamaIndex's JSON
    output parser: ``structured_predict`` picks. ``usage`` adds up calls and estimated tokens
    (``structured_predict`` does not expose the provider's counts).
    """

    def __init__(self, llm: LLM) -> None:
        self.llm = llm
        self.usage = LLMUsage()

    def structured(self, schema: type[T], messages: Sequence[Message]) -> T:
        """Ask the LLM for one ``schema`` object; raise ValueError if it gives none."""
        # Each message is a template variable, so braces in the text are never formatted.
        template = ChatPromptTemplate(
            message_templates=[
                ChatMessage(role=_ROLES.get(m.role, MessageRole.USER), content=f"{{m{i}}}")
                for i, m in enumerate(messages)
            ]
        )
        values = {f"m{i}": m.content for i, m in enumerate(messages)}
        try:
            out = self.llm.structured_predict(schema, template, **values)
        except Exception as exc:
            # structured_predict both calls the model and parses its answer. LlamaIndex signals
            # an unusable answer with ValueError or TypeError raised while parsing; the same
            # types raised by the model call (llama.cpp's context overflow) are not answers.
            if isinstance(exc, (ValueError, TypeError)) and _raised_parsing(exc):
                self.usage.record_estimate(messages, "")
                raise StructuredOutputError(f"the model's answer did not parse: {exc}") from exc
            raise LLMError(
                f"{type(self.llm).__name__} call failed: {type(exc).__name__}: {exc}"
            ) from exc
        self.usage.record_estimate(messages, out)
        if not isinstance(out, schema):
            raise StructuredOutputError(f"the model answered without a {schema.__name__}")
        return out


#: Where LlamaIndex parses and validates structured answers (and pydantic, which it calls).
_PARSING_MODULES = (
    "llama_index.core.program",
    "llama_index.core.output_parsers",
    "llama_index.core.llms.llm",
    "pydantic",
    "json",
)


def _raised_parsing(exc: BaseException) -> bool:
    """Whether the innermost frame that raised ``exc`` belongs to answer parsing."""
    tb = exc.__traceback__
    module = ""
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    return module.startswith(_PARSING_MODULES)
