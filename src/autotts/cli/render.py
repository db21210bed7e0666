"""Human-readable output with rich (imported only when a table or progress bar is drawn)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from ..data import ReleasedFile
    from ..evaluate import EvalResult


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields ``advance(n_episodes)``."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("episodes"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def stdout_console() -> Console:
    """stdout; when it is a file or pipe, wide enough that tables never wrap."""
    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))


def _beta(b: float | None) -> str:
    return "-" if b is None else f"{b:g}"


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _caption(results: Sequence[EvalResult]) -> str:
    kappa = results[0].kappa_probe
    tokens = f"cost (tokens + {kappa:g} per probe)" if kappa else "tokens generated"
    text = f"per question: {tokens}, tokens of the longest chain (seq. tok)"
    truncated = sum(r.truncated for r in results)
    if truncated:
        text += f"; {truncated:,} episodes stopped at the budget"
    return text


def print_results(results: Sequence[EvalResult]) -> None:
    """One row per (env, beta); with several environments, a mean row per beta after them.
    Tokens are averages per question (total generated; longest chain for ``seq. tok``)."""
    first = results[0]
    envs = {r.env for r in results}
    # name rows by model unless two files hold the same model/dataset (then by path)
    by_path = len({(r.model, r.dataset) for r in results}) < len(envs)
    params = "".join(f" {k}={v}" for k, v in first.params.items())
    table = Table(
        title=f"{first.controller}{params}: {first.protocol} protocol, "
        f"{first.replicates} replicates, {first.match} matching",
        caption=_caption(results),
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("env" if by_path else "model", overflow="fold", min_width=8)
    table.add_column("dataset", overflow="fold", min_width=7)
    for name in ("beta", "acc %", "95% CI", "tokens", "seq. tok", "episodes", "s"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in results:
        lo, hi = r.accuracy_ci95
        table.add_row(
            r.env if by_path else r.model,
            r.dataset,
            _beta(r.beta),
            f"{r.accuracy:.2f}",
            f"{lo:.1f}–{hi:.1f}",
            f"{r.avg_total_tokens:,.0f}",
            f"{r.avg_sequential_tokens:,.0f}",
            f"{r.episodes:,}",
            f"{r.seconds:.2f}",
        )
    if len(envs) > 1:
        by_beta: dict[float | None, list[EvalResult]] = {}
        for r in results:
            by_beta.setdefault(r.beta, []).append(r)
        table.add_section()
        for b, rows in by_beta.items():
            table.add_row(
                "mean",
                "",
                _beta(b),
                f"{_mean([r.accuracy for r in rows]):.2f}",
                "",
                f"{_mean([r.avg_total_tokens for r in rows]):,.0f}",
                f"{_mean([r.avg_sequential_tokens for r in rows]):,.0f}",
                f"{sum(r.episodes for r in rows):,}",
                f"{sum(r.seconds for r in rows):.2f}",
                style="bold",
            )
    stdout_console().print(table)


def _fmt(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if percent:
            return f"{value:.2f}"
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, dict):
        return "  ".join(f"{k}: {_fmt(v, percent)}" for k, v in value.items())
    return str(value)


_PERCENT = ("err_rate", "pass_at_1", "majority_at_k")


_LABELS = {
    "chains_min": "chains (min)",
    "chains_max": "chains (max)",
    "length_quantiles": "chain length (tokens)",
    "probes_per_chain_median": "probes per chain (median)",
    "err_rate": "ERR probes %",
    "pass_at_1": "pass@1 %",
    "majority_at_k": "majority@k %",
    "replicates": "replicates (majority@k)",
    "interval_tokens": "probe interval (tokens)",
    "hash": "stored hash check",
}


def print_env_info(records: Sequence[dict[str, Any]]) -> None:
    """One two-column table per environment."""
    console = stdout_console()
    for rec in records:
        path = rec.get("path")
        table = Table(
            title=f"{rec.get('model')}/{rec.get('dataset')}",
            caption=path if path and path != rec.get("source") else None,
            show_header=False,
        )
        table.add_column(style="bold")
        table.add_column()
        for key, value in rec.items():
            if key in ("model", "dataset", "path"):
                continue
            if key == "err_rate" and isinstance(value, float):
                value = 100 * value
            label = _LABELS.get(key, key.replace("_", " "))
            table.add_row(label, _fmt(value, percent=key in _PERCENT))
        console.print(table)


@contextmanager
def download_bar(total: int) -> Iterator[Callable[[str, int], None]]:
    """A bytes bar on stderr over ``total`` bytes; yields ``advance(name, completed)``
    (``name`` the file being downloaded, empty between files)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("pull", total=total)

        def advance(name: str, completed: int) -> None:
            progress.update(task, completed=completed, description=name or "pull")

        yield advance


def print_released(rows: Sequence[tuple[ReleasedFile, str]], root: str) -> None:
    """The released files (``autotts env pull --list``): name, size, sources (repository and
    commit, in the order tried) and their state in the cache."""
    table = Table(title="released replay environments", box=box.SIMPLE)
    for column in ("name", "MB", "in cache", "sources"):
        table.add_column(column, justify="right" if column == "MB" else "left")
    for entry, state in rows:
        sources = ", ".join(
            "{}/{}@{}".format(*source.split("/")[:2], source.split("/")[2][:7])
            for source in entry.sources
        )
        table.add_row(entry.name, f"{entry.size / 1e6:.1f}", state, sources)
    console = stdout_console()
    console.print(table)
    console.print(f"cache: {root}", soft_wrap=True, highlight=False)  # a path is never wrapped
