"""Extraction: the LLM protocol (``llm``), the prompts (``prompts``), planning (``planning``).

Planning turns a conversation into ADD / UPDATE / DELETE / NONE operations against the scope's
related memories; the write path applies them. Nothing here imports the facade.
"""

from .llm import StructuredLLM, StructuredOutputError
from .planning import (
    ExtractionMode,
    FactList,
    MemoryAction,
    MemoryPlan,
    Operation,
    PlanContext,
    ask,
    plan_with_llm,
)

__all__ = [
    "ExtractionMode",
    "FactList",
    "MemoryAction",
    "MemoryPlan",
    "Operation",
    "PlanContext",
    "StructuredLLM",
    "StructuredOutputError",
    "ask",
    "plan_with_llm",
]
