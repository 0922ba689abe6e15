"""A corpus report as files: one self-contained HTML page (plots embedded) and CSV tables."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from propscan.batch.results import read_manifest, read_results
from propscan.core.techniques import TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.files import output_folder, writing
from propscan.report.plots import (
    plot_outlet_density,
    plot_technique_mix,
    plot_techniques,
    plot_trend,
    technique_colour,
    technique_name,
)
from propscan.report.tables import (
    DEFAULT_TOP_FRAGMENTS,
    GROUPINGS,
    CorpusReport,
    build_report,
)
from propscan.version import __version__

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd}
.muted{color:#666}.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border-bottom:1px solid #e4e4e4;padding:.25rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
img{max-width:100%;margin:.6rem 0}.swatch{display:inline-block;width:.8em;height:.8em;
margin-right:.4em;border:1px solid #999;vertical-align:middle}
details{margin:.4rem 0}td:first-child{white-space:nowrap}
.fragments{display:grid;grid-template-columns:repeat(auto-fill,minmax(500px,1fr));gap:0 1.5rem}
"""

_HEADERS = {
    "outlet": "Outlet",
    "period": "Period",
    "technique": "Technique",
    "articles": "Articles",
    "words": "Words",
    "spans": "Spans",
    "spans_per_1000_words": "Spans / 1 000 words",
    "sentences": "Sentences",
    "propaganda_sentences": "Propagandistic sentences",
    "propaganda_sentence_share": "Share of propagandistic sentences",
    "top_technique": "Most used technique",
    "share_of_spans": "Share of spans",
    "outlets": "Outlets",
    "mean_score": "Mean score",
    "mean_characters": "Mean length (chars)",
    "rank": "#",
    "fragment": "Fragment",
    "share": "Share",
    "id": "Article",
    "location": "Where",
    "reason": "Reason",
}
_PERCENT_COLUMNS = {"propaganda_sentence_share", "share_of_spans", "share"}


