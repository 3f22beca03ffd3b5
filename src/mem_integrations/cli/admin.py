"""Store-wide commands: purge-expired, stats, optimize, import, export, reembed, demo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import MemoryLayerError
from .options import open_memory, scope_args, scope_options, store_options, uri_option
from .output import emit_one

if TYPE_CHECKING:
    import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    """Add the store-wide commands to the ``cli`` click group."""
    import click

    from .. import transfer

    @cli.command("purge-expired")
    @store_options
    @click.pass_context
    def purge_expired(ctx: click.Context, /, uri: str | None, plain: bool) -> None:
        """Physically delete expired memories now (history event EXPIRE)."""
        emit_one(open_memory(ctx, uri).purge_expired(), plain)

    @cli.command()
    @store_options
    @click.pass_context
    def stats(ctx: click.Context, /, uri: str | None, plain: bool) -> None:
        """Show counts, size on disk, fragments, version and index state."""
        emit_one(open_memory(ctx, uri).stats(), plain)

    @cli.command()
    @store_options
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
    @scope_options
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    @store_options
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
        items = transfer.read_items(path, chosen, scope_args(scope))
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
    @scope_options
    @click.option(
        "-o",
        "--output",
        type=click.File("w", encoding="utf-8"),
        default="-",
        help="File to write (default: stdout).",
    )
    @uri_option
    @click.pass_context
    def export(ctx: click.Context, /, output: Any, uri: str | None, **scope: str | None) -> None:
        """Write memories as JSON lines, losslessly (import reads them back).

        Ids, scopes, metadata, categories, timestamps and expiration are kept; expired
        memories are included. Without scope options the whole store is exported.
        """
        m = open_memory(ctx, uri)
        for record in transfer.export_records(m, **scope_args(scope)):
            output.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")

    @cli.command()
    @click.argument("source")
    @click.option("--embedder", help='Named embedder of the new store, e.g. "e5-small".')
    @click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    @store_options
    @click.pass_context
    def reembed(ctx: click.Context, /, source: str, embedder: str | None, batch_size: int,
                quiet: bool, uri: str | None, plain: bool) -> None:  # fmt: skip
        """Copy the store at SOURCE into a new store (--uri), re-embedding every memory.

        A store only opens with the embedder it was built with; this is how to move to
        another one. Ids, scopes, metadata, timestamps, expiration, history and access
        records are all copied; SOURCE is only read. Then point --uri / $MEM_INTEGRATIONS_URI
        at the new store.
        """
        from tqdm import tqdm

        if embedder:
            ctx.obj = {**(ctx.obj or {})}
            ctx.obj["config"] = {**ctx.obj.get("config", {}), "embedder": embedder}
        m = open_memory(ctx, uri)
        with tqdm(desc=f"reembed with {m.embedder.model_id}", unit="memory", file=sys.stderr,
                  disable=quiet, dynamic_ncols=True) as bar:  # fmt: skip
            out = m.import_store(
                source, batch_size=batch_size, total=lambda n: setattr(bar, "total", n),
                progress=lambda n: None if bar.update(n) else None,
            )  # fmt: skip
        emit_one({**out, "target": m.store.uri}, plain)

    @cli.command()
    @uri_option
    @click.pass_context
    def demo(ctx: click.Context, /, uri: str | None) -> None:
        """Run the seed scenarios end to end on the store, narrated.

        Everything lives under app_id "mem-integrations-demo", which is cleared first, so
        running it twice gives the same story and touches nothing else in the store.
        """
        from ..demo import run_demo

        run_demo(open_memory(ctx, uri), click.echo)
