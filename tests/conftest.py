from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