def format_value(column: str, value: Any) -> str:
    """A cell as text: shares as percentages, ratios with two decimals, counts as integers."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if column in _PERCENT_COLUMNS:
        return f"{float(value):.1%}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) or hasattr(value, "dtype"):
        return f"{int(value):,}"
    return str(value)


def _technique_cell(label: str, techniques: TechniqueSet) -> str:
    colour = html.escape(technique_colour(label, techniques))
    return (
        f'<span class="swatch" style="background:{colour}"></span>'
        f"{html.escape(technique_name(label, techniques))}"
    )


def html_table(
    frame: pd.DataFrame, techniques: TechniqueSet, columns: Sequence[str] | None = None
) -> str:
    """An HTML table of ``frame`` with every value escaped (techniques of ``techniques``)."""
    columns = list(columns or frame.columns)
    if frame.empty:
        return '<p class="muted">Nothing to show.</p>'
    head = "".join(f"<th>{html.escape(_HEADERS.get(c, c))}</th>" for c in columns)
    body = []
    for row in frame[columns].itertuples(index=False):
        cells = []
        for column, value in zip(columns, row, strict=True):
            numeric = isinstance(value, int | float) or hasattr(value, "dtype")
            if column in ("technique", "top_technique") and isinstance(value, str):
                cells.append(f"<td>{_technique_cell(value, techniques)}</td>")
            else:
                css = ' class="n"' if numeric and column != "rank" else ""
                cells.append(f"<td{css}>{html.escape(format_value(column, value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _image(data: str | None, alt: str) -> str:
    return (
        "" if data is None else f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
    )


def _section(heading: str, *parts: str) -> str:
    return f"<section><h2>{html.escape(heading)}</h2>{''.join(parts)}</section>"


def _cards(summary: Mapping[str, Any]) -> str:
    cards = [
        ("articles", "articles"),
        ("outlets", "named outlets"),
        ("words", "words"),
        ("spans", "propaganda spans"),
        ("spans_per_1000_words", "spans per 1 000 words"),
        ("propaganda_sentence_share", "propagandistic sentences"),
        ("failed_records", "records that failed"),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><b>{html.escape(format_value(key, summary[key]))}</b>'
            f"{html.escape(label)}</div>"
            for key, label in cards
        )
        + "</div>"
    )


def _fragments_section(report: CorpusReport) -> str:
    if report.top_fragments.empty:
        return _section(
            "Most frequent fragments per technique", '<p class="muted">No spans were found.</p>'
        )
    totals = report.by_technique.set_index("technique")["spans"]
    blocks = []
    for label, group in report.top_fragments.groupby("technique", sort=False):
        blocks.append(
            f"<details open><summary>{_technique_cell(str(label), report.techniques)} "
            f'<span class="muted">(top {len(group)} of {int(totals[label]):,} spans)</span>'
            "</summary>"
            + html_table(group, report.techniques, ["rank", "fragment", "spans", "articles"])
            + "</details>"
        )
    return _section(
        "Most frequent fragments per technique",
        '<p class="muted">Case and spacing ignored; each shown in its most common spelling.</p>',
        '<div class="fragments">',
        *blocks,
        "</div>",
    )


def render_html(
    report: CorpusReport, *, by: str = "outlet", title: str = "propscan report", about: str = ""
) -> str:
    """The whole report as one self-contained HTML page (plots embedded as PNG)."""
    summary = report.summary
    if summary["first_date"]:
        dates = (
            f"Per {report.period}, each labelled by its first day; {summary['first_date']} to "
            f"{summary['last_date']} ({summary['dated_articles']} dated articles)."
        )
    else:
        dates = "No article has a date that can be read (give a date column to see trends)."
    outlet_section = _section(
        "Outlets",
        _image(plot_outlet_density(report), "propaganda density per outlet"),
        _image(plot_technique_mix(report), "technique mix per outlet"),
        html_table(report.by_outlet, report.techniques),
    )
    date_section = _section(
        "Over time",
        f'<p class="muted">{html.escape(dates)}</p>',
        _image(plot_trend(report), "propaganda over time"),
        html_table(report.by_date, report.techniques),
    )
    technique_section = _section(
        "Techniques",
        _image(plot_techniques(report), "spans per technique"),
        html_table(report.by_technique, report.techniques),
    )
    sections = {"outlet": outlet_section, "date": date_section, "technique": technique_section}
    ordered = [sections[by]] + [text for key, text in sections.items() if key != by]
    errors = ""
    if not report.errors.empty:
        errors = _section(
            "Records that could not be analysed",
            f"<details><summary>{len(report.errors)} records</summary>"
            + html_table(report.errors, report.techniques, ["location", "id", "reason"])
            + "</details>",
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="muted">{html.escape(about)}</p>'
        + _cards(summary)
        + "".join(ordered)
        + _fragments_section(report)
        + errors
        + f'<p class="muted">Made with propscan {html.escape(__version__)}. Densities pool all '
        "articles of a group: spans per 1 000 words and the share of sentences that overlap a "
        "span.</p></body></html>\n"
    )


def _about(results: Path) -> str:
    manifest = read_manifest(results) or {}
    model = manifest.get("model")
    parts = [f"Results in {results.name}"]
    if isinstance(manifest.get("input"), str):
        parts.append(f"input {Path(manifest['input']).name}")
    if isinstance(model, dict) and model:
        parts.append(f"model {model.get('name')} {model.get('version')}")
    if manifest.get("threshold") is not None:
        parts.append(f"threshold {manifest['threshold']}")
    return "; ".join(parts) + "."


def write_report(
    report: CorpusReport,
    out: str | os.PathLike[str],
    *,
    by: str = "outlet",
    title: str = "propscan report",
    about: str = "",
) -> Path:
    """Write ``report.html`` and one CSV per table into ``out``; returns the HTML path."""
    folder = output_folder(out)
    page = folder / "report.html"
    with writing(folder, "write the report"):
        for name, table in report.csv_tables.items():
            table.to_csv(folder / f"{name}.csv", index=False, float_format="%.6g")
        page.write_text(render_html(report, by=by, title=title, about=about), encoding="utf-8")
    return page


def make_report(
    results: str | os.PathLike[str],
    out: str | os.PathLike[str] | None,
    *,
    by: str = "outlet",
    top: int = DEFAULT_TOP_FRAGMENTS,
    period: str | None = None,
    title: str | None = None,
) -> tuple[CorpusReport, Path | None]:
    """Read a results directory, build its report and write it into ``out`` (if given)."""
    if by not in GROUPINGS:
        raise PropscanError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
    if top < 1:
        raise PropscanError(f"--top must be at least 1, got {top}")
    folder = Path(results)
    model = (read_manifest(folder) or {}).get("model") or {}
    report = build_report(read_results(folder), top, period, technique_set(model.get("techniques")))
    page = None
    if out is not None:
        heading = title or f"Propaganda report: {folder.resolve().name}"
        page = write_report(report, out, by=by, title=heading, about=_about(folder))
    return report, page
