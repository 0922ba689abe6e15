"""Quotations and their speakers: hand-written fixtures, real PTC dev sentences, properties."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from propscan.core.quotes import Quote, find_quotes, quote_of, quotes_of


def quoted(text: str) -> list[tuple[str, str | None]]:
    """Each quotation of ``text`` as (its words, its speaker)."""
    return [(text[q.start : q.end], q.speaker) for q in find_quotes(text)]


# (text, [(quotation with its marks, speaker)]), written for these tests.
FIXTURES: list[tuple[str, list[tuple[str, str | None]]]] = [
    (
        '"We will not back down," the ministry said.',
        [('"We will not back down,"', "the ministry")],
    ),
    (
        "\u201cThe talks failed,\u201d said Foreign Minister Anna Berg on Monday.",
        [("\u201cThe talks failed,\u201d", "Foreign Minister Anna Berg")],
    ),
    (
        'The senator said: "This bill is a disgrace to the nation."',
        [('"This bill is a disgrace to the nation."', "The senator")],
    ),
    (
        "According to the police report, \u201cthe suspect fled before officers arrived.\u201d",
        [("\u201cthe suspect fled before officers arrived.\u201d", "the police report")],
    ),
    (
        "\u201cNothing is off the table,\u201d an unnamed U.S. official told reporters.",
        [("\u201cNothing is off the table,\u201d", "an unnamed U.S. official")],
    ),
    (
        "John Smith, a lawyer for the family, said that \u201cjustice was not served here.\u201d",
        [("\u201cjustice was not served here.\u201d", "John Smith")],
    ),
    (
        "Last July, Secretary of State Mike Pompeo warned that \u201cthe regime will pay.\u201d",
        [("\u201cthe regime will pay.\u201d", "Secretary of State Mike Pompeo")],
    ),
    (  # a second quotation in the same sentence, and one after the attribution
        "\u201cWe tried,\u201d Ms. Lee said, adding that \u201cnobody listened to us at all.\u201d "
        "\u201cThat is the truth.\u201d",
        [
            ("\u201cWe tried,\u201d", "Ms. Lee"),
            ("\u201cnobody listened to us at all.\u201d", "Ms. Lee"),
            ("\u201cThat is the truth.\u201d", "Ms. Lee"),
        ],
    ),
    (  # "she" is the speaker of the quotation before
        '"We won," Mayor Jane Doe said.\n\n"It was a long night for all of us," she added.',
        [
            ('"We won,"', "Mayor Jane Doe"),
            ('"It was a long night for all of us,"', "Mayor Jane Doe"),
        ],
    ),
    (  # a quotation that runs over lines, the speaker named in the sentence before
        "The general added:\n\n\u201cWe will hold the line.\nWe will not retreat.\u201d",
        [("\u201cWe will hold the line.\nWe will not retreat.\u201d", "The general")],
    ),
    (  # a quote re-opened at each new paragraph without being closed
        "Paul Roe said:\n\n\u201cThe first paragraph of my statement.\n\n"
        "\u201cThe second paragraph of it,\u201d he said.\n\nThe story goes on.",
        [
            (
                "\u201cThe first paragraph of my statement.\n\n"
                "\u201cThe second paragraph of it,\u201d",
                "Paul Roe",
            )
        ],
    ),
    (  # guillemets and British single quotes
        "\u00abNo surrender\u00bb, the rebels shouted. 'This is the end of the road,' the "
        "officer said.",
        [
            ("\u00abNo surrender\u00bb", "the rebels"),
            ("'This is the end of the road,'", "the officer"),
        ],
    ),
    (  # apostrophes are no quotes; a scare quote and a title are the writer's own voice
        "It's the dogs' fault, not the '90s; a \u201cleftist\u201d pope watched "
        "\u201cSaturday Night Live\u201d at O'Brien's.",
        [],
    ),
    (  # a long quotation that nobody is said to speak is still a quotation
        "The motto read \u201cstrength through unity and unity through faith\u201d in gold.",
        [("\u201cstrength through unity and unity through faith\u201d", None)],
    ),
    (  # a quotation inside a quotation belongs to the outer speaker
        "\u201cHe asked me: \u2018Can we come in?\u2019 and I said no,\u201d the farmer recalled.",
        [("\u201cHe asked me: \u2018Can we come in?\u2019 and I said no,\u201d", "the farmer")],
    ),
    (  # an unclosed quotation ends with its paragraph
        'Officials said "the border will stay closed until further notice\n\nNext paragraph.',
        [('"the border will stay closed until further notice', "Officials")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), FIXTURES)
def test_quotes_and_speakers_of_fixtures(text: str, expected: list[tuple[str, str | None]]) -> None:
    assert quoted(text) == expected


def test_a_speaker_indexes_the_text() -> None:
    text = '"We won," Mayor Jane Doe said.\n\n"It was a long night for all of us," she added.'
    first, second = find_quotes(text)
    assert text[first.start] == '"' and text[first.end - 1] == '"'
    for quote in (first, second):
        assert quote.speaker_start is not None and quote.speaker_end is not None
        assert text[quote.speaker_start : quote.speaker_end] == quote.speaker == "Mayor Jane Doe"
    assert second.speaker_start == first.speaker_start  # "she" points at the name itself


def test_no_quotes_in_text_without_marks() -> None:
    assert find_quotes("Plain words, no quotation at all.") == ()
    assert find_quotes("") == ()
    assert find_quotes(" \n\n ") == ()


# --- real sentences of PTC dev articles, checked by hand --------------------------------

# (article id, quotation start, end, speaker): the speaker as the article names it.
PTC_DEV_QUOTES = [
    ("730246508", 1681, 1711, "Westerville Police Chief Joe Morbitzer"),  # "...," X said
    ("999001259", 1288, 1315, "Kemp"),  # Kemp has declared victory and said it is "..."
    ("832908978", 2622, 2635, "Trump"),  # Trump said, characterizing the probe as "..."
    ("761568202", 302, 324, "Clinton"),  # Clinton says ... and he "..."
    ("999000874", 2701, 2859, "CNN"),  # opens a sentence after CNN's quotation
    ("786004130", 3011, 3092, "The affidavit"),  # The affidavit says the ... "..."
    ("999001256", 2736, 2757, "Abrams"),  # "...," she continued: Abrams, quoted just before
    ("763412406", 2085, 2283, "Batten"),  # "...," Batten continued.
    ("787966255", 4304, 4371, None),  # staff notified residents in an email that X "..."
]


@pytest.mark.parametrize(("article", "start", "end", "speaker"), PTC_DEV_QUOTES)
def test_speakers_in_ptc_dev_articles(
    real_data_dir: Path, article: str, start: int, end: int, speaker: str | None
) -> None:
    text = (real_data_dir / "dev-articles" / f"article{article}.txt").read_text(encoding="utf-8")
    by_start = {quote.start: quote for quote in find_quotes(text)}
    assert start in by_start
    assert (by_start[start].end, by_start[start].speaker) == (end, speaker)


def test_a_scare_quote_in_a_ptc_dev_article_is_the_outlets_voice(real_data_dir: Path) -> None:
    text = (real_data_dir / "dev-articles" / "article773650987.txt").read_text(encoding="utf-8")
    assert text[2203:2221] == "\u201cWatergate crisis\u201d"
    assert quote_of(find_quotes(text), 2204, 2220) is None


# --- spans and voices -------------------------------------------------------------------


def test_quote_of_a_span() -> None:
    text = 'The mayor said "thugs and criminals run this town," and left.'
    quotes = find_quotes(text)
    inside = text.index("thugs")
    assert quote_of(quotes, inside, inside + 5) == quotes[0]
    assert quote_of(quotes, 0, 9) is None  # "The mayor": the outlet's own voice
    straddling = text.index("town")
    assert quote_of(quotes, straddling, len(text)) is None  # mostly outside


def test_quote_of_finds_a_long_quote_before_short_ones() -> None:
    quotes = (Quote(0, 60), Quote(61, 70, "A", 0, 1), Quote(71, 80))
    assert quote_of(quotes, 0, 100) == quotes[0]
    assert list(quotes_of(quotes, [(62, 65), (90, 95)])) == [quotes[1], None]


# --- properties -------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        '"', "'", "\u201c", "\u201d", "\u2018", "\u2019", "\u00ab", "\u00bb", "\u2039", "\u203a",
        "\u201e", " ", "\n", "\n\n", ", ", ". ", ": ", "said", "told", "according to",
        "the ministry", "He", "she", "John Smith", "Ms.", "U.S.", "it's", "dogs'", "'90s",
        "word", "and", "adding that", "was overheard saying", "In Congo", "\u2014",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES | st.text(max_size=4), max_size=40).map("".join))
@example("'\"John Smithwas overheard saying\"'")  # single marks around a double-quoted one
def test_quotes_are_valid_and_never_overlap(text: str) -> None:
    quotes = find_quotes(text)
    for quote in quotes:
        assert 0 <= quote.start < quote.end <= len(text)
        if quote.speaker is not None:
            assert quote.speaker_start is not None and quote.speaker_end is not None
            assert text[quote.speaker_start : quote.speaker_end] == quote.speaker
        else:
            assert quote.speaker_start is None and quote.speaker_end is None
    for before, after in itertools.pairwise(quotes):
        assert before.end <= after.start
    for start in range(0, len(text), 7):
        found = quote_of(quotes, start, min(start + 5, len(text)) or 1)
        assert found is None or found in quotes


def test_cost_is_linear_in_the_length() -> None:
    import time

    unit = (
        "The minister said: \"We will act.\" It's the dogs' fault, "
        "\u201cbut not ours,\u201d he added.\n\n"
    )

    def seconds(repeats: int) -> float:
        """The fastest of three runs: a busy machine only ever adds time."""
        text = unit * repeats
        times = []
        for _ in range(3):
            begin = time.perf_counter()
            find_quotes(text)
            times.append(time.perf_counter() - begin)
        return min(times)

    seconds(50)
    small, large = seconds(500), seconds(5000)
    assert large < 30 * small  # ten times the text, far from a hundred times the time
