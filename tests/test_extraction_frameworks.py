"""Extraction through real LangChain and LlamaIndex model classes with scripted tool calls.

LangChain: a ``GenericFakeChatModel`` whose ``bind_tools`` keeps it as it is, answering with
scripted ``AIMessage`` tool calls, so ``with_structured_output`` runs its real tool parser.
LlamaIndex: ``MockFunctionCallingLLM`` with a response generator returning ``ToolCallBlock``s,
so ``structured_predict`` runs its real function-calling program.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from llama_index.core.base.llms.types import ChatMessage, ToolCallBlock
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms.mock import MockFunctionCallingLLM
from pydantic import Field

from mem_integrations import AsyncMemory, ExtractionError, Memory, MemoryConfig
from mem_integrations.core.messages import Message
from mem_integrations.langchain.models import LangChainEmbedder, LangChainLLM
from mem_integrations.llama_index.models import LlamaIndexEmbedder, LlamaIndexLLM
from mem_integrations.testing import FrozenClock, HashEmbedder, ScriptedLLM

#: A scripted answer: tool-call arguments, None for a reply without a tool call, or a callable
#: computing either from the prompt (to name memories by their local ids).
Answer = dict[str, Any] | None | Callable[[list[Message]], dict[str, Any] | None]
PLAN = "MemoryPlan"


def _resolve(answer: Answer, messages: list[Message]) -> dict[str, Any] | None:
    return answer(messages) if callable(answer) else answer


class ToolCallingFake(GenericFakeChatModel):
    """GenericFakeChatModel that accepts tools (the scripted replies already call them)."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ToolCallingFake:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def langchain_llm(script: list[Answer]) -> tuple[Any, Callable[[], int]]:
    model: ToolCallingFake

    def replies() -> Iterator[AIMessage]:
        for answer in script:
            seen = [Message("user", str(m.content)) for m in model.seen[-1]]
            args = _resolve(answer, seen)
            if args is None:
                yield AIMessage(content="Sorry, I cannot help with that.")
            else:
                yield AIMessage(
                    content="",
                    tool_calls=[{"name": PLAN, "args": args, "id": "call-1"}],
                    usage_metadata={"input_tokens": 900, "output_tokens": 30, "total_tokens": 930},
                )

    model = ToolCallingFake(messages=replies())
    return LangChainLLM(model), lambda: len(model.seen)


def llama_index_llm(script: list[Answer]) -> tuple[Any, Callable[[], int]]:
    queue = list(script)
    calls: list[int] = []

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        calls.append(1)
        args = _resolve(queue.pop(0), [Message("user", m.content or "") for m in messages])
        if args is None:
            return ChatMessage(role="assistant", content="Sorry, I cannot help with that.")
        block = ToolCallBlock(tool_call_id="call-1", tool_name=PLAN, tool_kwargs=args)
        return ChatMessage(role="assistant", blocks=[block])

    return LlamaIndexLLM(MockFunctionCallingLLM(response_generator=respond)), lambda: len(calls)


FRAMEWORKS = {"langchain": langchain_llm, "llama_index": llama_index_llm}


@pytest.fixture(params=sorted(FRAMEWORKS))
def make(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock
) -> Iterator[Callable[..., tuple[Memory, Callable[[], int]]]]:
    opened: list[Memory] = []

    def build(*script: Answer, **config: Any) -> tuple[Memory, Callable[[], int]]:
        llm, calls = FRAMEWORKS[request.param](list(script))
        uri = str(tmp_path / f"store{len(opened)}")
        m = Memory(MemoryConfig(uri=uri, embedder=HashEmbedder(), clock=clock, llm=llm, **config))
        opened.append(m)
        return m, calls

    yield build
    for m in opened:
        m.close()


def add(*facts: str, categories: Sequence[str] = ()) -> dict[str, Any]:
    return {"actions": [{"event": "ADD", "text": f, "categories": list(categories)} for f in facts]}


