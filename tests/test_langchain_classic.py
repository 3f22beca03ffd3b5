"""ChainMemory in classic ``langchain_classic`` chains, with a scripted LLM."""

from __future__ import annotations

import pytest
from langchain_core._api import LangChainDeprecationWarning
from langchain_core.documents import Document
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.prompts import PromptTemplate

from mem_integrations import AsyncMemory, Memory
from mem_integrations.langchain import ChainMemory

pytest.importorskip("langchain_classic")
from langchain_classic.chains import ConversationChain, LLMChain  # noqa: E402

# Classic chains are deprecated upstream; that warning is theirs, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::langchain_core._api.LangChainDeprecationWarning")


class RecordingLLM(FakeListLLM):
    """FakeListLLM that keeps the prompts it was given."""

    seen: list[str] = []

    def _call(self, prompt: str, *args: object, **kwargs: object) -> str:
        self.seen.append(prompt)
        return super()._call(prompt, *args, **kwargs)  # type: ignore[arg-type]


def test_conversation_chain_recalls_and_remembers(memory: Memory) -> None:
    memory.add("Alice drinks green tea", user_id="alice")
    memory.add("Bob drinks black coffee", user_id="bob")
    llm = RecordingLLM(responses=["You like green tea.", "Still green tea."], seen=[])
    chain = ConversationChain(llm=llm, memory=ChainMemory(memory=memory, user_id="alice", k=3))
    assert chain.invoke({"input": "What do I drink?"})["response"] == "You like green tea."
    assert "Alice drinks green tea" in llm.seen[0] and "Bob" not in llm.seen[0]
    texts = {r["memory"] for r in memory.get_all(user_id="alice")["results"]}
    assert texts == {"Alice drinks green tea"}  # a question holds no fact: not remembered
    chain.invoke({"input": "I drink oolong in the morning."})
    assert "Alice drinks green tea" in llm.seen[1]
    assert "I drink oolong in the morning." in {
        r["memory"] for r in memory.get_all(user_id="alice")["results"]
    }
    assert {r["memory"] for r in memory.get_all(user_id="bob")["results"]} == {
        "Bob drinks black coffee"
    }


def test_llm_chain_with_explicit_keys_and_documents(memory: Memory) -> None:
    memory.add("The launch is on Friday", agent_id="pm-bot")
    prompt = PromptTemplate.from_template("Notes: {notes}\nQ: {question}\nA:")
    mem = ChainMemory(
        memory=memory, agent_id="pm-bot", memory_key="notes", input_key="question",
        output_key="text",
    )  # fmt: skip
    llm = RecordingLLM(responses=["Friday."], seen=[])
    chain = LLMChain(llm=llm, prompt=prompt, memory=mem)
    assert chain.invoke({"question": "When is the launch?"})["text"] == "Friday."
    assert "Notes: The launch is on Friday" in llm.seen[0]
    # agent-only scope keeps the assistant's side too (core rule for verbatim storage)
    texts = {r["memory"] for r in memory.get_all(agent_id="pm-bot")["results"]}
    assert "Friday." in texts and "When is the launch?" not in texts  # questions are not facts
    docs = ChainMemory(memory=memory, agent_id="pm-bot", return_docs=True).load_memory_variables(
        {"input": "launch"}
    )["history"]
    assert all(isinstance(d, Document) for d in docs) and docs[0].metadata["agent_id"] == "pm-bot"


def test_validation_and_clear(memory: Memory) -> None:
    with pytest.raises(ValueError, match="needs a user_id"):
        ChainMemory(memory=memory)
    cm = ChainMemory(memory=memory, user_id="u")
    with pytest.raises(ValueError, match="cannot tell the input"):
        cm.load_memory_variables({"a": "x", "b": "y"})
    memory.add("u likes tea", user_id="u")
    memory.add("v likes tea", user_id="v")
    cm.clear()
    assert memory.get_all(user_id="u")["results"] == []
    assert len(memory.get_all(user_id="v")["results"]) == 1


async def test_async_chain_memory(memory: Memory) -> None:
    cm = ChainMemory(memory=AsyncMemory(memory=memory), user_id="u")
    await cm.asave_context({"input": "I live in Oslo"}, {"response": "Nice!"})
    got = await cm.aload_memory_variables({"input": "where do I live"})
    assert got == {"history": "I live in Oslo"}
    await cm.aclear()
    assert memory.get_all(user_id="u")["results"] == []


def test_deprecation_is_upstream_only(memory: Memory) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", LangChainDeprecationWarning)
        ChainMemory(memory=memory, user_id="u")  # our subclass itself does not warn
