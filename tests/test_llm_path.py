"""The LLM path with real framework classes: token usage when providers report it their way,
and (below) failures that are not an answer.

A ``GenericFakeChatModel`` plays the provider: its scripted ``AIMessage`` carries what a local
server sends (llama.cpp and OpenAI-compatible endpoints put counts in
``response_metadata["token_usage"]`` and no ``usage_metadata``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from mem_integrations import ExtractionError, Memory, MemoryConfig
from mem_integrations.langchain.models import LangChainLLM
from mem_integrations.testing import FrozenClock, HashEmbedder


class ToolModel(GenericFakeChatModel):
    """Accepts tools; the scripted replies already call them."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ToolModel:
        return self


def _memory(tmp_path: Path, llm: Any) -> Memory:
    return Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), llm=llm,
                               clock=FrozenClock()))  # fmt: skip


def _plan_call(args: dict[str, Any], **extra: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "MemoryPlan", "args": args, "id": "c1"}],
                     **extra)  # fmt: skip


def test_usage_falls_back_to_response_metadata_token_usage(tmp_path: Path) -> None:
    reply = _plan_call(
        {"actions": [{"event": "ADD", "text": "Lives in Porto", "categories": ["misc"]}]},
        response_metadata={"token_usage": {"prompt_tokens": 812, "completion_tokens": 41}},
    )
    llm = LangChainLLM(ToolModel(messages=iter([reply])))
    with _memory(tmp_path, llm) as m:
        m.add("I live in Porto", user_id="u")
    assert llm.usage.as_dict() == {
        "calls": 1, "prompt_tokens": 812, "completion_tokens": 41, "total_tokens": 853,
        "estimated_calls": 0,
    }  # fmt: skip


def test_a_runaway_tool_call_counts_its_arguments(tmp_path: Path) -> None:
    """768 tokens of garbage inside a tool call used to count as ~0 completion tokens."""
    junk = "la " * 1024  # ~3 KB of arguments that are not a MemoryPlan
    bad = AIMessage(
        content="",
        invalid_tool_calls=[{"name": "MemoryPlan", "args": junk, "id": "c1", "error": "json",
                             "type": "invalid_tool_call"}],
    )  # fmt: skip
    llm = LangChainLLM(ToolModel(messages=iter([bad, bad])))
    with _memory(tmp_path, llm) as m, pytest.raises(ExtractionError):
        m.add("I live in Porto", user_id="u")
    usage = llm.usage.as_dict()
    assert usage["calls"] == 2
    assert usage["completion_tokens"] >= 2 * 700
