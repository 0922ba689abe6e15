"""Renderers: terminal, JSON, PTC and HTML on hand-built analyses with hard text."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from propscan.core.analysis import Analysis, Evidence, ModelInfo, SentenceScore
from propscan.core.confidence import band_of, sentence_scores
from propscan.core.sentences import split_sentences
from propscan.core.spans import Span
from propscan.core.techniques import get_technique
from propscan.errors import PropscanError
from propscan.ptc.io import parse_labels
from propscan.render.html import render_html
from propscan.render.text import render_json, render_ptc, render_terminal, render_text

TEXT = (
    "Héllo 🎉 <script>alert('x')</script> they said.\r\n"
    "These vile traitors & cowards lie. Again 👍🏽 they lie!\r\n\r\n"
    "[bold]Not markup[/bold] stays text."
)


def span(fragment: str, technique: str, score: float, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = TEXT.index(fragment, start + 1)
    return Span(start, start + len(fragment), technique, score)


SPANS = (
    span("<script>alert('x')</script>", "Doubt", 0.55),
    span("vile traitors & cowards", "Name_Calling,Labeling", 0.91),
    span("traitors & cowards lie", "Loaded_Language", 0.62),  # overlaps the span above
    span("they lie", "Repetition", 0.7),
    span("[bold]Not markup[/bold]", "Slogans", 0.4),
)


def make_analysis(
    spans: tuple[Span, ...] = SPANS, text: str = TEXT, **metadata: str | None
) -> Analysis:
    bounds = split_sentences(text)
    sentences = tuple(
        SentenceScore(start, end, score)
        for (start, end), score in zip(bounds, sentence_scores(bounds, spans), strict=True)
    )
    return Analysis(
        text=text,
        spans=spans,
        sentences=sentences,
        model=ModelInfo("propscan-test", "0.1.0"),
        threshold=0.4,
        evidence={(s.start, s.end): (Evidence(s.start, s.end, 0.9),) for s in spans[:1]},
        **metadata,
    )


QUOTED = 'The minister said: "These traitors will pay." Calm words follow.'
QUOTED_SPAN = Span(QUOTED.index("traitors"), QUOTED.index(" will"), "Name_Calling,Labeling", 0.5)


class _ArticleText(HTMLParser):
    """Collects the text of each article row of the HTML report, without span markers."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []
        self.margins: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag == "div" and classes == "text":
            self.rows.append("")
        if tag == "div" and classes == "margin":
            self.margins.append("")
        self._in.append(classes if tag != "sup" else "sup")

    def handle_endtag(self, tag: str) -> None:
        self._in.pop()

    def handle_data(self, data: str) -> None:
        if "text" in self._in and "sup" not in self._in:
            self.rows[-1] += data
        elif "margin" in self._in:
            self.margins[-1] += data


def test_json_has_the_contract_keys_and_true_fragments() -> None:
    data = json.loads(render_json(make_analysis()))
    assert data["schema_version"] == 1
    assert {"text", "title", "url", "source", "spans", "sentences", "model", "threshold"} <= set(
        data
    )
    assert data["text"] == TEXT
    assert [TEXT[s["start"] : s["end"]] for s in data["spans"]] == [
        s["fragment"] for s in data["spans"]
    ]
    assert Analysis.from_dict(data) == make_analysis()
    assert [s["band"] for s in data["spans"]] == ["strong"] * 4 + ["moderate"]
    assert data["spans"][0]["evidence"][0]["word"] == "<script>alert('x')</script>"
    quoted = json.loads(render_json(make_analysis((QUOTED_SPAN,), QUOTED)))
    assert quoted["spans"][0]["quote"] == {"start": 19, "end": 45, "speaker": "The minister"}


def test_ptc_lines_read_back_as_the_same_spans() -> None:
    output = render_ptc(make_analysis(), "123")
    assert output.splitlines()[0].split("\t")[0] == "123"
    assert all(len(line.split("\t")) == 4 for line in output.splitlines())
    parsed = parse_labels(output, Path("rendered.labels"), "flc")
    assert parsed["123"] == make_analysis().spans


@pytest.mark.parametrize("article_id", ["", "my article", "a\tb"])
def test_ptc_refuses_ids_that_break_the_format(article_id: str) -> None:
    with pytest.raises(PropscanError, match="cannot be written to a PTC file"):
        render_ptc(make_analysis(), article_id)


def test_html_escapes_article_text_and_loads_nothing() -> None:
    page = render_html(make_analysis(title="<b>Title</b>", url="javascript:alert(1)"))
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;b&gt;Title&lt;/b&gt;" in page
    assert 'href="javascript' not in page
    assert not re.search(r"<(link|img|iframe|object|embed)\b|\bsrc=|@import|url\(", page)
    assert "Content-Security-Policy" in page


def test_html_shows_every_sentence_whole_with_the_band_of_its_strongest_mark() -> None:
    parser = _ArticleText()
    analysis = make_analysis()
    parser.feed(render_html(analysis))
    sentences = [TEXT[start:end] for start, end in split_sentences(TEXT)]
    assert parser.rows == sentences
    assert [margin.strip() for margin in parser.margins] == [
        band_of(sentence.score).name for sentence in analysis.sentences
    ]


