"""``LongTermChatMemory`` against what LlamaIndex's ``ChatMemoryBuffer`` suite checks.

Each test mirrors one test of run-llama/llama_index
``llama-index-core/tests/memory/test_chat_memory_buffer.py`` at commit
0295ed195fbf0d669c5de0dd8657731547a2eaa9 (named in its docstring), written for our class
over a real store. Where LlamaIndex's own buffer does not do what its test asserts, the test
here pins what the buffer does and says so; docs/llama_index.md lists the upstream results.
"""

from __future__ import annotations

import pickle

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.utils import get_tokenizer

from mem_integrations import Memory, ValidationError
from mem_integrations.llama_index import LongTermChatMemory

TOKENS = get_tokenizer()
U1 = ChatMessage(role=MessageRole.USER, content="first message")
A1 = ChatMessage(role=MessageRole.ASSISTANT, content="first answer")
U2 = ChatMessage(role=MessageRole.USER, content="second message")
A2 = ChatMessage(role=MessageRole.ASSISTANT, content="second answer")


def n_tokens(message: ChatMessage) -> int:
    return len(TOKENS(message.content or ""))


def buffer(memory: Memory, history: list[ChatMessage], **kw: int) -> LongTermChatMemory:
    return LongTermChatMemory.from_defaults(memory, chat_history=history, user_id="u", **kw)


def test_put_get(memory: Memory) -> None:
    """Mirrors ``test_put_get``: the history given comes back from ``get``."""
    assert [m.content for m in buffer(memory, [U1]).get()] == ["first message"]


def test_positional_int_is_the_initial_token_count(memory: Memory) -> None:
    """Mirrors ``test_get_when_initial_tokens_less_than_limit_returns_history``.

    ``get(5)``: LlamaIndex passes the first positional argument as ``input`` (its buffer
    ignores it); an int there can only mean the tokens already used, and counts as such.
    """
    chat = buffer(memory, [U1], token_limit=1000)
    assert chat.get(5) == [U1]
    assert chat.get(1000 - n_tokens(U1)) == [U1]
    assert chat.get(1000 - n_tokens(U1) + 1) == [U1]  # nothing fits: the latest message
    with pytest.raises(ValidationError):
        chat.get(True)  # a bool is not a token count
    with pytest.raises(ValidationError):
        chat.get(-1)
    with pytest.raises(ValidationError):
        chat.get(5, initial_token_count=5)  # said twice
    with pytest.raises(ValidationError):
        chat.get(["not", "a", "query"])  # type: ignore[arg-type]


def test_initial_tokens_over_the_limit_raise(memory: Memory) -> None:
    """Mirrors ``test_get_when_initial_tokens_exceed_limit_raises_value_error``."""
    chat = buffer(memory, [], token_limit=49)
    with pytest.raises(ValueError, match="^Initial token count exceeds token limit$"):
        chat.get(50)
    with pytest.raises(ValueError, match="^Initial token count exceeds token limit$"):
        chat.get(initial_token_count=50)


def test_a_message_that_cannot_fit_still_comes_back_alone(memory: Memory) -> None:
    """Mirrors ``test_get_when_initial_tokens_same_as_limit_removes_message``.

    The upstream test expects an empty history, but ``ChatMemoryBuffer`` returns the latest
    message when none fits (so the LLM, not the memory, reports the overflow); so do we.
    """
    assert buffer(memory, [U1], token_limit=5).get(5) == [U1]


def test_the_window_never_opens_on_an_assistant_message(memory: Memory) -> None:
    """Mirrors ``test_get_when_space_for_assistant_message_removes_assistant_message_...``."""
    chat = buffer(memory, [U1, A1, U2, A2], token_limit=10)
    budget = 10 - n_tokens(A1) - n_tokens(U2) - n_tokens(A2)  # room for A1 but not U1
    assert chat.get(budget) == [U2, A2]


def test_the_window_keeps_the_newest_turn(memory: Memory) -> None:
    """Mirrors ``test_get_when_space_for_second_message_and_answer_removes_only_first_...``."""
    chat = buffer(memory, [U1, A1, U2, A2], token_limit=5)
    assert chat.get(5 - n_tokens(U2) - n_tokens(A2)) == [U2, A2]
    assert chat.get(initial_token_count=5 - n_tokens(U2) - n_tokens(A2)) == [U2, A2]


def test_set_replaces_the_history(memory: Memory) -> None:
    """Mirrors ``test_set``."""
    chat = buffer(memory, [U1])
    chat.put(U1)
    assert len(chat.get()) == 2
    chat.set([U1])
    assert chat.get() == [U1]


def test_token_limit_windows_get_but_not_get_all(memory: Memory) -> None:
    """Mirrors ``test_max_tokens``."""
    chat = buffer(memory, [U1], token_limit=5)
    chat.put(U1)
    assert len(chat.get()) == 2
    chat.put(U1)
    chat.put(U1)
    assert len(chat.get()) == 2 and len(chat.get_all()) == 4
    chat.put(ChatMessage(role=MessageRole.USER, content="test message2"))
    got = chat.get()
    assert len(got) == 2 and got[-1].content == "test message2"


def test_string_save_load(memory: Memory) -> None:
    """Mirrors ``test_sting_save_load`` (which fails on ``ChatMemoryBuffer`` itself)."""
    restored = LongTermChatMemory.from_string(buffer(memory, [U1], token_limit=5).to_string())
    assert [m.content for m in restored.get()] == ["first message"]
    assert restored.token_limit == 5 and restored.user_id == "u"


def test_dict_save_load(memory: Memory) -> None:
    """Mirrors ``test_dict_save_load`` (which fails on ``ChatMemoryBuffer`` itself)."""
    restored = LongTermChatMemory.from_dict(buffer(memory, [U1], token_limit=5).to_dict())
    assert [m.content for m in restored.get()] == ["first message"]
    assert restored.token_limit == 5


def test_pickle(memory: Memory) -> None:
    """Mirrors ``test_pickle``: the tokenizer and the open store are not pickled."""
    chat = buffer(memory, [U1])
    back = pickle.loads(pickle.dumps(chat))
    assert isinstance(back, LongTermChatMemory) and back.get_all() == [U1]
    assert back.memory is None and back.uri == memory.config.uri
