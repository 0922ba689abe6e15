"""Reading the SemEval-2021 Task 6 meme corpus: fixture memes, bad files, the real corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscan.core.spans import Span
from propscan.core.techniques import MEME_TO_14
from propscan.errors import InputFormatError, PropscanError
from propscan.ptc.memes import (
    FRAGMENT_SEARCH_DISTANCE,
    MEMES_CORPUS,
    FragmentMismatchWarning,
    locate_fragment,
    parse_memes,
    read_memes,
    split_file,
)

MEMES = Path(__file__).parent / "fixtures" / "memes"


def fragments(path: Path, unmapped: Any = "drop") -> dict[tuple[str, str | None], str]:
    memes = read_memes(path, unmapped)
    texts = {article.id: article.text for article in memes.articles}
    return {(aid, span.technique): span.fragment(texts[aid]) for aid, span in memes.gold}


def test_memes_become_tagged_articles_with_spans_on_the_14() -> None:
    memes = read_memes(split_file(MEMES, "train"))
    assert [a.id for a in memes.articles] == ["meme1", "meme2", "meme3", "meme4", "meme5", "meme7"]
    assert {a.corpus for a in memes.articles} == {MEMES_CORPUS}
    assert memes.articles[0].text == "THEY LIED ABOUT EVERYTHING\n\nWAKE UP PEOPLE!\n"
    found = fragments(split_file(MEMES, "train"))
    assert found[("meme1", "Loaded_Language")] == "LIED"
    assert found[("meme1", "Slogans")] == "WAKE UP PEOPLE!"
    # Code points: the emoji (a surrogate pair in the JSON) is one character.
    assert found[("meme2", "Name_Calling,Labeling")] == "corrupt mayor"
    assert memes.gold["meme2"][0] == Span(6, 19, "Name_Calling,Labeling")
    assert found[("meme2", "Whataboutism,Straw_Men,Red_Herring")].startswith("What about")
    assert memes.gold["meme4"] == () and "meme4" in memes.gold.article_ids


def test_techniques_outside_the_14_are_dropped_or_kept_unlabelled() -> None:
    path = split_file(MEMES, "train")
    dropped, kept = read_memes(path, "drop"), read_memes(path, "unlabelled")
    assert [s.technique for s in dropped.gold["meme1"]] == ["Loaded_Language", "Slogans"]
    assert Span(0, 26) in kept.gold["meme1"] and len(kept.gold["meme1"]) == 3
    assert dropped.original == kept.original
    assert Span(0, 26, "Smears") in dropped.original["meme1"]
    with pytest.raises(PropscanError, match=r"unknown policy 'keep'.*drop, unlabelled"):
        read_memes(path, "keep")  # type: ignore[arg-type]


def test_offsets_that_miss_their_fragment_move_onto_it_nearby() -> None:
    found = fragments(split_file(MEMES, "train"))
    # meme 3 starts one character early; meme 5's fragment has a zero-width space
    assert found[("meme3", "Flag-Waving")] == "Real patriots buy local!"
    assert found[("meme5", "Whataboutism,Straw_Men,Red_Herring")] == "SHE WANTS TO BAN ALL CARS"


def test_locate_fragment_prefers_the_offsets_then_the_nearest_occurrence() -> None:
    text = "NO NO NO. NO!"
    assert locate_fragment(text, 3, 5, "NO") == (3, 5)
    assert locate_fragment(text, 4, 6, "NO") == (3, 5)  # nearest to start 4
    assert locate_fragment(text, 6, 9, "NO!") == (10, 13)
    assert locate_fragment(text, 0, 2, "YES") is None
    assert locate_fragment("A B", 0, 3, "A\u200b B") == (0, 3)
    assert locate_fragment("x" * 20 + "AB", 0, 2, "AB") is None  # too far away


@given(
    text=st.text(min_size=1, max_size=40),
    data=st.data(),
)
def test_located_offsets_always_give_the_fragment(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    shift = data.draw(st.integers(-FRAGMENT_SEARCH_DISTANCE, FRAGMENT_SEARCH_DISTANCE))
    fragment = text[start:end]
    stated = max(0, start + shift)
    located = locate_fragment(text, stated, min(len(text), stated + len(fragment)), fragment)
    assert located is not None
    assert text[located[0] : located[1]] == fragment
    assert abs(located[0] - stated) <= abs(start - stated)


def test_a_fragment_found_nowhere_near_keeps_the_offsets_with_a_warning() -> None:
    records = [
        {
            "id": "9",
            "text": "Plain words here",
            "labels": [{"start": 0, "end": 5, "technique": "Doubt", "text_fragment": "elsewhere"}],
        }
    ]
    with pytest.warns(FragmentMismatchWarning, match=r"x\.json: meme '9', label 1: text_fragment"):
        memes = parse_memes(json.dumps(records), "x.json")
    assert memes.gold["meme9"] == (Span(0, 5, "Doubt"),)


def _one_label(**changes: Any) -> list[dict[str, Any]]:
    label = {"start": 0, "end": 4, "technique": "Doubt", "text_fragment": "Can "}
    label.update(changes)
    return [{"id": "12", "text": "Can we trust him?", "labels": [label]}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{", r"memes\.json:1: not valid JSON"),
        ('{"id": "1"}', r"memes\.json: expected a JSON list of memes"),
        ("[3]", r"meme #1: expected an object \{id, text, labels\}"),
        ('[{"id": "a b", "text": "", "labels": []}]', r"meme #1: id must be a non-empty string"),
        ('[{"id": "1", "labels": []}]', r"meme '1': missing field 'text'"),
        ('[{"id": "1", "text": "x", "labels": {}}]', r"meme '1': field 'labels' must be a list"),
        (
            '[{"id": "1", "text": "", "labels": []}, {"id": 1, "text": "", "labels": []}]',
            r"meme '1': appears twice in the file",
        ),
        (json.dumps(_one_label(end=40)), r"meme '12', label 1: end offset 40 is beyond the text"),
        (json.dumps(_one_label(start=4)), r"meme '12', label 1: offsets 4:4 are not"),
        (
            json.dumps(_one_label(start=True)),
            r"field 'start' must be an integer, got bool",
        ),
        (json.dumps(_one_label(start="0")), r"field 'start' must be an integer, got str"),
        (
            json.dumps(_one_label(technique="Smear")),
            r"meme '12', label 1: unknown meme corpus technique 'Smear'; did you mean 'Smears'",
        ),
        (
            json.dumps([{"id": "12", "text": "x", "labels": [{"start": 0, "end": 1}]}]),
            r"meme '12', label 1: missing field 'technique'",
        ),
    ],
)
def test_bad_files_are_one_clear_error_naming_file_and_meme(content: str, message: str) -> None:
    with pytest.raises(InputFormatError, match=message):
        parse_memes(content, "memes.json")


def test_undecodable_bytes_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "training_set_task2.txt"
    path.write_bytes(b'[\n{"id": "1", "text": "\xff", "labels": []}]')
    with pytest.raises(InputFormatError, match=r"training_set_task2\.txt:2: not valid UTF-8"):
        read_memes(path)


def test_the_real_corpus_reads_whole_with_five_mismatches_repaired(real_memes_dir: Path) -> None:
    originals: Counter[str] = Counter()
    ids: list[str] = []
    repaired = 0
    for split in ("train", "dev", "test"):
        path = split_file(real_memes_dir, split)
        memes = read_memes(path, "unlabelled")
        texts = {article.id: article.text for article in memes.articles}
        labels = {
            f"meme{record['id']}": record["labels"]
            for record in json.loads(path.read_text("utf-8"))
        }
        for aid, span in memes.original:
            originals[str(span.technique)] += 1
            same = [label for label in labels[aid] if label["technique"] == span.technique]
            repaired += (span.start, span.end) not in [(x["start"], x["end"]) for x in same]
            stated = [x["text_fragment"].replace("\u200b", "") for x in same]
            assert span.fragment(texts[aid]) in stated, (aid, span)
        assert len(memes.gold) == len(memes.original)
        ids += [article.id for article in memes.articles]
    assert sum(originals.values()) == 2083 and len(ids) == 951
    assert set(originals) == set(MEME_TO_14)
    assert (originals["Slogans"], originals["Smears"], originals["Whataboutism"]) == (72, 266, 54)
    assert repaired == 5
    # one meme is in train (without spans) and in test (with one): the same text
    assert Counter(ids)["meme474_batch_2"] == 2 and len(set(ids)) == 950


def test_the_technique_list_of_the_real_corpus_is_the_mapped_one(real_memes_dir: Path) -> None:
    listed = (real_memes_dir / "techniques.txt").read_text("utf-8").split("\n")
    assert {name for name in listed if name} == set(MEME_TO_14)
