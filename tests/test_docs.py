"""Executable docs: README and docs/ Python blocks run, the CLI reference matches the code,
and the site builds with ``mkdocs build --strict``.

A block opts out of execution with ``<!-- no-exec -->`` on the line before its fence. The
blocks of one page run in order in one namespace (pages build on earlier blocks), in a fresh
working directory with ``$MEM_INTEGRATIONS_URI`` pointing at a fresh store.

Refresh the generated CLI reference with ``MEM_INTEGRATIONS_UPDATE_DOCS=1 pytest
tests/test_docs.py -k cli_reference``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mem_integrations import Memory
from mem_integrations.cli import build_cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
BEGIN = "<!-- BEGIN GENERATED CLI REFERENCE -->"
END = "<!-- END GENERATED CLI REFERENCE -->"
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block not preceded by <!-- no-exec -->."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").splitlines()
        if before and before[-1].strip() == "<!-- no-exec -->":
            continue
        blocks.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return blocks


PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
EXECUTABLE = [p for p in PAGES if python_blocks(p.read_text(encoding="utf-8"))]


def test_the_block_parser_honours_no_exec() -> None:
    text = "x\n```python\na = 1\n```\n<!-- no-exec -->\n```python\nboom()\n```\n```bash\nls\n```\n"
    assert python_blocks(text) == [(3, "a = 1\n")]


@pytest.mark.parametrize("page", EXECUTABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEM_INTEGRATIONS_URI", str(tmp_path / "store"))
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    try:
        for line, code in python_blocks(page.read_text(encoding="utf-8")):
            exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
    finally:
        for value in list(namespace.values()):
            if isinstance(value, Memory):
                value.close()


def cli_reference() -> str:
    """The generated part of docs/cli.md: the group's and each command's --help."""
    cli = build_cli()
    runner = CliRunner()

    def help_of(*args: str) -> str:
        result = runner.invoke(
            cli, [*args, "--help"], prog_name="mem-integrations", terminal_width=88
        )
        assert result.exit_code == 0, result.output
        return result.output.rstrip()

    parts = ["### `mem-integrations`", "", "```text", help_of(), "```", ""]
    for name in cli.commands:
        parts += [f"### `{name}`", "", "```text", help_of(name), "```", ""]
    return "\n".join(parts)


def test_cli_reference_matches_the_code() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    fresh = "\n" + cli_reference() + "\n"
    if os.environ.get("MEM_INTEGRATIONS_UPDATE_DOCS") == "1":
        CLI_DOC.write_text(head + BEGIN + fresh + END + tail, encoding="utf-8")
        current = fresh
    assert current == fresh, "docs/cli.md is stale: see this module's docstring to refresh it"


def test_every_cli_command_is_documented() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    missing = [name for name in build_cli().commands if f"### `{name}`" not in text]
    assert not missing


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            pytest.skip(
                f"{module} is not installed (pip install mkdocs-material mkdocstrings[python])"
            )
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "site" / "cli" / "index.html").is_file()
