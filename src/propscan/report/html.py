"""A corpus report as files: one self-contained HTML page (plots embedded), CSV tables and
one highlighted page per article.

The page opens with the headline numbers and their caveat (how the model's share of
marked sentences compares with the annotators' on held-out articles), ranks the articles
by their article score with a link to each one's page, splits every outlet's marks into
its own voice and quotations, greys out techniques whose counts cannot be trusted (the
model card's figures, :mod:`propscan.report.reliability`) with a line saying how they
mislead, and lists frequent fragments with the articles they come from.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from propscan.batch.results import read_manifest, read_results, results_techniques
from propscan.core.article_score import MEANING
from propscan.core.techniques import TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.files import output_folder, writing
from propscan.models.registry import describe_model, installed_models, model_directory
from propscan.report.pages import ArticlePages, write_article_pages
from propscan.report.plots import (
    plot_outlet_density,
    plot_technique_mix,
    plot_techniques,
    plot_trend,
    technique_colour,
    technique_name,
)
from propscan.report.reliability import Reliability, read_reliability
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
.caveat{border-left:4px solid #b58900;background:#fdf6e3;padding:.4rem .8rem;max-width:60rem}
tr.unreliable td{color:#8a8a8a}tr.unreliable .swatch{opacity:.45}
ul.warnings{color:#6b5000;font-size:.9rem}td.title{white-space:normal;max-width:32rem}
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
    "title": "Title",
    "date": "Date",
    "article_score": "Article score",
    "quoted_spans": "Marks in quotes",
    "quoted_share": "Marks in quotes",
    "own_voice_share": "Marks in own voice",
    "article_ids": "Articles it comes from",
}
_PERCENT_COLUMNS = {
    "propaganda_sentence_share",
    "share_of_spans",
    "share",
    "quoted_share",
    "own_voice_share",
}
#: A cell's own HTML, for columns that are more than text (links, lists).
CellRenderer = Callable[[Any], str]
#: Articles listed on the page; the rest are in ``articles.csv``.
ARTICLES_SHOWN = 100


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
    frame: pd.DataFrame,
    techniques: TechniqueSet,
    columns: Sequence[str] | None = None,
    *,
    cells: Mapping[str, CellRenderer] | None = None,
    row_classes: Sequence[str] | None = None,
    empty: str = "Nothing to show.",
) -> str:
    """An HTML table of ``frame`` with every value escaped (techniques of ``techniques``).

    ``cells`` renders the named columns itself (its HTML must escape what it shows);
    ``row_classes`` gives each row a CSS class.
    """
    columns = list(columns or frame.columns)
    if frame.empty:
        return f'<p class="muted">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(_HEADERS.get(c, c))}</th>" for c in columns)
    body = []
    for number, row in enumerate(frame[columns].itertuples(index=False)):
        found = []
        for column, value in zip(columns, row, strict=True):
            numeric = isinstance(value, int | float) or hasattr(value, "dtype")
            if cells and column in cells:
                found.append(cells[column](value))
            elif column in ("technique", "top_technique") and isinstance(value, str):
                found.append(f"<td>{_technique_cell(value, techniques)}</td>")
            else:
                css = ' class="n"' if numeric and column != "rank" else ""
                found.append(f"<td{css}>{html.escape(format_value(column, value))}</td>")
        css = f' class="{html.escape(row_classes[number])}"' if row_classes else ""
        body.append(f"<tr{css}>" + "".join(found) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _image(data: str | None, alt: str) -> str:
    return (
        "" if data is None else f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
    )


def _section(heading: str, *parts: str, anchor: str = "") -> str:
    place = f' id="{anchor}"' if anchor else ""
    return f"<section{place}><h2>{html.escape(heading)}</h2>{''.join(parts)}</section>"


def _link(href: str | None, text: str) -> str:
    shown = html.escape(text)
    return shown if href is None else f'<a href="{html.escape(href)}">{shown}</a>'


def _muted(text: str) -> str:
    return f'<p class="muted">{html.escape(text)}</p>'


def _articles_section(report: CorpusReport, pages: ArticlePages) -> str:
    """The ranked article list, each title linked to its highlighted page."""
    frame = report.articles
    titles = dict(zip(frame["id"], frame["title"], strict=True))

    def title(article_id: Any) -> str:
        shown = pages.titles.get(article_id) or str(titles[article_id])
        return f'<td class="title">{_link(pages.links.get(article_id), shown)}</td>'

    def score(value: Any) -> str:
        shown = "not ranked" if value is None or value != value else f"{round(float(value))}"
        return f'<td class="n">{html.escape(shown)}</td>'

    table = html_table(
        frame.head(ARTICLES_SHOWN).assign(title=frame["id"]),
        report.techniques,
        ["rank", "title", "id", "outlet", "date", "article_score", "propaganda_sentences",
         "sentences", "spans", "quoted_spans"],
        cells={"title": title, "article_score": score},
    )  # fmt: skip
    notes = [f"Article score: {MEANING}"]
    if len(frame) > ARTICLES_SHOWN:
        notes.append(
            f"The first {ARTICLES_SHOWN} of {len(frame):,} articles; articles.csv ranks them all."
        )
    if pages.missing:
        notes.append(pages.missing)
    unlinked = [i for i in frame["id"] if i not in pages.links] if pages.links else []
    if unlinked:
        notes.append(
            f"{len(unlinked):,} of {len(frame):,} articles have no page: the input the report "
            f"read holds no text under their ids ({', '.join(map(str, unlinked[:3]))}"
            + (", …)." if len(unlinked) > 3 else ").")
        )
    return _section(
        "Articles, most propaganda first",
        *(_muted(note) for note in notes),
        table,
        anchor="articles",
    )


def _technique_section(report: CorpusReport, reliability: Reliability | None) -> str:
    """The technique table, techniques whose counts cannot be trusted greyed and explained."""
    table = report.by_technique
    plot = _image(plot_techniques(report), "spans per technique")
    if reliability is None:
        return _section(
            "Techniques",
            plot,
            _muted("The model's card has no per-technique figures: how far each count can be "
                   "trusted is unknown."),
            html_table(table, report.techniques),
            anchor="techniques",
        )  # fmt: skip
    facts = reliability.techniques
    greyed = [
        "unreliable" if label in facts and not facts[label].trusted else ""
        for label in table["technique"]
    ]
    warnings = reliability.warnings(report.techniques)
    items = "".join(
        f"<li>{html.escape(warnings[label])}</li>"
        for label in table["technique"]
        if label in warnings
    )
    return _section(
        "Techniques",
        plot,
        _muted(f"Greyed: F1 below 0.15 on held-out PTC {reliability.split} articles; read their "
               "counts as hints only."),
        html_table(table, report.techniques, row_classes=greyed),
        f'<ul class="warnings">{items}</ul>' if items else "",
        anchor="techniques",
    )  # fmt: skip


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


def _fragments_section(report: CorpusReport, pages: ArticlePages) -> str:
    if report.top_fragments.empty:
        return _section("Most frequent fragments per technique", _muted("No spans were found."))
    totals = report.by_technique.set_index("technique")["spans"]

    def sources(ids: Any) -> str:
        return "<td>" + ", ".join(_link(pages.links.get(i), str(i)) for i in ids) + "</td>"

    blocks = []
    for label, group in report.top_fragments.groupby("technique", sort=False):
        recurring = group[group["spans"] > 1]
        blocks.append(
            f"<details open><summary>{_technique_cell(str(label), report.techniques)} "
            f'<span class="muted">({len(recurring)} recurring of {int(totals[label]):,} '
            "spans)</span></summary>"
            + html_table(
                recurring,
                report.techniques,
                ["rank", "fragment", "spans", "articles", "article_ids"],
                cells={"article_ids": sources},
                empty="Every fragment of this technique appears once.",
            )
            + "</details>"
        )
    return _section(
        "Most frequent fragments per technique",
        _muted("Fragments found more than once; case and spacing ignored, each shown in its "
               "most common spelling, with the articles it comes from. top_fragments.csv also "
               "lists fragments found once, up to the same number per technique."),
        '<div class="fragments">',
        *blocks,
        "</div>",
        anchor="fragments",
    )  # fmt: skip


def render_html(
    report: CorpusReport,
    *,
    by: str = "outlet",
    title: str = "propscan report",
    about: str = "",
    reliability: Reliability | None = None,
    pages: ArticlePages | None = None,
) -> str:
    """The whole report as one self-contained HTML page (plots embedded as PNG).

    ``reliability`` (the model card's figures) adds the caveats; ``pages`` links each
    article to its highlighted page (or says why there are none).
    """
    summary = report.summary
    pages = pages or ArticlePages(missing="No article pages were written.")
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
        _muted("Marks in own voice and in quotes: the share of an outlet's marks outside "
               "and inside quotations from the people it quotes."),
        html_table(report.by_outlet, report.techniques),
        anchor="outlets",
    )  # fmt: skip
    date_section = _section(
        "Over time",
        f'<p class="muted">{html.escape(dates)}</p>',
        _image(plot_trend(report), "propaganda over time"),
        html_table(report.by_date, report.techniques),
        anchor="over-time",
    )
    technique_section = _technique_section(report, reliability)
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
        + (
            ""
            if reliability is None
            else f'<p class="caveat">{html.escape(reliability.sentence_caveat())}</p>'
        )
        + _articles_section(report, pages)
        + "".join(ordered)
        + _fragments_section(report, pages)
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
    if manifest.get("techniques"):
        parts.append(f"only the techniques {', '.join(map(str, manifest['techniques']))}")
    if manifest.get("min_band"):
        parts.append(f"only {manifest['min_band']} marks and stronger")
    if _filtered(manifest):
        parts.append(
            "the model card's caveats on counts hold for every mark at the model's own "
            "threshold, so they are left out"
        )
    return "; ".join(parts) + "."


def _filtered(manifest: Mapping[str, Any]) -> bool:
    """Whether the run kept only some marks (a threshold, techniques or a band)."""
    return any(manifest.get(key) for key in ("techniques", "min_band")) or (
        manifest.get("threshold") is not None
    )


def write_report(
    report: CorpusReport,
    out: str | os.PathLike[str],
    *,
    by: str = "outlet",
    title: str = "propscan report",
    about: str = "",
    results: Path | None = None,
    input_path: str | os.PathLike[str] | None = None,
    reliability: Reliability | None = None,
) -> Path:
    """Write ``report.html``, one CSV per table and, given the ``results`` directory, one
    page per article (texts from the run's input, or ``input_path``) into ``out``;
    returns the HTML path."""
    folder = output_folder(out)
    page = folder / "report.html"
    with writing(folder, "write the report"):
        # pages first: an input changed since the run stops the report before any table
        pages = None if results is None else write_article_pages(results, folder, input_path)
        for name, table in report.csv_tables.items():
            if name == "articles" and pages is not None:
                table = _titled_as_on_their_pages(table, pages)
            _csv_ready(table).to_csv(folder / f"{name}.csv", index=False, float_format="%.6g")
        page.write_text(
            render_html(
                report, by=by, title=title, about=about, reliability=reliability, pages=pages
            ),
            encoding="utf-8",
        )
    return page


def _titled_as_on_their_pages(articles: pd.DataFrame, pages: ArticlePages) -> pd.DataFrame:
    """Articles that came without a title listed by the title their page and the ranked
    list show (the text's first line) instead of their id."""
    untitled = articles["title"] == articles["id"]
    found = articles["id"].map(pages.titles)
    return articles.assign(title=articles["title"].where(~untitled | found.isna(), found))


def _csv_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Lists (the articles of a fragment) written as ``id; id`` cells, and text that a
    spreadsheet would run as a formula (a page titled ``=HYPERLINK(...)``) kept as text."""
    lists = [c for c in table.columns if table[c].map(lambda v: isinstance(v, list)).any()]
    table = table.assign(**{c: table[c].map("; ".join) for c in lists}) if lists else table
    text = [c for c in table.columns if table[c].map(lambda v: isinstance(v, str)).any()]
    return table.assign(**{c: table[c].map(_not_a_formula) for c in text}) if text else table


def _not_a_formula(value: Any) -> Any:
    """``value`` with a leading ``'`` where it starts as a spreadsheet formula would."""
    return "'" + value if isinstance(value, str) and value[:1] in _FORMULA_STARTS else value


#: What makes a spreadsheet read a cell as a formula (OWASP's list for CSV injection).
_FORMULA_STARTS = frozenset("=+-@\t\r")


def make_report(
    results: str | os.PathLike[str],
    out: str | os.PathLike[str] | None,
    *,
    by: str = "outlet",
    top: int = DEFAULT_TOP_FRAGMENTS,
    period: str | None = None,
    title: str | None = None,
    input_path: str | os.PathLike[str] | None = None,
    model: str | os.PathLike[str] | None = None,
) -> tuple[CorpusReport, Path | None]:
    """Read a results directory, build its report and write it into ``out`` (if given).

    ``input_path`` is where the run's input is now (for the article pages, when it moved);
    ``model`` the name or directory of the model that made the results (default: the
    installed one the run recorded), whose card says how far each count can be trusted.
    """
    if by not in GROUPINGS:
        raise PropscanError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
    if top < 1:
        raise PropscanError(f"--top must be at least 1, got {top}")
    folder = Path(results)
    manifest = read_manifest(folder) or {}
    made_by = manifest.get("model") or {}
    report = build_report(read_results(folder), top, period, _searched_techniques(folder, manifest))
    page = None
    if out is not None:
        reliability = _reliability_of(made_by, model)  # a wrong --model is said either way
        heading = title or f"Propaganda report: {folder.resolve().name}"
        page = write_report(
            report,
            out,
            by=by,
            title=heading,
            about=_about(folder),
            results=folder,
            input_path=input_path,
            reliability=None if _filtered(manifest) else reliability,
        )
    return report, page


def _searched_techniques(results: Path, manifest: Mapping[str, Any]) -> TechniqueSet:
    """The techniques the run looked for: a run kept to some techniques has no counts of
    the others, so its tables leave them out instead of showing them as 0."""
    techniques = results_techniques(results)
    kept = manifest.get("techniques")
    if not isinstance(kept, list) or not kept:
        return techniques
    return technique_set([label for label in techniques if label in kept])


def _reliability_of(
    made_by: Mapping[str, Any], model: str | os.PathLike[str] | None
) -> Reliability | None:
    """The card figures of the model that made the results: ``model`` (a name or a
    directory) when given, else the installed model of the name and version the run
    recorded; ``None`` when none is installed (or a run of several models)."""
    made = (made_by.get("name"), made_by.get("version"))
    if model is None:
        found = next(
            (
                installed.directory
                for installed in installed_models()
                if installed.directory is not None
                and installed.description is not None
                and (installed.description.name, installed.description.version) == made
            ),
            None,
        )
        return None if found is None else read_reliability(found)
    described = describe_model(model)
    if (described.name, described.version) != made:
        raise PropscanError(
            f"the results were made by {made[0]} {made[1]}, not by {described.name} "
            f"{described.version} ({model}); give --model the name or directory of the "
            "model that made them"
        )
    return read_reliability(model_directory(model))
