"""Label Studio round trip, checked with label-studio-sdk's own config and prediction parsing."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
from stubs import FixedDetector

from propscan.batch import run_batch
from propscan.core.analysis import Analysis, ModelInfo
from propscan.core.spans import Span
from propscan.core.techniques import PTC_14, TECHNIQUES, get_technique
from propscan.errors import PropscanError
from propscan.examples import sample_text
from propscan.integrations import labelstudio
from propscan.pipeline import analyze
from propscan.ptc.splits import load_split

LabelInterface = pytest.importorskip(
    "label_studio_sdk.label_interface", reason="needs the 'labelstudio' extra"
).LabelInterface

EMOJI_TEXT = "Crowds 🎉🇺🇸 cheer\r\nthe TRAITORS!!! Shame, shame, shame.\r\n"


def make_analysis(text: str, spans: list[Span]) -> Analysis:
    return Analysis(text=text, spans=tuple(spans), sentences=(), model=ModelInfo("fixed", "0"))


def emoji_analysis() -> Analysis:
    traitors = EMOJI_TEXT.index("TRAITORS")
    shame = EMOJI_TEXT.index("Shame")
    return make_analysis(
        EMOJI_TEXT,
        [
            Span(EMOJI_TEXT.index("🎉"), EMOJI_TEXT.index(" cheer"), "Flag-Waving", 0.4),
            Span(traitors, traitors + 8, "Name_Calling,Labeling", 0.9),
            Span(traitors, traitors + 11, "Loaded_Language", 0.6),  # overlaps the one above
            Span(shame, shame + len("Shame, shame, shame"), "Repetition", 0.5),
            Span(shame, shame + len("Shame, shame, shame"), "Slogans", 0.3),  # same offsets
        ],
    )


@pytest.fixture(scope="module")
def sample_analysis() -> Analysis:
    return analyze(sample_text())


def as_label_studio_export(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Label Studio exports after annotators accepted the pre-annotations."""
    exported = copy.deepcopy(tasks)
    for number, task in enumerate(exported, start=1):
        task["id"] = 100 + number
        result = copy.deepcopy(task["predictions"][0]["result"])
        for region in result:
            region.pop("score", None)
            region["origin"] = "prediction-changed"
        task["annotations"] = [
            {
                "id": number,
                "completed_by": 1,
                "result": result,
                "was_cancelled": False,
                "created_at": "2026-11-30T09:00:00.000000Z",
                "updated_at": "2026-11-30T09:10:00.000000Z",
            }
        ]
    return exported


def test_config_is_valid_for_label_studio_with_the_14_techniques_in_their_colours() -> None:
    config = labelstudio.labelling_config(PTC_14)
    interface = LabelInterface(config)
    interface.validate()  # raises on an invalid config
    control = interface.get_control(labelstudio.FROM_NAME)
    assert control.to_name == [labelstudio.TO_NAME]
    assert list(control.labels) == list(TECHNIQUES)
    for label in ElementTree.fromstring(config).iter("Label"):
        assert label.get("background") == get_technique(label.get("value")).colour
    labelstudio.validate(config)


def test_tasks_pass_label_studio_prediction_validation(sample_analysis: Analysis) -> None:
    items = [("sample", sample_analysis), ("emoji", emoji_analysis())]
    tasks = labelstudio.tasks_from_analyses(items)
    interface = LabelInterface(labelstudio.labelling_config(PTC_14))
    for task, (article_id, analysis) in zip(tasks, items, strict=True):
        assert task["data"]["text"] == analysis.text
        assert task["data"]["article_id"] == article_id
        [prediction] = task["predictions"]
        assert interface.validate_prediction(prediction, return_errors=True) == []
        results = prediction["result"]
        assert len(results) == len(analysis.spans) > 0
        for result, span in zip(results, analysis.spans, strict=True):
            value = result["value"]
            assert (value["start"], value["end"], value["labels"]) == (
                span.start,
                span.end,
                [span.technique],
            )
            assert value["text"] == analysis.text[value["start"] : value["end"]]
            assert result["score"] == pytest.approx(span.score)
            assert (result["from_name"], result["to_name"], result["type"]) == (
                "technique",
                "text",
                "labels",
            )
        assert len({result["id"] for result in results}) == len(results)
    labelstudio.validate(labelstudio.labelling_config(PTC_14), tasks)
    json.dumps(tasks, allow_nan=False)  # plain JSON types only


