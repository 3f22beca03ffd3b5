"""Mem0's arguments that we accept without acting on them, and the refusal of all others.

Mem0 code passes arguments its own SDK has retired (``output_format``, ``version``,
``async_mode``... see Mem0's "Removed Parameters Reference") or that tune a service we do not
run (``rerank``). Refusing them with a ``TypeError`` would break code that ports by changing
one import; dropping them silently would hide that they do nothing here. So each is accepted
with a ``DeprecationWarning`` that names it and says why it is ignored, once per argument and
``Memory`` object, and an argument nobody knows is an :class:`UnknownArgumentError`.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from ..errors import UnknownArgumentError, ValidationError

__all__ = ["IGNORED", "NO_OP", "ArgumentPolicy", "accepts_options"]

F = TypeVar("F", bound=Callable[..., Any])

_ONE_STORE = "a Memory is one store, chosen by uri"
_NO_LLM_KNOB = "extraction here has no such setting (configure the LLM's prompt instead)"

#: Accepted everywhere and ignored, with the reason the warning gives.
IGNORED: dict[str, str] = {
    "output_format": "there is one output format, Mem0's v1.1 dict shape",
    "version": "there is one API version",
    "api_version": "there is one API version",
    "async_mode": "calls finish before they return (MemoryConfig(queue_adds=True) answers an "
    "add once it is logged on disk; use AsyncMemory for asyncio)",
    "org_id": _ONE_STORE,
    "project_id": _ONE_STORE,
    "org_name": _ONE_STORE,
    "project_name": _ONE_STORE,
    "enable_graph": "there is no graph memory",
    "immutable": "memories can always be updated",
    "filter_memories": _NO_LLM_KNOB,
    "batch_size": "batches are sized by the store",
    "force_add_only": _NO_LLM_KNOB,
    "includes": _NO_LLM_KNOB,
    "excludes": _NO_LLM_KNOB,
    "agent_custom_instructions": _NO_LLM_KNOB,
    "structured_data_schema": _NO_LLM_KNOB,
    "keyword_search": "search is always hybrid: vector and full text (BM25)",
    "rerank": "there is no reranker: results are ranked by the fused vector + BM25 score",
    "latest_only": "memories are rewritten in place, so every memory is the latest",
}

#: Values of ignored arguments that ask for exactly what happens anyway: no warning.
NO_OP: dict[str, Any] = {"rerank": False, "keyword_search": True, "latest_only": True}


class ArgumentPolicy:
    """Checks the extra keyword arguments of one ``Memory``'s calls."""

    def __init__(self) -> None:
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def check(self, method: str, extra: Mapping[str, Any]) -> None:
        """Refuse unknown names; warn once per ignored name that changes nothing here."""
        unknown = sorted(k for k in extra if k not in IGNORED)
        if unknown:
            raise UnknownArgumentError(
                f"{method}() got unknown argument(s) {unknown}; see docs/migration-from-mem0.md"
            )
        with self._lock:
            fresh = [
                k
                for k, v in extra.items()
                if v is not None and not (k in NO_OP and v == NO_OP[k]) and k not in self._warned
            ]
            self._warned.update(fresh)
        if fresh:
            why = "; ".join(f"{k}: {IGNORED[k]}" for k in fresh)
            warnings.warn(
                f"{method}() ignores {', '.join(fresh)} ({why})", DeprecationWarning, stacklevel=3
            )


def accepts_options(method: F) -> F:
    """Let ``method`` take its keywords as Mem0's typed ``options=`` too.

    Mem0's client methods accept ``options=SearchMemoryOptions(filters=..., top_k=...)`` (any
    of its pydantic ``*Options`` models) beside plain keywords, and read them as
    ``{**options.model_dump(exclude_unset=True), **kwargs}``: so do we, and a mapping works
    the same. The fields then go through the method's own checks, unknown ones included.
    """

    @functools.wraps(method)
    def with_options(self: Any, *args: Any, **kwargs: Any) -> Any:
        options = kwargs.pop("options", None)
        if options is not None:
            dump = getattr(options, "model_dump", None)
            if callable(dump):
                fields = dict(dump(exclude_unset=True))
            elif isinstance(options, Mapping):
                fields = dict(options)
            else:
                raise ValidationError(
                    f"options must be a mapping or one of Mem0's options models, got "
                    f"{type(options).__name__}"
                )
            kwargs = {**fields, **kwargs}
        return method(self, *args, **kwargs)

    return cast(F, with_options)
