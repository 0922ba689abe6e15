"""Corpus reports from batch results: propaganda per outlet, over time and per technique.

:func:`build_report` turns the tables of a results directory (see
:mod:`propscan.batch`) into summary tables; :func:`write_report` writes them as CSV
files next to a self-contained HTML page whose plots are embedded PNG images.

Densities are pooled, not averaged: an outlet's spans per 1 000 words is all its
spans over all its words, and its share of propagandistic sentences is all such
sentences over all its sentences, so long and short articles weigh by their size.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from propscan import __version__
from propscan.batch import BatchResults, read_manifest, read_results
from propscan.errors import PropscanError
from propscan.techniques import TECHNIQUES, get_technique

if TYPE_CHECKING:
    from matplotlib.figure import Figure

GroupBy = Literal["outlet", "date", "technique"]
GROUPINGS: tuple[str, ...] = ("outlet", "date", "technique")
PERIODS: tuple[str, ...] = ("day", "week", "month")
UNKNOWN_OUTLET = "(unknown)"
OTHER_OUTLETS = "(other outlets)"
#: Outlets drawn one by one in the plots; the rest are pooled as "(other outlets)".
PLOTTED_OUTLETS = 12
DEFAULT_TOP_FRAGMENTS = 10

_DENSITY_COLUMNS = [
    "articles",
    "words",
    "spans",
    "spans_per_1000_words",
    "sentences",
    "propaganda_sentences",
    "propaganda_sentence_share",
]


@dataclass(frozen=True)
class CorpusReport:
    """The tables of a report; each is also written as a CSV file of the same name."""

    summary: Mapping[str, Any]
    by_outlet: pd.DataFrame
    by_date: pd.DataFrame
    by_technique: pd.DataFrame
    technique_by_outlet: pd.DataFrame
    technique_by_date: pd.DataFrame
    top_fragments: pd.DataFrame
    period: str
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)

    def table(self, by: str) -> pd.DataFrame:
        """The main table for one grouping (``outlet``, ``date`` or ``technique``)."""
        if by not in GROUPINGS:
            raise PropscanError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
        return {"outlet": self.by_outlet, "date": self.by_date, "technique": self.by_technique}[by]

    @property
    def csv_tables(self) -> dict[str, pd.DataFrame]:
        return {
            "by_outlet": self.by_outlet,
            "by_date": self.by_date,
            "by_technique": self.by_technique,
            "technique_by_outlet": self.technique_by_outlet,
            "technique_by_date": self.technique_by_date,
            "top_fragments": self.top_fragments,
        }


# --- tables ---------------------------------------------------------------------------


def _pooled(groups: Any) -> pd.DataFrame:
    """Sums per group and the pooled densities computed from them."""
    table = groups.agg(
        articles=("id", "count"),
        words=("words", "sum"),
        spans=("spans", "sum"),
        sentences=("sentences", "sum"),
        propaganda_sentences=("propaganda_sentences", "sum"),
    )
    table["spans_per_1000_words"] = _ratio(table["spans"] * 1000.0, table["words"])
    table["propaganda_sentence_share"] = _ratio(table["propaganda_sentences"], table["sentences"])
    return table[_DENSITY_COLUMNS]


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator > 0)).fillna(0.0).astype(float)


def choose_period(dates: pd.Series) -> str:
    """``day``, ``week`` or ``month``: fine enough to show a trend, coarse enough to read."""
    known = dates.dropna()
    if known.empty:
        return "month"
    days = (known.max() - known.min()).days
    return "day" if days <= 45 else "week" if days <= 270 else "month"


def _period_start(dates: pd.Series, period: str) -> pd.Series:
    """Each date as the first day of its period, written ``YYYY-MM-DD``."""
    if period == "day":
        start = dates.dt.normalize()
    elif period == "week":
        start = dates.dt.normalize() - pd.to_timedelta(dates.dt.day_of_week, unit="D")
    else:
        start = dates.dt.to_period("M").dt.start_time
    return start.dt.strftime("%Y-%m-%d").where(dates.notna())


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates in any common form; what cannot be read becomes missing (reported as undated)."""
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_localize(None)


def _top_technique(spans: pd.DataFrame, key: str) -> pd.Series:
    if spans.empty:
        return pd.Series(dtype=object)
    counts = spans.groupby([key, "technique"]).size().reset_index(name="n")
    counts = counts.sort_values([key, "n", "technique"], ascending=[True, False, True])
    return counts.drop_duplicates(key).set_index(key)["technique"]


