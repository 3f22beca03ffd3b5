"""The ``mem-integrations`` command line (extra ``[cli]``: click and tqdm).

Every command opens the store named by ``--uri`` (or ``$MEM_INTEGRATIONS_URI``, or the
default ``./.mem_integrations/lancedb``), calls one :class:`~mem_integrations.Memory` method
and prints its result as JSON lines, one object per line, so output pipes into ``jq`` and back
into ``import``. ``--plain`` prints a table for people instead. Bad input exits non-zero with
a one-line message; a traceback from this command is a bug.

click is imported inside :func:`build_cli`, not at module level, so that the entry point of
an install without the extra prints the install command instead of a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.errors import MemoryLayerError
from . import admin, commands, extras

if TYPE_CHECKING:
    import click

__all__ = ["INSTALL_HINT", "build_cli", "main"]

INSTALL_HINT = 'the mem-integrations command needs its extra: pip install "mem-integrations[cli]"'


def build_cli() -> click.Group:
    """Build the click group (imports click; raises ImportError without the extra)."""
    import click

    class Group(click.Group):
        """Turns our typed errors into one-line messages with exit code 1."""

        def invoke(self, ctx: click.Context) -> Any:
            try:
                return super().invoke(ctx)
            except MemoryLayerError as exc:
                raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
            except OSError as exc:
                raise click.ClickException(f"{type(exc).__name__}: {exc}") from None

    @click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="mem-integrations")
    def cli() -> None:
        """Long-term memory for LLM apps: add, search and manage memories from the shell.

        Output is JSON lines (one object per line); pass --plain for a table.
        The store comes from --uri or $MEM_INTEGRATIONS_URI.
        """

    commands.register(cli)
    admin.register(cli)
    extras.register(cli)
    from ..server.cli import add_server_commands

    add_server_commands(cli)
    return cli


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``mem-integrations``; without click it names the extra to install."""
    try:
        import click  # noqa: F401
        import tqdm  # noqa: F401
    except ImportError:
        sys.stderr.write(INSTALL_HINT + "\n")
        raise SystemExit(1) from None
    build_cli().main(args=list(argv) if argv is not None else None,
                     prog_name="mem-integrations")  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    main()
