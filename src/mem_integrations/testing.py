"""Test doubles that ship with the library, so tests, docs and cookbooks run offline and exact.

- :class:`HashEmbedder`: deterministic bag-of-words vectors; texts sharing words are similar.
- :class:`FrozenClock`: a clock that only moves when told to.
- :class:`ScriptedLLM`: returns queued structured outputs (see ``core.extraction.llm``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from .core.clock import utc
from .core.extraction.llm import LLMUsage
from .core.extraction.prompts import MEMORIES_HEADER
from .core.messages import Message

__all__ = ["FrozenClock", "HashEmbedder", "ScriptedCall", "ScriptedLLM"]

_WORD = re.compile(r"\w+", re.UNICODE)


class HashEmbedder:
    """Bag-of-words hashed into ``dim`` buckets and L2-normalised.

    Cheap and deterministic: two texts are similar exactly when they share (lower-cased) words,
    which makes ranking assertions in tests readable. Not a semantic model.
    """

    def __init__(self, dim: int = 64, model_id: str | None = None) -> None:
        self.dim = dim
        self.model_id = model_id or f"hash-bow-{dim}"

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
            v[h % self.dim] += 1.0
        norm = math.sqrt(sum(x * x for x in v))
        if norm == 0.0:
            v[0] = 1.0
            return v
        return [x / norm for x in v]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text."""
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Same space as documents."""
        return self._vec(text)


class FrozenClock:
    """A clock for tests: ``now()`` is fixed until :meth:`advance` or :meth:`set` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = utc(start) if start is not None else datetime(2025, 1, 1, 12, tzinfo=UTC)

    def now(self) -> datetime:
        """The frozen instant."""
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; returns the new now."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to an instant."""
        self._now = utc(when)


@dataclass(frozen=True)
class ScriptedCall:
    """One call a :class:`ScriptedLLM` answered: what it was asked and what it returned."""

    schema: str
    messages: tuple[Message, ...]
    answer: Any


class ScriptedLLM:
    """A fake LLM that plays back queued answers, for tests, docs and cookbooks.

    Implements ``core.extraction.llm.StructuredLLM``. Each call takes the next queued answer: a
    pydantic object, a dict, a JSON string (malformed ones included, to exercise the retry),
    an exception to raise, or a callable ``(schema, messages) -> answer`` for answers that
    depend on the prompt (see :meth:`memory_ids`). When the queue is empty it returns
    ``default`` if one was given and raises ``LookupError`` otherwise, so an unexpected extra
    call fails loudly.

    ``calls`` keeps every exchange; ``usage`` counts calls and estimated tokens
    (``core.extraction.llm.estimate_tokens``), which is what the extraction benchmark reports.
    """

    def __init__(self, answers: Iterable[Any] = (), *, default: Any = None) -> None:
        self._queue: deque[Any] = deque(answers)
        self._lock = threading.Lock()
        self.default = default
        self.calls: list[ScriptedCall] = []
        self.usage = LLMUsage()

    def push(self, *answers: Any) -> None:
        """Queue more answers."""
        with self._lock:
            self._queue.extend(answers)

    @property
    def pending(self) -> int:
        """Answers queued and not yet used."""
        return len(self._queue)

    def structured(self, schema: type[BaseModel], messages: Sequence[Message]) -> Any:
        """Return the next scripted answer (the core validates it against ``schema``)."""
        with self._lock:
            if self._queue:
                answer = self._queue.popleft()
            elif self.default is not None:
                answer = self.default
            else:
                raise LookupError(f"ScriptedLLM has no answer left for a {schema.__name__} call")
        if callable(answer) and not isinstance(answer, (BaseModel, type)):
            answer = answer(schema, list(messages))
        with self._lock:
            self.calls.append(ScriptedCall(schema.__name__, tuple(messages), answer))
        self.usage.record_estimate(messages, "" if isinstance(answer, BaseException) else answer)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    @staticmethod
    def memory_ids(messages: Sequence[Message]) -> dict[str, str]:
        """Map the existing memories shown in an extraction prompt to their local ids.

        Lets a scripted answer refer to "the memory that says X" without knowing the order in
        which retrieval listed them.
        """
        for m in messages:
            head, sep, rest = m.content.partition(MEMORIES_HEADER + "\n")
            if sep:
                items = json.loads(rest.split("\n", 1)[0])
                return {item["text"]: item["id"] for item in items}
        return {}
