"""Corpus-scale analysis: read many articles, analyse them in chunks, write result tables.

A run reads records from a directory of ``.txt`` files, a JSONL, CSV or Parquet file,
analyses them chunk by chunk (windows of several documents go through the model
together) and writes three tables into the results directory:

* ``spans`` -- one row per span (``id``, ``start``, ``end``, ``technique``, ``score``,
  ``fragment``, ``source``, ``date``);
* ``articles`` -- one row per analysed article (lengths, span count, density,
  share of propagandistic sentences);
* ``errors.jsonl`` -- one line per record that could not be analysed, with its reason.

``spans`` and ``articles`` are dataset folders of numbered parts, one part per chunk,
written atomically (articles last), so an interrupted run resumes where it stopped
and never writes a document twice. The work of a chunk is a pure function of the
chunk (:func:`analyze_chunk`), so any engine -- one process, a process pool, a Dask
cluster -- produces the same tables.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import groupby
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal, Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from propscan.corpus import article_id_from_filename
from propscan.data import Article
from propscan.detector import DEFAULT_MODEL_DIR, Detector, read_model_config
from propscan.errors import PropscanError
from propscan.pipeline import (
    Analysis,
    analyze_many,
    check_threshold,
    load_model,
    parse_techniques,
)

ResultFormat = Literal["parquet", "jsonl"]
RESULT_FORMATS: tuple[str, ...] = ("parquet", "jsonl")
RESULTS_SCHEMA_VERSION = 1
MANIFEST = "batch.json"
ERRORS_FILE = "errors.jsonl"
DEFAULT_CHUNK_SIZE = 16
DEFAULT_MAX_CHARACTERS = 500_000
#: Environment variable that caps the threads of one model (read by the neural detector).
THREADS_VARIABLE = "PROPSCAN_THREADS"

_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_PART = re.compile(r"^part-(?P<index>\d+)\.(?:parquet|jsonl)$")

SPANS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("technique", pa.string()),
        ("score", pa.float64()),
        ("fragment", pa.string()),
        ("source", pa.string()),
        ("date", pa.string()),
    ]
)
ARTICLES_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("title", pa.string()),
        ("source", pa.string()),
        ("date", pa.string()),
        ("url", pa.string()),
        ("characters", pa.int64()),
        ("words", pa.int64()),
        ("sentences", pa.int64()),
        ("propaganda_sentences", pa.int64()),
        ("propaganda_sentence_share", pa.float64()),
        ("spans", pa.int64()),
        ("spans_per_1000_words", pa.float64()),
    ]
)
ERRORS_SCHEMA = pa.schema([("id", pa.string()), ("location", pa.string()), ("reason", pa.string())])
TABLE_SCHEMAS: dict[str, pa.Schema] = {"spans": SPANS_SCHEMA, "articles": ARTICLES_SCHEMA}
_SORT_KEYS: dict[str, list[tuple[str, str]]] = {
    "spans": [
        ("id", "ascending"),
        ("start", "ascending"),
        ("end", "ascending"),
        ("technique", "ascending"),
    ],
    "articles": [("id", "ascending")],
    "errors": [("location", "ascending"), ("id", "ascending")],
}


# --- input records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Columns:
    """Which input fields hold what; ``source`` tries each name in turn (``source``, ``outlet``)."""

    id: str = "id"
    text: str = "text"
    title: str = "title"
    source: tuple[str, ...] = ("source", "outlet")
    date: str = "date"
    url: str = "url"


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One record of the input: an article, or the reason it cannot be analysed.

    ``location`` says where the record is (``line 7``, ``row 3``, a file name) and is
    its stable identity within the input: errors are recorded and resumed by it.
    """

    position: int
    location: str
    id: str | None
    article: Article | None = None
    problem: str | None = None


def _is_encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text_field(name: str, value: str) -> str | None:
    """A problem with a decoded string field, or ``None`` (lone surrogates cannot be stored)."""
    if _is_encodable(value):
        return None
    if any("\udc80" <= char <= "\udcff" for char in value):
        return f"{name} has bytes that are not valid UTF-8; re-encode the input as UTF-8"
    return f"{name} has unpaired surrogate characters; fix the escapes in the input"


