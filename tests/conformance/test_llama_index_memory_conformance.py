"""``long_term_memory()`` (a ``WriteThroughMemory``) against LlamaIndex's ``Memory`` suite.

Each test mirrors one test of run-llama/llama_index
``llama-index-core/tests/memory/test_memory_base.py`` at commit
118927fbc7821dd2027449564bb733a45458031b (named in its docstring). Upstream builds a bare
``Memory``; here the ``Memory`` carries our long-term block, which recalls what the turns
wrote, so each test also says where that recall goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ImageBlock
from llama_index.core.memory.memory import InsertMethod
from llama_index.core.storage.chat_store.sql import MessageStatus

from mem_integrations import Memory
from mem_integrations.llama_index import WriteThroughMemory, long_term_memory

Disposing = Callable[[Any], Any]


def build(memory: Memory, disposing: Disposing, **kw: Any) -> WriteThroughMemory:
    kw.setdefault("session_id", "test_user")
    # HashEmbedder's scores carry no meaning for the relevance floor: recall every hit, as
    # LlamaIndex's blocks do.
    kw.setdefault("relevance_floor", 0.0)
    return disposing(long_term_memory(memory, user_id="u", **kw))  # type: ignore[no-any-return]


def msg(role: str, text: str) -> ChatMessage:
    return ChatMessage(role=role, content=text)


async def test_initialization(memory: Memory, disposing: Disposing) -> None:
    """Mirrors ``test_initialization``: Memory's own settings pass through unchanged."""
    mem = build(memory, disposing, token_limit=1000, token_flush_size=700,
                chat_history_token_ratio=0.9)  # fmt: skip
    assert (mem.token_limit, mem.token_flush_size, mem.session_id) == (1000, 700, "test_user")


async def test_token_estimates_are_memorys_own(memory: Memory, disposing: Disposing) -> None:
    """Mirrors ``test_estimate_token_count_text`` and ``..._image`` (media: fixed estimate)."""
    mem = build(memory, disposing)
    assert mem._estimate_token_count(msg("user", "Test message")) == len(
        mem.tokenizer_fn("Test message")
    )
    image = ChatMessage(role="user", blocks=[ImageBlock(url="http://example.com/image.jpg")])
    assert mem._estimate_token_count(image) == mem.image_token_size_estimate


async def test_aput_and_aput_messages(memory: Memory, disposing: Disposing) -> None:
    """Mirrors ``test_aput``, ``test_aput_messages`` and ``test_manage_queue_under_limit``."""
    mem = build(memory, disposing, token_limit=1000)
    await mem.aput(msg("user", "New message"))
    assert [m.content for m in await mem.aget()] == ["New message"]
    await mem.aput_messages([msg("user", "Message 1"), msg("assistant", "Response 1")])
    got = await mem.aget()
    assert [m.content for m in got] == ["New message", "Message 1", "Response 1"]
    # The turn is written through at once, far below Memory's flush threshold.
    assert sorted(r["memory"] for r in memory.get_all(user_id="u")["results"]) == [
        "Message 1", "New message"
    ]  # fmt: skip


async def test_aset_and_aget_all(memory: Memory, disposing: Disposing) -> None:
    """Mirrors ``test_aset`` and ``test_aget_all``; a history set wholesale is not written."""
    mem = build(memory, disposing)
    await mem.aset([msg("user", "Message 1"), msg("assistant", "Response 1")])
    assert [m.content for m in await mem.aget()] == ["Message 1", "Response 1"]
    active = await mem.aget_all(status=MessageStatus.ACTIVE)
    assert [m.content for m in active] == ["Message 1", "Response 1"]
    assert memory.get_all(user_id="u")["results"] == []


async def test_areset_clears_the_chat_not_long_term(memory: Memory, disposing: Disposing) -> None:
    """Mirrors ``test_areset``; the turn in progress is written first."""
    mem = build(memory, disposing)
    await mem.aput(msg("user", "New message"))
    await mem.areset(status=MessageStatus.ACTIVE)
    assert await mem.aget() == []
    assert [r["memory"] for r in memory.get_all(user_id="u")["results"]] == ["New message"]


async def test_flush_over_the_limit_keeps_the_newest_user_message(
    memory: Memory, disposing: Disposing
) -> None:
    """Mirrors ``test_manage_queue_over_limit``, with recall where the caller chose.

    The flushed ``x x ...`` turn was written to long-term memory; with the default
    ``insert_method`` (system) it comes back as a system message in front of the one user
    message, with ``insert_method="user"`` inside that message, as LlamaIndex's ``Memory``
    does with any block.
    """
    turn = [msg("user", "x " * 500), msg("assistant", "y " * 500), msg("user", "z " * 500)]
    for method, roles in ((InsertMethod.SYSTEM, ["system", "user"]), ("user", ["user"])):
        mem = build(memory, disposing, token_limit=1000, token_flush_size=700,
                    chat_history_token_ratio=0.9, insert_method=method,
                    session_id=f"s-{roles}")  # fmt: skip
        await mem.aput_messages(turn)
        got = await mem.aget()
        assert [m.role.value for m in got] == roles
        assert (got[-1].content or "").endswith("z " * 500)
        assert "x x x" in (got[0].content or "")  # recalled from long-term memory


async def test_after_a_flush_the_chat_opens_on_a_user_message(
    memory: Memory, disposing: Disposing
) -> None:
    """Mirrors ``test_manage_queue_first_message_must_be_user`` and ``..._preserves_...turn``."""
    mem = build(memory, disposing, token_limit=200, token_flush_size=100,
                chat_history_token_ratio=0.5, insert_method="user")  # fmt: skip
    await mem.aput_messages([msg("user", "a " * 50), msg("assistant", "b " * 50),
                             msg("user", "c " * 50), msg("assistant", "d " * 50)])  # fmt: skip
    got = await mem.aget()
    assert len(got) >= 2 and got[0].role.value == "user"
    assert all(got[i + 1].role.value in ("assistant", "tool")
               for i in range(len(got) - 1) if got[i].role.value == "user")  # fmt: skip
    system_mode = build(memory, disposing, token_limit=200, token_flush_size=100,
                        chat_history_token_ratio=0.5, session_id="sys")  # fmt: skip
    await system_mode.aput_messages([msg("user", "e " * 100), msg("assistant", "ok")])
    chat = [m for m in await system_mode.aget() if m.role.value != "system"]
    assert chat and chat[0].role.value == "user"  # recall aside, the same guarantee


async def test_block_options_pass_through_the_factory(memory: Memory, disposing: Disposing) -> None:
    """Not upstream: ``long_term_memory`` hands block fields to the block, the rest to Memory."""
    mem = build(memory, disposing, store_assistant=True, query_window=2, token_limit=900,
                format_template="Known: {text}")  # fmt: skip
    [block] = mem.memory_blocks
    assert block.store_assistant and block.query_window == 2 and mem.token_limit == 900
    await mem.aput_messages([msg("user", "Where is the Louvre?"), msg("assistant", "In Paris.")])
    assert [r["memory"] for r in memory.get_all(user_id="u")["results"]] == [
        "user: Where is the Louvre?\nassistant: In Paris."
    ]
    got = await mem.aget(input="Tell me about the Louvre museum")
    assert "Known: - user: Where is the Louvre?" in (got[0].content or "")
