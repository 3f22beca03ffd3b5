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

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from .core.config import DEFAULT_URI_ENV, MemoryConfig
from .core.errors import MemoryLayerError
from .core.filters import SCOPE_FIELDS
from .core.memory import UNSET, Memory

if TYPE_CHECKING:
    import click

__all__ = ["INSTALL_HINT", "build_cli", "main"]

INSTALL_HINT = 'the mem-integrations command needs its extra: pip install "mem-integrations[cli]"'

F = TypeVar("F", bound=Callable[..., Any])
Row = Mapping[str, Any]

# Columns of the --plain tables, per kind of output: (header, key).
RECORD_COLS = [("id", "id"), ("memory", "memory"), ("scope", "_scope"),
               ("categories", "categories"), ("created", "created_at"),
               ("expires", "expiration_date")]  # fmt: skip
HIT_COLS = [("score", "score"), *RECORD_COLS]
EVENT_COLS = [("event", "event"), ("id", "id"), ("memory", "memory")]
HISTORY_COLS = [("when", "created_at"), ("event", "event"), ("old", "old_memory"),
                ("new", "new_memory")]  # fmt: skip
USER_COLS = [("type", "type"), ("name", "name"), ("memories", "total_memories"),
             ("last update", "updated_at")]  # fmt: skip
KV_COLS = [("key", "key"), ("value", "value")]
MAX_CELL = 60


# -- output ---------------------------------------------------------------------------------


def _cell(row: Row, key: str) -> str:
    if key == "_scope":
        return " ".join(f"{k.removesuffix('_id')}:{row[k]}" for k in SCOPE_FIELDS if row.get(k))
    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    if key.endswith(("_at", "_date")) and len(text) >= 19:
        text = text[:16].replace("T", " ")  # minutes are enough to read; JSON keeps it all
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def format_table(rows: Sequence[Row], cols: Sequence[tuple[str, str]]) -> str:
    """Left-aligned columns with a header rule; empty input says so instead of printing air."""
    if not rows:
        return "(nothing)"
    grid = [[h for h, _ in cols]] + [[_cell(r, k) for _, k in cols] for r in rows]
    widths = [max(len(line[i]) for line in grid) for i in range(len(cols))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in grid]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def emit(rows: Sequence[Row], plain: bool, cols: Sequence[tuple[str, str]]) -> None:
    """JSON lines (the default, for pipes) or a table (``--plain``, for people)."""
    import click

    if plain:
        click.echo(format_table(rows, cols))
        return
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False, default=str))


def emit_one(row: Row, plain: bool) -> None:
    """Print one result dict: one JSON line, or key/value rows."""
    if plain:
        emit([{"key": k, "value": v} for k, v in row.items()], True, KV_COLS)
    else:
        emit([row], False, KV_COLS)


# -- option parsing -------------------------------------------------------------------------


def _json_option(value: str | None, name: str) -> Any:
    import click

    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON ({exc.msg} at column {exc.colno})",
                                 param_hint=name) from None  # fmt: skip


def _scope_options(fn: F) -> F:
    import click

    for name in reversed(SCOPE_FIELDS):
        flag = "--" + name.replace("_", "-")
        fn = click.option(flag, name, default=None, help=f"Scope: {name}.")(fn)
    return fn


def _uri_option(fn: F) -> F:
    import click

    return click.option(
        "--uri", envvar=DEFAULT_URI_ENV, default=None, show_envvar=True,
        help="LanceDB URI of the store (default ./.mem_integrations/lancedb).",
    )(fn)  # fmt: skip


def _store_options(fn: F) -> F:
    import click

    fn = click.option("--plain", is_flag=True, help="Print a readable table, not JSON lines.")(fn)
    return _uri_option(fn)


