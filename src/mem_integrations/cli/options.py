"""Options shared by the commands, and opening the store once per command."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ..core.config import DEFAULT_URI_ENV, MemoryConfig
from ..core.filters import SCOPE_FIELDS
from ..core.memory import Memory
from ..core.records import ScopeArgs, scope_args

if TYPE_CHECKING:
    import click

__all__ = [
    "ScopeArgs",
    "epoch_or_text",
    "json_option",
    "open_memory",
    "result_rows",
    "scope_args",
    "scope_options",
    "store_options",
    "uri_option",
]

F = TypeVar("F", bound=Callable[..., Any])


def json_option(value: str | None, name: str) -> Any:
    """A JSON option's value, or a usage error naming the option."""
    import click

    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON ({exc.msg} at column {exc.colno})",
                                 param_hint=name) from None  # fmt: skip


def scope_options(fn: F) -> F:
    """Add ``--user-id``, ``--agent-id``, ``--run-id``, ``--app-id``."""
    import click

    for name in reversed(SCOPE_FIELDS):
        flag = "--" + name.replace("_", "-")
        fn = click.option(flag, name, default=None, help=f"Scope: {name}.")(fn)
    return fn


def uri_option(fn: F) -> F:
    """Add ``--uri`` (also read from the environment)."""
    import click

    return click.option(
        "--uri", envvar=DEFAULT_URI_ENV, default=None, show_envvar=True,
        help="LanceDB URI of the store (default ./.mem_integrations/lancedb).",
    )(fn)  # fmt: skip


def store_options(fn: F) -> F:
    """Add ``--uri`` and ``--plain``."""
    import click

    fn = click.option("--plain", is_flag=True, help="Print a readable table, not JSON lines.")(fn)
    return uri_option(fn)


def open_memory(ctx: click.Context, /, uri: str | None) -> Memory:
    """Open the store once per command and close it when the command ends.

    ``ctx.obj["config"]`` may hold extra ``MemoryConfig`` fields (tests inject a
    deterministic embedder and a frozen clock this way).
    """
    extra = dict((ctx.obj or {}).get("config", {}))
    if uri:
        extra["uri"] = uri
    return ctx.with_resource(Memory(MemoryConfig(**extra)))


def result_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``results`` list of a Mem0-shaped answer."""
    return list(result["results"])


def epoch_or_text(value: str | None) -> int | float | str | None:
    """A time option as the core takes it: digits are Unix epoch seconds, the rest ISO text."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value
