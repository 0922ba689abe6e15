"""The sample article shipped in the package and ``propscan analyze --example``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from propscan.cli import app
from propscan.core.spans import Span
from propscan.core.techniques import PTC_14
from propscan.evaluation.error_analysis import techniques_found
from propscan.examples import SAMPLE_ARTICLE_ID, sample_article, sample_labels_path, sample_text
from propscan.pipeline import analyze, load_model
from propscan.ptc.io import read_labels

runner = CliRunner()


def test_sample_is_a_short_invented_article_with_a_title() -> None:
    text = sample_text()
    article = sample_article()
    assert article.text == text and article.id == SAMPLE_ARTICLE_ID
    assert article.title == text.split("\n", 1)[0] and len(article.title) < 100
    assert 1_000 < len(text) < 5_000 and text.count("\n\n") >= 4
    assert "invented" in text  # says it is fiction


def test_analyze_example_as_json() -> None:
    result = runner.invoke(app, ["analyze", "--example", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["text"] == sample_text()
    assert payload["spans"]
    for span in payload["spans"]:
        assert span["fragment"] == payload["text"][span["start"] : span["end"]]


def test_analyze_example_in_ptc_lines_uses_the_sample_id() -> None:
    result = runner.invoke(app, ["analyze", "--example", "--format", "ptc"])
    assert result.exit_code == 0, result.output
    assert all(line.startswith("sample\t") for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze"], "give an article: a text file, '-' for standard input, a URL, or --example"),
        (["analyze", "article.txt", "--example"], "or --example, not both"),
    ],
)
def test_input_and_example_errors_are_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


#: Which fragment of the sample article shows which technique (sample-article.labels).
SAMPLE_TECHNIQUES = {
    "Appeal_to_Authority": [
        "The harbour master, the most respected voice in town, says the bridge is perfectly sound"
    ],
    "Appeal_to_fear-prejudice": [
        "if this toll passes, our high street will be a ghost town by winter. Shops will close, "
        "families will leave, and criminals will move into the empty buildings."
    ],
    "Bandwagon,Reductio_ad_hitlerum": [
        "Every real Marrowby family already knows the truth.",
        "Thousands of our neighbours have signed the petition",
    ],
    "Black-and-White_Fallacy": ["Either we stop this tax now, or we hand Marrowby over to ruin."],
    "Causal_Oversimplification": [
        "The bridge fell into disrepair only because the council wasted our money on its fancy "
        "new town hall."
    ],
    "Doubt": [
        "can we really trust a man who has dodged every question about his own finances?",
        "Where did the money for his new boathouse come from?",
    ],
    "Exaggeration,Minimisation": [
        "nothing less than daylight robbery",
        "who have never done an honest day's work in their lives",
    ],
    "Flag-Waving": [
        "Marrowby has stood proud on the banks of the Wend for eight hundred years",
        "true patriots",
    ],
    "Loaded_Language": ["outrageous", "daylight robbery"],
    "Name_Calling,Labeling": [
        "Bridge Tax Traitors",
        'so-called "reformers"',
        "a gang of spineless bureaucrats",
        "a handful of cranks",
        "pen-pushers",
    ],
    "Repetition": ["Marrowby first, Marrowby always!"],
    "Slogans": ["No toll, no surrender.", "Marrowby first, Marrowby always!"],
    "Thought-terminating_Cliches": ["there is nothing left to discuss", "Enough is enough."],
    "Whataboutism,Straw_Men,Red_Herring": [
        "while the council lectures us about repairs, what about the potholes on Mill Lane that "
        "they have ignored for a decade?"
    ],
}


def sample_gold() -> tuple[Span, ...]:
    return read_labels(sample_labels_path(), "flc")[SAMPLE_ARTICLE_ID]


def test_the_sample_shows_every_technique_where_its_labels_say() -> None:
    text = sample_text()
    labelled: dict[str, list[str]] = {}
    for span in sorted(sample_gold(), key=lambda s: (s.technique, s.start)):
        labelled.setdefault(str(span.technique), []).append(text[span.start : span.end])
    assert {t: sorted(f) for t, f in labelled.items()} == {
        t: sorted(f) for t, f in SAMPLE_TECHNIQUES.items()
    }
    assert set(labelled) == set(PTC_14)


def test_the_shipped_model_names_the_sample_techniques_it_did() -> None:
    """A floor at what the shipped model names today (5 of 14: Appeal to fear, Doubt,
    Exaggeration, Loaded language, Name calling; benchmarks/results/example_article.md);
    the aim is 10."""
    found = techniques_found(sample_gold(), analyze(sample_text(), load_model()).spans)
    assert len(found) >= 5, found
