"""A model with a technique set of its own: three labels, through every surface.

The fixture corpus's spans are relabelled with three techniques the catalogue does not
know, a model is trained on it, and every way of using a model -- ``analyze`` in each
format, the service's page and API, ``batch`` and ``report``, the spaCy component and
the Label Studio export and import -- must name exactly those three.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from propscan.batch.chunks import AnalysisOptions
from propscan.batch.run import run_batch
from propscan.cli import app
from propscan.core.analysis import Analysis
from propscan.core.spans import Annotations
from propscan.errors import PropscanError
from propscan.integrations import labelstudio
from propscan.models.registry import load_detector
from propscan.pipeline import analyze
from propscan.ptc.io import combined_labels_path, write_labels
from propscan.ptc.splits import SPLITS, load_split
from propscan.render.formats import FORMATS
from propscan.report.html import make_report
from propscan.service import create_app

OWN = ("Emotive_Wording", "Bad_Reasoning", "Catchphrase")
#: PTC's 14 labels grouped into the three.
GROUPS = {
    "Emotive_Wording": (
        "Loaded_Language",
        "Name_Calling,Labeling",
        "Exaggeration,Minimisation",
        "Appeal_to_fear-prejudice",
        "Flag-Waving",
    ),
    "Bad_Reasoning": (
        "Causal_Oversimplification",
        "Black-and-White_Fallacy",
        "Whataboutism,Straw_Men,Red_Herring",
        "Bandwagon,Reductio_ad_hitlerum",
        "Appeal_to_Authority",
        "Doubt",
    ),
    "Catchphrase": ("Slogans", "Repetition", "Thought-terminating_Cliches"),
}
TEXT = "These corrupt traitors want to destroy our great nation. Enough is enough!\n" * 3

runner = CliRunner()


@pytest.fixture(scope="module")
def own_corpus(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus with every span relabelled with one of :data:`OWN`."""
    root = tmp_path_factory.mktemp("own-corpus")
    group_of = {label: own for own, labels in GROUPS.items() for label in labels}
    for split in SPLITS:
        shutil.copytree(data_dir / f"{split}-articles", root / f"{split}-articles")
        gold = load_split(data_dir, split).gold
        relabelled = Annotations.from_pairs(
            (article_id, replace(span, technique=group_of[str(span.technique)]))
            for article_id, span in gold
        )
        write_labels(combined_labels_path(root, split, "flc"), relabelled, "flc")
    (root / "techniques.txt").write_text("\n".join(OWN) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def own_model(own_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baseline trained by ``propscan train`` on the corpus, with its dev scores."""
    out = tmp_path_factory.mktemp("own-model")
    command = ["train", "--kind", "baseline", "--data", str(own_corpus), "--out", str(out)]
    trained = runner.invoke(app, [*command, "--no-progress"])
    assert trained.exit_code == 0, trained.output
    scores = json.loads(trained.stdout)["scores"]["dev"]
    assert 0.0 <= scores["flc_f1"] <= 1.0
    return out


def labels_in(analysis: Analysis) -> set[str]:
    return {str(span.technique) for span in analysis.spans}


def test_the_model_names_its_own_three_techniques(own_model: Path) -> None:
    detector = load_detector(own_model)
    assert tuple(detector.techniques) == OWN
    analysis = analyze(TEXT, detector, threshold=0.0)
    assert analysis.spans and labels_in(analysis) <= set(OWN)
    assert analysis.to_dict()["model"]["techniques"] == list(OWN)
    assert labels_in(analyze(TEXT, detector, threshold=0.0, techniques="catchphrase")) <= {
        "Catchphrase"
    }
    with pytest.raises(PropscanError, match="unknown technique 'Doubt'"):
        analyze(TEXT, detector, techniques="Doubt")


@pytest.mark.parametrize("name", list(FORMATS))
def test_analyze_shows_the_three_in_every_format(
    own_model: Path, tmp_path: Path, name: str
) -> None:
    article = tmp_path / "article.txt"
    article.write_text(TEXT, encoding="utf-8")
    command = ["analyze", str(article), "--model", str(own_model), "--threshold", "0"]
    result = runner.invoke(app, [*command, "--format", name], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    shown = result.stdout
    if name == "json":
        data = json.loads(shown)
        assert data["model"]["techniques"] == list(OWN)
        assert {span["technique"] for span in data["spans"]} <= set(OWN)
    elif name == "ptc":
        assert {line.split("\t")[1] for line in shown.splitlines()} <= set(OWN)
    else:  # text and html show the techniques' readable names
        assert "Emotive Wording" in shown or "Bad Reasoning" in shown or "Catchphrase" in shown
        assert "Loaded language" not in shown
    refused = runner.invoke(app, [*command, "--techniques", "Doubt"])
    assert refused.exit_code == 2 and "unknown technique 'Doubt'" in refused.output


def test_the_service_lists_and_colours_the_three(own_model: Path, tmp_path: Path) -> None:
    with TestClient(create_app(model=own_model, db_path=tmp_path / "history.db")) as client:
        listed = client.get("/api/techniques").json()
        assert [technique["label"] for technique in listed] == list(OWN)
        assert "3 propaganda techniques" in client.get("/").text
        about = client.get("/about").text
        assert "The 3 propaganda techniques" in about and "Emotive Wording" in about
        css = client.get("/assets/techniques.css").text
        assert ".t2{" in css and ".t3{" not in css
        created = client.post("/api/analyze", json={"text": TEXT, "threshold": 0.0})
        assert created.status_code == 201
        body = created.json()
        assert body["model"]["techniques"] == list(OWN)
        assert body["spans"] and {span["technique"] for span in body["spans"]} <= set(OWN)
        page = client.get(f"/a/{body['id']}").text
        assert "Emotive Wording" in page or "Bad Reasoning" in page or "Catchphrase" in page
        assert client.get(f"/a/{body['id']}.labels").status_code == 200


def test_batch_and_report_keep_to_the_three(own_model: Path, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for number in range(3):
        (articles / f"article{number}.txt").write_text(TEXT, encoding="utf-8")
    results = tmp_path / "results"
    run_batch(
        articles,
        results,
        model=own_model,
        options=AnalysisOptions(threshold=0.0, techniques=("emotive_wording", "Catchphrase")),
        progress=False,
    )
    manifest = json.loads((results / "batch.json").read_text(encoding="utf-8"))
    assert manifest["model"]["techniques"] == list(OWN)
    assert manifest["techniques"] == ["Emotive_Wording", "Catchphrase"]
    report, page = make_report(results, tmp_path / "report")
    # one row for each technique looked for, no other
    assert sorted(report.by_technique["technique"]) == ["Catchphrase", "Emotive_Wording"]
    assert page is not None and "Emotive Wording" in page.read_text(encoding="utf-8")
    with pytest.raises(PropscanError, match="unknown technique 'Doubt'"):
        run_batch(
            articles,
            tmp_path / "refused",
            model=own_model,
            options=AnalysisOptions(techniques=("Doubt",)),
            progress=False,
        )


def test_the_spacy_component_labels_with_the_three(own_model: Path) -> None:
    spacy = pytest.importorskip("spacy", reason="the spaCy component needs the spacy extra")
    nlp = spacy.blank("en")
    component = nlp.add_pipe("propscan", config={"model": str(own_model), "threshold": 0.0})
    assert component.labels == OWN
    doc = nlp(TEXT)
    assert {span.label_ for span in doc.spans["propaganda"]} <= set(OWN)
    with pytest.raises(PropscanError, match="unknown technique 'Doubt'"):
        spacy.blank("en").add_pipe(
            "propscan", config={"model": str(own_model), "techniques": ["Doubt"]}
        )


def test_label_studio_exports_and_imports_the_three(own_model: Path, tmp_path: Path) -> None:
    config = runner.invoke(app, ["export", "labelstudio", "--config", "--model", str(own_model)])
    assert config.exit_code == 0, config.output
    assert config.stdout.count("<Label ") == 3
    assert all(f'value="{label}"' in config.stdout for label in OWN)
    analysis = analyze(TEXT, own_model, threshold=0.0)
    analyses = tmp_path / "analyses.json"
    analyses.write_text(json.dumps(analysis.to_dict()), encoding="utf-8")
    tasks = labelstudio.tasks_from_analyses(labelstudio.read_for_export(analyses))
    exported = tmp_path / "export.json"
    exported.write_text(json.dumps(tasks), encoding="utf-8")
    corpus_dir = tmp_path / "corpus"
    imported = runner.invoke(
        app,
        [
            "corpus",
            "import",
            "labelstudio",
            str(exported),
            "--out",
            str(corpus_dir),
            "--use-predictions",
            "--model",
            str(own_model),
        ],
    )
    assert imported.exit_code == 0, imported.output
    back = load_split(corpus_dir, "train")
    assert tuple(back.techniques) == OWN
    assert {str(span.technique) for _, span in back.gold} <= set(OWN)


@pytest.mark.slow
def test_a_transformer_trained_on_them_has_heads_of_three(own_corpus: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="training needs the train extra")
    from support.tiny_bert import save_tiny_encoder

    from propscan.models.transformer.recipe import TrainingSettings
    from propscan.models.transformer.train import train_transformer

    train = load_split(own_corpus, "train")
    settings = TrainingSettings(
        epochs=1, batch_size=4, max_steps=2, max_articles=3, refit=False, quantize=False
    )
    encoder = save_tiny_encoder(tmp_path / "encoder")
    report = train_transformer(
        train.articles,
        train.gold,
        tmp_path / "model",
        techniques=train.techniques,
        encoder=encoder,
        settings=settings,
        progress=False,
    )
    detector = load_detector(report.model_dir)
    assert tuple(detector.techniques) == OWN
    assert detector.decoder.span_head.w2.shape[0] == 3
    (outputs,) = detector.encode([TEXT])
    assert outputs.technique_prob.shape[1] == 3
    assert labels_in(analyze(TEXT, detector, threshold=0.0)) <= set(OWN)


def test_evaluate_score_and_stats_take_the_three(
    own_model: Path, own_corpus: Path, tmp_path: Path
) -> None:
    """Gold labelled with the three scores a model of the three, from a split or from any
    articles and gold file, and the scorers and corpus stats list the three."""
    gold = combined_labels_path(own_corpus, "dev", "flc")
    articles = own_corpus / "dev-articles"
    command = ["evaluate", "--model", str(own_model), "--articles", str(articles)]
    command += ["--out", str(tmp_path / "evaluation")]
    evaluated = runner.invoke(app, [*command, "--gold", str(gold), "--format", "json"])
    assert evaluated.exit_code == 0, evaluated.output
    scores = json.loads(evaluated.stdout)
    assert 0.0 <= scores["summary"]["flc_f1"] <= 1.0 and scores["tc"] is not None
    assert set(scores["flc"]["per_technique"]) == set(OWN)
    predicted = scores["files"]["flc"]
    for task in ("flc", "tc"):
        pair = ["--gold", str(gold), "--pred", str(gold if task == "tc" else predicted)]
        scored = runner.invoke(app, ["score", task, *pair, "--format", "json"])
        assert scored.exit_code == 0, scored.output
        assert set(json.loads(scored.stdout)["per_technique"]) == set(OWN), task
    stats = runner.invoke(app, ["corpus", "stats", "--data", str(own_corpus), "--format", "json"])
    assert stats.exit_code == 0, stats.output
    counted = json.loads(stats.stdout)["splits"][0]["spans_per_technique"]
    assert set(counted) == set(OWN)
