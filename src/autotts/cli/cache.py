"""``autotts cache``: where the cross-run baseline cache is, what it holds; clearing it."""

from __future__ import annotations

import json

import click

from .options import Command


@click.group(short_help="Inspect or clear the cache of baseline measurements.")
def cache() -> None:
    """The baseline measurements discovery runs share (under $AUTOTTS_CACHE_DIR, else the user
    cache directory). An entry is keyed by everything its numbers depend on, autotts's code
    included, so clearing is never needed for correctness; it only frees space."""


@cache.command(cls=Command, short_help="Where the cache is and what it holds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(as_json: bool) -> None:
    from ..discover import BaselineCache, cache_dir

    root = cache_dir()
    entries = BaselineCache(root).entries()
    size = sum(f.stat().st_size for f in entries)
    if as_json:
        click.echo(json.dumps({"dir": str(root), "entries": len(entries), "bytes": size}))
    else:
        click.echo(f"{root}: {len(entries)} baseline measurement(s), {size / 1e6:.1f} MB")


@cache.command(cls=Command, short_help="Delete every cached measurement.")
def clear() -> None:
    from ..discover import BaselineCache, cache_dir

    root = cache_dir()
    n = BaselineCache(root).clear()
    click.echo(f"{root}: deleted {n} baseline measurement(s)")
