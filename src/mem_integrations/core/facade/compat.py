"""Mem0's arguments that we accept without acting on them, and the refusal of all others.

Mem0 code passes arguments its own SDK has retired (``output_format``, ``version``,
``async_mode``... see Mem0's "Removed Parameters Reference") or that tune a service we do not
run (``rerank``). Refusing them with a ``TypeError`` would break code that ports by changing
one import; dropping them silently would hide that they do nothing here. So each is accepted
with a ``DeprecationWarning`` that names it and says why it is ignored, once per argument and
``Memory`` object, and an argument nobody knows is an :class:`UnknownArgumentError`.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import UnknownArgumentError

__all__ = ["IGNORED", "NO_OP", "ArgumentPolicy"]

_ONE_STORE = "a Memory is one store, chosen by uri"
_NO_LLM_KNOB = "extraction here has no such setting (configure the LLM's prompt instead)"

#: Accepted everywhere and ignored, with the reason the warning gives.
IGNORED: dict[str, str] = {
    "output_format": "there is one output format, Mem0's v1.1 dict shape",
    "version": "there is one API version",
    "api_version": "there is one API version",
    "async_mode": "calls finish before they return (use AsyncMemory for asyncio)",
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