def on(*decisions: tuple[str, str, str | None]) -> Answer:
    """Decisions ``(event, existing text, new text)`` naming memories through local ids."""

    def answer(messages: list[Message]) -> dict[str, Any]:
        ids = ScriptedLLM.memory_ids(messages)
        actions = []
        for event, old, new in decisions:
            action: dict[str, Any] = {"event": event, "id": ids[old]}
            if new is not None:
                action["text"] = new
            actions.append(action)
        return {"actions": actions}

    return answer


def events(result: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((e["event"], e["memory"]) for e in result["results"])


def texts(mem: Memory, **scope: str) -> list[str]:
    return sorted(r["memory"] for r in mem.get_all(**scope)["results"])


def test_add_update_delete_none_with_history(make: Any) -> None:
    mem, calls = make(
        add("Loves chicken", "Lives in Oslo", categories=["food"]),
        on(("UPDATE", "Loves chicken", "Is vegetarian"), ("NONE", "Lives in Oslo", None)),
        on(("DELETE", "Is vegetarian", None)),
    )
    first = mem.add("I love chicken. I live in Oslo.", user_id="alice")
    assert events(first) == [("ADD", "Lives in Oslo"), ("ADD", "Loves chicken")]
    chicken = next(e["id"] for e in first["results"] if e["memory"] == "Loves chicken")
    assert mem.get(chicken)["categories"] == ["food"]

    second = mem.add("I turned vegetarian now. Still in Oslo.", user_id="alice")
    assert events(second) == [("NONE", "Lives in Oslo"), ("UPDATE", "Is vegetarian")]
    assert [(h["event"], h["new_memory"]) for h in mem.history(chicken)] == [
        ("ADD", "Loves chicken"),
        ("UPDATE", "Is vegetarian"),
    ]

    third = mem.add("Actually, forget the diet thing.", user_id="alice")
    assert events(third) == [("DELETE", "Is vegetarian")]
    assert texts(mem, user_id="alice") == ["Lives in Oslo"]
    assert calls() == 3


def test_natural_language_delete(make: Any) -> None:
    mem, _ = make(
        add("Loves chicken", "Dislikes olives", "Works as a nurse"),
        on(("DELETE", "Loves chicken", None), ("DELETE", "Dislikes olives", None)),
    )
    mem.add("I love chicken, hate olives and work as a nurse", user_id="alice")
    out = mem.add("Delete all of my food preferences", user_id="alice")
    assert events(out) == [("DELETE", "Dislikes olives"), ("DELETE", "Loves chicken")]
    assert texts(mem, user_id="alice") == ["Works as a nurse"]


def test_categories_and_custom_categories(make: Any) -> None:
    mem, _ = make(add("Has a cat named Tom", categories=["pets", "family", "bogus"]))
    out = mem.add("My cat Tom is family", user_id="alice", custom_categories=["pets"])
    assert mem.get(out["results"][0]["id"])["categories"] == ["pets", "family"]


def test_agent_only_scope_remembers_the_assistant(make: Any) -> None:
    mem, _ = make(add("Is named Ada"))
    out = mem.add(
        [
            {"role": "user", "content": "Who are you?"},
            {"role": "assistant", "content": "I am Ada."},
        ],
        agent_id="ada",
    )
    rec = mem.get(out["results"][0]["id"])
    assert (rec["agent_id"], rec["user_id"], rec["role"]) == ("ada", None, "assistant")


def test_malformed_output_is_retried_then_raises_with_nothing_written(make: Any) -> None:
    bad_args = {"actions": [{"event": "UPDATE"}]}
    mem, calls = make(add("Likes tea"), None, add("Likes coffee"), bad_args, None)
    mem.add("I like tea", user_id="alice")
    assert events(mem.add("I like coffee", user_id="alice")) == [("ADD", "Likes coffee")]
    assert calls() == 3  # a reply without a tool call, then a good one
    with pytest.raises(ExtractionError):
        mem.add("I like cocoa", user_id="alice")
    assert calls() == 5
    assert texts(mem, user_id="alice") == ["Likes coffee", "Likes tea"]


def test_an_id_from_another_scope_is_dropped(make: Any) -> None:
    def answer(messages: list[Message]) -> dict[str, Any]:
        assert ScriptedLLM.memory_ids(messages) == {"Likes tea": "0"}  # bob's is never shown
        return {
            "actions": [
                {"event": "DELETE", "id": bob["id"]},
                {"event": "UPDATE", "id": "1", "text": "Hacked"},
                {"event": "UPDATE", "id": "0", "text": "Likes green tea"},
            ]
        }

    mem, _ = make(answer)
    [bob] = mem.add("Loves chicken", user_id="bob", infer=False)["results"]
    mem.add("Likes tea", user_id="alice", infer=False)
    out = mem.add("Green tea, I mean", user_id="alice")
    assert events(out) == [("UPDATE", "Likes green tea")]
    assert texts(mem, user_id="bob") == ["Loves chicken"]
    assert len(mem.history(bob["id"])) == 1


async def test_async_add(make: Any) -> None:
    mem, _ = make(add("Likes tea"), on(("UPDATE", "Likes tea", "Likes green tea")))
    amem = AsyncMemory(memory=mem)
    first = await amem.add("I like tea", user_id="alice")
    second = await amem.add("Green tea, precisely", user_id="alice")
    assert second["results"][0]["id"] == first["results"][0]["id"]
    assert second["results"][0]["previous_memory"] == "Likes tea"


def test_infer_false_stays_verbatim(make: Any) -> None:
    mem, calls = make()
    out = mem.add("I love chicken", user_id="alice", infer=False)
    assert events(out) == [("ADD", "I love chicken")]
    assert calls() == 0


def test_langchain_llm_reports_provider_token_usage(tmp_path: Path, clock: FrozenClock) -> None:
    llm, _ = langchain_llm([add("Likes tea")])
    mem = Memory(
        MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock, llm=llm)
    )
    mem.add("I like tea", user_id="alice")
    assert llm.usage.as_dict() == {
        "calls": 1,
        "prompt_tokens": 900,
        "completion_tokens": 30,
        "total_tokens": 930,
        "estimated_calls": 0,
    }
    mem.close()


