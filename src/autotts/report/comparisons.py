"""Matched comparisons in a report: every controller against a reference controller (the first
by default), per environment and overall, by the matched-token advantage and the
matched-accuracy token ratio (:mod:`autotts.evaluate.frontier`), each with the paired bootstrap
interval of :func:`autotts.evaluate.compare_results` (every controller of a report runs on the
same chain orders, so the comparison is paired). Written as Markdown, CSV and HTML."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ..evaluate import Comparison, EvalResult, compare_results
from .html import esc
from .results import ReportData


@dataclass(frozen=True)
class Comparisons:
    """``reference`` (A) against each other controller (B), by label."""

    reference: str
    against: tuple[tuple[str, Comparison], ...]
    env_names: tuple[str, ...]


def _env_major(data: ReportData, label: str) -> list[EvalResult]:
    return [p.result for e in range(len(data.envs)) for p in data.curve(label, e)]


def compare_all(
    data: ReportData, reference: str | None = None, *, resamples: int = 1000
) -> Comparisons | None:
    """``reference`` (default: the first controller) against every other controller; None when
    the report has a single controller. The bootstrap is seeded by the report's seed."""
    labels = [c.label for c in data.controllers]
    if len(labels) < 2:
        return None
    ref = reference if reference is not None else labels[0]
    if ref not in labels:
        raise ValueError(f"no controller labelled {ref!r} in the report ({', '.join(labels)})")
    a = _env_major(data, ref)
    against = tuple(
        (label, compare_results(a, _env_major(data, label), len(data.envs),
                                resamples=resamples, seed=data.settings.seed))
        for label in labels if label != ref
    )  # fmt: skip
    names = tuple(f"{e.meta.model}/{e.meta.dataset}" for e in data.envs)
    return Comparisons(ref, against, names)


def _adv(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2f}" + ("" if ci is None else f" [{ci[0]:+.2f}, {ci[1]:+.2f}]")


def _ratio(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" + ("" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]")


def _rows(c: Comparisons) -> list[tuple[str, str, str, str]]:
    """(controller, environment, advantage text, ratio text), environments then overall."""
    out = []
    for label, comp in c.against:
        for name, r in zip(c.env_names, comp.rows, strict=True):
            mark = " (mirror)" if r.basis == "b" else ""
            adv = _adv(r.advantage, r.ci95) + mark
            out.append((label, name, adv, _ratio(r.ratio, r.ratio_ci95)))
        o = comp.overall
        out.append((label, "overall", _adv(o.advantage, o.ci95), _ratio(o.ratio, o.ratio_ci95)))
    return out


def caption(c: Comparisons, resamples: int = 1000) -> str:
    return (
        f"Each controller (B) against {c.reference} (A). B−A: matched-token advantage in "
        "accuracy points, the mean over A's points within B's token range of B's accuracy "
        "(interpolated in log tokens) minus A's; (mirror): none of A's points lies within B's "
        "range, so B's points within A's range are used. B/A tokens: matched-accuracy token "
        "ratio, the geometric mean over A's points that B reaches of the tokens B needs for that "
        "accuracy over A's tokens (below 1: B is cheaper; an upper bound where B's cheapest "
        "point already reaches it). Brackets: paired bootstrap 95 % intervals over questions "
        f"({resamples} resamples). Overall: mean advantage and geometric-mean ratio over the "
        "environments where each is defined."
    )


HEADER = ("controller", "environment", "B−A (accuracy points)", "B/A tokens")


def to_markdown(c: Comparisons) -> str:
    lines = [f"_{caption(c)}_", "", "| " + " | ".join(HEADER) + " |", "|---|---|---:|---:|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(c)]
    return "\n".join(lines) + "\n"


def to_csv(c: Comparisons) -> str:
    """Full precision: one line per (controller, environment or overall)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["reference", "controller", "environment", "advantage", "advantage_ci95_lo",
         "advantage_ci95_hi", "points_used", "basis", "token_ratio", "token_ratio_ci95_lo",
         "token_ratio_ci95_hi", "ratio_points"]
    )  # fmt: skip

    def blank(x: object) -> object:
        return "" if x is None else x

    for label, comp in c.against:
        for name, r in zip(c.env_names, comp.rows, strict=True):
            ci, rci = r.ci95 or (None, None), r.ratio_ci95 or (None, None)
            w.writerow([c.reference, label, name, blank(r.advantage), blank(ci[0]),
                        blank(ci[1]), r.points_used, blank(r.basis), blank(r.ratio),
                        blank(rci[0]), blank(rci[1]), r.ratio_points])  # fmt: skip
        o = comp.overall
        ci, rci = o.ci95 or (None, None), o.ratio_ci95 or (None, None)
        w.writerow([c.reference, label, "overall", blank(o.advantage), blank(ci[0]),
                    blank(ci[1]), o.envs_used, "", blank(o.ratio), blank(rci[0]),
                    blank(rci[1]), o.ratio_envs_used])  # fmt: skip
    return buf.getvalue()


def to_html(c: Comparisons) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in HEADER)
    body = "".join(
        ("<tr class='block'>" if env == "overall" else "<tr>")
        + f"<td>{esc(label)}</td><td>{esc(env)}</td><td class='num'>{esc(adv)}</td>"
        f"<td class='num'>{esc(ratio)}</td></tr>"
        for label, env, adv, ratio in _rows(c)
    )
    return (
        f"<table><caption>{esc(caption(c))}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
