"""Tables in the papers' layout: per model, rows = controllers, columns = datasets (accuracy,
tokens), then search and held-out averages; one block per model and, with several models, a
block of means over models. Written as Markdown, CSV (full precision) and LaTeX (booktabs)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .results import ReportData


@dataclass(frozen=True)
class Cell:
    accuracy: float  # percent
    tokens: float  # average total tokens per question
    sequential: float  # average sequential tokens per question
    ci95: tuple[float, float] | None = None  # None for averages


@dataclass(frozen=True)
class Row:
    block: str  # the model, or "mean of N models"
    controller: str  # the controller's label
    point: str  # its label at this sweep value, e.g. "cmc β=0.5"
    value: Any
    cells: tuple[Cell | None, ...]  # one per column group


@dataclass(frozen=True)
class PaperTable:
    groups: tuple[str, ...]  # column groups: datasets, then "search avg" / "held-out avg"
    rows: tuple[Row, ...]
    caption: str

    @property
    def blocks(self) -> list[str]:
        return list(dict.fromkeys(r.block for r in self.rows))

    def best(self, row: Row, group: int) -> bool:
        """Whether ``row`` is the clear best of its block in column group ``group``: its 95 %
        interval lies wholly above every other row's. With 30 questions the intervals are
        about ±15 points, so a highest accuracy inside another's interval is not marked, and
        averages (no interval) never are."""
        cell = row.cells[group]
        if cell is None or cell.ci95 is None:
            return False
        others = [r.cells[group] for r in self.rows if r.block == row.block and r is not row]
        present = [c for c in others if c is not None]
        return bool(present) and all(
            c.ci95 is not None and cell.ci95[0] > c.ci95[1] for c in present
        )


def _mean(cells: Sequence[Cell | None]) -> Cell | None:
    present = [c for c in cells if c is not None]
    if not present or len(present) < len(cells):
        return None
    n = len(present)
    return Cell(
        sum(c.accuracy for c in present) / n,
        sum(c.tokens for c in present) / n,
        sum(c.sequential for c in present) / n,
    )


def split_datasets(data: ReportData, search: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(search, held-out) datasets; the search split defaults to the first dataset."""
    datasets = data.datasets
    chosen = list(search) if search else datasets[:1]
    unknown = [d for d in chosen if d not in datasets]
    if unknown:
        raise ValueError(
            f"search dataset {unknown[0]!r} is not among the environments' datasets "
            f"({', '.join(datasets)})"
        )
    return [d for d in datasets if d in chosen], [d for d in datasets if d not in chosen]


def paper_table(data: ReportData, search: Sequence[str] | None = None) -> PaperTable:
    """The table: rows are each controller at its table values (every beta of a beta
    controller, a baseline at its default budget, e.g. sc k=64)."""
    search_sets, held_out = split_datasets(data, search)
    datasets = data.datasets
    groups = [f"{d} ({'search' if d in search_sets else 'held-out'})" for d in datasets]
    averages = [(name, sets) for name, sets in (("search", search_sets), ("held-out", held_out))]
    averages = [(n, s) for n, s in averages if len(s) > 1]
    groups += [f"{name} avg" for name, _ in averages]

    def cells(label: str, value: Any, model: str) -> list[Cell | None]:
        by_dataset: dict[str, Cell | None] = {}
        for d in datasets:
            ei = data.env_index(model, d)
            r = data.at(label, value, ei) if ei is not None else None
            by_dataset[d] = (
                None
                if r is None
                else Cell(r.accuracy, r.avg_total_tokens, r.avg_sequential_tokens, r.accuracy_ci95)
            )
        return [by_dataset[d] for d in datasets] + [
            _mean([by_dataset[d] for d in sets]) for _, sets in averages
        ]

    rows: list[Row] = []
    for model in data.models:
        for rc in data.controllers:
            for v in rc.table_values:
                rows.append(
                    Row(model, rc.label, rc.point_label(v), v, tuple(cells(rc.label, v, model)))
                )
    if len(data.models) > 1:
        block = f"mean of {len(data.models)} models"
        per_model = len(rows) // len(data.models)
        for k in range(per_model):
            same = rows[k::per_model][: len(data.models)]
            merged = tuple(_mean([r.cells[g] for r in same]) for g in range(len(groups)))
            first = same[0]
            rows.append(Row(block, first.controller, first.point, first.value, merged))
    caption = (
        f"Accuracy (%) and average tokens per question. Search: {', '.join(search_sets)}; "
        f"held-out: {', '.join(held_out) or 'none'}. {data.protocol.name} protocol, "
        f"{data.protocol.replicates} replicates, {data.match} matching. Bold: the best accuracy "
        "of a block when its 95 % interval lies above every other row's (averages have no "
        "interval and are never bold)."
    )
    return PaperTable(tuple(groups), tuple(rows), caption)


