"""``autotts report --run``: the report of a real discovery run (scripted LLM, sandboxed
candidates) is complete, holds the history's and summary.json's numbers, copes with an
unfinished run, and the CLI refuses what makes no sense."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from autotts.cli import cli
from autotts.discover import RunView, discover, load_run
from autotts.report import Provenance, build_report, discovery_sections, report_files
from autotts.report.discovery_data import progress
from autotts.report.tables import fmt_accuracy
from tests.cli.conftest import one_error_line
from tests.discover.candidates import GOOD, reply
from tests.discover.conftest import make_config, scripted_llm, splits  # noqa: F401 (fixture)
from tests.scripted_server import ScriptedServer, chat_reply

from .conftest import Run
from .test_report import check_image

RAISING = GOOD.replace(
    "        answers = session.read(", "        raise RuntimeError('no idea')\n        answers = ("
)


def _llm(body: dict[str, Any]) -> dict[str, Any]:
    """tests/discover's script for rounds 0-2 (ok, policy, ok after a retry, contract,
    timeout, ok again); round 3 adds a controller whose every episode raises and a proposal
    without code."""
    prompt = body["messages"][1]["content"]
    if "This is round 3, candidate 0." in prompt:
        return chat_reply(reply(RAISING, "Try something bold."))
    if "This is round 3, candidate 1." in prompt:
        return chat_reply("I have no code for you | sorry.")
    return scripted_llm(body)


STATUSES = {
    "r0c0": "ok", "r0c1": "policy", "r1c0": "ok", "r1c1": "contract", "r2c0": "timeout",
    "r2c1": "ok", "r3c0": "error", "r3c1": "failed",
}  # fmt: skip


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory, splits: Any) -> Path:  # noqa: F811
    path = tmp_path_factory.mktemp("discovery") / "run"
    with ScriptedServer(chat=_llm) as server:
        cfg = make_config(splits, server.url, rounds=4, timeout_s=3.0)
        discover(path, cfg, workers=2)
    return path


@pytest.fixture(scope="session")
def view(run_dir: Path) -> RunView:
    v = load_run(run_dir)
    assert {c.id: c.status for c in v.candidates} == STATUSES  # the run the tests rely on
    return v


def _invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="autotts")


@pytest.fixture(scope="session")
def report(run_dir: Path, view: RunView, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run-report") / "report"
    result = _invoke("report", "--run", run_dir, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["finished"], summary["selected"]) == (True, _summary(view)["selected"]["id"])
    assert summary["candidates"] == 8 and summary["measured"] == len(view.search)
    assert sorted(summary["files"]) == sorted(_written(out))
    made = summary["autotts"]
    assert made["command"] == f"autotts report --run {run_dir} -o {out} --json"
    assert Provenance(**made).html() in (out / "index.html").read_text()
    return out


def _written(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "a" and not (a.get("href") or "#").startswith("#"):
            self.links.append(a.get("href") or "")


def _page(folder: Path) -> _Page:
    page = _Page()
    page.feed((folder / "index.html").read_text(encoding="utf-8"))
    return page


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _summary(view: RunView) -> dict[str, Any]:
    assert view.summary is not None
    return view.summary


def test_the_folder_is_complete(report: Path, view: RunView, run_dir: Path) -> None:
    page = _page(report)
    assert sorted(page.images) == ["heldout_frontier.png", "progress.png"]
    for src in page.images:
        check_image(report / src)
    for href in page.links:
        assert (report / href).is_file(), href
        if href.endswith((".png", ".svg")):
            check_image(report / href)
    assert set(_written(report)) - {"index.html"} <= set(page.links) | set(page.images)
    # every candidate with code links to an exact copy of it; the one without has no link
    code_links = sorted(h for h in page.links if h.startswith("candidates/"))
    with_code = [c for c in view.candidates if c.code]
    assert code_links == sorted(f"candidates/{c.id}.py.txt" for c in with_code)
    for c in with_code:
        copy = (report / f"candidates/{c.id}.py.txt").read_text(encoding="utf-8")
        assert copy == c.code == (run_dir / "candidates" / c.id / "controller.py").read_text()
    assert "candidates/r3c1.py.txt" not in code_links  # the proposal without code
    assert json.loads((report / "summary.json").read_text()) == view.summary


def test_the_candidate_table_is_the_history(report: Path, view: RunView) -> None:
    rows = _rows(report / "candidates.csv")
    assert [r["id"] for r in rows] == [c.id for c in view.candidates]
    for row, c in zip(rows, view.candidates, strict=True):
        assert row["status"] == c.status == STATUSES[c.id]
        assert row["reason"] == c.reason
        assert row["score"] == ("" if c.score is None else repr(c.score))
        assert (int(row["round"]), row["parents"], row["proposer"]) == (
            c.round, " ".join(c.parents), c.proposer,
        )  # fmt: skip
        assert (int(row["tokens_in"]), int(row["tokens_out"])) == (c.tokens_in, c.tokens_out)
        assert float(row["cost_usd"]) == c.cost_usd and row["rationale"] == c.rationale
        assert row["selected"] == str(c.id == _summary(view)["selected"]["id"])
    scored = [c for c in view.candidates if c.score is not None]
    assert {c.status for c in scored} == {"ok", "contract"}
    lines = (report / "candidates.md").read_text().splitlines()
    html = (report / "index.html").read_text()
    # one line per candidate, as many cells as the header: "|" in a text is escaped
    assert len(lines) == 2 + len(view.candidates)
    assert len({len(re.findall(r"(?<!\\)\|", line)) for line in lines}) == 1
    for c in view.candidates:
        line = next(x for x in lines if x.startswith(f"| {c.id} |"))
        assert f" {c.status}" in line
        if c.score is not None:
            assert f"{c.score:+.2f}" in line and f"{c.score:+.2f}" in html
        assert f"<code>{c.id}</code>" in html


def test_the_heldout_tables_are_summary_json(report: Path, view: RunView) -> None:
    summary = _summary(view)
    selected = summary["selected"]["id"]
    rows = _rows(report / "heldout.csv")
    expected = [
        (env, selected if name == "selected" else name, r)
        for name, per_env in summary["heldout"].items()
        for env, records in per_env.items()
        for r in records
    ]
    # per held-out environment: the selection and cmc at 3 betas, sc at 5 k, asc at 8
    # thresholds, esc at 9 windows, pp
    assert len(rows) == len(expected) == 2 * (3 + 5 + 8 + 9 + 1 + 3)
    by_key = {(r["env"], r["controller"], r["point"]): r for r in rows}
    html = (report / "index.html").read_text()
    for env, name, r in expected:
        row = by_key[(env, name, r["point"])]
        assert float(row["accuracy"]) == r["accuracy"]
        assert float(row["avg_total_tokens"]) == r["avg_total_tokens"]
        assert float(row["avg_sequential_tokens"]) == r["avg_sequential_tokens"]
        assert [float(row["ci95_lo"]), float(row["ci95_hi"])] == r["accuracy_ci95"]
        assert int(row["errors"]) == r["errors"]
        assert fmt_accuracy(r["accuracy"]) in html
    advantage = _rows(report / "heldout_advantage.csv")
    assert [a["vs baseline"] for a in advantage] == list(summary["heldout_advantage"])
    for a in advantage:
        for key, value in summary["heldout_advantage"][a["vs baseline"]].items():
            assert a[key] == ("" if value is None else repr(value))
    assert f"{selected} β=1 |" in (report / "heldout.md").read_text()


def test_progress_is_the_search_split_at_the_highest_beta(report: Path, view: RunView) -> None:
    rows = _rows(report / "progress.csv")
    candidates = {r["id"]: r for r in rows if r["kind"] == "candidate"}
    # measured and meaningful: not r0c1 (never ran), r2c0 (timed out), r3c0 (every episode raised)
    assert sorted(candidates) == ["r0c0", "r1c0", "r1c1", "r2c1"]
    envs = view.search_labels
    for cid, row in candidates.items():
        top = [next(r for r in view.search[cid][e] if r["beta"] == 1.0) for e in envs]
        assert float(row["accuracy"]) == pytest.approx(
            sum(r["result"]["accuracy"] for r in top) / len(envs)
        )
        assert float(row["avg_total_tokens"]) == pytest.approx(
            sum(r["result"]["avg_total_tokens"] for r in top) / len(envs)
        )
    references = {r["id"]: r for r in rows if r["kind"] == "baseline"}
    assert list(references) == [
        "sc k=64", "asc threshold=0.995", "esc window=16", "parallel_probe", "cmc β=1"
    ]  # fmt: skip
    sc64 = [view.search_baselines["sc"][e][-1]["result"]["accuracy"] for e in envs]
    assert float(references["sc k=64"]["accuracy"]) == pytest.approx(sum(sc64) / len(envs))
    prog = progress(view)
    best = [score for _, _, score in prog.best]
    assert best == sorted(best) and prog.best[-1][1] == _summary(view)["selected"]["id"]


def test_an_unfinished_run_still_reports(run_dir: Path, view: RunView, tmp_path: Path) -> None:
    unfinished = tmp_path / "run"
    shutil.copytree(run_dir, unfinished)
    (unfinished / "summary.json").unlink()
    out = tmp_path / "report"
    result = _invoke("report", "--run", unfinished, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {out / 'index.html'} (")
    assert "the run has not finished" in result.stderr
    html = (out / "index.html").read_text()
    assert "has not finished" in html and f"--run-dir {unfinished} --resume" in html
    assert not list(out.glob("heldout*")) and not (out / "summary.json").exists()
    assert _page(out).images == ["progress.png"]
    rows = _rows(out / "candidates.csv")
    assert [r["status"] for r in rows] == list(STATUSES.values())
    best = progress(load_run(unfinished)).chosen  # the best so far, as the loop would select
    assert best == _summary(view)["selected"]["id"]
    assert [r["id"] for r in rows if r["selected"] == "True"] == [best]
    assert "best so far" in html


def test_many_rounds_and_candidates(view: RunView, tmp_path: Path) -> None:
    """More rounds than the legend lists (a colour bar instead) and too many points to label."""
    source = view.candidates[0]
    many = [
        replace(source, id=f"r{n}c0", round=n, score=(source.score or 0.0) + n / 10)
        for n in range(18)
    ]
    search: dict[str, Any] = {
        c.id: _scaled(view.search[source.id], 1.3**c.round, c.round) for c in many
    }
    crowded = replace(view, candidates=many, search=search, summary=None)
    sections = discovery_sections(crowded, tmp_path, None)
    build_report(tmp_path, sections)
    for name in report_files(sections):
        if name.endswith((".png", ".svg")):
            check_image(tmp_path / name)
    assert progress(crowded).chosen == "r17c0"


def test_nothing_measured_and_nothing_selected(view: RunView, tmp_path: Path) -> None:
    """A run killed while measuring the baselines, and a finished run that selected nothing."""
    empty = replace(view, candidates=[], search={}, search_baselines={}, summary=None)
    sections = discovery_sections(empty, tmp_path / "empty", None)
    html = build_report(tmp_path / "empty", sections).read_text()
    assert "Nothing has been measured yet" in html and "0 candidate(s)" in html
    summary = _summary(view)
    held = {k: v for k, v in summary["heldout"].items() if k != "selected"}
    none = summary | {"selected": None, "heldout": held, "heldout_advantage": None}
    sections = discovery_sections(replace(view, summary=none), tmp_path / "none", None)
    html = build_report(tmp_path / "none", sections).read_text()
    assert "nothing was selected" in html and "only the baselines were evaluated" in html
    rows = _rows(tmp_path / "none" / "heldout.csv")
    assert {r["controller"] for r in rows} == {"sc", "asc", "esc", "parallel_probe", "cmc"}
    assert not (tmp_path / "none" / "heldout_advantage.csv").exists()
    assert "★" not in html and "★" not in (tmp_path / "none" / "candidates.md").read_text()
    assert {r["selected"] for r in _rows(tmp_path / "none" / "candidates.csv")} == {"False"}
    check_image(tmp_path / "none" / "heldout_frontier.png")


def _scaled(sweep: Any, tokens: float, accuracy: float) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for env, records in sweep.items():
        for r in records:
            res = r["result"]
            res = res | {"avg_total_tokens": res["avg_total_tokens"] * tokens,
                         "accuracy": res["accuracy"] + accuracy}  # fmt: skip
            out.setdefault(env, []).append(r | {"result": res})
    return out


def test_cli_errors(run: Run, run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    line = one_error_line(run("report", "--run", tmp_path, "-o", out))
    assert "not a discovery run directory (no history.sqlite)" in line
    line = one_error_line(run("report", "--run", tmp_path / "nope", "-o", out))
    assert "no such directory" in line
    line = one_error_line(run("report", "--run", run_dir, "--env", "a.json", "-o", out))
    assert "cannot be combined with --env" in line
    line = one_error_line(run("report", "--run", run_dir, "--controller", "sc", "-o", out))
    assert "cannot be combined with --controller" in line
    line = one_error_line(run("report", "--run", run_dir, "--replicates", "5", "-o", out))
    assert "--replicates does not apply to --run" in line
    line = one_error_line(run("report", "--run", run_dir, "-o", run_dir))
    assert "is the run directory" in line
    line = one_error_line(run("report", "--controller", "sc", "-o", out))
    assert "give --env FILE... (or --run RUN_DIR" in line
    line = one_error_line(run("report", "--env", "a.json", "-o", out))
    assert "give --controller SPEC..." in line
    assert not out.exists()
