"""An :class:`~propscan.core.analysis.Analysis` as text: the terminal view, JSON and PTC lines.

The terminal highlights the union of the spans (colour of the most confident span,
underlined where techniques overlap) and marks where each span starts (``[3>``) and ends
(``<3]``), one mark for a fragment named with several techniques (``[3,4>``), so the
text stays readable without colours, piped into a file; the numbered list under the text
gives each span's technique, confidence band, voice (the outlet's own or a quotation's)
and the words that carried its decision. JSON and PTC are data formats.
"""

from __future__ import annotations

import io
import json
import re
from itertools import groupby

from rich.console import Console
from rich.table import Table
from rich.text import Text

from propscan.core.analysis import Analysis
from propscan.core.article_score import MEANING
from propscan.core.confidence import BANDS
from propscan.core.spans import Annotations, Span
from propscan.core.words import plural
from propscan.ptc.io import check_writable_id, format_labels
from propscan.render.layout import (
    band_text,
    cut,
    display_text,
    display_title,
    rank_by_confidence,
    technique_style,
    voice_text,
)

_FRAGMENT_PREVIEW = 80
#: Columns of the plain-text view written to files and pipes.
TEXT_WIDTH = 100


def render_json(analysis: Analysis) -> str:
    """The analysis as the versioned JSON object of :meth:`Analysis.to_dict`."""
    return json.dumps(analysis.to_dict(), ensure_ascii=False, indent=2) + "\n"


def render_ptc(analysis: Analysis, article_id: str) -> str:
    """SemEval-2020 FLC lines ``ID<TAB>TECHNIQUE<TAB>START<TAB>END``, one per span."""
    check_writable_id(article_id, "a PTC file")
    return format_labels(Annotations({article_id: analysis.spans}), "flc")


def render_text(analysis: Analysis, width: int = TEXT_WIDTH) -> str:
    """The terminal view without colours, for files and pipes."""
    buffer = io.StringIO()
    render_terminal(analysis, Console(file=buffer, width=width, force_terminal=False))
    return buffer.getvalue()


def render_terminal(analysis: Analysis, console: Console) -> None:
    """Print the article with highlighted spans, the numbered span list and a legend."""
    spans = analysis.spans
    text = analysis.text
    techniques = analysis.model.techniques
    console.print(_terminal_header(analysis))
    console.print()
    body = Text()
    [pieces] = cut(spans, [(0, len(text))])
    for piece in pieces:
        # the longer of two spans that start together opens first and closes last
        openers = sorted(piece.openers, key=lambda number: (-spans[number - 1].end, number))
        for label in _same_bounds(openers, spans):
            body.append(f"[{label}>", style="bold")
        shown = display_text(text[piece.start : piece.end])
        if piece.span_ids:
            ranked = rank_by_confidence(spans, piece.span_ids)
            colour = technique_style(spans[ranked[0]].technique, techniques).colour
            highlight = f"#000000 on {colour}" + (" underline" if len(ranked) > 1 else "")
            body.append(shown, style=highlight)
        else:
            body.append(shown)
        closers = sorted(piece.markers, key=lambda number: (-spans[number - 1].start, number))
        for label in _same_bounds(closers, spans):
            body.append(f"<{label}]", style="bold")
    console.print(body)
    console.print()
    if not spans:
        console.print("No propaganda techniques found at this threshold.")
        return
    table = Table(title="Spans", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("technique")
    table.add_column("confidence", no_wrap=True)
    table.add_column("voice")
    table.add_column("fragment (key words)", overflow="fold")
    first_of: dict[tuple[int, int], int] = {}  # the first row of each fragment
    for number, span in enumerate(spans, start=1):
        style = technique_style(span.technique, techniques)
        first = first_of.setdefault((span.start, span.end), number)
        if first != number:
            fragment = Text(f"the fragment of {first}", style="dim")
        else:
            fragment = Text(_preview(span.fragment(text)))
            if words := evidence_text(analysis, span):
                fragment.append(f" ({words})", style="dim")
        table.add_row(
            str(number),
            Text(style.name, style=f"#000000 on {style.colour}"),
            band_text(span.score),
            voice_text(analysis.quote_of(span), short=True),
            fragment,
        )
    console.print(table)
    console.print(bands_text(analysis), style="dim")
    console.print()
    legend = Text("Techniques: ")
    for label, count in analysis.technique_counts().items():
        style = technique_style(label, techniques)
        legend.append(f" {style.name} ", style=f"#000000 on {style.colour}")
        legend.append(f" {count}   ")
    console.print(legend)


def _same_bounds(numbers: list[int], spans: tuple[Span, ...]) -> list[str]:
    """Span numbers (1-based, in order) with those of one fragment joined (``3,4``): one
    fragment named with two techniques reads as one mark, not as two nested ones."""
    bounds = groupby(numbers, key=lambda number: (spans[number - 1].start, spans[number - 1].end))
    return [",".join(map(str, group)) for _, group in bounds]


def _terminal_header(analysis: Analysis) -> Text:
    header = Text()
    header.append(display_title(analysis.title, analysis.text), style="bold")
    header.append("\n")
    for line in (analysis.url, analysis.source and f"Source: {analysis.source}"):
        if line:
            header.append(line + "\n", style="dim")
    header.append(
        f"{span_count(analysis)} · model {analysis.model.name} {analysis.model.version} · "
        f"threshold {threshold_text(analysis)}{filter_text(analysis)}\n",
        style="dim",
    )
    header.append(analysis.article_score.headline() + "\n", style="bold")
    header.append(MEANING, style="dim")
    return header


def _preview(fragment: str, limit: int = _FRAGMENT_PREVIEW) -> str:
    """A fragment on one line, shortened in the middle when it is long."""
    flat = re.sub(r"\s+", " ", fragment).strip()
    if len(flat) <= limit:
        return flat
    half = (limit - 1) // 2
    return f"{flat[:half]}…{flat[-half:]}"


def span_count(analysis: Analysis) -> str:
    """``1 span in 1 technique``, ``5 spans in 3 techniques``."""
    spans = plural(len(analysis.spans), "span")
    return f"{spans} in {plural(len(analysis.technique_counts()), 'technique')}"


def threshold_text(analysis: Analysis) -> str:
    """The threshold an analysis was made with, as people read it."""
    return "unknown" if analysis.threshold is None else f"{analysis.threshold:.2f}"


def filter_text(analysis: Analysis) -> str:
    """The filters the spans went through, as a suffix of the header line ("" for none)."""
    parts = []
    if analysis.min_band is not None:
        parts.append(f"{analysis.min_band} marks and stronger")
    if analysis.kept_techniques is not None:
        parts.append(f"{plural(len(analysis.kept_techniques), 'technique')} kept")
    return "".join(f" · {part}" for part in parts)


def evidence_text(analysis: Analysis, span: Span) -> str:
    """The words that carried a span's decision, most probable first."""
    return ", ".join(analysis.text[e.start : e.end] for e in analysis.evidence_of(span))


def bands_text(analysis: Analysis) -> str:
    """The band thresholds in one line, and the threshold the analysis was made at."""
    stronger = [f"{band.name} \u2265 {band.lowest:.2f}" for band in BANDS if band.lowest > 0]
    line = f"Confidence bands: {', '.join(stronger)}, {BANDS[-1].name} below"
    if analysis.threshold is None:
        return line + "."
    return f"{line}; marks start at the decision threshold {analysis.threshold:.2f}."