def test_html_highlights_have_colours_tooltips_markers_and_a_legend() -> None:
    page = render_html(make_analysis(url="https://example.org/news?a=1&b=2"))
    name_calling = get_technique("Name_Calling,Labeling")
    loaded = get_technique("Loaded_Language")
    # "traitors & cowards" is covered by both overlapping spans: the more confident colour
    # fills it, the other underlines it, and the tooltip names both with their confidence.
    overlap = re.search(r'<mark style="([^"]*)" title="([^"]*)" data-spans="2 3">', page)
    assert overlap is not None
    assert name_calling.colour in overlap.group(1) and loaded.colour in overlap.group(1)
    assert f"[2] {name_calling.name}, strong 0.91, the outlet&#x27;s own voice" in overlap.group(2)
    assert f"[3] {loaded.name}, strong 0.62" in overlap.group(2)
    assert name_calling.definition[:30] in overlap.group(2)
    assert "Article score not ranked" in page and "An article score of N means" in page
    assert '<sup class="ref">2</sup>' in page and '<sup class="ref">3</sup>' in page
    assert f"{name_calling.name}</span> 1</li>" in page
    assert 'href="https://example.org/news?a=1&amp;b=2"' in page


def test_html_titles_untitled_articles_by_their_first_line_and_names_quotes() -> None:
    page = render_html(make_analysis((QUOTED_SPAN,), QUOTED))
    assert (
        "<h1>The minister said: &quot;These traitors will pay.&quot; Calm words follow.</h1>"
        in page
    )
    assert "in a quote from The minister" in page


def test_html_underlines_with_the_other_technique_not_a_second_span_of_the_same() -> None:
    """Where two spans of one technique and one of another overlap, the fill is the most
    confident span's colour and the underline the other technique's."""
    text = "They are vile liars."
    spans = (
        Span(9, 19, "Loaded_Language", 0.9),
        Span(9, 13, "Loaded_Language", 0.8),
        Span(9, 19, "Name_Calling,Labeling", 0.5),
    )
    page = render_html(make_analysis(spans, text))
    overlap = re.search(r'<mark style="([^"]*)"[^>]*data-spans="2 1 3">', page)
    assert overlap is not None
    loaded, labelling = get_technique("Loaded_Language"), get_technique("Name_Calling,Labeling")
    assert overlap.group(1) == (
        f"background:{loaded.colour};box-shadow:inset 0 -0.3em 0 {labelling.colour}"
    )


def test_html_without_spans_says_so() -> None:
    page = render_html(make_analysis(spans=()))
    assert "No propaganda techniques found" in page and "<mark" not in page


def test_terminal_shows_text_markers_spans_and_legend_without_markup() -> None:
    console = Console(record=True, width=300, force_terminal=False)
    render_terminal(make_analysis(title="A title"), console)
    output = console.export_text()
    assert "A title" in output
    # every span's start and end are marked, so the text reads without colours
    assert "[5>[bold]Not markup[/bold]<5] stays text." in output
    assert "These [2>vile [3>traitors & cowards<2] lie<3]." in output
    assert "Again 👍🏽 [4>they lie<4]!" in output
    name_calling = get_technique("Name_Calling,Labeling").name
    assert re.search(
        rf"2 \W+ {name_calling} \W+ strong 0\.91 \W+ own \W+ vile traitors & cowards", output
    )
    assert re.search(rf"{get_technique('Loaded_Language').name}\s+1\b", output)
    assert "Article score not ranked" in output and "threshold 0.40" in output
    assert "Confidence bands: strong ≥ 0.45, moderate ≥ 0.35, weak below" in output


def test_one_fragment_named_with_several_techniques_is_one_mark_and_marks_nest() -> None:
    """One mark per fragment; of two spans that start together the longer opens first
    (the shorter sorts first), so marks nest instead of crossing."""
    fragment = "vile traitors & cowards"
    shared = (span(fragment, "Loaded_Language", 0.6), span(fragment, "Name_Calling,Labeling", 0.9))
    cases = [
        (
            (span("vile", "Doubt", 0.5), span("cowards", "Slogans", 0.4)),
            "[2,3>[1>vile<1] traitors & [4>cowards<4]<2,3]",
        ),
        (
            (span(fragment, "Doubt", 0.4), span("traitors", "Doubt", 0.5)),
            "[1,2,3>vile [4>traitors<4] & cowards<1,2,3]",
        ),
    ]
    for others, marked in cases:
        output = render_text(make_analysis(tuple(sorted((*shared, *others)))), width=300)
        assert f"These {marked} lie." in output
    # the last case: rows 2 and 3 name the fragment of row 1
    assert re.search(r"2 \W+ Loaded language .* the fragment of 1\s", output)
    assert re.search(r"3 \W+ Name calling or labelling .* the fragment of 1\s", output)
    assert len(re.findall(fragment, output)) == 2  # the text, row 1


def test_text_output_without_a_title_uses_the_first_line_and_names_the_voice() -> None:
    output = render_text(make_analysis((QUOTED_SPAN,), QUOTED))
    assert output.startswith("The minister said:")  # one title rule: the first line
    assert '"These [1>traitors<1] will pay."' in output
    assert "quote: The minister" in output
    assert "\x1b[" not in output


def test_terminal_colours_spans_by_technique() -> None:
    console = Console(record=True, width=200, force_terminal=True, color_system="truecolor")
    render_terminal(make_analysis(), console)
    ansi = console.export_text(styles=True)
    red, green, blue = (int(get_technique("Doubt").colour[i : i + 2], 16) for i in (1, 3, 5))
    assert f"48;2;{red};{green};{blue}m<script>" in ansi


def test_terminal_without_spans_says_so() -> None:
    console = Console(record=True, width=120, force_terminal=False)
    render_terminal(make_analysis(spans=()), console)
    assert "No propaganda techniques found" in console.export_text()
