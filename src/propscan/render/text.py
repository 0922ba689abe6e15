"""An :class:`~propscan.core.analysis.Analysis` as text: the terminal view, JSON and PTC lines.

The terminal highlights the union of the spans (colour of the most confident span,
underlined where techniques overlap) and puts a numbered marker after each span; the
numbered list under the text gives each span's technique, confidence and fragment.
JSON and PTC are data formats.
"""

from __future__ import annotations

import io
import json
import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from propscan.core.analysis import Analysis
from propscan.core.spans import Annotations
from propscan.core.words import plural
from propscan.ptc.io import check_writable_id, format_labels
from propscan.render.layout import cut, display_text, rank_by_confidence, technique_style

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
        shown = display_text(text[piece.start : piece.end])
        if piece.span_ids:
            ranked = rank_by_confidence(spans, piece.span_ids)
            style = f"#000000 on {technique_style(spans[ranked[0]].technique, techniques).colour}"
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
        style = technique_style(span.technique, techniques)
        table.add_row(
            str(number),
            Text(style.name, style=f"#000000 on {style.colour}"),
            score_text(span.score),
            Text(_preview(span.fragment(text))),
        )
    console.print(table)
    console.print()
    legend = Text("Techniques: ")
    for label, count in analysis.technique_counts().items():
        style = technique_style(label, techniques)
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
        f"{span_count(analysis)} · "
        f"model {analysis.model.name} {analysis.model.version} · "
        f"threshold {threshold_text(analysis)}",
        style="dim",
    )
    return header


def _preview(fragment: str, limit: int = _FRAGMENT_PREVIEW) -> str:
    """A fragment on one line, shortened in the middle when it is long."""
    flat = re.sub(r"\s+", " ", fragment).strip()
    if len(flat) <= limit:
        return flat
    half = (limit - 1) // 2
    return f"{flat[:half]}…{flat[-half:]}"


def score_text(score: float | None) -> str:
    """A span's score with two decimals (a dash for none)."""
    return "–" if score is None else f"{score:.2f}"


def span_count(analysis: Analysis) -> str:
    """``1 span in 1 technique``, ``5 spans in 3 techniques``."""
    spans = plural(len(analysis.spans), "span")
    return f"{spans} in {plural(len(analysis.technique_counts()), 'technique')}"


def threshold_text(analysis: Analysis) -> str:
    """The threshold an analysis was made with, as people read it."""
    return "model default" if analysis.threshold is None else f"{analysis.threshold:.2f}"