def _as_optional_string(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):  # NaN from tables
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    text = str(value).strip()
    return text or None


def make_record(
    fields: Mapping[str, Any],
    position: int,
    location: str,
    columns: Columns,
    max_characters: int,
) -> InputRecord:
    """Validate one input row and turn it into an :class:`InputRecord`."""
    raw_id = fields.get(columns.id)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        problem = (
            f"missing id (no {columns.id!r} field)"
            if raw_id is None
            else (f"id {raw_id!r} is not a string or an integer")
        )
        return InputRecord(position, location, None, problem=problem)
    record_id = str(raw_id).strip()
    if not record_id:
        return InputRecord(position, location, None, problem=f"empty id in {columns.id!r}")
    text = fields.get(columns.text)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            problem = f"text is not valid UTF-8 (byte {error.start}); re-encode it as UTF-8"
            return InputRecord(position, location, record_id, problem=problem)
    if text is None:
        return InputRecord(position, location, record_id, problem=f"missing {columns.text!r} field")
    if not isinstance(text, str):
        problem = f"{columns.text!r} is not a string"
        return InputRecord(position, location, record_id, problem=problem)
    if not text.strip():
        return InputRecord(position, location, record_id, problem="empty text")
    if len(text) > max_characters:
        problem = (
            f"text too long: {len(text)} characters (limit {max_characters}; "
            "raise it with --max-chars or split the article)"
        )
        return InputRecord(position, location, record_id, problem=problem)
    source = next(
        (value for name in columns.source if (value := _as_optional_string(fields.get(name)))),
        None,
    )
    article = Article(
        id=record_id,
        text=text,
        title=_as_optional_string(fields.get(columns.title)),
        source=source,
        date=_as_optional_string(fields.get(columns.date)),
        url=_as_optional_string(fields.get(columns.url)),
    )
    for name in ("id", "text", "title", "source", "date", "url"):
        value = getattr(article, name)
        if value is not None and (problem := _check_text_field(name, value)):
            return InputRecord(position, location, record_id, problem=problem)
    return InputRecord(position, location, record_id, article=article)


def _text_files(folder: Path) -> list[Path]:
    """The ``.txt`` files of a folder; for a PTC corpus root, those of its ``*-articles``."""
    files = sorted(path for path in folder.glob("*.txt") if path.is_file())
    article_folders = sorted(path for path in folder.glob("*-articles") if path.is_dir())
    if article_folders and all(article_id_from_filename(p.name) is None for p in files):
        files = [path for sub in article_folders for path in sorted(sub.glob("*.txt"))]
    return files


