"""LangChain and LangGraph faces of the memory layer (extra ``[langchain]``).

Every class here is a thin adapter over :class:`mem_integrations.Memory`: it converts
LangChain types at the edge and delegates storage, filtering, expiry and decay to the core.

- :class:`MemoryRetriever`: a ``BaseRetriever`` returning memories as ``Document`` objects.
- :class:`LanceDBStore`: a LangGraph ``BaseStore`` on the same tables (``create_agent(store=)``).
- :func:`create_memory_tools` and the four tool classes: search / add / update / delete.
- :class:`MemoryMiddleware`: recall before the model call, remember after the agent finishes.
- :class:`ChainMemory`: a classic ``BaseMemory`` (needs ``[classic]``).
- :class:`DecayCompressor`, :class:`LangChainEmbedder`, :class:`LangChainLLM`: the decay
  reranker and the model adapters that let LangChain objects serve the core.

Names are imported lazily, so ``import mem_integrations.langchain`` stays cheap and one
missing optional piece (``langchain_classic``) does not break the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._common import missing

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise missing(exc) from exc

if TYPE_CHECKING:
    from .classic import ChainMemory
    from .compressor import DecayCompressor
    from .middleware import MemoryMiddleware
    from .models import LangChainEmbedder, LangChainLLM
    from .retriever import MemoryRetriever
    from .store import LanceDBStore
    from .tools import (
        MemoryAddTool,
        MemoryDeleteTool,
        MemorySearchTool,
        MemoryUpdateTool,
        create_memory_tools,
    )

__all__ = [
    "ChainMemory",
    "DecayCompressor",
    "LanceDBStore",
    "LangChainEmbedder",
    "LangChainLLM",
    "MemoryAddTool",
    "MemoryDeleteTool",
    "MemoryMiddleware",
    "MemoryRetriever",
    "MemorySearchTool",
    "MemoryUpdateTool",
    "create_memory_tools",
]

_WHERE = {
    "ChainMemory": "classic",
    "DecayCompressor": "compressor",
    "LanceDBStore": "store",
    "LangChainEmbedder": "models",
    "LangChainLLM": "models",
    "MemoryAddTool": "tools",
    "MemoryDeleteTool": "tools",
    "MemoryMiddleware": "middleware",
    "MemoryRetriever": "retriever",
    "MemorySearchTool": "tools",
    "MemoryUpdateTool": "tools",
    "create_memory_tools": "tools",
}


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
