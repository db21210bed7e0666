"""The report folder: complete, valid images, and the evaluator's numbers in its tables."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autotts.evaluate import EvalSettings, Protocol, evaluate
from autotts.report import (
    MapChoice,
    PaperTable,
    ReportData,
    Section,
    build_report,
    evaluate_report,
    evaluation_sections,
    paper_table,
    parse_controllers,
    report_files,
    to_latex,
    to_markdown,
    write_index,
)
from autotts.report.tables import Cell, Row

from .conftest import DATASETS, MODELS, named, small_envs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PROTOCOL = Protocol("official", 3)
SPECS = ["sc:k=1,4,16", "cmc:beta=0,1", "parallel_probe:T=3,warm_up=2,chains=4,8,label=pp"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img" and a.get("src"):
            self.images.append(a["src"] or "")
        if tag == "a" and a.get("href") and not (a["href"] or "").startswith("#"):
            self.links.append(a["href"] or "")


def check_image(path: Path) -> None:
    assert path.is_file(), path
    if path.suffix == ".png":
        assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    elif path.suffix == ".svg":
        assert ET.parse(path).getroot().tag.endswith("svg"), path
    else:
        raise AssertionError(f"unexpected image {path}")


@pytest.fixture(scope="module")
def data() -> ReportData:
    return evaluate_report(small_envs(), parse_controllers(SPECS), settings=EvalSettings(PROTOCOL))


@pytest.fixture(scope="module")
def folder(data: ReportData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    sections = evaluation_sections(data, out, episode=MapChoice(env=1, question=2, replicate=1))
    build_report(out, sections)
    assert sorted(report_files(sections)) == sorted(p.name for p in out.iterdir())
    return out


def test_every_referenced_file_exists_and_every_image_is_valid(folder: Path) -> None:
    page = _Links()
    page.feed((folder / "index.html").read_text(encoding="utf-8"))
    assert len(page.images) == 3  # two frontiers and the episode map
    for src in page.images:
        check_image(folder / src)
    for href in page.links:
        assert (folder / href).is_file(), href
        if href.endswith((".png", ".svg")):
            check_image(folder / href)
    written = {p.name for p in folder.iterdir()} - {"index.html"}
    assert written <= set(page.links) | set(page.images), "a file the page does not link"


def _by_point(data: ReportData) -> dict[tuple[str, str, str], dict[str, float]]:
    return {
        (p.result.model, p.result.dataset, data.controller(p.controller).point_label(p.value)): {
            "accuracy": p.result.accuracy,
            "tokens": p.result.avg_total_tokens,
            "sequential": p.result.avg_sequential_tokens,
        }
        for p in data.points
    }


def test_results_are_the_evaluators(data: ReportData, folder: Path) -> None:
    envs = small_envs()
    rows = list(csv.DictReader(io.StringIO((folder / "results.csv").read_text())))
    assert len(rows) == len(envs) * (3 + 2 + 2)
    for rc in data.controllers:
        for value in rc.sweep_values():
            results = evaluate(envs, rc.point(value), protocol=PROTOCOL)
            for r in results:
                (row,) = [
                    x for x in rows
                    if (x["model"], x["dataset"], x["point"])
                    == (r.model, r.dataset, rc.point_label(value))
                ]  # fmt: skip
                assert float(row["accuracy"]) == r.accuracy
                assert float(row["avg_total_tokens"]) == r.avg_total_tokens
                assert float(row["avg_sequential_tokens"]) == r.avg_sequential_tokens
                assert [float(row["ci95_lo"]), float(row["ci95_hi"])] == list(r.accuracy_ci95)
    records = json.loads((folder / "results.json").read_text())["results"]
    assert {(r["label"], r["point"]) for r in records} >= {("pp", "pp chains=8")}
    assert all(r["protocol"] == "official" and r["replicates"] == 3 for r in records)


def test_tables_hold_the_numbers(data: ReportData, folder: Path) -> None:
    truth = _by_point(data)
    rows = list(csv.DictReader(io.StringIO((folder / "table.csv").read_text())))
    table_points = ["sc k=16", "cmc β=0", "cmc β=1", "pp chains=8"]
    assert [r["point"] for r in rows] == table_points * (len(MODELS) + 1)
    markdown = (folder / "table.md").read_text()
    for row in rows:
        for dataset, split in zip(DATASETS, ("search", "held-out"), strict=True):
            group = f"{dataset} ({split})"
            if row["model"] in MODELS:
                expected = truth[(row["model"], dataset, row["point"])]
            else:  # the mean over models
                assert row["model"] == "mean of 2 models"
                models = [truth[(m, dataset, row["point"])] for m in MODELS]
                expected = {k: sum(m[k] for m in models) / len(models) for k in models[0]}
            assert float(row[f"{group} accuracy"]) == pytest.approx(expected["accuracy"])
            assert float(row[f"{group} tokens"]) == pytest.approx(expected["tokens"])
            assert float(row[f"{group} sequential tokens"]) == pytest.approx(expected["sequential"])
            assert f"{expected['accuracy']:.2f}" in markdown
    assert "Search: first; held-out: second" in markdown
    html = (folder / "index.html").read_text()
    latex = (folder / "table.tex").read_text()
    for (_, _, point), values in truth.items():
        if point in table_points:
            assert f"{values['accuracy']:.2f}" in html
            assert f"{values['accuracy']:.2f}" in latex


def test_averages_over_a_split_and_latex_escaping(data: ReportData) -> None:
    envs = [named(e, "one", d) for e, d in zip(small_envs()[:3], ("a", "b", "c"), strict=True)]
    three = evaluate_report(envs, parse_controllers(["sc:k=2,4", "parallel_probe:chains=4"]),
                            settings=EvalSettings(PROTOCOL))  # fmt: skip
    table = paper_table(three, search=["b"])
    assert table.groups == ("a (held-out)", "b (search)", "c (held-out)", "held-out avg")
    for row in table.rows:
        a, _, c, avg = row.cells
        assert a is not None and c is not None and avg is not None
        assert avg.accuracy == pytest.approx((a.accuracy + c.accuracy) / 2)
        assert avg.tokens == pytest.approx((a.tokens + c.tokens) / 2)
    assert len(table.blocks) == 1  # one model: no mean block
    latex = to_latex(table)
    assert r"parallel\_probe chains=4" in latex and r"\multicolumn{2}{c}{held-out avg}" in latex
    assert "| sc k=4 |" in to_markdown(table)
    with pytest.raises(ValueError, match="search dataset 'z' is not among"):
        paper_table(three, search=["z"])


def test_one_environment_per_model_and_dataset() -> None:
    env = small_envs()[0]
    with pytest.raises(ValueError, match="both small/first"):
        evaluate_report([env, env], parse_controllers(["sc:k=1"]), settings=EvalSettings(PROTOCOL))


def test_sections_can_be_added(tmp_path: Path) -> None:
    """The entry point for further parts (discovery progress): a list of sections."""
    (tmp_path / "extra.txt").write_text("x")
    first = Section("first", "First part", "<p>one</p>")
    extra = Section("extra", "An extra part", "<p>hello</p>", ("extra.txt",))
    index = build_report(tmp_path, [first, extra], title="t")
    page = index.read_text()
    assert '<section id="extra"><h2>An extra part</h2><p>hello</p></section>' in page
    assert page.index('<a href="#first">') < page.index('<a href="#extra">')
    with pytest.raises(FileNotFoundError, match=r"lists missing\.png"):
        write_index(tmp_path, "t", [Section("bad", "Bad", "", ("missing.png",))])
    with pytest.raises(ValueError, match="unique"):
        write_index(tmp_path, "t", [extra, extra])


def _table(*cells: tuple[float, tuple[float, float] | None]) -> PaperTable:
    rows = tuple(
        Row("m", f"c{i}", f"c{i}", None, (Cell(acc, 1e3, 1e3, ci),))
        for i, (acc, ci) in enumerate(cells)
    )
    return PaperTable(("d",), rows, "")


def test_bold_only_when_the_best_is_clear_of_every_interval() -> None:
    overlapping = _table((70.0, (55.0, 85.0)), (60.0, (45.0, 75.0)))
    assert not any(overlapping.best(r, 0) for r in overlapping.rows)
    assert "**" not in to_markdown(overlapping)
    clear = _table((90.0, (85.0, 95.0)), (60.0, (50.0, 70.0)), (40.0, (30.0, 50.0)))
    assert [clear.best(r, 0) for r in clear.rows] == [True, False, False]
    assert "| c0 | **90.00** |" in to_markdown(clear)
    # a wide interval lower down still overlaps: not clear
    wide = _table((90.0, (85.0, 95.0)), (60.0, (50.0, 70.0)), (40.0, (10.0, 86.0)))
    assert not wide.best(wide.rows[0], 0)
    averages = _table((90.0, None), (10.0, None))  # means carry no interval
    assert not any(averages.best(r, 0) for r in averages.rows)
    alone = _table((90.0, (85.0, 95.0)))
    assert not alone.best(alone.rows[0], 0)


def test_comparisons_against_the_first_controller_are_the_library_metrics(
    data: ReportData, folder: Path
) -> None:
    from autotts.evaluate import matched_accuracy, matched_advantage

    rows = list(csv.DictReader(io.StringIO((folder / "comparisons.csv").read_text())))
    first = data.controllers[0].label
    others = [c.label for c in data.controllers[1:]]
    assert [r["controller"] for r in rows] == [
        label for label in others for _ in range(len(data.envs) + 1)
    ]
    assert {r["reference"] for r in rows} == {first}

    def points(label: str, env: int) -> list[tuple[float, float]]:
        return [(p.result.avg_total_tokens, p.result.accuracy) for p in data.curve(label, env)]

    def number(text: str) -> float | None:
        return None if text == "" else float(text)

    for label in others:
        mine = [r for r in rows if r["controller"] == label]
        for env, row in enumerate(mine[:-1]):
            a, b = points(first, env), points(label, env)
            ratio = matched_accuracy(b, a)
            assert number(row["token_ratio"]) == (None if ratio is None else pytest.approx(ratio))
            if row["basis"] == "a":
                assert number(row["advantage"]) == pytest.approx(matched_advantage(b, a))
            elif row["basis"] == "b":
                mirror = matched_advantage(a, b)
                assert mirror is not None and number(row["advantage"]) == pytest.approx(-mirror)
            else:
                assert row["advantage"] == ""
            for value in ("advantage", "token_ratio"):
                if row[value]:
                    assert float(row[f"{value}_ci95_lo"]) <= float(row[f"{value}_ci95_hi"])
        assert mine[-1]["environment"] == "overall"
    assert any(r["token_ratio"] for r in rows)  # the fixture has comparable sweeps
    html = (folder / "index.html").read_text()
    assert f"Against {first}" in html and "B/A tokens" in html
    assert "comparisons.md" in html


def test_no_comparisons_with_a_single_controller(tmp_path: Path) -> None:
    one = evaluate_report(
        small_envs()[:1], parse_controllers(["cmc:beta=0,1"]), settings=EvalSettings(PROTOCOL)
    )
    sections = evaluation_sections(one, tmp_path, with_map=False)
    assert "comparisons" not in [s.id for s in sections]
