"""The rules of the house (docs/architecture.md), checked on the source itself.

Data flows one way: adapter -> facade -> operation -> storage -> LanceDB. These tests read the
import statements of every module under ``src/mem_integrations`` (lazy imports inside functions
included) and fail on an import circle, on a layer importing one above it, and on a module or
class that has grown past the size a reader can hold in their head.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PKG = "mem_integrations"

MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 300

#: Who may import whom inside ``core``: each layer may import itself and the layers it lists.
#: ``types`` are the small modules everyone speaks (records, errors, config, clock, messages,
#: validation, expiry, recall).
CORE_LAYERS: dict[str, set[str]] = {
    "types": {"filters"},
    "filters": {"types"},
    "embeddings": {"types"},
    "extraction": {"types"},
    "storage": {"types", "filters"},
    "decay": {"types", "filters", "storage"},
    "engine": {"types", "storage", "decay", "embeddings"},
    "read": {"types", "filters", "storage", "engine", "embeddings"},
    "write": {"types", "filters", "storage", "engine", "embeddings", "read", "extraction"},
    "facade": {"types", "engine", "read", "write", "storage"},
    "memory": {"types", "engine", "facade", "storage", "decay", "embeddings", "write"},
    "async_memory": {"types", "memory"},
}
TYPES = {"records", "errors", "config", "clock", "messages", "validation", "expiry", "recall"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted((SRC / PKG).rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(name: str, path: Path) -> set[str]:
    """Every module of this package that ``name`` imports, anywhere in its source."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PKG))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - node.level + 1]
                mod = ".".join([*anchor, *(node.module.split(".") if node.module else [])])
            else:
                mod = node.module or ""
            if not mod.startswith(PKG):
                continue
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    known = {m for m, _ in _modules()}
    return {m for m in found if m in known and m != name}


GRAPH = {name: _imports(name, path) for name, path in _modules()}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != [PKG, "core"] or len(parts) < 3:
        return None
    head = parts[2]
    return "types" if head in TYPES else head


def test_no_import_circle_anywhere_in_src() -> None:
    # Package __init__ modules re-export their children; an edge from a child back to its own
    # package's __init__ would be a circle, and is reported like any other.
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if nxt.startswith(node + "."):
                continue  # a package importing its own submodule is not a circle
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)
    assert circles == []


def test_core_layers_import_only_downwards() -> None:
    wrong = []
    for module, deps in GRAPH.items():
        layer = _layer(module)
        if layer is None:
            continue
        allowed = CORE_LAYERS[layer] | {layer}
        for dep in deps:
            dep_layer = _layer(dep)
            if dep == f"{PKG}.core":
                continue
            if dep_layer is None:
                wrong.append(f"{module} -> {dep} (core imports outside core)")
            elif dep_layer not in allowed:
                wrong.append(f"{module} ({layer}) -> {dep} ({dep_layer})")
    assert wrong == []


@pytest.mark.parametrize(
    "face", ["langchain", "llama_index", "cli", "transfer", "demo", "server"]
)
def test_faces_reach_core_only_through_its_public_modules(face: str) -> None:
    """Adapters call the facade; they never touch operations, storage or LanceDB rows."""
    private = ("read", "write", "storage", "engine", "facade")
    wrong = [
        f"{module} -> {dep}"
        for module, deps in GRAPH.items()
        if module.split(".")[1:2] == [face]
        for dep in deps
        if _layer(dep) in private
    ]
    assert wrong == []


def test_no_module_or_class_over_the_size_limits() -> None:
    big = []
    for name, path in _modules():
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            big.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    big.append(f"{name}.{node.name}: {size} lines")
    assert big == []