def _read_text_folder(folder: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    files = _text_files(folder)
    if not files:
        raise PropscanError(
            f"{folder}: no .txt files; give a folder of article texts (one .txt file each)"
        )
    for position, path in enumerate(files):
        location = str(path.relative_to(folder))
        record_id = article_id_from_filename(path.name) or path.stem
        try:
            raw = path.read_bytes()
        except OSError as error:
            yield InputRecord(
                position, location, record_id, problem=f"cannot read ({error.strerror})"
            )
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            problem = f"not valid UTF-8 (line {line}, byte {error.start}); re-encode it as UTF-8"
            yield InputRecord(position, location, record_id, problem=problem)
            continue
        title = text.split("\n", 1)[0].strip() or None
        fields = {columns.id: record_id, columns.text: text, columns.title: title}
        yield make_record(fields, position, location, columns, max_characters)


def _read_jsonl(path: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    position = 0
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            location = f"line {number}"
            try:
                fields = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                problem = f"not valid UTF-8 (byte {error.start} of the line); re-encode it as UTF-8"
                yield InputRecord(position, location, None, problem=problem)
            except ValueError as error:
                yield InputRecord(position, location, None, problem=f"not valid JSON ({error})")
            else:
                if isinstance(fields, dict):
                    yield make_record(fields, position, location, columns, max_characters)
                else:
                    problem = f"expected a JSON object, got {type(fields).__name__}"
                    yield InputRecord(position, location, None, problem=problem)
            position += 1


def _require_columns(path: Path, available: Sequence[str], columns: Columns) -> None:
    for name, option in ((columns.id, "--id-column"), (columns.text, "--text-column")):
        if name not in available:
            raise PropscanError(
                f"{path}: no column {name!r} (columns: {', '.join(available) or 'none'}); "
                f"name the right one with {option}"
            )


def _read_csv(path: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    csv.field_size_limit(max(csv.field_size_limit(), 4 * max_characters + 1))
    # surrogateescape keeps bad bytes as lone surrogates, so one bad row fails alone.
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            _require_columns(path, reader.fieldnames or [], columns)
            for position, row in enumerate(reader):
                location = f"line {reader.line_num}"
                yield make_record(row, position, location, columns, max_characters)
        except csv.Error as error:
            raise PropscanError(
                f"{path}:{reader.line_num}: not valid CSV ({error}); fix the file and run again"
            ) from error


def _read_parquet(path: Path, columns: Columns, max_characters: int) -> Iterator[InputRecord]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise PropscanError(f"{path}: not a readable Parquet file ({error})") from error
    available = parquet.schema_arrow.names
    _require_columns(path, available, columns)
    wanted = [columns.id, columns.text, columns.title, *columns.source, columns.date, columns.url]
    selected = [name for name in dict.fromkeys(wanted) if name in available]
    position = 0
    for batch in parquet.iter_batches(batch_size=256, columns=selected):
        for row in batch.to_pylist():
            yield make_record(row, position, f"row {position + 1}", columns, max_characters)
            position += 1


def input_kind(path: Path) -> str:
    """``folder``, ``jsonl``, ``csv`` or ``parquet``, from what ``path`` is."""
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    kinds = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
    if not path.is_file():
        raise PropscanError(f"input {str(path)!r} does not exist")
    if suffix not in kinds:
        raise PropscanError(
            f"{path}: unknown input type {suffix or '(no extension)'!r}; give a folder of .txt "
            "files or a .jsonl, .csv or .parquet file"
        )
    return kinds[suffix]


_READERS: dict[str, Callable[[Path, Columns, int], Iterator[InputRecord]]] = {
    "folder": _read_text_folder,
    "jsonl": _read_jsonl,
    "csv": _read_csv,
    "parquet": _read_parquet,
}


def read_records(
    path: str | os.PathLike[str],
    columns: Columns = Columns(),
    max_characters: int = DEFAULT_MAX_CHARACTERS,
) -> Iterator[InputRecord]:
    """The records of an input, in order; bad ones carry a ``problem`` instead of an article.

    A second record with an id already seen is a bad record too (ids key the results).
    """
    source = Path(path)
    seen: dict[str, str] = {}
    for record in _READERS[input_kind(source)](source, columns, max_characters):
        if record.article is not None and record.id is not None:
            first = seen.setdefault(record.id, record.location)
            if first != record.location:
                problem = f"duplicate id {record.id!r} (first at {first})"
                record = InputRecord(record.position, record.location, record.id, problem=problem)
        yield record


def count_records(path: str | os.PathLike[str]) -> int:
    """How many records an input holds (for the progress bar), without validating them."""
    source = Path(path)
    kind = input_kind(source)
    if kind == "folder":
        return len(_text_files(source))
    if kind == "jsonl":
        with source.open("rb") as lines:
            return sum(1 for raw in lines if raw.strip())
    if kind == "csv":
        with source.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
            return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    return pq.ParquetFile(source).metadata.num_rows


# --- analysing a chunk --------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisOptions:
    """What every document of a run is analysed with."""

    threshold: float | None = None
    techniques: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Chunk:
    """Consecutive input records analysed together: ``index`` names its result parts.

    ``pending`` are the records still to analyse or report (in input order);
    ``skipped`` counts the records a previous run already finished.
    """

    index: int
    pending: tuple[InputRecord, ...] = ()
    skipped: int = 0

    @property
    def records(self) -> int:
        return len(self.pending) + self.skipped


@dataclass(frozen=True)
class ChunkResult:
    """Rows of the result tables for one chunk; ``errors`` are in input order."""

    index: int
    spans: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def article_rows(
    article: Article, analysis: Analysis
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``articles`` row and the ``spans`` rows of one analysed article."""
    text = analysis.text
    spans = [
        {
            "id": article.id,
            "start": span.start,
            "end": span.end,
            "technique": span.technique,
            "score": None if span.score is None else float(span.score),
            "fragment": text[span.start : span.end],
            "source": article.source,
            "date": article.date,
        }
        for span in analysis.spans
    ]
    flagged = sum(
        1
        for sentence in analysis.sentences
        if any(s.start < sentence.end and sentence.start < s.end for s in analysis.spans)
    )
    words = count_words(text)
    sentences = len(analysis.sentences)
    row = {
        "id": article.id,
        "title": article.title,
        "source": article.source,
        "date": article.date,
        "url": article.url,
        "characters": len(text),
        "words": words,
        "sentences": sentences,
        "propaganda_sentences": flagged,
        "propaganda_sentence_share": flagged / sentences if sentences else 0.0,
        "spans": len(spans),
        "spans_per_1000_words": 1000.0 * len(spans) / words if words else 0.0,
    }
    return row, spans


def error_row(record_id: str | None, location: str, reason: str) -> dict[str, Any]:
    return {"id": record_id, "location": location, "reason": reason}


def _analyze_each(
    texts: Sequence[str], model: Detector, options: AnalysisOptions
) -> list[Analysis | PropscanError]:
    """Analyse texts one by one so that a text the model rejects fails alone."""
    results: list[Analysis | PropscanError] = []
    for text in texts:
        try:
            results.extend(
                analyze_many(
                    [text], model, threshold=options.threshold, techniques=options.techniques
                )
            )
        except PropscanError as error:
            results.append(error)
    return results


def analyze_chunk(chunk: Chunk, model: Detector, options: AnalysisOptions) -> ChunkResult:
    """Analyse a chunk's articles in one batch and turn everything into table rows."""
    to_analyze = [record for record in chunk.pending if record.article is not None]
    texts = [record.article.text for record in to_analyze if record.article is not None]
    outcomes: list[Analysis | PropscanError] = []
    try:
        if texts:
            outcomes = list(
                analyze_many(
                    texts, model, threshold=options.threshold, techniques=options.techniques
                )
            )
    except PropscanError:
        outcomes = _analyze_each(texts, model, options)
    analysed = dict(zip((record.position for record in to_analyze), outcomes, strict=True))
    result = ChunkResult(chunk.index, records=chunk.records)
    for record in chunk.pending:
        outcome = analysed.get(record.position)
        if record.article is None or outcome is None:
            reason = record.problem or "invalid record"
            result.errors.append(error_row(record.id, record.location, reason))
        elif isinstance(outcome, PropscanError):
            reason = f"analysis failed: {outcome}"
            result.errors.append(error_row(record.id, record.location, reason))
        else:
            row, spans = article_rows(record.article, outcome)
            result.articles.append(row)
            result.spans.extend(spans)
    return result


# --- engines ------------------------------------------------------------------------


class Engine(Protocol):
    """Runs :func:`analyze_chunk` over chunks and yields the results in chunk order."""

    def run(self, chunks: Iterable[Chunk], options: AnalysisOptions) -> Iterator[ChunkResult]: ...


_WORKER_MODELS: dict[str | None, Detector] = {}
_WORKER_MODELS_LOCK = threading.Lock()


def worker_model(model_path: str | None) -> Detector:
    """The model of this process, loaded on first use and kept (once per worker process)."""
    with _WORKER_MODELS_LOCK:
        if model_path not in _WORKER_MODELS:
            _WORKER_MODELS[model_path] = load_model(model_path)
        return _WORKER_MODELS[model_path]


def loaded_worker_models() -> list[str | None]:
    """The model paths this process has loaded (lets a cluster be checked for reloads)."""
    with _WORKER_MODELS_LOCK:
        return list(_WORKER_MODELS)


def analyze_chunk_in_worker(
    model_path: str | None, options: AnalysisOptions, chunk: Chunk
) -> ChunkResult:
    """:func:`analyze_chunk` with the worker process's cached model (a picklable task)."""
    return analyze_chunk(chunk, worker_model(model_path), options)


def share_cores(workers: int) -> dict[str, str]:
    """Environment that splits this machine's cores among ``workers`` model processes.

    Without it each process would size its thread pool to every core and they would
    all fight over them; a ``PROPSCAN_THREADS`` the user set is kept.
    """
    if THREADS_VARIABLE in os.environ:
        return {}
    return {THREADS_VARIABLE: str(max(1, (os.cpu_count() or 1) // workers))}


def _set_environment(variables: Mapping[str, str]) -> None:
    os.environ.update(variables)


def ordered_results(
    submit: Callable[[Chunk], Future[ChunkResult] | Any],
    chunks: Iterable[Chunk],
    in_flight: int,
) -> Iterator[ChunkResult]:
    """Submit chunks ahead (at most ``in_flight`` pending) and yield results in order."""
    pending: deque[Any] = deque()
    try:
        for chunk in chunks:
            pending.append(submit(chunk))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


@dataclass
class LocalEngine:
    """One process: the model is loaded here (or given) and chunks run one after another."""

    model: Detector

    def run(self, chunks: Iterable[Chunk], options: AnalysisOptions) -> Iterator[ChunkResult]:
        for chunk in chunks:
            yield analyze_chunk(chunk, self.model, options)


@dataclass
class ProcessEngine:
    """``workers`` local processes, each loading the model once."""

    model_path: str | None
    workers: int

    def run(self, chunks: Iterable[Chunk], options: AnalysisOptions) -> Iterator[ChunkResult]:
        if self.workers < 1:
            raise PropscanError(f"--workers must be at least 1, got {self.workers}")
        with ProcessPoolExecutor(
            self.workers,
            mp_context=get_context("spawn"),
            initializer=_set_environment,
            initargs=(share_cores(self.workers),),
        ) as pool:
            try:
                yield from ordered_results(
                    lambda chunk: pool.submit(
                        analyze_chunk_in_worker, self.model_path, options, chunk
                    ),
                    chunks,
                    in_flight=2 * self.workers,
                )
            except BrokenProcessPool as error:
                raise PropscanError(
                    "a worker process died (out of memory?); run again with fewer --workers "
                    "and --resume to keep what is done"
                ) from error
            finally:
                pool.shutdown(cancel_futures=True)


# --- result tables ------------------------------------------------------------------


def _part_name(index: int, result_format: str) -> str:
    return f"part-{index:06d}.{result_format}"


def _table_dir(results: Path, name: str, result_format: str) -> Path:
    return results / f"{name}.{result_format}"


def _write_part(
    folder: Path, index: int, rows: list[dict[str, Any]], schema: pa.Schema, result_format: str
) -> Path:
    """Write one part under a temporary name (the caller renames it into place)."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / (_part_name(index, result_format) + ".tmp")
    if result_format == "parquet":
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), temporary)
    else:
        with temporary.open("w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return temporary


def _commit(temporary: Path) -> None:
    os.replace(temporary, temporary.with_suffix(""))


def _part_indexes(folder: Path) -> set[int]:
    if not folder.is_dir():
        return set()
    return {int(m.group("index")) for p in folder.iterdir() if (m := _PART.match(p.name))}


@dataclass(frozen=True)
class ResumeState:
    """What earlier runs into a results directory finished: these records are skipped."""

    done_ids: frozenset[str] = frozenset()
    error_locations: frozenset[str] = frozenset()


def _read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _repair_errors_file(path: Path) -> None:
    """Drop a last line cut short by an interruption."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def prepare_resume(results: Path, result_format: str) -> ResumeState:
    """Clean what an interrupted run left half-written and say what is already done."""
    spans_dir = _table_dir(results, "spans", result_format)
    articles_dir = _table_dir(results, "articles", result_format)
    committed = _part_indexes(articles_dir)
    for folder in (spans_dir, articles_dir):
        if folder.is_dir():
            for path in folder.iterdir():
                match = _PART.match(path.name)
                if path.name.endswith(".tmp") or (match and int(match["index"]) not in committed):
                    path.unlink()
    _repair_errors_file(results / ERRORS_FILE)
    done = read_table(results, "articles").column("id").to_pylist() if committed else []
    errors = _read_rows(results / ERRORS_FILE) if (results / ERRORS_FILE).is_file() else []
    return ResumeState(frozenset(done), frozenset(row["location"] for row in errors))


def read_table(results: str | os.PathLike[str], name: str) -> pa.Table:
    """One result table (``spans``, ``articles`` or ``errors``) in a stable row order.

    Reads dataset folders of Parquet or JSONL parts as written by :func:`run_batch`,
    and single ``spans.parquet``/``spans.jsonl`` files as well.
    """
    folder = Path(results)
    if name == "errors":
        path = folder / ERRORS_FILE
        rows = _read_rows(path) if path.is_file() else []
        return pa.Table.from_pylist(rows, schema=ERRORS_SCHEMA).sort_by(_SORT_KEYS[name])
    schema = TABLE_SCHEMAS[name]
    for result_format in RESULT_FORMATS:
        location = _table_dir(folder, name, result_format)
        if not location.exists():
            continue
        if location.is_file():
            parts = [location]
        else:
            parts = sorted(p for p in location.iterdir() if _PART.match(p.name))
        if result_format == "parquet":
            tables = [pq.read_table(part, schema=schema) for part in parts]
        else:
            tables = [pa.Table.from_pylist(_read_rows(part), schema=schema) for part in parts]
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        return table.sort_by(_SORT_KEYS[name])
    raise PropscanError(
        f"{folder}: no {name} table ({name}.parquet or {name}.jsonl); "
        "point at a directory written by 'propscan batch'"
    )


@dataclass(frozen=True)
class BatchResults:
    """The three tables of a results directory, each in a stable row order."""

    spans: pa.Table
    articles: pa.Table
    errors: pa.Table


def read_results(results: str | os.PathLike[str]) -> BatchResults:
    folder = Path(results)
    if not folder.is_dir():
        raise PropscanError(f"results directory {str(folder)!r} does not exist")
    return BatchResults(
        read_table(folder, "spans"), read_table(folder, "articles"), read_table(folder, "errors")
    )


def read_manifest(results: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The settings a results directory was written with, or ``None`` for other folders."""
    path = Path(results) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise PropscanError(f"{path}: not valid JSON ({error}); remove the directory") from error


# --- a run --------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSummary:
    """What one run did: ``done`` analysed, ``skipped`` finished earlier, ``failed`` errors."""

    done: int
    skipped: int
    failed: int
    spans: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def describe(self, results: str | os.PathLike[str]) -> str:
        parts = [f"{self.done} analysed", f"{self.skipped} skipped", f"{self.failed} failed"]
        line = f"{', '.join(parts)}; {self.spans} spans in {self.seconds:.1f} s"
        if self.done:
            line += f" ({self.per_second:.1f} articles/s)"
        if self.failed:
            line += f"; reasons in {Path(results) / ERRORS_FILE}"
        return line


def plan_chunks(
    records: Iterable[InputRecord], chunk_size: int, state: ResumeState
) -> Iterator[Chunk]:
    """Group records into chunks by input position, leaving out what is already done.

    Chunks are fixed windows of positions, so a document is batched with the same
    neighbours whether a run was resumed or not.
    """
    for index, group in groupby(records, key=lambda record: record.position // chunk_size):
        pending: list[InputRecord] = []
        skipped = 0
        for record in group:
            finished = record.location in state.error_locations or (
                record.article is not None and record.article.id in state.done_ids
            )
            if finished:
                skipped += 1
            else:
                pending.append(record)
        yield Chunk(index, tuple(pending), skipped)


def _manifest(
    input_path: Path,
    result_format: str,
    model_info: Mapping[str, Any],
    options: AnalysisOptions,
    chunk_size: int,
    columns: Columns,
) -> dict[str, Any]:
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "input": str(input_path.resolve()),
        "format": result_format,
        "model": dict(model_info),
        "threshold": options.threshold,
        "techniques": list(options.techniques) if options.techniques else None,
        "chunk_size": chunk_size,
        "columns": asdict(columns) | {"source": list(columns.source)},
    }


def _check_resumable(results: Path, manifest: dict[str, Any], resume: bool) -> bool:
    """Whether a run continues earlier results; refuse to mix runs of different settings."""
    existing = read_manifest(results)
    if existing is None:
        if results.is_dir() and any(results.iterdir()):
            raise PropscanError(
                f"{results} is not empty and holds no batch results; choose a new --out directory"
            )
        return False
    if not resume:
        raise PropscanError(
            f"{results} already holds batch results; pass --resume to continue that run "
            "or choose a new --out directory"
        )
    changed = [key for key in manifest if existing.get(key) != manifest[key]]
    if changed:
        raise PropscanError(
            f"{results} was written with different settings ({', '.join(changed)}); resume with "
            "the same input, model and options, or choose a new --out directory"
        )
    return True


def model_info(model: Detector | str | os.PathLike[str] | None) -> dict[str, str]:
    """Name and version of a model, read from ``model.json`` when it is not loaded here."""
    if model is not None and not isinstance(model, str | os.PathLike):
        return {"name": model.name, "version": model.version}
    config = read_model_config(model if model is not None else DEFAULT_MODEL_DIR)
    return {"name": str(config.get("name")), "version": str(config.get("version"))}


def run_batch(
    input_path: str | os.PathLike[str],
    results: str | os.PathLike[str],
    *,
    model: Detector | str | os.PathLike[str] | None = None,
    engine: Engine | None = None,
    result_format: ResultFormat = "parquet",
    options: AnalysisOptions = AnalysisOptions(),
    columns: Columns = Columns(),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_characters: int = DEFAULT_MAX_CHARACTERS,
    limit: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> BatchSummary:
    """Analyse every record of ``input_path`` and write the result tables into ``results``.

    ``model`` is a loaded Detector, a model directory or ``None`` for the shipped model;
    ``engine`` defaults to this process (give a :class:`ProcessEngine` or a
    :class:`~propscan.distributed.DaskEngine` to spread the work). With ``resume`` a
    run continues the results of an interrupted one with the same settings.
    """
    if result_format not in RESULT_FORMATS:
        raise PropscanError(f"unknown format {result_format!r}; use parquet or jsonl")
    if chunk_size < 1:
        raise PropscanError(f"chunk size must be at least 1, got {chunk_size}")
    options = AnalysisOptions(
        threshold=check_threshold(options.threshold),
        techniques=None if options.techniques is None else parse_techniques(options.techniques),
    )
    source = Path(input_path)
    input_kind(source)
    folder = Path(results)
    manifest = _manifest(source, result_format, model_info(model), options, chunk_size, columns)
    resuming = _check_resumable(folder, manifest, resume)
    folder.mkdir(parents=True, exist_ok=True)
    state = prepare_resume(folder, result_format) if resuming else ResumeState()
    if not resuming:
        temporary = folder / (MANIFEST + ".tmp")
        temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _commit(temporary)
    if engine is None:
        is_path = model is None or isinstance(model, str | os.PathLike)
        engine = LocalEngine(load_model(model) if is_path else model)

    records: Iterable[InputRecord] = read_records(source, columns, max_characters)
    total = count_records(source)
    if limit is not None:
        records = (record for record in records if record.position < limit)
        total = min(total, limit)
    started = time.perf_counter()
    done = skipped = failed = spans = 0
    with tqdm(
        total=total,
        unit="doc",
        desc="analysing",
        file=sys.stderr,
        disable=None if progress else True,
        dynamic_ncols=True,
    ) as bar:
        for result in engine.run(plan_chunks(records, chunk_size, state), options):
            commit_chunk(folder, result, result_format)
            done += len(result.articles)
            failed += len(result.errors)
            spans += len(result.spans)
            skipped += result.records - len(result.articles) - len(result.errors)
            bar.update(result.records)
            bar.set_postfix(failed=failed, refresh=False)
    return BatchSummary(done, skipped, failed, spans, time.perf_counter() - started)


def commit_chunk(results: Path, result: ChunkResult, result_format: str) -> None:
    """Write a chunk's parts: spans, then articles (the commit), then its errors."""
    if result.articles:
        spans_part = _write_part(
            _table_dir(results, "spans", result_format),
            result.index,
            result.spans,
            SPANS_SCHEMA,
            result_format,
        )
        articles_part = _write_part(
            _table_dir(results, "articles", result_format),
            result.index,
            result.articles,
            ARTICLES_SCHEMA,
            result_format,
        )
        _commit(spans_part)
        _commit(articles_part)
    if result.errors:
        with (results / ERRORS_FILE).open("a", encoding="utf-8", newline="\n") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in result.errors)


EngineKind = Literal["local", "dask"]
ENGINES: tuple[str, ...] = ("local", "dask")


@contextmanager
def open_engine(
    kind: str = "local",
    *,
    model: str | os.PathLike[str] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> Iterator[Engine]:
    """The engine a run asks for: this process, ``workers`` local processes, or Dask.

    ``model`` is a model directory or ``None`` for the shipped model; worker processes
    load it themselves, once each.
    """
    if kind not in ENGINES:
        raise PropscanError(f"unknown engine {kind!r}; use one of {', '.join(ENGINES)}")
    if workers < 1:
        raise PropscanError(f"--workers must be at least 1, got {workers}")
    if scheduler is not None and kind != "dask":
        raise PropscanError("--scheduler needs --engine dask")
    model_path = None if model is None else str(Path(model).resolve())
    if kind == "dask":
        from propscan.distributed import DaskEngine

        with DaskEngine(model_path, scheduler=scheduler, workers=workers) as engine:
            yield engine
    elif workers == 1:
        yield LocalEngine(load_model(model_path))
    else:
        yield ProcessEngine(model_path, workers)


# --- the service's history --------------------------------------------------------------


def export_history(
    database: str | os.PathLike[str],
    results: str | os.PathLike[str],
    *,
    result_format: ResultFormat = "parquet",
    chunk_size: int = 256,
) -> BatchSummary:
    """Write the analyses kept by ``propscan serve`` as batch results, oldest first.

    Each analysis becomes one article (its permanent id as ``id``, the time it was made
    as ``date``), so ``propscan report`` summarises the service's history like a corpus.
    """
    from propscan.service.store import Store

    path = Path(database)
    if not path.is_file():
        raise PropscanError(
            f"no history database at {str(path)!r}; pass the --db file that 'propscan serve' uses"
        )
    if result_format not in RESULT_FORMATS:
        raise PropscanError(f"unknown format {result_format!r}; use parquet or jsonl")
    store = Store(path)
    summaries = []
    while True:
        page = store.list(limit=500, offset=len(summaries))
        summaries.extend(page.items)
        if len(page.items) < page.limit:
            break
    if not summaries:
        raise PropscanError(f"{path}: the history holds no analyses; nothing to export")
    summaries.reverse()
    models = sorted({(s.model.name, s.model.version) for s in summaries})
    manifest = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "input": str(path.resolve()),
        "format": result_format,
        "model": {"name": models[0][0], "version": models[0][1]} if len(models) == 1 else None,
        "models": [{"name": name, "version": version} for name, version in models],
        "exported_from": "service history",
    }
    folder = Path(results)
    _check_resumable(folder, manifest, resume=False)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _commit(temporary)
    started = time.perf_counter()
    done = spans = 0
    for index in range(0, len(summaries), chunk_size):
        result = ChunkResult(index // chunk_size)
        for summary in summaries[index : index + chunk_size]:
            stored = store.get(summary.id)
            if stored is None:  # deleted while exporting
                continue
            analysis = stored.analysis
            article = Article(
                id=stored.id,
                text=analysis.text,
                title=analysis.title,
                source=analysis.source,
                date=stored.created_at,
                url=analysis.url,
            )
            row, span_rows = article_rows(article, analysis)
            result.articles.append(row)
            result.spans.extend(span_rows)
        commit_chunk(folder, result, result_format)
        done += len(result.articles)
        spans += len(result.spans)
    return BatchSummary(done, 0, 0, spans, time.perf_counter() - started)