def test_round_trip_keeps_every_span_but_the_edited_one(
    sample_analysis: Analysis, tmp_path: Path
) -> None:
    items = [("sample", sample_analysis), ("emoji", emoji_analysis())]
    exported = as_label_studio_export(labelstudio.tasks_from_analyses(items))
    interface = LabelInterface(labelstudio.labelling_config(PTC_14))
    edited = exported[0]["annotations"][0]["result"][1]
    old_label = edited["value"]["labels"][0]
    new_label = "Doubt" if old_label != "Doubt" else "Slogans"
    edited["value"]["labels"] = [new_label]
    for task in exported:
        assert interface.validate_annotation(task["annotations"][0])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported), encoding="utf-8")

    corpus = labelstudio.read_export(path)
    labelstudio.write_corpus(tmp_path / "corpus", corpus)
    split = load_split(tmp_path / "corpus", "train")

    assert [a.id for a in split.articles] == ["emoji", "sample"]
    assert split.by_id["emoji"].text == EMOJI_TEXT  # CRLF and emoji kept byte for byte
    assert split.gold["emoji"] == tuple(sorted(emoji_analysis().spans))
    start, end = edited["value"]["start"], edited["value"]["end"]
    expected = [
        Span(
            s.start,
            s.end,
            new_label if (s.start, s.end, s.technique) == (start, end, old_label) else s.technique,
        )
        for s in sample_analysis.spans
    ]
    assert split.gold["sample"] == tuple(sorted(expected))
    assert split.gold["sample"] != tuple(sample_analysis.spans)


def test_latest_annotation_wins_cancelled_ones_and_unannotated_tasks_are_left_out(
    tmp_path: Path,
) -> None:
    tasks = labelstudio.tasks_from_analyses([("a", emoji_analysis()), ("b", emoji_analysis())])
    tasks[1]["data"]["text"] = EMOJI_TEXT  # same text, other id: allowed
    exported = as_label_studio_export(tasks)
    first = exported[0]["annotations"][0]
    older = copy.deepcopy(first) | {"updated_at": "2026-11-29T00:00:00Z", "result": []}
    cancelled = copy.deepcopy(first) | {"updated_at": "2026-12-01T00:00:00Z", "was_cancelled": True}
    exported[0]["annotations"] = [first, older, cancelled]
    exported[1]["annotations"] = []
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported), encoding="utf-8")

    corpus = labelstudio.read_export(path)
    assert [a.id for a in corpus.articles] == ["a"] and corpus.skipped == ["b"]
    assert len(corpus.annotations["a"]) == len(emoji_analysis().spans)
    with_predictions = labelstudio.read_export(path, use_predictions=True)
    assert with_predictions.annotations["b"] == with_predictions.annotations["a"]


def test_utf16_offsets_of_older_label_studio_versions_are_converted(tmp_path: Path) -> None:
    text = "🙂🙂 liars everywhere"
    start = text.index("liars")
    task = {
        "id": 5,
        "data": {"text": text},
        "annotations": [
            {
                "result": [
                    {
                        "from_name": "technique",
                        "to_name": "text",
                        "type": "labels",
                        # counted in UTF-16 units: each emoji is two
                        "value": {
                            "start": start + 2,
                            "end": start + 7,
                            "text": "liars",
                            "labels": ["Name_Calling,Labeling"],
                        },
                    }
                ]
            }
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    corpus = labelstudio.read_export(path)
    assert corpus.articles[0].id == "ls5"
    assert corpus.annotations["ls5"] == (Span(start, start + 5, "Name_Calling,Labeling"),)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v.update(start=v["start"] + 1), "do not match|does not match"),
        (lambda v: v.update(end=10_000), "the text has"),
        (lambda v: v.update(labels=["Propaganda"]), "unknown technique 'Propaganda'"),
        (lambda v: v.update(labels=[]), "no technique"),
        (lambda v: v.update(start="3"), "must be integers"),
    ],
)
def test_results_that_do_not_fit_their_text_are_one_line_errors(
    tmp_path: Path, change: Any, message: str
) -> None:
    exported = as_label_studio_export(labelstudio.tasks_from_analyses([("a", emoji_analysis())]))
    change(exported[0]["annotations"][0]["result"][2]["value"])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    with pytest.raises(PropscanError, match=message) as error:
        labelstudio.read_export(path)
    assert "task 1 (article a), annotation result 2" in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_exports_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    for content, message in [
        ("{not json", "not valid JSON"),
        ('"text"', "expected a JSON list"),
        ('[{"data": {}}]', "no article text"),
        ('[{"data": {"text": "x", "article_id": " ./ "}}]', "nothing a file name can hold"),
        (
            '[{"data": {"text": "x", "article_id": "a b"}}, {"data": {"text": "y", '
            '"article_id": "a.b"}}]',
            r"'a_b' is also used by task 1 \(renamed from 'a.b'",
        ),
        ('[{"id": 1, "data": {"text": "x"}}]', "no task has a completed annotation"),
    ]:
        path.write_text(content, encoding="utf-8")
        with pytest.raises(PropscanError, match=message):
            labelstudio.read_export(path)


