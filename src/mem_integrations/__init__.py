"""mem_integrations: long-term memory for LLM apps and agents over embedded LanceDB."""

from .core.async_memory import AsyncMemory
from .core.config import Limits, MemoryConfig
from .core.errors import (
    ConfigurationError,
    EmbeddingError,
    ExtractionError,
    IdentityFieldError,
    InvalidExpirationError,
    InvalidFilterError,
    LimitExceededError,
    LLMError,
    MemoryLayerError,
    MemoryNotFoundError,
    PartialWriteError,
    ReadOnlyStoreError,
    SchemaVersionError,
    ScopeRequiredError,
    StorageFullError,
    StoreError,
    UnknownArgumentError,
    ValidationError,
)
from .core.extraction.llm import StructuredLLM
from .core.memory import Memory
from .core.records import AddEvent, AddResult, HistoryEvent, MemoryRecord, Page, Scope, SearchHit

__version__ = "0.1.0"

__all__ = [
    "AddEvent",
    "AddResult",
    "AsyncMemory",
    "ConfigurationError",
    "EmbeddingError",
    "ExtractionError",
    "LLMError",
    "HistoryEvent",
    "IdentityFieldError",
    "InvalidExpirationError",
    "InvalidFilterError",
    "LimitExceededError",
    "Limits",
    "Memory",
    "MemoryConfig",
    "MemoryLayerError",
    "MemoryNotFoundError",
    "MemoryRecord",
    "Page",
    "PartialWriteError",
    "ReadOnlyStoreError",
    "SchemaVersionError",
    "Scope",
    "ScopeRequiredError",
    "SearchHit",
    "StorageFullError",
    "StoreError",
    "StructuredLLM",
    "UnknownArgumentError",
    "ValidationError",
    "__version__",
]