def fmt_tokens(tokens: float) -> str:
    """``332267.6`` -> ``332.3k``, ``1039288`` -> ``1,039.3k``: one unit down a column."""
    return f"{tokens / 1e3:,.1f}k" if tokens >= 1e3 else f"{tokens:.0f}"


def fmt_accuracy(accuracy: float) -> str:
    return f"{accuracy:.2f}"


def to_markdown(table: PaperTable) -> str:
    """One Markdown table per block (model), under a heading."""
    header = ["controller"]
    for group in table.groups:
        header += [f"{group} acc %", f"{group.split(' (')[0]} tokens"]
    out = [f"_{table.caption}_", ""]
    for block in table.blocks:
        out += [f"### {block}", "", "| " + " | ".join(header) + " |"]
        out.append("|---" + "|---:" * (len(header) - 1) + "|")
        for row in (r for r in table.rows if r.block == block):
            fields = [row.point]
            for g, cell in enumerate(row.cells):
                if cell is None:
                    fields += ["–", "–"]
                    continue
                acc = fmt_accuracy(cell.accuracy)
                fields += [f"**{acc}**" if table.best(row, g) else acc, fmt_tokens(cell.tokens)]
            out.append("| " + " | ".join(fields) + " |")
        out.append("")
    return "\n".join(out)


def to_csv(table: PaperTable) -> str:
    """Wide CSV at full precision: block, controller, point, value, then accuracy / tokens /
    sequential tokens per column group."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["model", "controller", "point", "value"]
    for g in table.groups:
        header += [f"{g} accuracy", f"{g} tokens", f"{g} sequential tokens"]
    writer.writerow(header)
    for row in table.rows:
        fields: list[Any] = [
            row.block,
            row.controller,
            row.point,
            "" if row.value is None else row.value,
        ]
        for cell in row.cells:
            fields += (
                ["", "", ""] if cell is None else [cell.accuracy, cell.tokens, cell.sequential]
            )
        writer.writerow(fields)
    return buf.getvalue()


_LATEX_SPECIALS = {c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\^{}"}


def latex_escape(text: str) -> str:
    text = text.replace("\\", r"\textbackslash{}")
    text = "".join(_LATEX_SPECIALS.get(c, c) for c in text)
    return text.replace("β", r"$\beta$")


def to_latex(table: PaperTable) -> str:
    """A booktabs table: column groups with acc/tokens under each, a block per model."""
    n = len(table.groups)
    lines = [
        r"% needs \usepackage{booktabs}",
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        r"\begin{tabular}{l" + "rr" * n + "}",
        r"\toprule",
        " & ".join([""] + [rf"\multicolumn{{2}}{{c}}{{{latex_escape(g)}}}" for g in table.groups])
        + r" \\",
        "".join(rf"\cmidrule(lr){{{2 + 2 * g}-{3 + 2 * g}}}" for g in range(n)),
        " & ".join(["Controller"] + [r"Acc.\ (\%)", "Tokens"] * n) + r" \\",
    ]
    for block in table.blocks:
        lines += [
            r"\midrule",
            rf"\multicolumn{{{1 + 2 * n}}}{{l}}{{\textit{{{latex_escape(block)}}}}} \\",
        ]
        for row in (r for r in table.rows if r.block == block):
            fields = [latex_escape(row.point)]
            for g, cell in enumerate(row.cells):
                if cell is None:
                    fields += ["--", "--"]
                    continue
                acc = fmt_accuracy(cell.accuracy)
                fields += [
                    rf"\textbf{{{acc}}}" if table.best(row, g) else acc,
                    fmt_tokens(cell.tokens),
                ]
            lines.append(" & ".join(fields) + r" \\")
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{latex_escape(table.caption)}}}",
        r"\end{table}",
        "",
    ]
    return "\n".join(lines)


def results_csv(data: ReportData) -> str:
    """Every point the report evaluated (long format, full precision): what the plots show."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "model", "dataset", "controller", "point", "sweep", "value", "spec", "params", "beta",
            "accuracy", "ci95_lo", "ci95_hi", "avg_total_tokens", "avg_sequential_tokens",
            "episodes", "errors", "ceiling",
        ]
    )  # fmt: skip
    for p in data.points:
        r = p.result
        rc = data.controller(p.controller)
        writer.writerow(
            [
                r.model, r.dataset, p.controller, rc.point_label(p.value), rc.sweep or "",
                "" if p.value is None else p.value, r.controller,
                " ".join(f"{k}={v}" for k, v in r.params.items()), "" if r.beta is None else r.beta,
                r.accuracy, r.accuracy_ci95[0], r.accuracy_ci95[1], r.avg_total_tokens,
                r.avg_sequential_tokens, r.episodes, r.errors, data.ceilings[p.env],
            ]
        )  # fmt: skip
    return buf.getvalue()
