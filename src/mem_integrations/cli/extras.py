"""Mem0's platform extras: feedback on a memory, the store's project settings, delete-users."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .options import open_memory, scope_args, scope_options, store_options
from .output import emit_one

if TYPE_CHECKING:
    import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    """Add feedback, project and delete-users to the ``cli`` click group."""
    import click

    @cli.command()
    @click.argument("memory_id")
    @click.option("--feedback", "value", type=click.Choice(
        ["POSITIVE", "NEGATIVE", "VERY_NEGATIVE"], case_sensitive=False),
        help="Leave out (with --reason) to remove the feedback.")  # fmt: skip
    @click.option("--reason", help="Why (feedback_reason).")
    @store_options
    @click.pass_context
    def feedback(ctx: click.Context, /, memory_id: str, value: str | None, reason: str | None,
                 uri: str | None, plain: bool) -> None:  # fmt: skip
        """Give feedback on a memory (Mem0's client.feedback); stored, not ranked on."""
        emit_one(open_memory(ctx, uri).feedback(memory_id, value, reason), plain)

    @cli.command()
    @click.option(
        "--decay/--no-decay",
        default=None,
        help="Turn recency decay on or off for the whole store (persisted).",
    )
    @store_options
    @click.pass_context
    def project(ctx: click.Context, /, decay: bool | None, uri: str | None,
                plain: bool) -> None:  # fmt: skip
        """Show the store's settings, or change them (Mem0's client.project)."""
        m = open_memory(ctx, uri)
        if decay is not None:
            m.project.update(decay=decay)
        emit_one(m.project.get(), plain)

    @cli.command("delete-users")
    @scope_options
    @click.option(
        "--all", "everything", is_flag=True, help="Every user, agent, app and run: the whole store."
    )
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @store_options
    @click.pass_context
    def delete_users(ctx: click.Context, /, everything: bool, yes: bool, uri: str | None,
                     plain: bool, **scope: str | None) -> None:  # fmt: skip
        """Delete every memory of the named entities, or of all of them with --all."""
        named = scope_args(scope)
        if bool(named) == everything:
            raise click.UsageError("name entities (--user-id ...) or pass --all, not both")
        if not yes:
            click.confirm(f"Delete every memory of {named or 'every entity'}?", abort=True)
        m = open_memory(ctx, uri)
        result = m.delete_users(**named) if named else m.delete_users()
        emit_one(result, plain)
