"""``propscan evaluate`` and ``propscan classify`` end to end, and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from propscan.core.spans import Annotations, Span
from propscan.evaluation.evaluate import evaluate
from propscan.models.baseline.detector import BaselineDetector
from propscan.ptc.io import read_labels, write_labels
from propscan.ptc.splits import Split

runner = CliRunner(env={"COLUMNS": "100"})


def run(*args: str | Path) -> Result:
    from propscan.cli import app

    return runner.invoke(app, [str(arg) for arg in args])


def evaluate_small_corpus(corpus: Path, model: Path, out: Path, *extra: str) -> Result:
    """``propscan evaluate`` over the small corpus with its gold labels."""
    return run(
        "evaluate",
        "--articles", corpus / "articles",
        "--gold", corpus / "gold.labels",
        "--model", model,
        "--out", out,
        *extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def small_corpus(dev_split: Split, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three dev articles and their gold labels in PTC layout."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "articles").mkdir()
    articles = dev_split.articles[:3]
    for article in articles:
        (root / "articles" / f"article{article.id}.txt").write_bytes(article.text.encode("utf-8"))
    write_labels(root / "gold.labels", dev_split.gold.restrict(a.id for a in articles), "flc")
    return root


def test_evaluate_json_matches_the_library(
    small_corpus: Path, tiny_model: Path, dev_split: Split, tmp_path: Path
) -> None:
    result = evaluate_small_corpus(
        small_corpus, tiny_model, tmp_path / "cli", "--threshold", "0.2", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    expected = evaluate(
        BaselineDetector.load(tiny_model),
        dev_split.articles[:3],
        dev_split.gold,
        tmp_path / "library",
        threshold=0.2,
    )
    assert data["summary"] == pytest.approx(expected.summary())
    assert data["articles"] == 3
    for name in ("si.labels", "flc.labels", "tc.labels"):
        cli_file = (tmp_path / "cli" / name).read_text(encoding="utf-8")
        assert cli_file == (tmp_path / "library" / name).read_text(encoding="utf-8")


def test_evaluate_table_names_the_three_tasks(
    small_corpus: Path, tiny_model: Path, tmp_path: Path
) -> None:
    result = evaluate_small_corpus(small_corpus, tiny_model, tmp_path)
    assert result.exit_code == 0, result.stderr
    for row in ("SI", "TC (micro)", "FLC", "3 articles"):
        assert row in result.stdout


def test_evaluate_reads_a_split_of_the_corpus(
    data_dir: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "ptc"
    (corpus / "dev-articles").mkdir(parents=True)
    source = data_dir / "dev-articles"
    chosen = sorted(source.iterdir())[:2]
    for path in chosen:
        (corpus / "dev-articles" / path.name).write_bytes(path.read_bytes())
    ids = {path.name[len("article") : -len(".txt")] for path in chosen}
    gold = read_labels(data_dir / "dev-task-flc-tc.labels", "flc").restrict(ids)
    write_labels(corpus / "dev-task-flc-tc.labels", gold, "flc")
    monkeypatch.setenv("PROPSCAN_DATA", str(corpus))
    result = run("evaluate", "--model", tiny_model, "--out", tmp_path / "out", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["articles"] == 2


def test_evaluate_missing_model_is_a_one_line_error(small_corpus: Path, tmp_path: Path) -> None:
    result = evaluate_small_corpus(small_corpus, tmp_path / "no-such-model", tmp_path / "out")
    assert result.exit_code == 2
    assert "not a propscan model directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_evaluate_articles_without_gold_is_refused(
    small_corpus: Path, tiny_model: Path, tmp_path: Path
) -> None:
    result = run(
        "evaluate",
        "--articles", small_corpus / "articles",
        "--model", tiny_model,
        "--out", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--articles and --gold go together" in result.stderr


def test_evaluate_against_an_empty_gold_file_is_refused(
    small_corpus: Path, tiny_model: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.labels"
    empty.write_text("", encoding="utf-8")
    result = run(
        "evaluate",
        "--articles", small_corpus / "articles",
        "--gold", empty,
        "--model", tiny_model,
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "empty.labels: no labels to score; pass a gold file with spans" in result.stderr


def test_evaluate_threshold_outside_0_1_is_refused(
    small_corpus: Path, tiny_model: Path, tmp_path: Path
) -> None:
    result = evaluate_small_corpus(small_corpus, tiny_model, tmp_path, "--threshold", "1.5")
    assert result.exit_code == 2
    assert "--threshold" in result.stderr


def test_classify_labels_every_template_line(
    small_corpus: Path, tiny_model: Path, dev_split: Split, tmp_path: Path
) -> None:
    gold_lines = (small_corpus / "gold.labels").read_text(encoding="utf-8").splitlines()
    template = tmp_path / "template.out"
    template.write_text(
        "".join(
            f"{aid}\t?\t{start}\t{end}\n"
            for aid, _, start, end in (line.split("\t") for line in gold_lines)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "predictions" / "tc.labels"
    result = run(
        "classify",
        "--articles", small_corpus / "articles",
        "--spans", template,
        "--out", out,
        "--model", tiny_model,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    labelled = read_labels(out, "flc")
    offsets = sorted((aid, s.start, s.end) for aid, s in labelled)
    assert offsets == sorted(
        (aid, s.start, s.end) for aid, s in read_labels(template, "flc", None, True)
    )
    assert all(span.technique is not None for _, span in labelled)
    # A span listed once gets the model's most probable technique.
    aid, single = next((aid, s) for aid, s in labelled if _count(labelled, aid, s) == 1)
    text = next(a.text for a in dev_split.articles if a.id == aid)
    probabilities = BaselineDetector.load(tiny_model).classify(text, [single])[0]
    assert single.technique == max(probabilities, key=probabilities.__getitem__)


def _count(annotations: Annotations, article_id: str, span: Span) -> int:
    return sum((s.start, s.end) == (span.start, span.end) for s in annotations[article_id])


def test_classify_accepts_si_spans(small_corpus: Path, tiny_model: Path, tmp_path: Path) -> None:
    first = (small_corpus / "gold.labels").read_text(encoding="utf-8").splitlines()[0]
    aid, _, start, end = first.split("\t")
    spans = tmp_path / "spans.labels"
    spans.write_text(f"{aid}\t{start}\t{end}\n", encoding="utf-8")
    result = run(
        "classify",
        "--articles", small_corpus / "articles",
        "--spans", spans,
        "--out", tmp_path / "out.labels",
        "--model", tiny_model,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(read_labels(tmp_path / "out.labels", "flc")) == 1
    under_a_file = run(
        "classify",
        "--articles", small_corpus / "articles",
        "--spans", spans,
        "--out", spans / "out.labels",
        "--model", tiny_model,
    )  # fmt: skip
    assert under_a_file.exit_code == 2
    assert f"{spans}: not a directory; choose a folder" in under_a_file.stderr


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{aid}\t?\tten\t20", "spans.labels:1: start offset 'ten' is not an integer"),
        ("{aid}\t?\t0\t99999999", "spans.labels:1: end offset 99999999 is beyond article"),
        ("999\t?\t0\t5", "spans.labels:1: unknown article id '999'"),
        ("{aid}\tNot_A_Technique\t0\t5", "spans.labels:1: unknown technique"),
        ("", "no spans to classify"),
    ],
)
def test_classify_bad_spans_file_is_a_one_line_error(
    small_corpus: Path, tiny_model: Path, dev_split: Split, tmp_path: Path, line: str, message: str
) -> None:
    spans = tmp_path / "spans.labels"
    spans.write_text(line.format(aid=dev_split.articles[0].id) + "\n", encoding="utf-8")
    result = run(
        "classify",
        "--articles", small_corpus / "articles",
        "--spans", spans,
        "--out", tmp_path / "out.labels",
        "--model", tiny_model,
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.labels").exists()


def test_classify_missing_model_is_a_one_line_error(small_corpus: Path, tmp_path: Path) -> None:
    first = (small_corpus / "gold.labels").read_text(encoding="utf-8").splitlines()[0]
    spans = tmp_path / "spans.labels"
    spans.write_text(first + "\n", encoding="utf-8")
    result = run(
        "classify",
        "--articles", small_corpus / "articles",
        "--spans", spans,
        "--out", tmp_path / "out.labels",
        "--model", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not a propscan model directory" in result.stderr
