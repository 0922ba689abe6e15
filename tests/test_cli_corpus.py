"""``propscan corpus stats`` and ``propscan techniques`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from propscan.cli import app
from propscan.core.techniques import PTC_14, TECHNIQUES, TECHNIQUES_18
from propscan.ptc.splits import load_split
from propscan.ptc.stats import STATS_SCHEMA_VERSION, corpus_stats

MINI = Path(__file__).parent / "fixtures" / "corpus" / "mini"
runner = CliRunner()


def _stats_json(*args: str, env: dict[str, str] | None = None) -> dict:
    result = runner.invoke(app, ["corpus", "stats", "--format", "json", *args], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_stats_json_covers_every_split_by_default() -> None:
    payload = _stats_json("--data", str(MINI))
    assert payload["schema_version"] == STATS_SCHEMA_VERSION
    assert payload["data"] == str(MINI.resolve())
    assert [split["split"] for split in payload["splits"]] == ["train", "dev"]
    expected = [corpus_stats(load_split(MINI, name)).to_dict() for name in ("train", "dev")]
    assert payload["splits"] == expected
    train = payload["splits"][0]
    assert (train["articles"], train["spans"], train["overlaps"]["pairs"]) == (3, 7, 2)
    assert list(train["spans_per_technique"]) == list(TECHNIQUES)


def test_stats_of_one_split_reads_the_data_dir_from_the_environment() -> None:
    payload = _stats_json("--split", "dev", env={"PROPSCAN_DATA": str(MINI)})
    assert [split["split"] for split in payload["splits"]] == ["dev"]
    assert payload["splits"][0]["spans_per_technique"]["Bandwagon,Reductio_ad_hitlerum"] == 1


def test_stats_table_lists_sizes_techniques_lengths_and_overlaps() -> None:
    result = runner.invoke(app, ["corpus", "stats", "--data", str(MINI)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for text in ("train", "dev", "articles", "words", "span length p90", "overlapping span pairs"):
        assert text in result.stdout
    assert all(label in result.stdout for label in TECHNIQUES)


def test_missing_corpus_directory_exits_2_with_a_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["corpus", "stats", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "Error: corpus directory" in result.stderr
    assert "does not exist; pass --data DIR or set PROPSCAN_DATA" in result.stderr
    assert "Traceback" not in result.output


def test_directory_that_is_not_a_corpus_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["corpus", "stats", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a corpus directory; expected a PTC directory" in result.stderr
    assert "or a SemEval-2021 Task 6 meme directory (training_set_task2.txt" in result.stderr


def test_unknown_split_exits_2_naming_the_choices() -> None:
    result = runner.invoke(app, ["corpus", "stats", "--data", str(MINI), "--split", "valid"])
    assert result.exit_code == 2
    message = " ".join(result.stderr.replace("│", " ").split())  # unwrap the error panel
    assert "Invalid value for '--split'" in message
    assert "'valid' is not one of 'train', 'dev', 'test'" in message


def test_a_split_the_corpus_lacks_exits_2_naming_its_splits() -> None:
    result = runner.invoke(app, ["corpus", "stats", "--data", str(MINI), "--split", "test"])
    assert result.exit_code == 2
    assert "unknown split 'test' of the PTC corpus" in result.stderr
    assert "expected one of train, dev" in result.stderr
    assert "Traceback" not in result.output


def test_techniques_json_has_the_14_with_descriptions() -> None:
    result = runner.invoke(app, ["techniques", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["schema_version"] == 1
    assert payload["techniques"] == [
        {
            "label": t.label,
            "name": t.name,
            "definition": t.definition,
            "example": t.example,
            "colour": t.colour,
        }
        for t in PTC_14.descriptions()
    ]


def test_techniques_original_lists_18_with_their_merge() -> None:
    result = runner.invoke(app, ["techniques", "--original", "--format", "json"])
    assert result.exit_code == 0, result.output
    entries = {entry["label"]: entry for entry in json.loads(result.stdout)["techniques"]}
    assert list(entries) == list(TECHNIQUES_18)
    assert entries["Red_Herring"]["merged_into"] == "Whataboutism,Straw_Men,Red_Herring"
    assert entries["Obfuscation,Intentional_Vagueness,Confusion"]["merged_into"] is None


def test_techniques_table_shows_names_labels_and_examples() -> None:
    result = runner.invoke(app, ["techniques"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for technique in PTC_14.descriptions():
        assert technique.label in result.stdout
        assert technique.name in result.stdout


def test_stats_of_a_meme_corpus_show_the_14_and_the_spans_outside(memes_dir: Path) -> None:
    payload = _stats_json("--data", str(memes_dir))
    assert payload["corpus"] == "semeval2021-task6"
    assert [split["split"] for split in payload["splits"]] == ["train", "dev", "test"]
    train = payload["splits"][0]
    assert list(train["spans_per_technique"]) == list(TECHNIQUES)
    assert train["spans_per_technique"]["Whataboutism,Straw_Men,Red_Herring"] == 2
    assert train["spans_outside_14"] == {"dropped": 1, "unlabelled": 0}
    assert train["spans_per_original_technique"]["Smears"] == 1
    assert len(train["spans_per_original_technique"]) == 20
    kept = _stats_json("--data", str(memes_dir), "--split", "dev", "--unmapped", "unlabelled")
    assert kept["splits"][0]["spans_outside_14"] == {"dropped": 0, "unlabelled": 2}
    assert kept["splits"][0]["spans"] == 5
    ptc = _stats_json("--data", str(MINI), "--split", "dev")["splits"][0]
    assert ptc["spans_outside_14"] is None and ptc["spans_per_original_technique"] is None


def test_stats_table_of_memes_lists_the_original_techniques_when_asked(memes_dir: Path) -> None:
    args = ["corpus", "stats", "--data", str(memes_dir), "--split", "test"]
    plain = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert plain.exit_code == 0, plain.output
    assert "meme corpus statistics" in plain.stdout and "outside the 14, dropped" in plain.stdout
    assert "Reductio ad hitlerum" not in plain.stdout
    original = runner.invoke(app, [*args, "--original"], env={"COLUMNS": "200"})
    assert original.exit_code == 0, original.output
    assert "Reductio ad hitlerum -> Bandwagon,Reductio_ad_hitlerum" in original.stdout
    assert "Smears -> outside the 14" in original.stdout
    refused = runner.invoke(app, ["corpus", "stats", "--data", str(MINI), "--original"])
    assert refused.exit_code == 2 and "PTC labels are already the 14" in refused.stderr


def test_stats_of_the_real_meme_corpus(real_memes_dir: Path) -> None:
    payload = _stats_json("--data", str(real_memes_dir), "--split", "train")
    train = payload["splits"][0]
    assert (train["articles"], train["spans"]) == (688, 1259)
    assert train["spans_outside_14"] == {"dropped": 239, "unlabelled": 0}
    assert sum(train["spans_per_original_technique"].values()) == 1498


def test_stats_cover_the_splits_a_partial_corpus_has(tmp_path: Path) -> None:
    (tmp_path / "dev_set_task2.txt").write_text("[]\n", encoding="utf-8")
    payload = _stats_json("--data", str(tmp_path))
    assert [split["split"] for split in payload["splits"]] == ["dev"]
    missing = runner.invoke(app, ["corpus", "stats", "--data", str(tmp_path), "--split", "test"])
    assert missing.exit_code == 2 and "has no test_set_task2.txt" in missing.stderr
