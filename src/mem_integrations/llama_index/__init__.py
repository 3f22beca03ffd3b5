"""The LlamaIndex face of mem_integrations (``pip install "mem-integrations[llamaindex]"``).

Thin adapters over :class:`mem_integrations.Memory`; every search, write, filter, expiry and
decay decision is the core's.

- :class:`LongTermChatMemory`: a ``BaseMemory`` for chat engines and agents.
- :class:`LongTermMemoryBlock` and :func:`long_term_memory`: a block for
  ``llama_index.core.memory.Memory``, and a ``Memory`` that writes every turn through.
- :class:`MemoryRetriever`: a ``BaseRetriever`` returning ``NodeWithScore``.
- :func:`create_memory_tools`: ``FunctionTool``s to search / add / update / delete memories.
- :class:`DecayPostprocessor`: recency decay as a ``BaseNodePostprocessor``.
- :class:`LlamaIndexEmbedder`, :class:`LlamaIndexLLM`: LlamaIndex models as the core's
  embedder and extraction LLM.
"""

from importlib import import_module
from typing import Any

from ._common import register_memory
from .block import LongTermMemoryBlock, WriteThroughMemory, long_term_memory
from .chat_memory import DEFAULT_MEMORY_PROMPT, LongTermChatMemory
from .retriever import MemoryRetriever
from .tools import TOOL_NAMES, create_memory_tools

__all__ = [
    "DEFAULT_MEMORY_PROMPT",
    "TOOL_NAMES",
    "DecayPostprocessor",
    "LlamaIndexEmbedder",
    "LlamaIndexLLM",
    "LongTermChatMemory",
    "LongTermMemoryBlock",
    "MemoryRetriever",
    "WriteThroughMemory",
    "create_memory_tools",
    "long_term_memory",
    "register_memory",
]

#: Names that live in sibling modules, imported on first use so that one missing or broken
#: sibling cannot break ``import mem_integrations.llama_index``.
_LAZY = {
    "DecayPostprocessor": ".postprocessor",
    "LlamaIndexEmbedder": ".models",
    "LlamaIndexLLM": ".models",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(import_module(module, __name__), name)
    except (ImportError, AttributeError) as exc:
        raise AttributeError(
            f"{name} is not available: {__name__}{module} could not provide it ({exc})"
        ) from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