def test_ids_that_cannot_be_file_names_are_renamed_and_reported(tmp_path: Path) -> None:
    """Batch ids such as ``cnn.2024-05-31`` or ``my story`` survive the round trip."""
    analysis = emoji_analysis()
    tasks = labelstudio.tasks_from_analyses([("cnn.2024-05-31", analysis), ("my story", analysis)])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(as_label_studio_export(tasks)), encoding="utf-8")
    corpus = labelstudio.read_export(path)
    assert corpus.renamed == {"cnn.2024-05-31": "cnn_2024-05-31", "my story": "my_story"}
    labelstudio.write_corpus(tmp_path / "out", corpus)
    split = load_split(tmp_path / "out", "train")
    assert sorted(article.id for article in split.articles) == ["cnn_2024-05-31", "my_story"]
    assert len(split.gold) == 2 * len(analysis.spans)


def test_write_corpus_refuses_to_mix_with_existing_articles(tmp_path: Path) -> None:
    exported = as_label_studio_export(labelstudio.tasks_from_analyses([("a", emoji_analysis())]))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported), encoding="utf-8")
    corpus = labelstudio.read_export(path)
    labelstudio.write_corpus(tmp_path / "out", corpus)
    with pytest.raises(PropscanError, match="already holds articles"):
        labelstudio.write_corpus(tmp_path / "out", corpus)
    labelstudio.write_corpus(tmp_path / "out", corpus, split="dev")
    assert load_split(tmp_path / "out", "dev").gold == load_split(tmp_path / "out", "train").gold


def test_batch_results_are_exported_with_texts_from_the_run_input(tmp_path: Path) -> None:
    records = [
        {"id": "one", "text": EMOJI_TEXT, "source": "Outlet A"},
        {"id": "two", "text": "Short text without much. " * 3},
    ]
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    spans = list(emoji_analysis().spans)
    run_batch(source, tmp_path / "results", model=FixedDetector(spans), progress=False)

    items = labelstudio.read_for_export(tmp_path / "results")
    assert [article_id for article_id, _ in items] == ["one", "two"]
    assert items[0][1].text == EMOJI_TEXT and items[0][1].source == "Outlet A"
    assert items[0][1].spans == tuple(sorted(spans))
    tasks = labelstudio.tasks_from_analyses(items)
    labelstudio.validate(labelstudio.labelling_config(PTC_14), tasks)
    assert tasks[0]["predictions"][0]["model_version"] == "fixed 0"

    moved = tmp_path / "moved.jsonl"
    source.rename(moved)
    with pytest.raises(PropscanError, match="pass --input"):
        labelstudio.read_for_export(tmp_path / "results")
    assert len(labelstudio.read_for_export(tmp_path / "results", moved)) == 2
    moved.write_text(json.dumps({"id": "one", "text": EMOJI_TEXT.upper()}) + "\n", "utf-8")
    with pytest.raises(PropscanError, match="the input changed after the run"):
        labelstudio.read_for_export(tmp_path / "results", moved)


def test_analyses_files_lists_jsonl_and_folders(tmp_path: Path) -> None:
    one = emoji_analysis().to_dict()
    stored = one | {"id": "abc123"}
    folder = tmp_path / "analyses"
    folder.mkdir()
    (folder / "first article.json").write_text(json.dumps(one), encoding="utf-8")
    (folder / "second.json").write_text(json.dumps(stored), encoding="utf-8")
    assert [i for i, _ in labelstudio.read_for_export(folder)] == ["first_article", "abc123"]
    (tmp_path / "many.json").write_text(json.dumps([one, one]), encoding="utf-8")
    assert [i for i, _ in labelstudio.read_for_export(tmp_path / "many.json")] == [
        "many-1",
        "many-2",
    ]
    lines = tmp_path / "all.jsonl"
    lines.write_text(json.dumps(stored) + "\n\n" + json.dumps(one) + "\n", encoding="utf-8")
    assert [i for i, _ in labelstudio.read_for_export(lines)] == ["abc123", "all-2"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(one | {"spans": [{"start": 0, "end": 999}]}), encoding="utf-8")
    with pytest.raises(PropscanError, match=r"bad.json: spans\[0\]"):
        labelstudio.read_for_export(bad)
    with pytest.raises(PropscanError, match="appears twice"):
        labelstudio.tasks_from_analyses(labelstudio.read_for_export(tmp_path / "many.json") * 2)
