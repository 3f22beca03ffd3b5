"""Shared edge helpers for the LangChain adapters: the import guard, scopes and sync/async calls.

Adapters accept either a :class:`~mem_integrations.Memory` or an
:class:`~mem_integrations.AsyncMemory`. Sync entry points call the sync core directly; async
entry points await ``AsyncMemory`` when given one (its bounded thread pool) and otherwise run
the sync call on a worker thread, so an event loop is never blocked by LanceDB or the embedder.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import Any

from ..core.async_memory import AsyncMemory
from ..core.memory import Memory

__all__ = [
    "INSTALL_HINT",
    "SCOPE_FIELDS",
    "MemoryLike",
    "acall",
    "call",
    "missing",
    "scope_from",
    "sync_memory",
]

INSTALL_HINT = 'pip install "mem-integrations[langchain]"'
SCOPE_FIELDS = ("user_id", "agent_id", "run_id", "app_id")

MemoryLike = Memory | AsyncMemory


def missing(exc: ImportError, hint: str = INSTALL_HINT) -> ImportError:
    """Build the ImportError adapters raise when their framework is absent (names the extra)."""
    err = ImportError(f"this module needs LangChain; install it with: {hint}")
    err.__cause__ = exc
    return err


def sync_memory(memory: Any) -> Memory:
    """Return the sync core behind ``memory``; a clear error for anything else."""
    if isinstance(memory, AsyncMemory):
        return memory.sync
    if isinstance(memory, Memory):
        return memory
    raise TypeError(f"expected a Memory or AsyncMemory, got {type(memory).__name__}")


def call(memory: Any, method: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call ``Memory.<method>`` synchronously."""
    return getattr(sync_memory(memory), method)(*args, **kwargs)


async def acall(memory: Any, method: str, /, *args: Any, **kwargs: Any) -> Any:
    """Await ``AsyncMemory.<method>`` if given one, else run the sync method on a thread."""
    if isinstance(memory, AsyncMemory) and hasattr(memory, method):
        return await getattr(memory, method)(*args, **kwargs)
    fn = getattr(sync_memory(memory), method)
    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))


def scope_from(source: Any) -> dict[str, str]:
    """Read the scope ids (``user_id`` ... ``app_id``) from a dict, dataclass or model.

    Used for LangGraph runtime contexts, which may be any of these; missing or ``None``
    fields are left out so they do not override defaults.
    """
    if source is None:
        return {}
    out: dict[str, str] = {}
    for name in SCOPE_FIELDS:
        value = source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
        if value is not None:
            out[name] = value
    return out
