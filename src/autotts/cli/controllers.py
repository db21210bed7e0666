"""``autotts controllers``: the built-in controllers and their settings."""

from __future__ import annotations

import json
from typing import Any

import click

from .options import command, option


@command(short_help="List the built-in controllers.")
@option(
    "--json",
    "as_json",
    is_flag=True,
    envvar="AUTOTTS_CONTROLLERS_JSON",
    help="One JSON object per controller, one per line.",
)
def controllers(as_json: bool) -> None:
    """List the built-in controllers: fixed baselines with their default parameters (set them
    with --param), beta-parameterized ones with their schedule at beta 0, 0.5 and 1."""
    from ..controllers import registered

    for name, cls in sorted(registered().items()):
        paragraph = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        record: dict[str, Any] = {
            "name": name,
            "kind": "beta" if cls.uses_beta else "fixed",
            "summary": paragraph.split(". ")[0].rstrip(".") + "." if paragraph else "",
            "params": dict(cls.defaults),
        }
        if cls.uses_beta:
            record["schedule"] = {str(b): cls.schedule(b) for b in (0.0, 0.5, 1.0)}
        if as_json:
            click.echo(json.dumps(record))
            continue
        click.echo(f"{name}  ({record['kind']})  {record['summary']}")
        if cls.defaults:
            click.echo("    params: " + ", ".join(f"{k}={v}" for k, v in cls.defaults.items()))
        if cls.uses_beta:
            for b, settings in record["schedule"].items():
                click.echo(f"    beta {b}: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
