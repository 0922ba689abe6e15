"""Label Studio round trip: machine highlights out as pre-annotations, corrections back as PTC.

A team checks propscan's highlights by hand and retrains on the corrected articles:

1. :func:`labelling_config` is the Label Studio labelling config -- a ``Text`` object
   and a ``Labels`` control with the 14 techniques in propscan's colours;
2. :func:`tasks_from_analyses` turns analyses (``propscan analyze --format json``, the
   service's history or a ``propscan batch`` results directory, see
   :func:`read_for_export`) into Label Studio tasks whose ``predictions`` hold one
   ``labels`` result per span (``start``, ``end``, ``text``, ``labels``, ``score``);
3. after annotation, :func:`read_export` reads Label Studio's JSON export and
   :func:`write_corpus` writes it as a PTC-layout corpus (article files, FLC and SI
   labels) that ``propscan train --data DIR`` reads.

Offsets are Python code points into the task text, which is what Label Studio stores
for ``Text`` objects; a result whose offsets do not give its ``text`` is an error
naming the task and the result (results counted in UTF-16 units, as older Label
Studio versions did after an emoji, are recognised and converted).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard
from xml.sax.saxutils import quoteattr

from propscan.batch.analyses import read_analyses
from propscan.core.analysis import Analysis
from propscan.core.spans import Annotations, Article, Span
from propscan.core.techniques import PTC_14, TechniqueSet
from propscan.errors import PropscanError
from propscan.files import write_file
from propscan.ptc.io import (
    TECHNIQUE_FILES,
    article_labels_dir,
    articles_dir,
    combined_labels_path,
    write_article_labels,
    write_labels,
)
from propscan.ptc.splits import load_split

#: ``name`` of the ``Labels`` control: results carry it as ``from_name``.
FROM_NAME = "technique"
#: ``name`` of the ``Text`` object: results carry it as ``to_name``.
TO_NAME = "text"
#: Task data key holding the article text (``$text`` in the config).
TEXT_KEY = "text"
#: Task data key holding propscan's article id, kept through the round trip.
ARTICLE_ID_KEY = "article_id"

#: What a PTC file name cannot hold of an article id (``article<id>.txt``, tab-separated labels).
_NOT_FILE_SAFE = re.compile(r"[\s./\\]+")


# --- export ------------------------------------------------------------------------


def labelling_config(techniques: TechniqueSet) -> str:
    """The Label Studio labelling config: the article text and the model's technique labels.

    Each label's value is the PTC label itself (so results need no mapping back), its
    background is propscan's highlight colour, and its hint the technique's definition.
    """
    labels = "\n".join(
        f"    <Label value={quoteattr(t.label)} background={quoteattr(t.colour)} "
        f"hint={quoteattr(f'{t.name}: {t.definition}')}/>"
        for t in techniques.descriptions()
    )
    return (
        "<View>\n"
        f'  <Labels name="{FROM_NAME}" toName="{TO_NAME}">\n'
        f"{labels}\n"
        "  </Labels>\n"
        f'  <Text name="{TO_NAME}" value="${TEXT_KEY}"/>\n'
        "</View>\n"
    )


def task_from_analysis(article_id: str, analysis: Analysis) -> dict[str, Any]:
    """One Label Studio task: the article in ``data`` and propscan's spans as a prediction."""
    data: dict[str, Any] = {TEXT_KEY: analysis.text, ARTICLE_ID_KEY: article_id}
    for key in ("title", "source", "url"):
        value = getattr(analysis, key)
        if value is not None:
            data[key] = value
    results = []
    for index, span in enumerate(analysis.spans):
        if span.technique is None:
            continue
        result: dict[str, Any] = {
            "id": f"{article_id}-{index}",
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "labels",
            "value": {
                "start": span.start,
                "end": span.end,
                "text": span.fragment(analysis.text),
                "labels": [span.technique],
            },
        }
        if span.score is not None:
            result["score"] = float(span.score)
        results.append(result)
    scores = [float(span.score) for span in analysis.spans if span.score is not None]
    prediction = {
        "model_version": f"{analysis.model.name} {analysis.model.version}",
        "score": max(scores, default=0.0),
        "result": results,
    }
    return {"data": data, "predictions": [prediction]}


def tasks_from_analyses(items: Iterable[tuple[str, Analysis]]) -> list[dict[str, Any]]:
    """Label Studio tasks for ``(article id, analysis)`` pairs, refusing repeated ids."""
    tasks = []
    seen: set[str] = set()
    for article_id, analysis in items:
        if article_id in seen:
            raise PropscanError(f"article id {article_id!r} appears twice in the analyses")
        seen.add(article_id)
        tasks.append(task_from_analysis(article_id, analysis))
    return tasks


