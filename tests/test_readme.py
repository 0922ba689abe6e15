"""The README's examples run: the first command, the spaCy component, the Label Studio
round trip and the offline API docs, each taken from the README as written."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from stubs import FixedDetector
from typer.testing import CliRunner

from propscan.cli import app
from propscan.service.app import create_app

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
#: The engineering detail moved out of the README (training among it).
ENGINEERING = (REPO / "docs" / "engineering.md").read_text(encoding="utf-8")
MINI = Path(__file__).parent / "fixtures" / "corpus" / "mini"
runner = CliRunner()


def section(title: str, document: str = README) -> str:
    """The text under the heading ``title``, up to the next heading."""
    # sections are ## to ####; a line starting "# " is a shell comment in a code block
    match = re.search(rf"^##+ {re.escape(title)}\n(.*?)(?=^##+ |\Z)", document, re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


def code_block(title: str, language: str, document: str = README) -> str:
    match = re.search(rf"```{language}\n(.*?)```", section(title, document), re.S)
    assert match, f"section {title!r} has no {language} block"
    return match.group(1)


def commands(block: str) -> list[list[str]]:
    """The propscan command lines of a shell block, comments removed."""
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line.startswith("propscan ")]


def test_first_command_analyses_the_shipped_sample_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install, command = code_block("Set up and run (fresh machine)", "bash").split("&&")
    assert install.split() == ["python", "-m", "pip", "install", "."]
    assert "../shared" not in command
    monkeypatch.chdir(tmp_path)  # no corpus, no shared folder
    result = runner.invoke(app, shlex.split(command)[1:])
    assert result.exit_code == 0, result.output
    assert "Marrowby" in result.stdout and "Loaded language" in result.stdout


def test_spacy_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spacy = pytest.importorskip("spacy", reason="needs the 'spacy' extra")
    # installed propscan registers the factory through its entry point; importing the
    # module does the same for a source tree that is not installed
    import propscan.integrations.spacy  # noqa: F401

    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code_block("spaCy component", "python"), "README.md", "exec"), namespace)
    doc = namespace["doc"]
    assert len(doc.spans["propaganda"]) >= 3  # type: ignore[attr-defined]
    assert len(namespace["docs"]) == 4  # type: ignore[arg-type]
    reloaded = spacy.load(tmp_path / "propaganda-pipeline")
    assert reloaded.pipe_names == ["sentencizer", "propscan"]


def test_label_studio_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("label_studio_sdk", reason="needs the 'labelstudio' extra")
    monkeypatch.chdir(tmp_path)
    steps = commands(code_block("Label Studio round trip", "bash"))
    assert [step[1] for step in steps] == ["analyze", "export", "export", "corpus", "train"]
    for step in steps:
        args = step[1:]
        if args[0] == "corpus":
            # what Label Studio exports once an annotator has corrected one highlight
            tasks = json.loads(Path("tasks.json").read_text(encoding="utf-8"))
            for number, task in enumerate(tasks, start=1):
                result = json.loads(json.dumps(task["predictions"][0]["result"]))
                result[0]["value"]["labels"] = ["Doubt"]
                task.update(id=number, annotations=[{"id": number, "result": result}])
            Path("export.json").write_text(json.dumps(tasks), encoding="utf-8")
        if args[0] == "train":  # the tiny test corpus instead of PTC, and no dev scoring
            args = [str(MINI) if a == "../shared/data/ptc-v2" else a for a in args]
            args += ["--no-evaluate-dev", "--no-progress"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"{shlex.join(step)}: {result.output}"
    assert Path("config.xml").read_text(encoding="utf-8").startswith("<View>")
    facts = json.loads(Path("runs/corrected/training.json").read_text(encoding="utf-8"))
    assert "corrected" in facts["data"]["corpora"]


def test_api_docs_example(tmp_path: Path) -> None:
    block = code_block("API documentation, offline", "bash")
    [command] = commands(block)
    assert command[:2] == ["propscan", "serve"]
    paths = re.findall(r"(/api/\w+)", block)
    assert paths == ["/api/docs", "/api/redoc"]
    service = create_app(model=FixedDetector([]), db_path=tmp_path / "history.db")
    with TestClient(service) as client:
        for path in paths:
            page = client.get(path)
            assert page.status_code == 200
            assert "cdn" not in page.text.lower() and "https://" not in page.text


def test_meme_corpus_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands as written, on the fixture corpora instead of the shared ones."""
    fixtures = Path(__file__).parent / "fixtures"
    corpora = {
        "../shared/data/ptc-v2": str(fixtures / "ptc"),
        "../shared/data/semeval2021-task6": str(fixtures / "memes"),
    }
    monkeypatch.chdir(tmp_path)
    memes = "More labelled data: the SemEval-2021 Task 6 memes"
    steps = commands(code_block(memes, "bash", ENGINEERING))
    assert [step[1] for step in steps] == ["corpus", "train"]
    for step in steps:
        args = [corpora.get(arg, arg) for arg in step[1:]]
        if args[0] == "train":
            args += ["--no-evaluate-dev", "--no-progress"]
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, f"{shlex.join(step)}: {result.output}"
        if args[0] == "corpus":
            assert "Smears -> outside the 14" in result.stdout
    facts = json.loads(Path("runs/with-memes/training.json").read_text(encoding="utf-8"))
    assert "meme texts in the training data (splits train;" in facts["data"]["memes"]


def test_the_json_section_names_every_field(tmp_path: Path) -> None:
    """The README's JSON table documents every field the JSON output has."""
    from propscan.examples import sample_text
    from propscan.pipeline import analyze

    table = section("The JSON output")
    data = analyze(sample_text()).to_dict()
    fields = {*data, *data["spans"][0], *data["sentences"][0], *data["article_score"]}
    fields |= {*data["spans"][0]["evidence"][0], "speaker"}
    named = re.compile(r"[`{ ](\w+)(?=[`},\[])")  # `name`, `spans[]` or {name, ...}
    missing = sorted(fields - set(named.findall(table)))
    assert not missing, f"the README's JSON section does not name {missing}"


def test_the_band_thresholds_in_the_readme_are_the_code_s() -> None:
    from propscan.core.confidence import MODERATE, STRONG

    bands = section("How to read the results")
    assert f"| strong | {STRONG:.2f} and above |" in bands
    assert f"| moderate | {MODERATE:.2f} to {STRONG:.2f} |" in bands
