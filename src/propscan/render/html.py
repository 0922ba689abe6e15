"""An :class:`~propscan.core.analysis.Analysis` as a self-contained HTML report.

The article is shown row by row (its sentences, each with the band of its most
confident mark in the margin), laid out by :mod:`propscan.render.layout` like the
service's result page; highlights carry their technique, band, voice and key words as a
tooltip (both techniques' colours show where two overlap), and a numbered span list
follows.
"""

from __future__ import annotations

import html
import re

from propscan.core.analysis import Analysis
from propscan.core.article_score import MEANING
from propscan.core.confidence import band_of
from propscan.core.spans import Span
from propscan.render.layout import (
    Segment,
    band_text,
    display_text,
    display_title,
    fill_and_underline,
    layout,
    rank_by_confidence,
    technique_style,
    voice_text,
)
from propscan.render.text import (
    bands_text,
    evidence_text,
    filter_text,
    span_count,
    threshold_text,
)

_CSS = """
:root { color-scheme: light; }
body { font: 16px/1.6 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1a1a1a;
       max-width: 62rem; margin: 2rem auto; padding: 0 1rem; background: #fff; }
header h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .3rem; }
.meta { color: #555; font-size: .9rem; margin: .15rem 0; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 2rem 0 .6rem; }
.legend { display: flex; flex-wrap: wrap; gap: .4rem .8rem; padding: 0; list-style: none; }
.legend li { font-size: .9rem; }
.chip { display: inline-block; padding: 0 .4rem; border-radius: .25rem; color: #000; }
.article { border-top: 1px solid #ddd; }
.row { display: grid; grid-template-columns: 4.2rem 1fr; gap: .8rem; padding: .2rem 0; }
.row.paragraph { margin-top: .8rem; }
.margin { font: .8rem/1.9 ui-monospace, monospace; color: #444; text-align: right; }
.score { font-size: 1.05rem; font-weight: 600; margin: .4rem 0 .1rem; }
.back { font-size: .9rem; }
.bar { display: block; height: .25rem; background: #c0392b; border-radius: .1rem;
       margin-left: auto; opacity: .8; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
mark { color: #000; border-radius: .15rem; padding: 0 .05rem; }
sup.ref { font-size: .7rem; color: #333; font-weight: 600; margin: 0 .1rem; }
table.spans { border-collapse: collapse; width: 100%; font-size: .9rem; }
table.spans th, table.spans td { text-align: left; padding: .25rem .5rem;
       border-bottom: 1px solid #eee; vertical-align: top; }
table.spans td.num, table.spans td.score { text-align: right; white-space: nowrap; }
table.spans td.fragment { white-space: pre-wrap; overflow-wrap: anywhere; }
footer { margin-top: 2rem; color: #777; font-size: .8rem; }
"""

# No script may run and nothing may load from elsewhere, even if the article text were to
# slip past escaping: the report only needs its own inline styles.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def render_html(analysis: Analysis, back: tuple[str, str] | None = None) -> str:
    """A self-contained HTML report: highlighted article, sentence scores, spans and legend.

    ``back`` is a ``(link, text)`` pair put above the title (a corpus report's article
    pages link back to the report).
    """
    from propscan.version import __version__

    title = display_title(analysis.title, analysis.text)
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>propscan: {_escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
        ""
        if back is None
        else f'<p class="back"><a href="{_escape(back[0])}">{_escape(back[1])}</a></p>\n',
        _html_header(analysis, title),
        _html_legend(analysis),
        '<h2>Article</h2>\n<p class="meta">Left margin: the confidence band of the most '
        "confident mark in the sentence. Hover over a highlight for its technique, band, "
        "voice and key words; where two techniques overlap, the second underlines the "
        f'first.</p>\n<p class="meta">{_escape(bands_text(analysis))}</p>\n',
        _html_article(analysis),
        _html_span_table(analysis),
        f"<footer>Made with propscan {_escape(__version__)}. Automatic analysis: "
        "read each highlight as a prompt to look closer, not as a verdict.</footer>\n",
        "</body>\n</html>\n",
    ]
    return "".join(parts)


