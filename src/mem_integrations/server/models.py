"""Request bodies of the Mem0 platform routes, as Mem0's clients (2.x) send them.

Unknown fields are refused (``extra="forbid"``) rather than ignored: a caller who sends
``reference_date`` or ``enable_graph`` expects behaviour this server does not have, and a 400
that names the field is better than an answer that silently means something else. Options
that exist but that we cannot honour (``rerank``, ``keyword_search``) are accepted only with
their no-op value, for the same reason.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AddBody",
    "BatchBody",
    "FeedbackBody",
    "ListBody",
    "SearchBody",
    "UpdateBody",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Scoped(_Body):
    """Scope ids as top-level fields (Mem0 v1 style); v3 clients put them in ``filters``."""

    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    app_id: str | None = None

    def scope_args(self) -> dict[str, str | None]:
        """The four scope fields as keyword arguments."""
        return {
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "run_id": self.run_id,
            "app_id": self.app_id,
        }


class AddBody(_Scoped):
    """``POST /v3/memories/add/``."""

    messages: list[dict[str, Any]] | dict[str, Any] | str
    filters: dict[str, Any] | None = Field(
        default=None, description="Scope ids as Mem0's add options carry them."
    )
    metadata: dict[str, Any] | None = None
    categories: list[str] | None = None
    expiration_date: str | None = None
    infer: bool = True
    custom_categories: list[str | dict[str, str]] | None = None
    custom_instructions: str | None = Field(
        default=None, description="Extraction instructions for this call (needs an LLM)."
    )
    async_mode: bool | None = Field(
        default=None, description="Accepted for compatibility: adds always complete in the call."
    )
    output_format: Literal["v1.1"] | None = None


class SearchBody(_Scoped):
    """``POST /v3/memories/search/`` (also v2)."""

    query: str
    filters: dict[str, Any] | None = None
    top_k: int | None = None
    limit: int | None = None
    threshold: float | None = None
    show_expired: bool = False
    categories: list[str] | None = None
    metadata: dict[str, Any] | None = None
    fields: list[str] | None = None
    decay: bool | None = Field(default=None, description="Recency decay for this call.")
    rerank: Literal[False] = False
    keyword_search: Literal[False] = False
    latest_only: bool | None = Field(
        default=None, description="Always true here: an update rewrites the memory in place."
    )


class ListBody(_Scoped):
    """``POST /v3/memories/`` (also v2): one page of a scope."""

    filters: dict[str, Any] | None = None
    page: int | None = None
    page_size: int | None = None
    show_expired: bool = False
    start_date: str | None = None
    end_date: str | None = None
    categories: list[str] | None = None
    keywords: str | None = None
    fields: list[str] | None = None
    latest_only: bool | None = None


class UpdateBody(_Body):
    """``PUT /v1/memories/{id}/``: any of text, metadata, categories, expiration_date."""

    text: str | None = None
    metadata: dict[str, Any] | None = None
    categories: list[str] | None = None
    expiration_date: str | None = None


class BatchBody(_Body):
    """``PUT`` / ``DELETE /v1/batch/``: ``{"memories": [{"memory_id", ...}]}``."""

    memories: list[dict[str, Any]]


class FeedbackBody(_Body):
    """``POST /v1/feedback/``."""

    memory_id: str
    feedback: Literal["POSITIVE", "NEGATIVE", "VERY_NEGATIVE"] | None = None
    feedback_reason: str | None = None
