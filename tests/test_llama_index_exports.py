"""The public face of mem_integrations.llama_index: names, base classes, import guard."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.memory import Memory as LlamaMemory
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.memory.types import BaseMemory
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import BaseComponent
from llama_index.core.tools import FunctionTool

import mem_integrations.llama_index as li
from mem_integrations import Memory
from mem_integrations.llama_index._common import StoreBinding

EXPECTED = [
    "DEFAULT_MEMORY_PROMPT",
    "TOOL_NAMES",
    "DecayPostprocessor",
    "LlamaIndexEmbedder",
    "LlamaIndexLLM",
    "LongTermChatMemory",
    "LongTermMemoryBlock",
    "MemoryRetriever",
    "WriteThroughMemory",
    "create_memory_tools",
    "long_term_memory",
    "register_memory",
]


def test_public_names_are_curated_and_all_resolve() -> None:
    assert li.__all__ == EXPECTED  # change deliberately, with the docs
    for name in li.__all__:
        assert getattr(li, name) is not None
    assert set(EXPECTED) <= set(dir(li))


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        (li.LongTermChatMemory, BaseMemory),
        (li.LongTermMemoryBlock, BaseMemoryBlock),
        (li.WriteThroughMemory, LlamaMemory),
        (li.MemoryRetriever, BaseRetriever),
        (li.DecayPostprocessor, BaseNodePostprocessor),
    ],
)
def test_each_class_is_a_concrete_llama_index_type(cls: type, base: type) -> None:
    mro = cls.__mro__
    assert base in mro and not inspect.isabstract(cls)
    if StoreBinding in mro:
        # LlamaIndex's base comes first, so its methods and config win over the mixin's.
        assert mro.index(base) < mro.index(StoreBinding)
    if issubclass(cls, BaseComponent):
        assert cls.class_name() == cls.__name__  # serialized under its own name


def test_tools_are_function_tools(memory: Memory) -> None:
    tools = li.create_memory_tools(memory, user_id="alice")
    assert all(isinstance(t, FunctionTool) for t in tools)
    assert [t.metadata.name for t in tools] == list(li.TOOL_NAMES.values())


def test_a_missing_sibling_does_not_break_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(li._LAZY, "Phantom", ".no_such_module")
    with pytest.raises(AttributeError, match="could not provide it"):
        li.Phantom  # noqa: B018
    with pytest.raises(AttributeError):
        li.NotAName  # noqa: B018


def test_without_llama_index_the_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['llama_index'] = None\n"
        "try:\n    import mem_integrations.llama_index\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "mem-integrations[llamaindex]"' in out.stdout