def read_for_export(
    source: str | os.PathLike[str], input_path: str | os.PathLike[str] | None = None
) -> list[tuple[str, Analysis]]:
    """``(article id, analysis)`` pairs from a ``propscan batch`` results directory or analyses.

    Analyses are the JSON of ``propscan analyze --format json`` or of the service (an
    object, a list of them, JSON Lines, or a folder of ``.json`` files). A results
    directory holds no texts, so they are read again from the run's input (recorded in
    its ``batch.json``, or ``input_path`` when the input has moved).
    """
    path = Path(source)
    if not path.exists():
        raise PropscanError(
            f"{path}: no such file or directory; give a 'propscan batch' results directory "
            "or analyses from 'propscan analyze --format json'"
        )
    if path.is_dir() and (path / "batch.json").is_file():
        items = list(read_analyses(path, input_path))
        if not items:
            raise PropscanError(f"{path}: no analysed articles to export")
        return items
    if input_path is not None:
        raise PropscanError("--input only applies to a 'propscan batch' results directory")
    return _read_analyses(path)


def _read_analyses(path: Path) -> list[tuple[str, Analysis]]:
    if not path.is_dir():
        return _read_analysis_file(path)
    files = sorted(p for p in path.glob("*.json") if p.is_file())
    if not files:
        raise PropscanError(f"{path}: no .json analyses and no batch.json")
    return [item for file in files for item in _read_analysis_file(file)]


