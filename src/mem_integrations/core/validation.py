"""Input validation shared by every ``Memory`` method.

Every public call validates all of its input with these checks before the first write, so a
bad item in the middle of a batch changes nothing. Limits come from ``MemoryConfig.limits``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .config import Limits
from .errors import IdentityFieldError, LimitExceededError, ValidationError
from .messages import bad_text_reason
from .records import Scope

__all__ = ["IDENTITY_FIELDS", "Validator"]

#: Keys that metadata may never set: scope ids and identity live in their own columns.
IDENTITY_FIELDS = frozenset({"user_id", "agent_id", "run_id", "app_id", "actor_id", "id"})


class Validator:
    """The checks, bound to one store's limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def scope(self, **ids: Any) -> Scope:
        """Scope ids: non-empty valid text, at most 512 characters."""
        for name, value in ids.items():
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValidationError(f"{name} must be a non-empty string, got {value!r}")
            if isinstance(value, str) and (bad_text_reason(value) or len(value) > 512):
                raise ValidationError(f"{name} must be valid text of at most 512 characters")
        return Scope(**ids)

    def metadata(self, metadata: Any) -> str | None:
        """Metadata as JSON text; refuses identity keys, NaN, invalid text and oversize."""
        if metadata is None:
            return None
        if not isinstance(metadata, Mapping):
            raise ValidationError(f"metadata must be a dict, got {type(metadata).__name__}")
        bad = IDENTITY_FIELDS.intersection(metadata)
        if bad:
            raise IdentityFieldError(
                f"metadata cannot set identity fields {sorted(bad)}; pass them as arguments"
            )
        self._metadata_values(metadata)
        try:
            text = json.dumps(dict(metadata), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"metadata must be JSON-serialisable: {exc}") from exc
        if "\\u0000" in text or bad_text_reason(text):
            raise ValidationError("metadata contains a NUL character or invalid Unicode")
        if len(text.encode()) > self.limits.max_metadata_bytes:
            raise LimitExceededError(
                f"metadata is {len(text.encode())} bytes; the limit is "
                f"{self.limits.max_metadata_bytes}"
            )
        return text

    def _metadata_values(self, metadata: Mapping[str, Any]) -> None:
        """Refuse what the store cannot keep exactly: deep nesting, integers beyond 64 bits.

        Walks the value without recursion, so a 100,000-deep dict is refused, not a crash.
        The store keeps JSON numbers as 64-bit integers or doubles: a bigger integer would come
        back as a float or as null, so it is refused rather than silently changed.
        """
        limit = self.limits.max_metadata_depth
        stack: list[tuple[Any, int]] = [(metadata, 1)]
        while stack:
            value, depth = stack.pop()
            if isinstance(value, (Mapping, list, tuple)):
                if depth > limit:
                    raise LimitExceededError(
                        f"metadata is nested more than {limit} levels deep; flatten it"
                    )
                items = value.values() if isinstance(value, Mapping) else value
                stack.extend((v, depth + 1) for v in items)
            elif isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise ValidationError(
                    f"a metadata integer of {value.bit_length()} bits is outside the 64-bit "
                    "range the store keeps exactly; store it as a string"
                )

    def categories(self, categories: Any) -> list[str]:
        """Categories deduplicated in order; each a non-empty valid string."""
        if categories is None:
            return []
        if isinstance(categories, str) or not isinstance(categories, Iterable):
            raise ValidationError("categories must be a list of strings")
        out = list(dict.fromkeys(categories))
        if not all(isinstance(c, str) and c.strip() and not bad_text_reason(c) for c in out):
            raise ValidationError("every category must be a non-empty, valid string")
        if len(out) > self.limits.max_categories:
            raise LimitExceededError(f"at most {self.limits.max_categories} categories")
        longest = max(map(len, out), default=0)
        if longest > self.limits.max_category_chars:
            raise LimitExceededError(
                f"a category of {longest} characters exceeds the limit of "
                f"{self.limits.max_category_chars}; categories are labels"
            )
        return out

    def text(self, text: Any, what: str = "text") -> str:
        """A memory text or query: non-empty, valid Unicode, within the length limit."""
        if not isinstance(text, str) or not text.strip():
            raise ValidationError(f"{what} must be a non-empty string")
        reason = bad_text_reason(text)
        if reason:
            raise ValidationError(f"{what} {reason}")
        if len(text) > self.limits.max_text_chars:
            raise LimitExceededError(
                f"{what} of {len(text)} characters exceeds the limit of "
                f"{self.limits.max_text_chars}"
            )
        return text

    def top_k(self, top_k: Any, name: str = "top_k") -> int:
        """A positive integer within ``max_top_k`` (bool is not an integer here)."""
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValidationError(f"{name} must be a positive integer, got {top_k!r}")
        if top_k > self.limits.max_top_k:
            raise LimitExceededError(f"{name} must be at most {self.limits.max_top_k}")
        return top_k

    def batch(self, items: Any) -> list[Mapping[str, Any]]:
        """A batch of ``{'memory_id': ...}`` items: non-empty, within limit, no repeats."""
        if isinstance(items, (str, Mapping)) or not isinstance(items, Sequence):
            raise ValidationError("batch operations take a list of {'memory_id': ...} dicts")
        if not items:
            raise ValidationError("batch is empty")
        if len(items) > self.limits.max_batch:
            raise LimitExceededError(
                f"at most {self.limits.max_batch} items per batch, got {len(items)}"
            )
        for it in items:
            if not isinstance(it, Mapping) or not isinstance(it.get("memory_id"), str):
                raise ValidationError("every batch item needs a string 'memory_id'")
        ids = [it["memory_id"] for it in items]
        if len(set(ids)) != len(ids):
            raise ValidationError("a batch names the same memory_id twice")
        return list(items)
