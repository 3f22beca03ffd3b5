"""The one thing the core needs from a language model: a structured answer, validated.

Extraction speaks to any model through :class:`StructuredLLM`, a protocol with a single method.
The LangChain and LlamaIndex adapters (``mem_integrations.langchain.models`` and
``mem_integrations.llama_index.models``) implement it over ``with_structured_output`` and
``structured_predict``; :class:`mem_integrations.testing.ScriptedLLM` implements it for tests.
Keeping the protocol this small is what lets the core stay framework-free.

Contract: ``structured(schema, messages)`` returns an instance of ``schema``, or anything
:func:`validate_output` can turn into one (a dict, a JSON string, another model). A model that
answered but not in the requested shape raises :class:`StructuredOutputError` (pydantic's
``ValidationError``, ``json.JSONDecodeError`` and LangChain's ``OutputParserException`` count
too; see :func:`is_answer_error`): the caller retries once on that. Any other ``ValueError``
(llama.cpp's "context window exceeded", an unsupported ``method=``) is not an answer and
becomes :class:`~mem_integrations.core.errors.LLMError` with the cause, never retried; other
exceptions (network, authentication, rate limit) propagate as they are. The LangChain and
LlamaIndex adapters turn every failure of the call itself into ``LLMError``.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from ..messages import Message

__all__ = [
    "LLMUsage",
    "is_answer_error",
    "StructuredLLM",
    "StructuredOutputError",
    "estimate_tokens",
    "model_label",
    "validate_output",
]

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class StructuredOutputError(ValueError):
    """The model answered, but not with an object of the requested schema."""


def is_answer_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the model answered in the wrong shape (worth one retry).

    LangChain's ``OutputParserException`` is recognised by name: the core imports no framework.
    """
    if isinstance(exc, (StructuredOutputError, ValidationError, json.JSONDecodeError)):
        return True
    return any(c.__name__ == "OutputParserException" for c in type(exc).__mro__)


@runtime_checkable
class StructuredLLM(Protocol):
    """Any chat model that can answer with an instance of a pydantic schema."""

    def structured(self, schema: type[T], messages: Sequence[Message]) -> T | Any:
        """Answer ``messages`` (system and user turns) with one ``schema`` object.

        May return the object itself, or a dict / JSON string that validates into it.
        """
        ...


def validate_output(schema: type[T], raw: Any) -> T:
    """Turn what a model returned into a validated ``schema`` instance, or raise ValueError.

    Tolerates the usual wrappings (a JSON string inside a Markdown code fence, a model instance
    of a look-alike class) so that a model that is merely chatty is not counted as wrong.
    """
    if isinstance(raw, schema):
        return raw
    if isinstance(raw, BaseModel):
        return schema.model_validate(raw.model_dump())
    if isinstance(raw, Mapping):
        return schema.model_validate(dict(raw))
    if isinstance(raw, (str, bytes)):
        text = raw.decode() if isinstance(raw, bytes) else raw
        fenced = _FENCE.match(text)
        return schema.model_validate_json(fenced.group(1) if fenced else text)
    raise StructuredOutputError(
        f"expected a {schema.__name__}, a dict or JSON text, got {type(raw).__name__}"
    )


def model_label(model: object, framework: str) -> str:
    """Name a framework model object stably, e.g. ``langchain/OpenAIEmbeddings/text-3-small``.

    Used as an embedder's ``model_id``, which the store stamps into its tables so that a store
    built with one model is never silently searched with another.
    """
    parts = [framework, type(model).__name__]
    for attr in ("model", "model_name", "model_id", "deployment"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            parts.append(value)
            break
    return "/".join(parts)


def estimate_tokens(text: str) -> int:
    """Estimate tokens provider-independently (~4 characters per token of English text)."""
    return math.ceil(len(text) / 4) if text else 0


@dataclass
class LLMUsage:
    """Running totals of calls and tokens, for cost accounting and the benchmark.

    Adapters record the provider's own token counts when the response carries them and an
    estimate (:func:`estimate_tokens`) otherwise; ``estimated_calls`` says how many were guessed.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, prompt_tokens: int, completion_tokens: int, *, estimated: bool) -> None:
        """Count one call (thread-safe: ``AsyncMemory`` runs adds on worker threads)."""
        with self._lock:
            self.calls += 1
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens
            self.estimated_calls += int(estimated)

    def record_estimate(self, messages: Sequence[Message], answer: Any) -> None:
        """Count one call whose token numbers the provider did not report."""
        self.record(
            sum(estimate_tokens(m.content) for m in messages),
            estimate_tokens(_as_text(answer)),
            estimated=True,
        )

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        """Return the totals as plain numbers."""
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "estimated_calls": self.estimated_calls,
        }


def _as_text(answer: Any) -> str:
    if isinstance(answer, BaseModel):
        return answer.model_dump_json()
    if isinstance(answer, str):
        return answer
    try:
        return json.dumps(answer, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(answer)