def _read_analysis_file(path: Path) -> list[tuple[str, Analysis]]:
    """Analyses of one file; an analysis without ``id`` is named after the file."""
    text = _read_utf8(path)
    single = False
    if path.suffix in (".jsonl", ".ndjson"):
        objects = [
            (f"line {number}", _parse_json(line, f"{path}:{number}"))
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
    else:
        parsed = _parse_json(text, str(path))
        single = not isinstance(parsed, list)
        objects = (
            [("", parsed)]
            if single
            else [(f"item {number}", item) for number, item in enumerate(parsed, start=1)]
        )
    if not objects:
        raise PropscanError(f"{path}: no analyses")
    items = []
    for position, (where, item) in enumerate(objects, start=1):
        try:
            analysis = Analysis.from_dict(item)
        except PropscanError as error:
            raise PropscanError(f"{path}: {where + ': ' if where else ''}{error}") from None
        default = _file_id(path) if single else f"{_file_id(path)}-{position}"
        items.append((_stored_id(item) or default, analysis))
    return items


def _stored_id(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, Mapping) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _file_id(path: Path) -> str:
    return re.sub(r"[\s./\\]+", "_", path.stem) or "article"


def write_tasks(path: str | os.PathLike[str], tasks: Sequence[Mapping[str, Any]]) -> Path:
    """Write tasks as the JSON list that Label Studio imports."""
    return write_file(path, json.dumps(list(tasks), ensure_ascii=False, indent=1) + "\n")


def validate(config: str, tasks: Sequence[Mapping[str, Any]] = ()) -> None:
    """Check the config and the tasks' predictions with label-studio-sdk's own validation.

    Needs the ``labelstudio`` extra; raises :class:`PropscanError` naming the first problem.
    """
    try:
        from label_studio_sdk.label_interface import LabelInterface
    except ImportError:
        raise PropscanError(
            "checking with Label Studio needs label-studio-sdk: pip install 'propscan[labelstudio]'"
        ) from None
    try:
        interface = LabelInterface(config)
        interface.validate()
    except Exception as error:  # the SDK raises its own exception types
        raise PropscanError(
            f"the labelling config is not valid for Label Studio: {error}"
        ) from None
    for number, task in enumerate(tasks, start=1):
        data = task.get("data") or {}
        for tag in interface.objects:
            if tag.value_is_variable and data.get(tag.value_name) is None:
                raise PropscanError(f"task {number}: no data field {tag.value_name!r}")
        for prediction in task.get("predictions") or []:
            errors = interface.validate_prediction(prediction, return_errors=True)
            if errors:
                raise PropscanError(f"task {number}: {errors[0]}")


# --- import ------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedCorpus:
    """Articles and their annotated spans from a Label Studio export."""

    articles: list[Article]
    annotations: Annotations
    skipped: list[str] = field(default_factory=list)
    techniques: TechniqueSet = PTC_14
    #: Article ids that cannot be file names (``cnn.2024-05-31``, ``my story``), each with
    #: the id the corpus gives it instead (``cnn_2024-05-31``, ``my_story``).
    renamed: dict[str, str] = field(default_factory=dict)


def read_export(
    path: str | os.PathLike[str],
    *,
    use_predictions: bool = False,
    techniques: TechniqueSet = PTC_14,
) -> ImportedCorpus:
    """Articles and spans of a Label Studio JSON export (``Export`` → ``JSON``).

    Each task gives one article: its latest annotation that was not cancelled, or --
    with ``use_predictions`` -- its first prediction when nobody annotated it. Tasks
    with neither are listed in ``skipped``. ``labels`` results become spans, one per
    label, each one of ``techniques`` (the set of the project's labelling config); other
    result types (relations, choices) are ignored.
    """
    file = Path(path)
    tasks = _parse_json(_read_utf8(file), str(file))
    if isinstance(tasks, Mapping):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise PropscanError(f"{file}: expected a JSON list of Label Studio tasks")
    articles: list[Article] = []
    pairs: list[tuple[str, Span]] = []
    skipped: list[str] = []
    renamed: dict[str, str] = {}
    ids: dict[str, str] = {}
    for number, task in enumerate(tasks, start=1):
        where = f"{file}: task {number}"
        if not isinstance(task, Mapping):
            raise PropscanError(f"{where}: expected a JSON object, got {type(task).__name__}")
        article, given_id = _task_article(task, where)
        if article.id != given_id:
            renamed[given_id] = article.id
        if article.id in ids:
            raise PropscanError(
                f"{where}: article id {article.id!r} is also used by {ids[article.id]}"
                + (f" (renamed from {given_id!r} to be a file name)" if given_id in renamed else "")
            )
        ids[article.id] = f"task {number}"
        where = f"{where} (article {article.id})"
        chosen = _chosen_results(task, where, use_predictions)
        if chosen is None:
            skipped.append(article.id)
            continue
        kind, results = chosen
        articles.append(article)
        for index, result in enumerate(results):
            pairs.extend(
                (article.id, span)
                for span in _result_spans(
                    result, article.text, techniques, f"{where}, {kind} result {index}"
                )
            )
    if not articles:
        reason = "no task has a completed annotation"
        hint = "" if use_predictions else " (pass --use-predictions to take the machine's spans)"
        raise PropscanError(f"{file}: {reason}{hint}")
    grouped: dict[str, list[Span]] = {article.id: [] for article in articles}
    for article_id, span in pairs:
        grouped[article_id].append(span)
    spans = {aid: tuple(dict.fromkeys(sorted(found))) for aid, found in grouped.items()}
    return ImportedCorpus(articles, Annotations(spans), skipped, techniques, renamed)


def _task_article(task: Mapping[str, Any], where: str) -> tuple[Article, str]:
    """The task's article, its id made a file name if need be, and the id as given."""
    data = task.get("data")
    if not isinstance(data, Mapping):
        raise PropscanError(f"{where}: no 'data' object")
    text = data.get(TEXT_KEY)
    if not isinstance(text, str) or not text.strip():
        raise PropscanError(f"{where}: data has no article text in {TEXT_KEY!r}")
    raw_id = data.get(ARTICLE_ID_KEY)
    if raw_id is None:
        raw_id = f"ls{task['id']}" if isinstance(task.get("id"), int) else None
    if raw_id is None:
        raise PropscanError(
            f"{where}: no {ARTICLE_ID_KEY!r} in data and no task id to name the article by"
        )
    given_id = str(raw_id)
    article_id = _NOT_FILE_SAFE.sub("_", given_id).strip("_")
    if not article_id:
        raise PropscanError(
            f"{where}: article id {given_id!r} has nothing a file name can hold; give the "
            f"task a {ARTICLE_ID_KEY!r} with letters or digits"
        )
    title = data.get("title")
    article = Article(
        id=article_id,
        text=text,
        title=title if isinstance(title, str) else text.split("\n", 1)[0].strip() or None,
        source=data.get("source") if isinstance(data.get("source"), str) else None,
        url=data.get("url") if isinstance(data.get("url"), str) else None,
    )
    return article, given_id


def _chosen_results(
    task: Mapping[str, Any], where: str, use_predictions: bool
) -> tuple[str, list[Any]] | None:
    annotations = [
        a
        for a in _list_field(task, "annotations", where)
        if isinstance(a, Mapping) and not a.get("was_cancelled", False)
    ]
    if annotations:
        # the most recently updated annotation wins (list order when there are no dates)
        latest = max(
            enumerate(annotations),
            key=lambda pair: (
                str(pair[1].get("updated_at") or pair[1].get("created_at") or ""),
                pair[0],
            ),
        )[1]
        return "annotation", _list_field(latest, "result", where)
    predictions = [p for p in _list_field(task, "predictions", where) if isinstance(p, Mapping)]
    if use_predictions and predictions:
        return "prediction", _list_field(predictions[0], "result", where)
    return None


def _list_field(item: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PropscanError(f"{where}: {key!r} must be a list")
    return value


def _result_spans(result: Any, text: str, techniques: TechniqueSet, where: str) -> list[Span]:
    if not isinstance(result, Mapping) or result.get("type") != "labels":
        return []
    value = result.get("value")
    if not isinstance(value, Mapping):
        raise PropscanError(f"{where}: no 'value' object")
    start, end = value.get("start"), value.get("end")
    if not (_is_int(start) and _is_int(end)):
        raise PropscanError(f"{where}: start and end must be integers, got {start!r} and {end!r}")
    fragment = value.get("text")
    start, end = _checked_offsets(text, start, end, fragment, where)
    labels = value.get("labels")
    if not isinstance(labels, list) or not labels:
        raise PropscanError(f"{where}: no technique in 'labels'")
    spans = []
    for label in labels:
        try:
            technique = techniques.check(label)
        except PropscanError as error:
            raise PropscanError(f"{where}: {error}") from None
        spans.append(Span(start, end, technique))
    return spans


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_offsets(text: str, start: int, end: int, fragment: Any, where: str) -> tuple[int, int]:
    """Code-point offsets of a result, checked against its ``text`` when it has one."""
    fits = 0 <= start < end <= len(text)
    if fits and (fragment is None or text[start:end] == fragment):
        return start, end
    if isinstance(fragment, str):
        converted = _from_utf16(text, start, end)
        if converted is not None and text[converted[0] : converted[1]] == fragment:
            return converted
    found = repr(text[start:end]) if fits else f"nothing (the text has {len(text)} characters)"
    expected = f", not {fragment!r}" if isinstance(fragment, str) else ""
    raise PropscanError(
        f"{where}: offsets {start}:{end} give {found}{expected}; "
        "the result does not match the task text (was the text changed after annotation?)"
    )


def _from_utf16(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Offsets counted in UTF-16 code units, as code points (``None`` if they split one)."""
    positions: dict[int, int] = {}
    units = 0
    for index, character in enumerate(text):
        positions[units] = index
        units += 2 if ord(character) > 0xFFFF else 1
    positions[units] = len(text)
    if start in positions and end in positions and positions[start] < positions[end]:
        return positions[start], positions[end]
    return None


def write_corpus(out: str | os.PathLike[str], corpus: ImportedCorpus, split: str = "train") -> Path:
    """Write articles and spans as split ``split`` of a PTC-layout corpus in ``out``.

    Writes ``{split}-articles/``, the combined FLC and SI labels files and the
    per-article labels folders, then reads the split back to prove it loads.
    """
    root = Path(out)
    folder = articles_dir(root, split)
    if folder.is_dir() and any(folder.iterdir()):
        raise PropscanError(
            f"{folder} already holds articles; choose a new --out directory or another --split"
        )
    folder.mkdir(parents=True, exist_ok=True)
    ids = [article.id for article in corpus.articles]
    for article in corpus.articles:
        (folder / f"article{article.id}.txt").write_text(article.text, "utf-8", newline="")
    spans = {aid: corpus.annotations[aid] for aid in ids}
    annotations = Annotations(spans)
    write_labels(combined_labels_path(root, split, "flc"), annotations, "flc")
    write_labels(combined_labels_path(root, split, "si"), annotations, "si")
    write_article_labels(article_labels_dir(root, split, "flc"), annotations, "flc", ids)
    write_article_labels(article_labels_dir(root, split, "si"), annotations, "si", ids)
    if corpus.techniques != PTC_14:  # a corpus of its own labels lists them
        (root / TECHNIQUE_FILES[0]).write_text("\n".join(corpus.techniques) + "\n", "utf-8")
    load_split(root, split)
    return root


# --- helpers -----------------------------------------------------------------------


def _read_utf8(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise PropscanError(f"{path}: cannot read file ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise PropscanError(f"{path}: not valid UTF-8 (byte {error.start})") from None


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise PropscanError(f"{where}: not valid JSON ({error})") from None
