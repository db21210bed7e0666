"""``autotts env pull``: the released replay environments, downloaded and verified, in one
command (thin over :func:`autotts.data.pull_released`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

import click

from .common import PROG, CliError, Interrupted
from .options import Command, option

if TYPE_CHECKING:
    from ..data import PullResult, ReleasedFile


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _origin(entry: ReleasedFile, url: str | None) -> str:
    """``zhengkid/AutoTTS@3cd98d1 via https://raw.githubusercontent.com/``: the repository
    and commit a URL stands for, and the base (mirror) it was fetched from."""
    for source in entry.sources:
        if url and url.endswith(source):
            owner, repo, commit = source.split("/")[:3]
            return f"{owner}/{repo}@{commit[:7]} via {url[: -len(source)]}"
    return str(url)


def _line(r: PullResult, entry: ReleasedFile) -> str:
    """The human line of one file that did not fail."""
    if r.status == "up-to-date":
        return f"{r.name}: up-to-date"
    where = _origin(entry, r.source)
    if r.status == "would-download":
        why = " (the cached copy is not the released file)" if r.previous == "mismatch" else ""
        return f"{r.name}: would download {_mb(r.bytes)} from {where}{why}"
    replaced = (
        "; it replaced a cached copy whose sha256 was not the released one"
        if r.previous == "mismatch"
        else ""
    )
    return f"{r.name}: downloaded {_mb(r.bytes)}, sha256 verified ({where}){replaced}"


def _list(entries: list[ReleasedFile], as_json: bool, mirror: str | None) -> None:
    from ..data import cached_state, mirror_base, release_path, release_root

    root, base = release_root(), mirror_base(mirror)
    rows = []
    for e in entries:
        state = cached_state(e, root)
        rows.append((e, state))
        if as_json:
            record = {
                "name": e.name,
                "path": str(release_path(e, root)),
                "bytes": e.size,
                "sha256": e.sha256,
                "sources": e.urls(base),
                "cached": state,
            }
            click.echo(json.dumps(record))
    if not as_json:
        from .render import print_released

        print_released(rows, str(root))


def _summary(results: list[PullResult], root: str) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = ", ".join(f"{n} {status}" for status, n in counts.items())
    ok = [r for r in results if r.status in ("downloaded", "up-to-date")]
    hint = ""
    if ok:
        example = next((r.name for r in ok if r.name == "Qwen3-4B/aime25"), ok[0].name)
        dataset = example.split("/")[1]
        hint = f"; use them by name: --env {example}, or --env '*/{dataset}'"
    return f"{root}: {parts}{hint}"


@click.command(cls=Command, short_help="Download the released replay environments, verified.")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@option("--list", "list_only", is_flag=True, help="Show the files, cached or not; fetch nothing.")
@option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@option("--force", is_flag=True, help="Download again even files already in place and verified.")
@option("--dry-run", is_flag=True, help="Say what would be downloaded; fetch nothing.")
@option(
    "--mirror",
    metavar="URL",
    default=None,
    help="Base replacing https://raw.githubusercontent.com/ in every URL (the path is kept), "
    "e.g. http://127.0.0.1:8000/ serving owner/repo/commit/path; also $AUTOTTS_PULL_MIRROR.",
)
@option(
    "--retries",
    type=click.IntRange(0, 10),
    default=2,
    show_default=True,
    help="Further tries of a URL after a transient failure (with backoff).",
)
def pull(
    names: tuple[str, ...],
    list_only: bool,
    as_json: bool,
    force: bool,
    dry_run: bool,
    mirror: str | None,
    retries: int,
) -> None:
    """Download the replay environments the AutoTTS and Parallel-Probe papers released (4 Qwen3
    models x aime24, aime25, hmmt25) into the user cache, $AUTOTTS_CACHE_DIR/replay (by default
    ~/.cache/autotts/replay), where --env finds them by short name (Qwen3-4B/aime25).

    NAMEs are short names or quoted globs over the table ('*/aime25', 'Qwen3-4B/*'); none means
    all 12. Every file's sha256 is checked against the table before it is put in place; a file
    already there and verified is not downloaded again. A file that fails (after retries and
    every source) is an error line; the others go on, and the exit code is 2 at the end."""
    from ..data import RELEASED, PullError, pull_released, release_root, select_released

    try:
        entries = select_released(names, RELEASED)
        if list_only:
            _list(entries, as_json, mirror)
            return
    except PullError as e:
        raise CliError(str(e)) from None
    root = release_root()
    by_name = {e.name: e for e in entries}
    results: list[PullResult] = []
    show_progress = not as_json and sys.stderr.isatty()
    bar: AbstractContextManager[Callable[[str, int], None]] = nullcontext(lambda _n, _c: None)
    if show_progress:
        from .render import download_bar

        bar = download_bar(sum(e.size for e in entries))
    try:
        with bar as advance:
            done = 0
            stream = pull_released(
                entries,
                root=root,
                mirror=mirror,
                force=force,
                dry_run=dry_run,
                retries=retries,
                progress=lambda name, got, size: advance(name, done + got),
            )
            for r in stream:
                results.append(r)
                done += r.bytes
                advance("", done)
                if as_json:
                    click.echo(json.dumps(r.to_json()))
                elif r.status != "failed":
                    click.echo(_line(r, by_name[r.name]))
                if r.error and len(entries) > 1:
                    click.echo(f"{PROG}: error: {r.error}", err=True)
    except PullError as e:
        raise CliError(str(e)) from None
    except KeyboardInterrupt:
        kept = sum(r.status in ("downloaded", "up-to-date") for r in results)
        raise Interrupted(
            f"{kept} verified file(s) are in {root}; no partial file was left; run the same "
            "command to fetch the rest"
        ) from None
    failed = [r for r in results if r.status == "failed"]
    if not as_json:
        click.echo(_summary(results, str(root)))
    if len(entries) == 1 and failed and failed[0].error:
        raise CliError(failed[0].error)
    if failed:
        names_failed = ", ".join(r.name for r in failed)
        raise CliError(f"{len(failed)} of {len(results)} failed: {names_failed}")
