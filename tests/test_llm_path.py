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
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms.mock import MockFunctionCallingLLM

from mem_integrations import ExtractionError, LLMError, Memory, MemoryConfig
from mem_integrations.langchain.models import LangChainLLM
from mem_integrations.llama_index.models import LlamaIndexLLM
from mem_integrations.testing import FrozenClock, HashEmbedder, ScriptedLLM


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


# -- failures that are not an answer ---------------------------------------------------------


class FailingModel(ToolModel):
    """A provider whose call itself fails, the way local servers do."""

    error: Exception
    calls: int = 0

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise self.error


OVERFLOW = ValueError("Requested tokens (5210) exceed context window of 4096")


@pytest.mark.parametrize("error", [OVERFLOW, ConnectionError("Connection refused")])
def test_langchain_call_failures_are_llm_errors_not_retried(
    tmp_path: Path, error: Exception
) -> None:
    model = FailingModel(messages=iter([]), error=error)
    with _memory(tmp_path, LangChainLLM(model)) as m:
        with pytest.raises(LLMError) as info:
            m.add("I live in Porto", user_id="u")
        assert info.value.__cause__ is error
        assert str(error) in str(info.value)
        assert model.calls == 1  # not retried as if the answer were malformed
        assert m.get_all(user_id="u")["results"] == []


class StrictMethods(ToolModel):
    """Refuses an unknown ``method=`` as ChatOpenAI and ChatLlamaCpp do."""

    def with_structured_output(self, schema: Any, *, method: Any = None, **kw: Any) -> Any:
        if method not in (None, "function_calling"):
            raise ValueError(f"Unrecognized method argument. Received: '{method}'")
        return super().with_structured_output(schema, **kw)


def test_an_unsupported_method_is_an_llm_error(tmp_path: Path) -> None:
    llm = LangChainLLM(StrictMethods(messages=iter([])), method="json_schema")
    with _memory(tmp_path, llm) as m, pytest.raises(LLMError) as info:
        m.add("I live in Porto", user_id="u")
    assert isinstance(info.value.__cause__, ValueError)
    assert "json_schema" in str(info.value)


def test_llama_index_call_failures_are_llm_errors_not_retried(tmp_path: Path) -> None:
    calls: list[int] = []

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        calls.append(1)
        raise OVERFLOW

    llm = LlamaIndexLLM(MockFunctionCallingLLM(response_generator=respond))
    with _memory(tmp_path, llm) as m:
        with pytest.raises(LLMError) as info:
            m.add("I live in Porto", user_id="u")
        assert info.value.__cause__ is OVERFLOW
        assert calls == [1]
        assert m.get_all(user_id="u")["results"] == []


def test_a_custom_llm_raising_a_non_answer_value_error_is_not_retried(tmp_path: Path) -> None:
    llm = ScriptedLLM()
    llm.push(OVERFLOW, {"actions": []})
    with _memory(tmp_path, llm) as m, pytest.raises(LLMError) as info:
        m.add("I live in Porto", user_id="u")
    assert info.value.__cause__ is OVERFLOW
    assert len(llm.calls) == 1


def test_a_malformed_answer_is_still_retried_once(tmp_path: Path) -> None:
    llm = ScriptedLLM()
    llm.push({"actions": [{"event": "ADD"}]}, {"actions": [{"event": "ADD", "text": "Is tall"}]})
    with _memory(tmp_path, llm) as m:
        out = m.add("I am tall", user_id="u")
    assert [e["memory"] for e in out["results"]] == ["Is tall"]
    assert len(llm.calls) == 2


# -- the prompt's examples are not facts -----------------------------------------------------


def test_an_example_copied_from_the_prompt_is_not_stored(tmp_path: Path) -> None:
    llm = ScriptedLLM()
    echo = {
        "actions": [
            {"event": "ADD", "text": "Is vegetarian", "categories": ["food"]},
            {"event": "ADD", "text": "Plays jazz piano", "categories": ["music"]},
        ]
    }
    llm.push(echo, echo)
    with _memory(tmp_path, llm) as m:
        out = m.add("I play jazz piano on weekends", user_id="u")
        assert [e["memory"] for e in out["results"]] == ["Plays jazz piano"]
        # the same words, really said, are kept
        out = m.add("I'm vegetarian and I play jazz piano", user_id="v")
        assert sorted(e["memory"] for e in out["results"]) == ["Is vegetarian", "Plays jazz piano"]
    prompt = "\n".join(msg.content for msg in llm.calls[0].messages)
    assert "Is vegetarian" not in prompt.split("Answer with", 1)[1]  # no copyable JSON example