def _html_header(analysis: Analysis, title: str) -> str:
    lines = [f"<header>\n<h1>{_escape(title)}</h1>\n"]
    if analysis.url:
        url = _escape(analysis.url)
        if re.match(r"(?i)^https?://", analysis.url):
            url = f'<a href="{url}" rel="noopener noreferrer nofollow">{url}</a>'
        lines.append(f'<p class="meta">{url}</p>\n')
    if analysis.source:
        lines.append(f'<p class="meta">Source: {_escape(analysis.source)}</p>\n')
    lines.append(
        f'<p class="meta">Model {_escape(analysis.model.name)} {_escape(analysis.model.version)}'
        f" · threshold {threshold_text(analysis)}{_escape(filter_text(analysis))}"
        f" · {span_count(analysis)}</p>\n"
        f'<p class="score" id="article-score">{_escape(analysis.article_score.headline())}</p>\n'
        f'<p class="meta">{_escape(MEANING)}</p>\n</header>\n'
    )
    return "".join(lines)


def _html_legend(analysis: Analysis) -> str:
    counts = analysis.technique_counts()
    if not counts:
        return "<h2>Techniques</h2>\n<p>No propaganda techniques found at this threshold.</p>\n"
    items = []
    for label, count in counts.items():
        style = technique_style(label, analysis.model.techniques)
        example = analysis.model.techniques.describe(label).example
        items.append(
            f'<li title="{_escape(f"{style.definition} Example: {example}")}"><span class="chip" '
            f'style="background:{style.colour}">{_escape(style.name)}</span> {count}</li>'
        )
    return '<h2>Techniques</h2>\n<ul class="legend">\n' + "\n".join(items) + "\n</ul>\n"


def _html_article(analysis: Analysis) -> str:
    spans = analysis.spans
    text = analysis.text
    out = ['<section class="article">\n']
    for row in layout(text, spans, analysis.sentences):
        score = row.score
        margin = (
            ""
            if not score
            else f'<span title="{band_text(score)}">{band_of(score).name}</span>'
            f'<span class="bar" style="width:{score * 100:.0f}%"></span>'
        )
        row_class = "row paragraph" if row.new_paragraph else "row"
        out.append(f'<div class="{row_class}"><div class="margin">{margin}</div><div class="text">')
        for segment in row.segments:
            out.append(_html_segment(analysis, segment))
        out.append("</div></div>\n")
    out.append("</section>\n")
    return "".join(out)


def _html_segment(analysis: Analysis, piece: Segment) -> str:
    spans, techniques = analysis.spans, analysis.model.techniques
    shown = _escape(display_text(analysis.text[piece.start : piece.end]))
    if piece.span_ids:
        fill, underline = fill_and_underline(spans, piece.span_ids)
        css = f"background:{technique_style(spans[fill].technique, techniques).colour}"
        if underline is not None:
            colour = technique_style(spans[underline].technique, techniques).colour
            css += f";box-shadow:inset 0 -0.3em 0 {colour}"
        ranked = rank_by_confidence(spans, piece.span_ids)
        tooltip = "\n".join(_tooltip_line(analysis, i + 1, spans[i]) for i in ranked)
        numbers = " ".join(str(index + 1) for index in ranked)
        shown = (
            f'<mark style="{css}" title="{_escape(tooltip)}" data-spans="{numbers}">{shown}</mark>'
        )
    if piece.markers:
        shown += f'<sup class="ref">{",".join(map(str, piece.markers))}</sup>'
    return shown


def _tooltip_line(analysis: Analysis, number: int, span: Span) -> str:
    """One span of a highlight's tooltip: technique, band, voice, key words, definition."""
    style = technique_style(span.technique, analysis.model.techniques)
    words = evidence_text(analysis, span)
    key_words = f"; key words: {words}" if words else ""
    return (
        f"[{number}] {style.name}, {band_text(span.score)}, "
        f"{voice_text(analysis.quote_of(span))}{key_words}. {style.definition}"
    )


def _html_span_table(analysis: Analysis) -> str:
    if not analysis.spans:
        return ""
    rows = []
    for number, span in enumerate(analysis.spans, start=1):
        style = technique_style(span.technique, analysis.model.techniques)
        rows.append(
            f'<tr><td class="num">{number}</td>'
            f'<td><span class="chip" style="background:{style.colour}" '
            f'title="{_escape(style.definition)}">{_escape(style.name)}</span></td>'
            f'<td class="score">{band_text(span.score)}</td>'
            f"<td>{_escape(voice_text(analysis.quote_of(span)))}</td>"
            f"<td>{_escape(evidence_text(analysis, span))}</td>"
            f'<td class="fragment">{_escape(display_text(span.fragment(analysis.text)))}</td>'
            f'<td class="meta">{span.start}–{span.end}</td></tr>'
        )
    return (
        '<h2>Spans</h2>\n<table class="spans">\n<thead><tr><th>#</th><th>technique</th>'
        "<th>confidence</th><th>voice</th><th>key words</th><th>fragment</th>"
        "<th>characters</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n"
    )
