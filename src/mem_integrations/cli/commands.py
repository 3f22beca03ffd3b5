"""The memory commands: add, search, list, get, update, delete, delete-all, history, users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.memory import UNSET
from .options import (
    epoch_or_text,
    json_option,
    open_memory,
    result_rows,
    scope_args,
    scope_options,
    store_options,
)
from .output import EVENT_COLS, HISTORY_COLS, HIT_COLS, RECORD_COLS, USER_COLS, emit, emit_one

if TYPE_CHECKING:
    import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    """Add the memory commands to the ``cli`` click group."""
    import click

    @cli.command()
    @click.argument("text")
    @scope_options
    @click.option("--metadata", help="JSON object stored with the memory.")
    @click.option("--category", "categories", multiple=True, help="A category (repeatable).")
    @click.option("--expires", help="Expiration: ISO date (through that day) or datetime.")
    @click.option("--timestamp", help="Backdate it: Unix epoch seconds or ISO date/datetime.")
    @store_options
    @click.pass_context
    def add(ctx: click.Context, /, text: str, metadata: str | None, categories: tuple[str, ...],
            expires: str | None, timestamp: str | None, uri: str | None, plain: bool,
            **scope: str | None) -> None:  # fmt: skip
        """Store TEXT verbatim as a memory.

        An exact duplicate in the same scope is reported as NONE, not stored twice.
        """
        m = open_memory(ctx, uri)
        result = m.add_events(
            text,
            **scope_args(scope),
            metadata=json_option(metadata, "--metadata"),
            categories=list(categories) or None,
            expiration_date=expires,
            infer=False,
            timestamp=epoch_or_text(timestamp),
        ).to_dict()
        emit(result_rows(result), plain, EVENT_COLS)

    @cli.command()
    @click.argument("query")
    @scope_options
    @click.option("--filters", help="Mem0 v2 filter JSON (see docs/concepts/filters.md).")
    @click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True)
    @click.option("--threshold", type=click.FloatRange(0, 1), help="Minimum relevance in [0, 1].")
    @click.option("--decay/--no-decay", default=None, help="Override the store's decay setting.")
    @click.option("--show-expired", is_flag=True, help="Include expired memories.")
    @click.option("--category", "categories", multiple=True, help="Has this category (repeatable).")
    @click.option("--explain", is_flag=True, help="Add score_details to each hit.")
    @click.option("--reference-date", help="Search as of: epoch seconds or ISO date/datetime.")
    @store_options
    @click.pass_context
    def search(ctx: click.Context, /, query: str, filters: str | None, top_k: int,
               threshold: float | None, decay: bool | None, show_expired: bool,
               categories: tuple[str, ...], explain: bool, reference_date: str | None,
               uri: str | None, plain: bool, **scope: str | None) -> None:  # fmt: skip
        """Search a scope, best first: hybrid vector + full text, score 0-1."""
        m = open_memory(ctx, uri)
        result = m.search(
            query,
            **scope_args(scope),
            filters=json_option(filters, "--filters"),
            top_k=top_k,
            threshold=threshold,
            decay=decay,
            show_expired=show_expired,
            categories=list(categories) or None,
            explain=explain,
            reference_date=epoch_or_text(reference_date),
        )
        emit(result_rows(result), plain, HIT_COLS)

    @cli.command("list")
    @scope_options
    @click.option("--filters", help="Mem0 v2 filter JSON.")
    @click.option("--category", "categories", multiple=True, help="Has this category (repeatable).")
    @click.option("--keywords", help="Full-text words the memory must contain.")
    @click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
    @click.option("--page-size", type=click.IntRange(min=1), default=100, show_default=True)
    @click.option("--all", "all_pages", is_flag=True, help="Every page, not just --page.")
    @click.option("--show-expired", is_flag=True, help="Include expired memories.")
    @store_options
    @click.pass_context
    def list_(ctx: click.Context, /, filters: str | None, categories: tuple[str, ...],
              keywords: str | None, page: int, page_size: int, all_pages: bool,
              show_expired: bool, uri: str | None, plain: bool,
              **scope: str | None) -> None:  # fmt: skip
        """List memories of a scope, newest first, with filters and pages."""
        m = open_memory(ctx, uri)
        args = dict(
            scope_args(scope),
            filters=json_option(filters, "--filters"),
            categories=list(categories) or None,
            keywords=keywords,
            page_size=page_size,
            show_expired=show_expired,
        )
        current: int | None = page
        rows: list[dict[str, Any]] = []
        while current is not None:
            pg = m.get_all_page(page=current, **args)
            rows.extend(r.to_dict() for r in pg.results)
            current = pg.next if all_pages else None
        emit(rows, plain, RECORD_COLS)
        if plain and not all_pages:
            pages = max(1, -(-pg.count // page_size))
            click.echo(f"page {pg.page} of {pages} ({pg.count} memories)", err=True)

    @cli.command()
    @click.argument("memory_id")
    @scope_options
    @click.option(
        "--show-expired/--hide-expired",
        default=True,
        show_default=True,
        help="Return it even if it has expired (Mem0's get does).",
    )
    @store_options
    @click.pass_context
    def get(ctx: click.Context, /, memory_id: str, show_expired: bool, uri: str | None,
            plain: bool, **scope: str | None) -> None:  # fmt: skip
        """Show one memory by id."""
        m = open_memory(ctx, uri)
        record = m.get(memory_id, **scope_args(scope), show_expired=show_expired)
        emit([record], plain, RECORD_COLS)

    @cli.command()
    @click.argument("memory_id")
    @click.option("--text", help="New text (re-embedded).")
    @click.option("--metadata", help="JSON object replacing the metadata ('null' clears it).")
    @click.option("--category", "categories", multiple=True, help="New categories (repeatable).")
    @click.option("--clear-categories", is_flag=True, help="Remove every category.")
    @click.option("--expires", help="New expiration: ISO date or datetime.")
    @click.option("--no-expiration", is_flag=True, help="Clear the expiration (never expires).")
    @click.option("--timestamp", help="The new updated_at: Unix epoch seconds or ISO datetime.")
    @scope_options
    @store_options
    @click.pass_context
    def update(ctx: click.Context, /, memory_id: str, text: str | None, metadata: str | None,
               categories: tuple[str, ...], clear_categories: bool, expires: str | None,
               no_expiration: bool, timestamp: str | None, uri: str | None, plain: bool,
               **scope: str | None) -> None:  # fmt: skip
        """Change a memory's text, metadata, categories or expiration."""
        if expires and no_expiration:
            raise click.UsageError("--expires and --no-expiration contradict each other")
        m = open_memory(ctx, uri)
        result = m.update(
            memory_id, text, **scope_args(scope),
            metadata=json_option(metadata, "--metadata") if metadata is not None else UNSET,
            categories=[] if clear_categories else (list(categories) if categories else UNSET),
            expiration_date=None if no_expiration else (expires or UNSET),
            timestamp=epoch_or_text(timestamp),
        )  # fmt: skip
        result.pop("message", None)
        emit([result], plain, RECORD_COLS)

    @cli.command()
    @click.argument("memory_id")
    @scope_options
    @store_options
    @click.pass_context
    def delete(ctx: click.Context, /, memory_id: str, uri: str | None, plain: bool,
               **scope: str | None) -> None:  # fmt: skip
        """Delete one memory (its history stays)."""
        open_memory(ctx, uri).delete(memory_id, **scope_args(scope))
        emit_one({"deleted": memory_id}, plain)

    @cli.command("delete-all")
    @scope_options
    @click.option("--filters", help="Mem0 v2 filter JSON narrowing what is deleted.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @store_options
    @click.pass_context
    def delete_all(ctx: click.Context, /, filters: str | None, yes: bool, uri: str | None,
                   plain: bool, **scope: str | None) -> None:  # fmt: skip
        """Delete every memory of a scope, optionally narrowed by --filters."""
        parsed = json_option(filters, "--filters")
        if not yes:
            what = scope_args(scope) or parsed
            click.confirm(f"Delete every memory matching {what}?", abort=True)
        result = open_memory(ctx, uri).delete_all(**scope_args(scope), filters=parsed)
        emit_one({"deleted": result["deleted"]}, plain)

    @cli.command()
    @click.argument("memory_id")
    @store_options
    @click.pass_context
    def history(ctx: click.Context, /, memory_id: str, uri: str | None, plain: bool) -> None:
        """Show every change of one memory, oldest first (kept after deletion)."""
        emit(open_memory(ctx, uri).history(memory_id), plain, HISTORY_COLS)

    @cli.command()
    @click.option("--show-expired", is_flag=True, help="Count expired memories too.")
    @store_options
    @click.pass_context
    def users(ctx: click.Context, /, show_expired: bool, uri: str | None, plain: bool) -> None:
        """List every user, agent, run and app that owns memories, with counts."""
        emit(result_rows(open_memory(ctx, uri).users(show_expired=show_expired)), plain, USER_COLS)
