"""What ``autotts discover`` says and writes around a run: the default run directory and data,
the settings line, the HTML report at the end and the plain-language result."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..locks import lock_directory
from .common import CliError, one_line, warn


def default_run_dir() -> Path:
    """``runs/discover-<UTC time>``, made unique if two runs start in the same second."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = Path("runs") / f"discover-{stamp}"
    n = 2
    while path.exists():
        path = Path("runs") / f"discover-{stamp}-{n}"
        n += 1
    return path


def _size(text: str | None) -> tuple[int, int]:
    from ..discover import DEMO_CHAINS, DEMO_QUESTIONS

    if text is None:
        return DEMO_QUESTIONS, DEMO_CHAINS
    q, sep, c = text.lower().partition("x")
    if not (sep and q.isdigit() and c.isdigit() and int(q) > 0 and int(c) > 0):
        raise CliError(f"bad --demo-size {text!r}: expected QUESTIONSxCHAINS, e.g. 30x128")
    return int(q), int(c)


def main_job_data(
    run_dir: Path, demo_size: str | None
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """The default run's (search files, held-out files, description): the replay data under
    ``$AUTOTTS_REPLAY_DIR`` if it is there, else synthetic splits written into the run
    directory."""
    from ..discover import demo_splits

    questions, chains = _size(demo_size)
    if (run_dir / "history.sqlite").exists():
        raise CliError(
            f"{run_dir} already holds a discovery run: add --resume to continue it, or choose "
            "another --run-dir"
        )
    with lock_directory(run_dir):  # not while another process runs there (it reads them)
        data = demo_splits(run_dir / "data", questions, chains)
    return tuple(data.search), tuple(data.heldout), data.description


def _betas(betas: list[float]) -> str:
    return ", ".join(f"{b:g}" for b in betas)


def describe_settings(cfg: Any, data_note: str) -> str:
    """One line: the proposer, rounds, replicates and betas, and the data."""
    rounds = f"{cfg.rounds} round(s)"
    if cfg.budget_minutes is not None:
        rounds = f"rounds for {cfg.budget_minutes:g} minute(s) (time budget)"
        if cfg.rounds is not None:
            rounds += f", at most {cfg.rounds}"
    data = data_note or (
        f"{len(cfg.search_envs)} search and {len(cfg.heldout_envs)} held-out environment(s)"
    )
    return (
        f"the {cfg.proposer} proposer, {rounds} of {cfg.candidates_per_round} candidate(s), "
        f"{cfg.replicates} replicates, betas {_betas(cfg.betas)}; on {data}"
    )


def write_report(run_dir: Path) -> Path | None:
    """Write the run's HTML report into ``RUN_DIR/report``; a failure is a warning (the run's
    results are already on disk) naming the command that retries it."""
    from ..discover import load_run
    from ..report import write_run_report
    from .report import made_by

    out = run_dir / "report"
    try:
        out.mkdir(parents=True, exist_ok=True)
        index, _ = write_run_report(load_run(run_dir), run_dir, out, provenance=made_by())
    except Exception as e:  # the results are safe in the run directory: say so, do not crash
        warn(
            f"could not write the report ({one_line(e)}); the run is complete: retry with "
            f"autotts report --run {run_dir} -o {out}"
        )
        return None
    return index


def final_text(
    summary: dict[str, Any],
    run_dir: Path,
    index: Path | None,
    seconds: float,
    data_note: str,
    resumed: bool = False,
) -> str:
    """The plain-language end of a run: settings, what was found, how it compares, where
    the report and summary are."""
    from ..discover import DiscoverConfig, plain_result

    cfg = DiscoverConfig.from_json(summary["config"])
    done = summary.get("rounds_completed")
    lines = [
        "",
        f"{'Resumed and finished' if resumed else 'Finished'} in {seconds:.0f} s, "
        f"{done} round(s) done: {describe_settings(cfg, data_note)}.",
        *plain_result(summary, str(run_dir)),
    ]
    if index is not None:
        lines.append(f"report: {index}")
    lines.append(f"summary: {run_dir / 'summary.json'}")
    return "\n".join(lines)