def _technique_shares(spans: pd.DataFrame, key: str, order: Sequence[str]) -> pd.DataFrame:
    """Spans per (group, technique) and their share of the group's spans, in long form."""
    columns = [key, "technique", "spans", "share"]
    if spans.empty:
        return pd.DataFrame(columns=columns)
    counts = spans.groupby([key, "technique"]).size().rename("spans").reset_index()
    counts["share"] = counts["spans"] / counts.groupby(key)["spans"].transform("sum")
    counts[key] = pd.Categorical(counts[key], categories=list(order), ordered=True)
    counts["technique"] = pd.Categorical(counts["technique"], categories=TECHNIQUES, ordered=True)
    counts = counts.sort_values([key, "technique"]).astype({key: str, "technique": str})
    return counts[columns].reset_index(drop=True)


def _normal_fragment(fragment: str) -> str:
    return " ".join(fragment.split()).casefold()


def top_fragments(spans: pd.DataFrame, top: int = DEFAULT_TOP_FRAGMENTS) -> pd.DataFrame:
    """The most frequent fragments of each technique (case and spacing ignored).

    Each is shown in its most common spelling with the number of spans and articles.
    """
    columns = ["technique", "rank", "fragment", "spans", "articles"]
    if spans.empty:
        return pd.DataFrame(columns=columns)
    frame = spans[["id", "technique", "fragment"]].copy()
    frame["key"] = frame["fragment"].map(_normal_fragment)
    grouped = frame.groupby(["technique", "key"])
    table = grouped.agg(spans=("id", "size"), articles=("id", "nunique")).reset_index()
    spelling = (
        frame.groupby(["technique", "key", "fragment"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["technique", "key", "n", "fragment"], ascending=[True, True, False, True])
        .drop_duplicates(["technique", "key"])
    )
    table = table.merge(spelling[["technique", "key", "fragment"]], on=["technique", "key"])
    table = table.sort_values(
        ["technique", "spans", "articles", "key"], ascending=[True, False, False, True]
    )
    table["rank"] = table.groupby("technique").cumcount() + 1
    table = table[table["rank"] <= top]
    table["technique"] = pd.Categorical(table["technique"], categories=TECHNIQUES, ordered=True)
    table = table.sort_values(["technique", "rank"]).astype({"technique": str})
    return table[columns].reset_index(drop=True)


def _technique_table(spans: pd.DataFrame, articles: pd.DataFrame) -> pd.DataFrame:
    """Per technique: spans, articles and outlets using it, share of all spans, density."""
    total_words = int(articles["words"].sum()) if not articles.empty else 0
    columns = [
        "technique",
        "spans",
        "share_of_spans",
        "spans_per_1000_words",
        "articles",
        "outlets",
        "mean_score",
        "mean_characters",
    ]
    rows = []
    total_spans = len(spans)
    for label in TECHNIQUES:
        used = spans[spans["technique"] == label] if not spans.empty else spans
        rows.append(
            {
                "technique": label,
                "spans": len(used),
                "share_of_spans": len(used) / total_spans if total_spans else 0.0,
                "spans_per_1000_words": 1000.0 * len(used) / total_words if total_words else 0.0,
                "articles": int(used["id"].nunique()) if len(used) else 0,
                "outlets": int(used.loc[used["outlet"] != UNKNOWN_OUTLET, "outlet"].nunique()),
                "mean_score": float(used["score"].mean()) if len(used) else float("nan"),
                "mean_characters": float((used["end"] - used["start"]).mean())
                if len(used)
                else float("nan"),
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["spans", "technique"], ascending=[False, True]).reset_index(drop=True)


def build_report(
    results: BatchResults, top: int = DEFAULT_TOP_FRAGMENTS, period: str | None = None
) -> CorpusReport:
    """All tables of a report from the result tables of a batch run.

    ``period`` (``day``, ``week`` or ``month``) sets the time buckets; by default they
    follow the time the corpus covers.
    """
    if period is not None and period not in PERIODS:
        raise PropscanError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    articles = results.articles.to_pandas()
    spans = results.spans.to_pandas()
    errors = results.errors.to_pandas()
    articles["outlet"] = articles["source"].fillna(UNKNOWN_OUTLET)
    articles["parsed_date"] = parse_dates(articles["date"])
    period = period or choose_period(articles["parsed_date"])
    articles["period"] = _period_start(articles["parsed_date"], period)
    for column in ("outlet", "period"):
        spans[column] = spans["id"].map(dict(zip(articles["id"], articles[column], strict=True)))

    by_outlet = _pooled(articles.groupby("outlet"))
    by_outlet = by_outlet.sort_values(["articles", "spans_per_1000_words"], ascending=False)
    by_outlet["top_technique"] = _top_technique(spans, "outlet").reindex(by_outlet.index)
    by_outlet = by_outlet.reset_index()

    dated = articles[articles["period"].notna()]
    by_date = _pooled(dated.groupby("period")).sort_index()
    by_date["top_technique"] = _top_technique(spans.dropna(subset=["period"]), "period").reindex(
        by_date.index
    )
    by_date = by_date.reset_index()

    words = int(articles["words"].sum())
    sentences = int(articles["sentences"].sum())
    summary = {
        "articles": len(articles),
        "outlets": int(articles["source"].nunique()),
        "words": words,
        "spans": len(spans),
        "spans_per_1000_words": 1000.0 * len(spans) / words if words else 0.0,
        "propaganda_sentence_share": int(articles["propaganda_sentences"].sum()) / sentences
        if sentences
        else 0.0,
        "dated_articles": len(dated),
        "first_date": dated["parsed_date"].min().strftime("%Y-%m-%d") if len(dated) else None,
        "last_date": dated["parsed_date"].max().strftime("%Y-%m-%d") if len(dated) else None,
        "failed_records": len(errors),
    }
    return CorpusReport(
        summary=summary,
        by_outlet=by_outlet,
        by_date=by_date,
        by_technique=_technique_table(spans, articles),
        technique_by_outlet=_technique_shares(spans, "outlet", by_outlet["outlet"]),
        technique_by_date=_technique_shares(
            spans.dropna(subset=["period"]), "period", by_date["period"]
        ),
        top_fragments=top_fragments(spans, top),
        period=period,
        errors=errors,
    )


# --- plots ------------------------------------------------------------------------------


def _colour(label: str) -> str:
    return get_technique(label).colour


def _name(label: str) -> str:
    return get_technique(label).name


def _png(figure: Figure) -> str:
    """A figure as a base64 PNG, ready for an ``<img src="data:...">``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plotted_outlets(report: CorpusReport) -> list[str]:
    """The outlets drawn one by one: those with most articles."""
    return report.by_outlet["outlet"].head(PLOTTED_OUTLETS).tolist()


def plot_technique_mix(report: CorpusReport) -> str | None:
    """Stacked bars: which techniques make up each outlet's spans."""
    shares = report.technique_by_outlet
    if shares.empty or report.by_outlet["outlet"].nunique() < 2:
        return None
    outlets = _plotted_outlets(report)
    grouped = shares.assign(
        outlet=shares["outlet"].where(shares["outlet"].isin(outlets), OTHER_OUTLETS)
    )
    counts = grouped.pivot_table(
        index="outlet", columns="technique", values="spans", aggfunc="sum", fill_value=0
    )
    order = [o for o in [*outlets, OTHER_OUTLETS] if o in counts.index]
    counts = counts.reindex(order)
    share = counts.div(counts.sum(axis=1), axis=0)
    from matplotlib.figure import Figure  # imported here: slow, and only reports plot

    figure = Figure(figsize=(9, 0.45 * len(order) + 2.2))
    axes = figure.subplots()
    left = pd.Series(0.0, index=share.index)
    for label in [t for t in TECHNIQUES if t in share.columns]:
        axes.barh(
            share.index,
            share[label],
            left=left,
            color=_colour(label),
            label=_name(label),
            edgecolor="white",
            linewidth=0.5,
        )
        left += share[label]
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("share of the outlet's propaganda spans")
    axes.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 - 0.2 / len(order)),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    axes.set_title("Technique mix per outlet")
    return _png(figure)


def plot_outlet_density(report: CorpusReport) -> str | None:
    """Two bar panels: spans per 1 000 words and share of propagandistic sentences."""
    table = report.by_outlet.head(PLOTTED_OUTLETS)
    if report.by_outlet["outlet"].nunique() < 2:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 0.4 * len(table) + 1.6))
    density_axes, share_axes = figure.subplots(1, 2, sharey=True)
    density_axes.barh(table["outlet"], table["spans_per_1000_words"], color="#77AADD")
    density_axes.set_xlabel("spans per 1 000 words")
    density_axes.invert_yaxis()
    share_axes.barh(table["outlet"], table["propaganda_sentence_share"], color="#EE8866")
    share_axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    share_axes.set_xlabel("share of propagandistic sentences")
    figure.suptitle("Propaganda density per outlet")
    return _png(figure)


