"""Memories as a prompt shows them: their words (never a JSON dump), and only relevant ones.

The recall prompts of the LangChain middleware and of LlamaIndex's chat memory and memory block
all go through :func:`prompt_memories`, so they agree on two things:

- **Text, not JSON.** A LangGraph-store item keeps its value as JSON text (``{"text": "..."}``)
  because that is what LangGraph indexes; a model reading ``- {"text": "Drinks green tea"}``
  sees syntax, not a fact. :func:`memory_text` shows a value's words instead.
- **A relevance floor.** A search always returns its top k, related or not; below
  :data:`DEFAULT_RELEVANCE_FLOOR` (fused relevance, before decay) a memory is not injected.
  ``bench/floor.py`` (``bench/results/floor.json``) chose 0.25 with the default embedder: on
  LOCOMO every gold evidence turn that reached the top 10 scores above it; on the cookbooks'
  chat, "I am vegetarian" for "Can you suggest a dinner?" scores 0.27 and must stay, while
  "I live in Porto" for "What is the capital of Peru?" (0.19) and "I work night shifts as a
  nurse" for the dinner (0.22) are dropped. 0.35 would also have dropped the vegetarian
  memory. Another embedder may want another floor: hence the adapters' ``relevance_floor``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from .records import SearchHit

__all__ = [
    "DEFAULT_RELEVANCE_FLOOR",
    "check_floor",
    "memory_text",
    "prompt_hits",
    "prompt_memories",
]

DEFAULT_RELEVANCE_FLOOR = 0.25

#: Keys whose value is the item's text; shown first and without the key.
_TEXT_KEYS = ("text", "content", "memory", "fact", "data")


def check_floor(floor: float) -> float:
    """A floor is a relevance in [0, 1]; 0 injects every hit as before."""
    if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
        raise ValueError(f"relevance_floor must be a number in [0, 1], got {floor!r}")
    return float(floor)


def _words(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return "; ".join(w for w in (_words(v) for v in value) if w)
    if isinstance(value, dict):
        parts = [_words(value[k]) for k in _TEXT_KEYS if k in value]
        parts += [f"{k}: {w}" for k, v in value.items() if k not in _TEXT_KEYS if (w := _words(v))]
        return "; ".join(p for p in parts if p)
    return str(value)


def memory_text(text: str) -> str:
    """The words of a memory: a JSON object or list becomes its values, plain text stays."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return text
    try:
        value = json.loads(stripped)
    except ValueError:
        return text
    return _words(value) or text


def prompt_hits(
    hits: Sequence[SearchHit],
    *,
    floor: float = DEFAULT_RELEVANCE_FLOOR,
    exclude: Iterable[str] = (),
) -> list[tuple[SearchHit, str]]:
    """The hits to inject with their text: relevant enough, not already in the chat, each once."""
    seen = {t.strip() for t in exclude}
    out: list[tuple[SearchHit, str]] = []
    for hit in hits:
        if hit.relevance < floor:
            continue
        text = memory_text(hit.memory).strip()
        if text and text not in seen and hit.memory.strip() not in seen:
            seen.add(text)
            out.append((hit, text))
    return out


def prompt_memories(
    hits: Sequence[SearchHit],
    *,
    floor: float = DEFAULT_RELEVANCE_FLOOR,
    exclude: Iterable[str] = (),
) -> list[str]:
    """The texts of :func:`prompt_hits`."""
    return [text for _, text in prompt_hits(hits, floor=floor, exclude=exclude)]
