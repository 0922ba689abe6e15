"""Show an :class:`~propscan.pipeline.Analysis` to people and programs.

Terminal and HTML highlight the union of the spans (colour of the most confident span,
with a second-colour underline where techniques overlap) and put a numbered marker
after each span, so overlapping spans stay readable; the numbered list under the text
gives each span's technique, confidence and fragment. JSON and PTC are data formats.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from rich.console import Console
from rich.table import Table
from rich.text import Text

from propscan.corpus import format_labels
from propscan.data import Annotations, Span
from propscan.errors import PropscanError
from propscan.pipeline import Analysis, SentenceScore
from propscan.techniques import get_technique

_UNLABELLED_COLOUR = "#DDDDDD"
_FRAGMENT_PREVIEW = 80


@dataclass(frozen=True, slots=True)
class _Style:
    """How one technique is shown: its human name, colour and one-line definition."""

    label: str
    name: str
    colour: str
    definition: str


def _style(label: str | None) -> _Style:
    if label is None:
        return _Style("?", "Unlabelled", _UNLABELLED_COLOUR, "A span whose technique is unknown.")
    technique = get_technique(label)
    return _Style(label, technique.name, technique.colour, technique.definition)


@dataclass(frozen=True, slots=True)
class _Piece:
    """A stretch of text covered by the same spans (indices into ``analysis.spans``).

    ``markers`` are the numbers of the spans that end with this piece.
    """

    start: int
    end: int
    covering: tuple[int, ...]
    markers: tuple[int, ...]


def _layout(spans: Sequence[Span], ranges: Sequence[tuple[int, int]]) -> list[list[_Piece]]:
    """Cut each of the sorted, disjoint ``ranges`` of text into pieces at span boundaries.

    Text outside ``ranges`` is not shown, so a span's marker goes after its last shown piece.
    """
    starting: dict[int, list[int]] = {}
    ending: dict[int, list[int]] = {}
    for index, span in enumerate(spans):
        starting.setdefault(span.start, []).append(index)
        ending.setdefault(span.end, []).append(index)
    points = sorted({*starting, *ending, *(bound for bounds in ranges for bound in bounds)})
    rows: list[list[tuple[int, int, tuple[int, ...]]]] = [[] for _ in ranges]
    last_piece: dict[int, tuple[int, int]] = {}
    active: set[int] = set()
    row = 0
    for start, end in pairwise(points):
        active.difference_update(ending.get(start, ()))
        active.update(starting.get(start, ()))
        while row < len(ranges) and ranges[row][1] <= start:
            row += 1
        if row == len(ranges):
            break
        if ranges[row][0] <= start:
            covering = tuple(sorted(active))
            rows[row].append((start, end, covering))
            for index in covering:
                last_piece[index] = (row, len(rows[row]) - 1)
    markers: dict[tuple[int, int], list[int]] = {}
    for index, place in sorted(last_piece.items()):
        markers.setdefault(place, []).append(index + 1)
    return [
        [
            _Piece(start, end, covering, tuple(markers.get((number, position), ())))
            for position, (start, end, covering) in enumerate(pieces)
        ]
        for number, pieces in enumerate(rows)
    ]


def _by_confidence(spans: Sequence[Span], covering: Sequence[int]) -> list[int]:
    """``covering`` ordered from the most to the least confident span."""
    return sorted(covering, key=lambda index: (-(spans[index].score or 0.0), index))


def _display(text: str) -> str:
    """Text for display: line breaks of any convention become ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _preview(fragment: str, limit: int = _FRAGMENT_PREVIEW) -> str:
    """A fragment on one line, shortened in the middle when it is long."""
    flat = re.sub(r"\s+", " ", fragment).strip()
    if len(flat) <= limit:
        return flat
    half = (limit - 1) // 2
    return f"{flat[:half]}…{flat[-half:]}"


def _score_text(score: float | None) -> str:
    return "–" if score is None else f"{score:.2f}"


def _threshold_text(analysis: Analysis) -> str:
    return "model default" if analysis.threshold is None else f"{analysis.threshold:.2f}"