def plot_techniques(report: CorpusReport) -> str | None:
    """Horizontal bars: spans of each technique over the whole corpus."""
    table = report.by_technique[report.by_technique["spans"] > 0]
    if table.empty:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 0.35 * len(table) + 1.4))
    axes = figure.subplots()
    axes.barh(
        [_name(t) for t in table["technique"]],
        table["spans"],
        color=[_colour(t) for t in table["technique"]],
        edgecolor="#555555",
        linewidth=0.5,
    )
    axes.invert_yaxis()
    axes.set_xlabel("spans")
    axes.set_title("Techniques over the corpus")
    return _png(figure)


def plot_trend(report: CorpusReport) -> str | None:
    """Density over time, and the spans of the most used techniques per period."""
    table = report.by_date
    if len(table) < 2:
        return None
    periods = pd.to_datetime(table["period"])
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 6))
    density_axes, technique_axes = figure.subplots(2, 1, sharex=True)
    density_axes.plot(
        periods,
        table["spans_per_1000_words"],
        marker="o",
        color="#4477AA",
        label="spans per 1 000 words",
    )
    density_axes.set_ylabel("spans per 1 000 words")
    share_axes = density_axes.twinx()
    share_axes.plot(
        periods,
        table["propaganda_sentence_share"],
        marker="s",
        color="#EE8866",
        linestyle="--",
        label="share of propagandistic sentences",
    )
    share_axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    share_axes.set_ylabel("propagandistic sentences")
    handles = (
        density_axes.get_legend_handles_labels()[0] + share_axes.get_legend_handles_labels()[0]
    )
    density_axes.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
    density_axes.set_title(f"Propaganda over time (per {report.period})")
    counts = report.technique_by_date.pivot_table(
        index="period", columns="technique", values="spans", aggfunc="sum", fill_value=0
    )
    counts = counts.reindex(table["period"], fill_value=0)
    leading = counts.sum().sort_values(ascending=False).head(6).index
    for label in leading:
        technique_axes.plot(
            periods,
            counts[label].to_numpy(),
            marker=".",
            label=_name(label),
            color=_colour(label),
            linewidth=2,
        )
    technique_axes.set_ylabel("spans")
    technique_axes.legend(fontsize=8, ncol=2, frameon=False)
    technique_axes.set_title("Most used techniques")
    figure.autofmt_xdate()
    return _png(figure)