def test_llama_index_llm_estimates_token_usage(tmp_path: Path, clock: FrozenClock) -> None:
    llm, _ = llama_index_llm([add("Likes tea")])
    mem = Memory(
        MemoryConfig(uri=str(tmp_path / "s"), embedder=HashEmbedder(), clock=clock, llm=llm)
    )
    mem.add("I like tea", user_id="alice")
    assert llm.usage.calls == llm.usage.estimated_calls == 1
    assert llm.usage.prompt_tokens > 500  # the system prompt alone is longer than that


@pytest.mark.parametrize(
    ("wrap", "model_id"),
    [
        (
            lambda: LangChainEmbedder(DeterministicFakeEmbedding(size=24)),
            "langchain/DeterministicFakeEmbedding",
        ),
        (
            lambda: LlamaIndexEmbedder(MockEmbedding(embed_dim=24)),
            "llama_index/MockEmbedding/unknown",
        ),
    ],
)
def test_framework_embedders_serve_the_store(
    tmp_path: Path, clock: FrozenClock, wrap: Callable[[], Any], model_id: str
) -> None:
    embedder = wrap()
    assert (embedder.dim, embedder.model_id) == (24, model_id)
    mem = Memory(MemoryConfig(uri=str(tmp_path / "s"), embedder=embedder, clock=clock))
    [added] = mem.add("I like tea", user_id="alice")["results"]
    hits = mem.search("I like tea", user_id="alice")["results"]
    assert [h["id"] for h in hits] == [added["id"]]
    assert mem.stats()  # the store opened with the probed dimension
    mem.close()


def test_given_dimension_skips_the_probe() -> None:
    class Counting(DeterministicFakeEmbedding):
        calls: int = 0

        def embed_query(self, text: str) -> list[float]:
            self.calls += 1
            return super().embed_query(text)

    model = Counting(size=8)
    assert LangChainEmbedder(model, dim=8, model_id="fake-8").dim == 8
    assert model.calls == 0
    LangChainEmbedder(model)
    assert model.calls == 1