def render_json(analysis: Analysis) -> str:
    """The analysis as the versioned JSON object of :meth:`Analysis.to_dict`."""
    return json.dumps(analysis.to_dict(), ensure_ascii=False, indent=2) + "\n"


def render_ptc(analysis: Analysis, article_id: str) -> str:
    """SemEval-2020 FLC lines ``ID<TAB>TECHNIQUE<TAB>START<TAB>END``, one per span."""
    if not article_id or any(char.isspace() for char in article_id):
        raise PropscanError(
            f"article id {article_id!r} cannot be written to a PTC file "
            "(it must be non-empty and contain no spaces, tabs or line breaks)"
        )
    return format_labels(Annotations({article_id: analysis.spans}), "flc")


def render_terminal(analysis: Analysis, console: Console) -> None:
    """Print the article with highlighted spans, the numbered span list and a legend."""
    spans = analysis.spans
    text = analysis.text
    console.print(_terminal_header(analysis))
    console.print()
    body = Text()
    [pieces] = _layout(spans, [(0, len(text))])
    for piece in pieces:
        shown = _display(text[piece.start : piece.end])
        if piece.covering:
            ranked = _by_confidence(spans, piece.covering)
            style = f"#000000 on {_style(spans[ranked[0]].technique).colour}"
            body.append(shown, style=style + (" underline" if len(ranked) > 1 else ""))
        else:
            body.append(shown)
        if piece.markers:
            body.append(f"[{','.join(map(str, piece.markers))}]", style="bold")
    console.print(body)
    console.print()
    if not spans:
        console.print("No propaganda techniques found at this threshold.")
        return
    table = Table(title="Spans", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("technique")
    table.add_column("score", justify="right")
    table.add_column("fragment", overflow="fold")
    for number, span in enumerate(spans, start=1):
        style = _style(span.technique)
        table.add_row(
            str(number),
            Text(style.name, style=f"#000000 on {style.colour}"),
            _score_text(span.score),
            Text(_preview(span.fragment(text))),
        )
    console.print(table)
    console.print()
    legend = Text("Techniques: ")
    for label, count in analysis.technique_counts().items():
        style = _style(label)
        legend.append(f" {style.name} ", style=f"#000000 on {style.colour}")
        legend.append(f" {count}   ")
    console.print(legend)


def _terminal_header(analysis: Analysis) -> Text:
    header = Text()
    if analysis.title:
        header.append(analysis.title, style="bold")
        header.append("\n")
    if analysis.url:
        header.append(analysis.url, style="dim")
        header.append("\n")
    header.append(
        f"{len(analysis.spans)} spans in {len(analysis.technique_counts())} techniques · "
        f"model {analysis.model.name} {analysis.model.version} · "
        f"threshold {_threshold_text(analysis)}",
        style="dim",
    )
    return header


# --- HTML -----------------------------------------------------------------------------

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


def render_html(analysis: Analysis) -> str:
    """A self-contained HTML report: highlighted article, sentence scores, spans and legend."""
    from propscan import __version__

    title = analysis.title or "Untitled article"
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>propscan: {_escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
        _html_header(analysis, title),
        _html_legend(analysis),
        '<h2>Article</h2>\n<p class="meta">Left margin: the highest propaganda probability '
        "of a word in the sentence. Hover over a highlight for its technique.</p>\n",
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
        f" · threshold {_threshold_text(analysis)} · {len(analysis.spans)} spans in "
        f"{len(analysis.technique_counts())} techniques</p>\n</header>\n"
    )
    return "".join(lines)


def _html_legend(analysis: Analysis) -> str:
    counts = analysis.technique_counts()
    if not counts:
        return "<h2>Techniques</h2>\n<p>No propaganda techniques found at this threshold.</p>\n"
    items = []
    for label, count in counts.items():
        style = _style(label)
        items.append(
            f'<li title="{_escape(style.definition)}"><span class="chip" '
            f'style="background:{style.colour}">{_escape(style.name)}</span> {count}</li>'
        )
    return '<h2>Techniques</h2>\n<ul class="legend">\n' + "\n".join(items) + "\n</ul>\n"


def _sentence_rows(analysis: Analysis) -> list[tuple[int, int, float | None, bool]]:
    """``(start, end, score, starts_paragraph)`` for every shown row of the article.

    Rows run from one sentence start to the next, trimmed of whitespace, so no text is
    lost even if the sentences do not cover it all; text before the first sentence gets
    a row without a score.
    """
    text = analysis.text
    scores: dict[int, SentenceScore] = {s.start: s for s in analysis.sentences}
    cuts = sorted({0, len(text), *(s.start for s in analysis.sentences if s.start < len(text))})
    rows = []
    for start, end in pairwise(cuts):
        trimmed_start, trimmed_end = _trim(text, start, end)
        if trimmed_start == trimmed_end:
            continue
        gap_start = rows[-1][1] if rows else 0
        paragraph = bool(rows) and _display(text[gap_start:trimmed_start]).count("\n") >= 2
        sentence = scores.get(start)
        rows.append(
            (trimmed_start, trimmed_end, None if sentence is None else sentence.score, paragraph)
        )
    return rows


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _html_article(analysis: Analysis) -> str:
    spans = analysis.spans
    text = analysis.text
    rows = _sentence_rows(analysis)
    layout = _layout(spans, [(start, end) for start, end, _, _ in rows])
    out = ['<section class="article">\n']
    for (_, _, score, paragraph), pieces in zip(rows, layout, strict=True):
        margin = (
            ""
            if score is None
            else f'{score:.2f}<span class="bar" style="width:{score * 100:.0f}%"></span>'
        )
        row_class = "row paragraph" if paragraph else "row"
        out.append(f'<div class="{row_class}"><div class="margin">{margin}</div><div class="text">')
        for piece in pieces:
            out.append(_html_piece(text, spans, piece))
        out.append("</div></div>\n")
    out.append("</section>\n")
    return "".join(out)


def _html_piece(text: str, spans: Sequence[Span], piece: _Piece) -> str:
    shown = _escape(_display(text[piece.start : piece.end]))
    if piece.covering:
        ranked = _by_confidence(spans, piece.covering)
        colours = [_style(spans[index].technique).colour for index in ranked]
        css = f"background:{colours[0]}"
        if len(ranked) > 1:
            css += f";box-shadow:inset 0 -0.3em 0 {colours[1]}"
        tooltip = "\n".join(_tooltip_line(index + 1, spans[index]) for index in ranked)
        numbers = " ".join(str(index + 1) for index in ranked)
        shown = (
            f'<mark style="{css}" title="{_escape(tooltip)}" data-spans="{numbers}">{shown}</mark>'
        )
    if piece.markers:
        shown += f'<sup class="ref">{",".join(map(str, piece.markers))}</sup>'
    return shown


def _tooltip_line(number: int, span: Span) -> str:
    style = _style(span.technique)
    confidence = "" if span.score is None else f", confidence {span.score:.0%}"
    return f"[{number}] {style.name}{confidence}: {style.definition}"


def _html_span_table(analysis: Analysis) -> str:
    if not analysis.spans:
        return ""
    rows = []
    for number, span in enumerate(analysis.spans, start=1):
        style = _style(span.technique)
        rows.append(
            f'<tr><td class="num">{number}</td>'
            f'<td><span class="chip" style="background:{style.colour}" '
            f'title="{_escape(style.definition)}">{_escape(style.name)}</span></td>'
            f'<td class="score">{_score_text(span.score)}</td>'
            f'<td class="fragment">{_escape(_display(span.fragment(analysis.text)))}</td>'
            f'<td class="meta">{span.start}–{span.end}</td></tr>'
        )
    return (
        '<h2>Spans</h2>\n<table class="spans">\n<thead><tr><th>#</th><th>technique</th>'
        "<th>score</th><th>fragment</th><th>characters</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n"
    )
