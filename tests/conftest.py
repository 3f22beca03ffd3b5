from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mem_integrations import Memory, MemoryConfig
from mem_integrations.testing import FrozenClock, HashEmbedder


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def memory(tmp_path: Path, clock: FrozenClock) -> Iterator[Memory]:
    m = Memory(MemoryConfig(uri=str(tmp_path / "store"), embedder=HashEmbedder(), clock=clock))
    yield m
    m.close()


@pytest.fixture
async def disposing() -> AsyncIterator[Callable[[Any], Any]]:
    """Close the SQLite engines of LlamaIndex ``Memory`` objects (else aiosqlite warns at exit).

    Wrap each ``Memory`` a test builds: ``mem = disposing(long_term_memory(...))``.
    """
    made: list[Any] = []
    yield lambda m: made.append(m) or m
    for m in made:
        engine = getattr(m.sql_store, "_async_engine", None)
        if engine is not None:
            await engine.dispose()
