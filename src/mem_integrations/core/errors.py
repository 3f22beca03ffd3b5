"""One exception hierarchy for everything the package raises on purpose.

Every error a caller can provoke with bad input derives from :class:`MemoryLayerError`, so
``except MemoryLayerError`` is enough to handle all of them. The name deliberately avoids the
builtin ``MemoryError`` (which means "out of RAM").

::

    MemoryLayerError
    ├── ValidationError            bad input; raised before anything is written
    │   ├── ScopeRequiredError     no user_id / agent_id / run_id / app_id given
    │   ├── InvalidFilterError     unknown field or operator, wrong value type
    │   ├── InvalidExpirationError unparseable expiration_date
    │   ├── IdentityFieldError     scope ids smuggled in through metadata
    │   ├── LimitExceededError     batch, text, metadata or top_k over its limit
    │   └── UnknownArgumentError   a keyword argument nobody knows (also a TypeError)
    ├── MemoryNotFoundError        no memory with that id (in that scope)
    ├── EmbeddingError             the embedder failed or returned the wrong shape
    ├── ExtractionError            the LLM returned unusable output twice
    ├── LLMError                   the LLM call failed without an answer (cause chained)
    ├── StoreError                 LanceDB refused an operation; that commit changed nothing
    │   ├── SchemaVersionError     the store is newer than this package, or cannot migrate
    │   ├── StorageFullError       no space left on the store's disk (or quota)
    │   └── ReadOnlyStoreError     read-only mount or no permission to write
    ├── PartialWriteError          memories committed, history not (see the class): no retry
    └── ConfigurationError         inconsistent MemoryConfig

``ValidationError`` also subclasses :class:`ValueError`, and ``MemoryNotFoundError``
subclasses both :class:`KeyError` and :class:`ValueError` (Mem0 raises ``ValueError`` for an
unknown id), so code written against plain Python errors or against Mem0 keeps working.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigurationError",
    "EmbeddingError",
    "ExtractionError",
    "LLMError",
    "IdentityFieldError",
    "InvalidExpirationError",
    "InvalidFilterError",
    "LimitExceededError",
    "MemoryLayerError",
    "MemoryNotFoundError",
    "PartialWriteError",
    "ReadOnlyStoreError",
    "SchemaVersionError",
    "ScopeRequiredError",
    "StorageFullError",
    "StoreError",
    "UnknownArgumentError",
    "ValidationError",
]


class MemoryLayerError(Exception):
    """Base class of every error this package raises deliberately."""


class ValidationError(MemoryLayerError, ValueError):
    """The input was rejected before any write happened."""


class ScopeRequiredError(ValidationError):
    """The call names no scope, so it could reach every tenant's memories."""


class InvalidFilterError(ValidationError):
    """A filter names an unknown field or operator, or gives a value of the wrong type."""


class InvalidExpirationError(ValidationError):
    """An ``expiration_date`` that is neither a date, a datetime nor an ISO-8601 string."""


class IdentityFieldError(ValidationError):
    """Metadata tried to set a scope id; scope ids are only set by the scope arguments."""


class LimitExceededError(ValidationError):
    """A size limit (batch, text, metadata, top_k, page size) was exceeded."""


class UnknownArgumentError(ValidationError, TypeError):
    """A keyword argument that neither we nor Mem0 know: refused, never silently dropped.

    A ``TypeError`` too, because that is what Python raises for an unexpected keyword.
    """


class MemoryNotFoundError(MemoryLayerError, KeyError, ValueError):
    """No memory has this id, or it lies outside the caller's scope."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a message reads better unquoted.
        return str(self.args[0]) if self.args else "memory not found"


class EmbeddingError(MemoryLayerError):
    """The embedder failed or returned vectors of the wrong dimension."""


class ExtractionError(MemoryLayerError):
    """The LLM's output could not be validated even after one retry; nothing was written."""


class LLMError(MemoryLayerError):
    """The LLM call failed without answering; the original exception is the ``__cause__``.

    Connection refused, context window exceeded, an argument the model does not support: not
    retried, since the same call would fail the same way. Nothing was written.
    """


class StoreError(MemoryLayerError):
    """The underlying LanceDB store refused an operation."""


class SchemaVersionError(StoreError):
    """The store's schema version is unknown to this package or cannot be migrated."""


class StorageFullError(StoreError):
    """The disk (or quota) holding the store is full; the failed commit changed nothing."""


class ReadOnlyStoreError(StoreError):
    """The store cannot be written (read-only mount, permissions); nothing was changed."""


class PartialWriteError(MemoryLayerError):
    """Memories commits landed but what should follow them did not.

    Memories and history are two LanceDB tables, and no transaction spans both: when the
    history commit fails (full disk, read-only remount, lost races) the memories commit
    cannot be taken back. Who raises it, and what ``committed`` names:

    - by default history is committed behind the write call (queued, see
      ``storage.history_queue``), so the write returns and this is raised by the next call
      that commits the queue (``wait_for_housekeeping``, ``history``, ``stats``,
      ``optimize``, ``reset``, ``import_store``, ``close``). That call changed nothing
      itself; ``committed`` names the earlier writes' changes still waiting for their
      events, and ``result`` is ``None``;
    - with ``MemoryConfig(history_behind_writes=False)`` the write waits for its own history
      commit and raises this itself: ``committed`` names this call's changes only and
      ``result`` is what the operation returned (an ``AddResult``, the ``MemoryRecord`` list
      of an update or put, the number of memories deleted);
    - a call whose second memories commit failed after the first (an add that changed or
      added memories, then could not add or enrich the rest; a ``reset`` stopped part way):
      ``committed`` names what landed, ``result`` is ``None``.

    Either way the changes named are in place and complete; their events stay queued and are
    retried, and if the process ends first they are written (marked recovered) the next time
    the store is opened. ``committed`` is ``{"added": [...], "updated": [...], "deleted":
    [...]}`` (memory ids; empty kinds left out; ``{"reset": [...]}`` names the tables a
    ``reset`` cleared). Do not retry a write that raised it: it has been applied (a retried
    verbatim ``add`` would report ``NONE``).
    """

    def __init__(self, message: str, *, committed: dict[str, list[str]], result: Any) -> None:
        super().__init__(message)
        self.committed = committed
        self.result = result


class ConfigurationError(MemoryLayerError):
    """The configuration is inconsistent (e.g. an embedder whose dimension changed)."""