def open_memory(ctx: click.Context, /, uri: str | None) -> Memory:
    """Open the store once per command and close it when the command ends.

    ``ctx.obj["config"]`` may hold extra ``MemoryConfig`` fields (tests inject a
    deterministic embedder and a frozen clock this way).
    """
    extra = dict((ctx.obj or {}).get("config", {}))
    if uri:
        extra["uri"] = uri
    return ctx.with_resource(Memory(MemoryConfig(**extra)))


class ScopeArgs(TypedDict, total=False):
    """The scope options a command was given, ready for ``**`` into a ``Memory`` method."""

    user_id: str
    agent_id: str
    run_id: str
    app_id: str


def _scope(kw: Mapping[str, Any]) -> ScopeArgs:
    out = ScopeArgs()
    for k in SCOPE_FIELDS:
        if kw.get(k) is not None:
            out[k] = kw[k]  # type: ignore[literal-required]
    return out


def _rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(result["results"])


# -- the command group ----------------------------------------------------------------------


def build_cli() -> click.Group:
    """Build the click group (imports click; raises ImportError without the extra)."""
    import click

    from . import transfer

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

    @cli.command()
    @click.argument("text")
    @_scope_options
    @click.option("--metadata", help="JSON object stored with the memory.")
    @click.option("--category", "categories", multiple=True, help="A category (repeatable).")
    @click.option("--expires", help="Expiration: ISO date or datetime.")
    @_store_options
    @click.pass_context
    def add(ctx: click.Context, /, text: str, metadata: str | None, categories: tuple[str, ...],
            expires: str | None, uri: str | None, plain: bool,
            **scope: str | None) -> None:  # fmt: skip
        """Store TEXT verbatim as a memory.

        An exact duplicate in the same scope is reported as NONE, not stored twice.
        """
        m = open_memory(ctx, uri)
        result = m.add(
            text,
            **_scope(scope),
            metadata=_json_option(metadata, "--metadata"),
            categories=list(categories) or None,
            expiration_date=expires,
            infer=False,
        )
        emit(_rows(result), plain, EVENT_COLS)

    @cli.command()
    @click.argument("query")
    @_scope_options
    @click.option("--filters", help="Mem0 v2 filter JSON (see docs/concepts/filters.md).")
    @click.option("--top-k", type=click.IntRange(min=1), default=10, show_default=True)
    @click.option("--threshold", type=click.FloatRange(0, 1), help="Minimum relevance in [0, 1].")
    @click.option("--decay/--no-decay", default=None, help="Override the store's decay setting.")
    @click.option("--show-expired", is_flag=True, help="Include expired memories.")
    @_store_options
    @click.pass_context
    def search(ctx: click.Context, /, query: str, filters: str | None, top_k: int,
               threshold: float | None, decay: bool | None, show_expired: bool, uri: str | None,
               plain: bool, **scope: str | None) -> None:  # fmt: skip
        """Search a scope, best first: hybrid vector + full text, score 0-1."""
        m = open_memory(ctx, uri)
        result = m.search(
            query,
            **_scope(scope),
            filters=_json_option(filters, "--filters"),
            top_k=top_k,
            threshold=threshold,
            decay=decay,
            show_expired=show_expired,
        )
        emit(_rows(result), plain, HIT_COLS)

    @cli.command("list")
    @_scope_options
    @click.option("--filters", help="Mem0 v2 filter JSON.")
    @click.option("--category", "categories", multiple=True, help="Has this category (repeatable).")
    @click.option("--keywords", help="Full-text words the memory must contain.")
    @click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
    @click.option("--page-size", type=click.IntRange(min=1), default=100, show_default=True)
    @click.option("--all", "all_pages", is_flag=True, help="Every page, not just --page.")
    @click.option("--show-expired", is_flag=True, help="Include expired memories.")
    @_store_options
    @click.pass_context
    def list_(ctx: click.Context, /, filters: str | None, categories: tuple[str, ...],
              keywords: str | None, page: int, page_size: int, all_pages: bool,
              show_expired: bool, uri: str | None, plain: bool,
              **scope: str | None) -> None:  # fmt: skip
        """List memories of a scope, newest first, with filters and pages."""
        m = open_memory(ctx, uri)
        args = dict(
            _scope(scope),
            filters=_json_option(filters, "--filters"),
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
    @_scope_options
    @click.option("--show-expired", is_flag=True, help="Return it even if it has expired.")
    @_store_options
    @click.pass_context
    def get(ctx: click.Context, /, memory_id: str, show_expired: bool, uri: str | None,
            plain: bool, **scope: str | None) -> None:  # fmt: skip
        """Show one memory by id."""
        record = open_memory(ctx, uri).get(memory_id, **_scope(scope), show_expired=show_expired)
        emit([record], plain, RECORD_COLS)

    @cli.command()
    @click.argument("memory_id")
    @click.option("--text", help="New text (re-embedded).")
    @click.option("--metadata", help="JSON object replacing the metadata ('null' clears it).")
    @click.option("--category", "categories", multiple=True, help="New categories (repeatable).")
    @click.option("--clear-categories", is_flag=True, help="Remove every category.")
    @click.option("--expires", help="New expiration: ISO date or datetime.")
    @click.option("--no-expiration", is_flag=True, help="Clear the expiration (never expires).")
    @_scope_options
    @_store_options
    @click.pass_context
    def update(ctx: click.Context, /, memory_id: str, text: str | None, metadata: str | None,
               categories: tuple[str, ...], clear_categories: bool, expires: str | None,
               no_expiration: bool, uri: str | None, plain: bool,
               **scope: str | None) -> None:  # fmt: skip
        """Change a memory's text, metadata, categories or expiration."""
        if expires and no_expiration:
            raise click.UsageError("--expires and --no-expiration contradict each other")
        m = open_memory(ctx, uri)
        result = m.update(
            memory_id, text, **_scope(scope),
            metadata=_json_option(metadata, "--metadata") if metadata is not None else UNSET,
            categories=[] if clear_categories else (list(categories) if categories else UNSET),
            expiration_date=None if no_expiration else (expires or UNSET),
        )  # fmt: skip
        result.pop("message", None)
        emit([result], plain, RECORD_COLS)

    @cli.command()
    @click.argument("memory_id")
    @_scope_options
    @_store_options
    @click.pass_context
    def delete(ctx: click.Context, /, memory_id: str, uri: str | None, plain: bool,
               **scope: str | None) -> None:  # fmt: skip
        """Delete one memory (its history stays)."""
        open_memory(ctx, uri).delete(memory_id, **_scope(scope))
        emit_one({"deleted": memory_id}, plain)

    @cli.command("delete-all")
    @_scope_options
    @click.option("--filters", help="Mem0 v2 filter JSON narrowing what is deleted.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @_store_options
    @click.pass_context
    def delete_all(ctx: click.Context, /, filters: str | None, yes: bool, uri: str | None,
                   plain: bool, **scope: str | None) -> None:  # fmt: skip
        """Delete every memory of a scope, optionally narrowed by --filters."""
        parsed = _json_option(filters, "--filters")
        if not yes:
            click.confirm(f"Delete every memory matching {_scope(scope) or parsed}?", abort=True)
        result = open_memory(ctx, uri).delete_all(**_scope(scope), filters=parsed)
        emit_one({"deleted": result["deleted"]}, plain)

    @cli.command()
    @click.argument("memory_id")
    @_store_options
    @click.pass_context
    def history(ctx: click.Context, /, memory_id: str, uri: str | None, plain: bool) -> None:
        """Show every change of one memory, oldest first (kept after deletion)."""
        emit(open_memory(ctx, uri).history(memory_id), plain, HISTORY_COLS)

    @cli.command()
    @click.option("--show-expired", is_flag=True, help="Count expired memories too.")
    @_store_options
    @click.pass_context
    def users(ctx: click.Context, /, show_expired: bool, uri: str | None, plain: bool) -> None:
        """List every user, agent, run and app that owns memories, with counts."""
        emit(_rows(open_memory(ctx, uri).users(show_expired=show_expired)), plain, USER_COLS)

    @cli.command("purge-expired")
    @_store_options
    @click.pass_context
    def purge_expired(ctx: click.Context, /, uri: str | None, plain: bool) -> None:
        """Physically delete expired memories now (history event EXPIRE)."""
        emit_one(open_memory(ctx, uri).purge_expired(), plain)

    @cli.command()
    @_store_options
    @click.pass_context
    def stats(ctx: click.Context, /, uri: str | None, plain: bool) -> None:
        """Show counts, size on disk, fragments, version and index state."""
        emit_one(open_memory(ctx, uri).stats(), plain)

    @cli.command()
    @_store_options
    @click.pass_context
    def optimize(ctx: click.Context, /, uri: str | None, plain: bool) -> None:
        """Compact fragments and refresh indexes now; print the stats after."""
        emit_one(open_memory(ctx, uri).optimize(), plain)

    @cli.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["auto", "jsonl", "locomo"]),
        default="auto",
        show_default=True,
        help="Input format.",
    )
    @_scope_options
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    @_store_options
    @click.pass_context
    def import_(ctx: click.Context, /, path: Path, fmt: str, quiet: bool, uri: str | None,
                plain: bool, **scope: str | None) -> None:  # fmt: skip
        """Load memories from a JSONL file or LOCOMO conversations at PATH.

        Scope options fill in lines that name no scope (for LOCOMO, each conversation's
        sample_id is its user_id unless --user-id is given). Every line is checked before
        anything is written.
        """
        from tqdm import tqdm

        chosen = None if fmt == "auto" else fmt
        items = transfer.read_items(path, chosen, _scope(scope))
        m = open_memory(ctx, uri)
        counts: dict[str, int] = {}
        done = 0
        with tqdm(total=len(items), desc=f"import {path.name}", unit="item", file=sys.stderr,
                  disable=quiet, dynamic_ncols=True) as bar:  # fmt: skip
            try:
                for group, events in transfer.apply_items(m, items):
                    done += len(group)
                    bar.update(len(group))
                    for event in events:
                        counts[event] = counts.get(event, 0) + 1
            except MemoryLayerError as exc:
                raise click.ClickException(
                    f"{type(exc).__name__}: {exc} (stopped at {items[done].where}; the "
                    f"{done} items before it were imported)"
                ) from None
        emit_one({"file": str(path), "format": chosen or transfer.detect_format(path),
                  "items": len(items), **{k.lower(): v for k, v in sorted(counts.items())}},
                 plain)  # fmt: skip

    @cli.command()
    @_scope_options
    @click.option(
        "-o",
        "--output",
        type=click.File("w", encoding="utf-8"),
        default="-",
        help="File to write (default: stdout).",
    )
    @_uri_option
    @click.pass_context
    def export(ctx: click.Context, /, output: Any, uri: str | None, **scope: str | None) -> None:
        """Write memories as JSON lines, losslessly (import reads them back).

        Ids, scopes, metadata, categories, timestamps and expiration are kept; expired
        memories are included. Without scope options the whole store is exported.
        """
        m = open_memory(ctx, uri)
        for record in transfer.export_records(m, **_scope(scope)):
            output.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")

    @cli.command()
    @_uri_option
    @click.pass_context
    def demo(ctx: click.Context, /, uri: str | None) -> None:
        """Run the seed scenarios end to end on the store, narrated.

        Everything lives under app_id "mem-integrations-demo", which is cleared first, so
        running it twice gives the same story and touches nothing else in the store.
        """
        from .demo import run_demo

        run_demo(open_memory(ctx, uri), click.echo)

    from .server.cli import add_server_commands

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