# --- HTML -------------------------------------------------------------------------------

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


def _technique_cell(label: str) -> str:
    return (
        f'<span class="swatch" style="background:{html.escape(_colour(label))}"></span>'
        f"{html.escape(_name(label))}"
    )


def html_table(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """An HTML table of ``frame`` with every value escaped."""
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
                cells.append(f"<td>{_technique_cell(value)}</td>")
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
            f"<details open><summary>{_technique_cell(str(label))} "
            f'<span class="muted">(top {len(group)} of {int(totals[label]):,} spans)</span>'
            "</summary>"
            + html_table(group, ["rank", "fragment", "spans", "articles"])
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
        html_table(report.by_outlet),
    )
    date_section = _section(
        "Over time",
        f'<p class="muted">{html.escape(dates)}</p>',
        _image(plot_trend(report), "propaganda over time"),
        html_table(report.by_date),
    )
    technique_section = _section(
        "Techniques",
        _image(plot_techniques(report), "spans per technique"),
        html_table(report.by_technique),
    )
    sections = {"outlet": outlet_section, "date": date_section, "technique": technique_section}
    ordered = [sections[by]] + [text for key, text in sections.items() if key != by]
    errors = ""
    if not report.errors.empty:
        errors = _section(
            "Records that could not be analysed",
            f"<details><summary>{len(report.errors)} records</summary>"
            + html_table(report.errors, ["location", "id", "reason"])
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
    model = manifest.get("model") or {}
    parts = [f"Results in {results.name}"]
    if manifest.get("input"):
        parts.append(f"input {Path(manifest['input']).name}")
    if model:
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
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in report.csv_tables.items():
        table.to_csv(folder / f"{name}.csv", index=False, float_format="%.6g")
    page = folder / "report.html"
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
    report = build_report(read_results(folder), top, period)
    page = None
    if out is not None:
        heading = title or f"Propaganda report: {folder.resolve().name}"
        page = write_report(report, out, by=by, title=heading, about=_about(folder))
    return report, page
