"""The report page: ``index.html`` assembled from sections.

A :class:`Section` is a titled HTML fragment plus the files it wrote into the report folder
(images, tables); :func:`write_index` puts sections on one page with a table of contents. Every
part of a report is a function ``(out_dir, ...) -> list[Section]``: the evaluation sections come
from :func:`autotts.report.evaluation_sections`, and other parts (discovery progress) add theirs
to the same list. Files are referenced relatively, so the folder opens in any browser, anywhere.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .tables import PaperTable, fmt_accuracy, fmt_tokens


@dataclass(frozen=True)
class Section:
    """One part of the page: ``id`` is its anchor, ``body`` trusted HTML (escape data with
    :func:`esc`), ``files`` the report-relative paths it wrote (checked to exist)."""

    id: str
    title: str
    body: str
    files: tuple[str, ...] = field(default=())


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def figure(stem: str, alt: str, caption: str = "") -> str:
    """An image (its PNG, which every browser shows quickly) linking to its SVG."""
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return (
        f'<figure><a href="{esc(stem)}.svg"><img src="{esc(stem)}.png" alt="{esc(alt)}"></a>'
        f'{cap}<div class="links"><a href="{esc(stem)}.png">PNG</a> · '
        f'<a href="{esc(stem)}.svg">SVG</a></div></figure>'
    )


def links(files: Sequence[str]) -> str:
    return " · ".join(f'<a href="{esc(f)}">{esc(f)}</a>' for f in files)


def table_html(table: PaperTable) -> str:
    """The paper table: grouped column headers, a block per model, a clear best accuracy in
    bold (:meth:`PaperTable.best`); the 95 % CI shows on hover."""
    n = len(table.groups)
    head = '<tr><th rowspan="2">controller</th>' + "".join(
        f'<th colspan="2">{esc(g)}</th>' for g in table.groups
    )
    head += "</tr><tr>" + "<th>acc %</th><th>tokens</th>" * n + "</tr>"
    body = []
    for block in table.blocks:
        body.append(f'<tr class="block"><td colspan="{1 + 2 * n}">{esc(block)}</td></tr>')
        for row in (r for r in table.rows if r.block == block):
            cells = [f"<td>{esc(row.point)}</td>"]
            for g, cell in enumerate(row.cells):
                if cell is None:
                    cells.append("<td>–</td><td>–</td>")
                    continue
                acc = fmt_accuracy(cell.accuracy)
                if table.best(row, g):
                    acc = f"<b>{acc}</b>"
                tip = f' title="95% CI {cell.ci95[0]:.1f}–{cell.ci95[1]:.1f}"' if cell.ci95 else ""
                cells.append(
                    f'<td class="num"{tip}>{acc}</td>'
                    f'<td class="num" title="{cell.tokens:,.0f} tokens; sequential '
                    f'{cell.sequential:,.0f}">{fmt_tokens(cell.tokens)}</td>'
                )
            body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="paper"><caption>{esc(table.caption)}</caption><thead>{head}</thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
  max-width: 1280px; padding: 1.5rem 2rem 4rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.4rem; }
nav ol { columns: 2; padding-left: 1.2rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .note { color: #555; font-size: .9rem; }
.links { font-size: .85rem; }
table { border-collapse: collapse; font-size: .9rem; margin: .8rem 0; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #eee; }
th { background: #f5f5f7; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.block td { background: #fafafa; font-style: italic; font-weight: 600; }
caption { caption-side: bottom; text-align: left; color: #555; font-size: .85rem;
  padding: .4rem 0; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
code { background: #f5f5f7; padding: 0 .25rem; border-radius: 3px; }
"""


def write_index(out_dir: Path, title: str, sections: Sequence[Section], intro: str = "") -> Path:
    """Write ``out_dir/index.html``; refuses a section that names a file it did not write."""
    for s in sections:
        for f in s.files:
            if not (out_dir / f).is_file():
                raise FileNotFoundError(f"section {s.id!r} lists {f}, which was not written")
    ids = [s.id for s in sections]
    if len(set(ids)) != len(ids):
        raise ValueError(f"section ids must be unique, got {ids}")
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        intro,
        f"<nav><ol>{toc}</ol></nav>",
    ]
    for s in sections:
        parts.append(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>{s.body}</section>')
    parts.append("</body></html>\n")
    path = out_dir / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
