"""The public face changes only on purpose: this list is the contract."""

from __future__ import annotations

import mem_integrations

EXPECTED = [
    "AddEvent", "AddResult", "AsyncMemory", "ConfigurationError", "EmbeddingError",
    "ExtractionError", "HistoryEvent", "IdentityFieldError", "InvalidExpirationError",
    "InvalidFilterError", "LimitExceededError", "Limits", "LLMError", "Memory", "MemoryConfig",
    "MemoryLayerError", "MemoryNotFoundError", "MemoryRecord", "Page", "PartialWriteError",
    "ReadOnlyStoreError", "SchemaVersionError", "Scope", "ScopeRequiredError", "SearchHit",
    "StorageFullError", "StoreError", "StructuredLLM", "UnknownArgumentError", "ValidationError",
    "__version__",
]  # fmt: skip


def test_exported_members() -> None:
    assert sorted(mem_integrations.__all__) == sorted(EXPECTED)
    for name in EXPECTED:
        assert hasattr(mem_integrations, name), name


def test_errors_share_one_base() -> None:
    base = mem_integrations.MemoryLayerError
    for name in EXPECTED:
        obj = getattr(mem_integrations, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, base), name
    assert not issubclass(base, MemoryError)  # never shadows the builtin


def test_core_never_imports_a_framework() -> None:
    import pathlib
    import re

    core = pathlib.Path(mem_integrations.__file__).parent / "core"
    pattern = re.compile(r"^\s*(from|import)\s+(langchain|langgraph|llama_index)", re.M)
    offenders = [p.name for p in core.glob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
