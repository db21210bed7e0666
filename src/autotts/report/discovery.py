"""Discovery progress: the sections of a report on a discovery run directory.

Read from the run's history (:func:`autotts.discover.load_run`) and, once the run finished, its
``summary.json``: progress per round on the search split (as in the AutoTTS paper's Figure 4),
for an evolve run the search itself (``evolve/state.json``; :mod:`.discovery_search`), the
candidate table with every candidate's code copied into the report folder, the final held-out
comparison and the run's setup. A selection that does not beat the baselines is said to, in
plain words (:mod:`.discovery_verdict`). An unfinished run (no ``summary.json``) gets progress,
search and candidates from the history alone and a note saying so.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .discovery_data import HeldoutData, Progress, chosen_id, heldout_data, progress
from .discovery_plots import heldout_figure, progress_figure
from .discovery_search import search_section
from .discovery_verdict import below_html, ci_text, no_win_html
from .html import Section, esc, figure, links, table_html
from .tables import fmt_tokens, to_markdown

if TYPE_CHECKING:
    from ..discover import CandidateRow, RunView

SHORT = 140  # characters of a reason or rationale shown before "more"


def _csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _md_cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|") or "–"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int]) -> str:
    align = "|".join("---:" if i in numeric else "---" for i in range(len(header)))
    lines = ["| " + " | ".join(header) + " |", f"|{align}|"]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _long_text(text: str) -> str:
    """A reason or rationale: short ones whole, long ones folded under their beginning."""
    text = text.strip()
    if not text:
        return "–"
    if len(text) <= SHORT and "\n" not in text:
        return esc(text)
    head = " ".join(text.split())[:SHORT].rsplit(" ", 1)[0]
    return (
        f"<details><summary>{esc(head)} …</summary>"
        f"<pre style='white-space: pre-wrap; max-width: 60rem'>{esc(text)}</pre></details>"
    )


def _score(score: float | None) -> str:
    return "–" if score is None else f"{score:+.2f}"


# ---------------------------------------------------------------------- progress per round
def _progress_section(view: RunView, out: Path) -> Section:
    prog = progress(view)
    rows = [
        ["candidate", p.id, p.round, p.status, p.beta, p.accuracy, p.tokens,
         "" if p.score is None else p.score]
        for p in prog.candidates
    ] + [
        ["baseline", r.label, "", "", "" if r.beta is None else r.beta, r.accuracy, r.tokens, ""]
        for r in prog.references
    ]  # fmt: skip
    header = ["kind", "id", "round", "status", "beta", "accuracy", "avg_total_tokens", "score"]
    (out / "progress.csv").write_text(_csv(header, rows), encoding="utf-8")
    files: list[str] = ["progress.csv"]
    if prog.candidates or prog.references or prog.scores:
        paths = progress_figure(prog, out / "progress")
        files[:0] = [p.name for p in paths]
        fig = figure("progress", "progress per round", esc(_progress_caption(prog)))
    else:
        fig = "<p class='note'>Nothing has been measured yet.</p>"
    body = f"<p>{_progress_summary(view, prog)}</p>{fig}"
    body += f"<p class='note'>The plotted numbers: {links(['progress.csv'])}.</p>"
    return Section("progress", "Progress per round", body, tuple(files))


def _progress_caption(prog: Progress) -> str:
    envs = f"mean of {prog.n_envs} search environments" if prog.n_envs > 1 else "search split"
    return (
        f"Left: accuracy against average tokens per question (log scale) at β = {prog.beta:g}, "
        f"the run's highest β ({envs}); one point per measured candidate, coloured by round "
        "(hollow: violates the β contract), and each baseline at its highest budget (◆). "
        "Right: each candidate's search score — its mean matched-token accuracy advantage over "
        "the baselines' joint frontier across the whole β sweep (0: on the frontier) — and the "
        "best score so far among candidates that passed every check."
    )


def _rounds_text(view: RunView) -> str:
    """``5 rounds (of 8 planned)``, or ``166 rounds in 30.0 minutes (time budget: 30
    minutes)``."""
    cfg, done = view.config, view.rounds_done
    if cfg.budget_minutes is None:
        return f"{done} round(s) (of {cfg.rounds} planned)"
    text = f"{done} round(s) in {view.round_seconds / 60:.1f} minutes (time budget"
    if cfg.rounds is not None:
        text += f" of {cfg.budget_minutes:g} minutes, at most {cfg.rounds} rounds)"
        return text
    return text + f": {cfg.budget_minutes:g} minutes)"


def _progress_summary(view: RunView, prog: Progress) -> str:
    counts = Counter(c.status for c in view.candidates)
    status = ", ".join(f"{n} {esc(s)}" for s, n in counts.most_common())
    text = f"{len(view.candidates)} candidate(s) from {_rounds_text(view)}: {status or 'none yet'}."
    if prog.chosen is not None:
        score = next(c.score for c in view.candidates if c.id == prog.chosen)
        summary = view.summary or {}
        if prog.finished and "beats_baselines" in summary and not summary["beats_baselines"]:
            text += " " + no_win_html(summary, prog.chosen, score)
        else:
            what = "Selected" if prog.finished else "Best so far"
            text += f" {what}: <b>{esc(prog.chosen)}</b> (search score {_score(score)}"
            text += f"{ci_text(summary)})."
    elif prog.finished:
        text += " No candidate passed every check: nothing was selected."
    return text


# ---------------------------------------------------------------------- candidate table
def _code_file(cid: str) -> str:
    return f"candidates/{cid}.py.txt"


def _candidate_rows(view: RunView, out: Path, chosen: str | None) -> list[list[Any]]:
    (out / "candidates").mkdir(exist_ok=True)
    rows = []
    for c in view.candidates:
        code = ""
        if c.code:
            code = _code_file(c.id)
            (out / code).write_text(c.code, encoding="utf-8")
        rows.append(
            [c.id, c.round, c.slot, " ".join(c.parents), c.proposer, c.class_name, c.status,
             c.reason, "" if c.score is None else c.score, c.tokens_in, c.tokens_out,
             c.cost_usd, c.id == chosen, c.code_hash, code, c.rationale]
        )  # fmt: skip
    return rows


CANDIDATE_HEADER = [
    "id", "round", "slot", "parents", "proposer", "class", "status", "reason", "score",
    "tokens_in", "tokens_out", "cost_usd", "selected", "code_hash", "code", "rationale",
]  # fmt: skip


def _candidates_section(view: RunView, out: Path) -> Section:
    chosen = chosen_id(view)
    rows = _candidate_rows(view, out, chosen)
    (out / "candidates.csv").write_text(_csv(CANDIDATE_HEADER, rows), encoding="utf-8")
    md_rows = [
        [c.id, c.round, " ".join(c.parents) or "–", c.proposer, _status(c, chosen),
         c.reason or "–", _score(c.score), f"{c.tokens_in:,} / {c.tokens_out:,}",
         f"${c.cost_usd:.4f}", f"[code]({_code_file(c.id)})" if c.code else "–",
         c.rationale[:SHORT]]
        for c in view.candidates
    ]  # fmt: skip
    md_header = ["id", "round", "parents", "proposer", "status", "reason", "score",
                 "tokens in / out", "cost", "code", "rationale"]  # fmt: skip
    (out / "candidates.md").write_text(
        _md_table(md_header, md_rows, {1, 6, 7, 8}), encoding="utf-8"
    )
    html_rows = "".join(_candidate_html(c, chosen) for c in view.candidates)
    files = ["candidates.csv", "candidates.md"]
    code_files = [_code_file(c.id) for c in view.candidates if c.code]
    what = "selected" if view.summary is not None else "best so far"
    body = (
        "<p>Every candidate in the order it was proposed. Status: <i>ok</i> passed every check "
        "and was scored; <i>policy</i> failed the sandbox's static checks; <i>contract</i> broke "
        "the β contract (still scored); <i>timeout</i>, <i>memory</i>: hit a sandbox limit; "
        "<i>error</i>: every episode raised; <i>failed</i>: the proposer gave no usable code. "
        "Score: mean matched-token accuracy advantage (points) over the baselines' frontier on "
        f"the search split.{f' ★ marks the {what} candidate.' if chosen else ''}</p>"
        "<table><thead><tr><th>id</th><th>round</th><th>parents</th><th>proposer</th>"
        "<th>status</th><th>reason</th><th>score</th><th>tokens in / out</th><th>cost</th>"
        f"<th>code</th><th>rationale</th></tr></thead><tbody>{html_rows}</tbody></table>"
        f"<p class='note'>Also as {links(files)}; each candidate's code is in "
        "<code>candidates/</code>.</p>"
    )
    return Section("candidates", "Candidates", body, (*files, *code_files))


def _status(c: CandidateRow, chosen: str | None) -> str:
    return f"{c.status} ★" if c.id == chosen else c.status


def _candidate_html(c: CandidateRow, chosen: str | None) -> str:
    code = f'<a href="{esc(_code_file(c.id))}">{esc(c.class_name or "code")}</a>' if c.code else "–"
    cells = [
        f"<td><code>{esc(c.id)}</code></td>",
        f"<td class='num'>{c.round}</td>",
        f"<td>{esc(' '.join(c.parents) or '–')}</td>",
        f"<td>{esc(c.proposer)}</td>",
        f"<td>{'<b>' if c.id == chosen else ''}{esc(_status(c, chosen))}"
        f"{'</b>' if c.id == chosen else ''}</td>",
        f"<td>{_long_text(c.reason)}</td>",
        f"<td class='num'>{_score(c.score)}</td>",
        f"<td class='num' style='white-space: nowrap'>{c.tokens_in:,} / {c.tokens_out:,}</td>",
        f"<td class='num'>${c.cost_usd:.4f}</td>",
        f"<td>{code}</td>",
        f"<td>{_long_text(c.rationale)}</td>",
    ]
    return "<tr>" + "".join(cells) + "</tr>"


# ---------------------------------------------------------------------- held-out comparison
def _heldout_section(view: RunView, out: Path, run_dir: Path | None) -> Section:
    if view.summary is None:
        resume = f"autotts discover --run-dir {run_dir or 'RUN_DIR'} --resume"
        body = (
            "<p><b>This run has not finished</b> (its folder holds no <code>summary.json</code>), "
            "so nothing has been selected or evaluated on the held-out split yet. The sections "
            f"above come from the history alone. Continue it with <code>{esc(resume)}</code>.</p>"
        )
        return Section("heldout", "Held-out comparison", body)
    data = heldout_data(view.summary)
    if not data.envs:
        return Section("heldout", "Held-out comparison", "<p>summary.json holds no held-out "
                       "results.</p>")  # fmt: skip
    (out / "heldout.csv").write_text(_csv(*data.long_rows()), encoding="utf-8")
    files = ["heldout.csv"]
    markdown = to_markdown(data.table)
    adv = _advantage_rows(data)
    if adv:
        header = ["vs baseline", *data.envs, "mean"]
        (out / "heldout_advantage.csv").write_text(
            _csv(header, [[n, *("" if v is None else v for v in vs)] for n, vs in adv]),
            encoding="utf-8",
        )
        files.append("heldout_advantage.csv")
        shown = [[n, *(_score(v) for v in vs)] for n, vs in adv]
        markdown += "\n### Matched-token advantage of the selection (accuracy points)\n\n"
        markdown += _md_table(header, shown, set(range(1, len(header))))
    (out / "heldout.md").write_text(markdown, encoding="utf-8")
    files.append("heldout.md")
    paths = heldout_figure(data, out / "heldout_frontier")
    sel = view.summary.get("selected")
    intro = (
        f"<p>The selected candidate <b>{esc(sel['id'])}</b> (<code>{esc(sel['spec'])}</code>) "
        "and the baselines, evaluated once on the held-out split, which the proposer never saw."
        "</p>"
        if sel
        else "<p>No candidate passed every check, so only the baselines were evaluated on the "
        "held-out split.</p>"
    )
    caption = (
        "Accuracy against average tokens per question (log scale) on each held-out environment; "
        "the selection and cmc over the run's β sweep, sc over k, the other baselines at their "
        "published settings. Markers grow along each sweep; bars: 95 % bootstrap intervals over "
        "questions."
    )
    intro += below_html(view.summary)
    if sel and view.summary.get("heldout_error"):
        intro += (
            f"<p><b>The selection's held-out evaluation failed</b> "
            f"({esc(view.summary['heldout_error'])}), so only the baselines are shown.</p>"
        )
    body = intro + figure("heldout_frontier", "held-out frontier", esc(caption))
    if adv:
        body += (
            "<h3>Matched-token advantage of the selection</h3><p class='note'>Accuracy points "
            "of the selection above each baseline: at the selection's token counts that the "
            "baseline's curve covers (interpolated in log tokens), or, where it covers none of "
            "them, at the baseline's own points that the selection's curve covers; – where the "
            "two do not overlap.</p>" + _advantage_html(data, adv)
        )
    body += (
        "<h3>Every point</h3><p class='note'>Hover a cell for its 95 % interval and sequential "
        "tokens.</p>" + table_html(data.table)
    )
    body += f"<p class='note'>Also as {links(files)}.</p>"
    return Section("heldout", "Held-out comparison", body, (*(p.name for p in paths), *files))


def _advantage_rows(data: HeldoutData) -> list[tuple[str, list[float | None]]]:
    return [
        (name, [per_env.get(env) for env in data.envs] + [per_env.get("mean")])
        for name, per_env in data.advantage.items()
    ]


def _advantage_html(data: HeldoutData, adv: list[tuple[str, list[float | None]]]) -> str:
    head = "".join(f"<th>{esc(e)}</th>" for e in (*data.envs, "mean"))
    body = "".join(
        f"<tr><td>vs {esc(name)}</td>"
        + "".join(f"<td class='num'>{_score(v)}</td>" for v in values)
        + "</tr>"
        for name, values in adv
    )
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---------------------------------------------------------------------- setup
def _setup_section(view: RunView, out: Path, run_dir: Path | None) -> Section:
    cfg = view.config
    files: list[str] = []
    if run_dir is not None and (run_dir / "summary.json").is_file():
        shutil.copyfile(run_dir / "summary.json", out / "summary.json")
        files.append("summary.json")
    elif view.summary is not None:
        (out / "summary.json").write_text(json.dumps(view.summary, indent=2, sort_keys=True))
        files.append("summary.json")
    opts = cfg.proposer_options
    proposer = cfg.proposer + (f" ({opts['model']})" if opts.get("model") else "")
    spent = sum(c.cost_usd for c in view.candidates)
    tokens = sum(c.tokens_in + c.tokens_out for c in view.candidates)
    items = [
        ("search split", ", ".join(cfg.search_labels) or "–"),
        ("held-out split", ", ".join(cfg.heldout_labels) or "–"),
        ("proposer", proposer),
        ("rounds", f"{_rounds_text(view)}, {cfg.candidates_per_round} candidate(s) each"),
        ("β sweep", ", ".join(f"{b:g}" for b in cfg.betas)),
        ("protocol", f"{cfg.protocol}, {cfg.replicates} replicates, seed {cfg.seed}"),
        ("answer matching", cfg.match),
        ("probe cost, budget", f"{cfg.kappa_probe:g} tokens per probe, "
                               f"{'no budget' if cfg.budget is None else fmt_tokens(cfg.budget)}"),
        ("sandbox limits", f"{cfg.timeout_s:g} s, {cfg.memory_mb} MB per (candidate, env)"),
        ("proposer usage", f"{tokens:,} tokens, ${spent:.4f}"),
    ]  # fmt: skip
    if view.summary is not None and view.summary.get("stopped"):
        items.append(("stopped early", view.summary["stopped"]))
    body = (
        "<dl class='meta'>"
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
        + "</dl>"
    )
    if files:
        body += f"<p class='note'>The run's summary: {links(files)}.</p>"
    return Section("run", "Run setup", body, tuple(files))


# ---------------------------------------------------------------------- the report
def discovery_sections(
    view: RunView, out_dir: str | Path, run_dir: str | Path | None = None
) -> list[Section]:
    """Write the discovery report's figures, tables and code copies into ``out_dir``; return
    its sections: progress per round, the search (when ``run_dir`` holds an evolve state),
    candidates, held-out comparison, run setup. ``run_dir`` (the run directory) is read for
    its ``summary.json`` (copied) and ``evolve/state.json``, and named in notes."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rd = Path(run_dir) if run_dir is not None else None
    sections = [_progress_section(view, out)]
    search = None
    if rd is not None:
        from ..discover import load_evolve_search

        search = load_evolve_search(rd / "evolve" / "state.json", view.candidates)
    if search is not None and search.members:  # an evolve run: the search itself
        sections.append(search_section(search, out))
    return [
        *sections,
        _candidates_section(view, out),
        _heldout_section(view, out, rd),
        _setup_section(view, out, rd),
    ]


def describe_run(view: RunView, run_dir: str | Path) -> str:
    """The discovery report's introduction (with a warning when the run has not finished)."""
    cfg = view.config
    text = (
        f"<p>Discovery run <code>{esc(run_dir)}</code>: {len(view.candidates)} candidate(s) "
        f"from the {esc(cfg.proposer)} proposer, searched on {len(cfg.search_labels)} and judged "
        f"on {len(cfg.heldout_labels)} held-out environment(s).</p>"
    )
    if view.summary is None:
        text += (
            "<p><b>Unfinished run:</b> there is no summary.json yet, so this report shows the "
            "history so far (progress and candidates) and no held-out comparison.</p>"
        )
    return text
