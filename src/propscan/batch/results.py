"""The results directory of a batch run: tables written in parts, atomically, and resumable.

``spans`` and ``articles`` are dataset folders of numbered parts (Parquet or JSONL),
one part per chunk, each written under a temporary name and renamed into place
(articles last: a chunk counts as done once its articles part exists); ``errors.jsonl``
lists the records that could not be analysed; ``batch.json`` records the settings, so a
run resumes only with the same ones. Every file is read back through
:mod:`propscan.batch.parts`, so damage is named; a resume analyses the chunk of a
damaged part again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from propscan.batch.chunks import ChunkResult
from propscan.batch.parts import (
    ARTICLES_SCHEMA,
    ERRORS_SCHEMA,
    SPANS_SCHEMA,
    TABLE_SCHEMAS,
    DamagedPart,
    read_error_rows,
    read_part,
)
from propscan.core.techniques import TechniqueSet, technique_set
from propscan.errors import PropscanError, one_line
from propscan.files import output_folder, writing

ResultFormat = Literal["parquet", "jsonl"]
RESULT_FORMATS: tuple[str, ...] = ("parquet", "jsonl")
RESULTS_SCHEMA_VERSION = 1
MANIFEST = "batch.json"
#: Held by the run writing a results directory, so that a second run on it is refused.
LOCK_FILE = ".batch.lock"
ERRORS_FILE = "errors.jsonl"

_PART = re.compile(r"^part-(?P<index>\d+)\.(?:parquet|jsonl)$")

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
        # page checksums let a reader tell a damaged page from data
        table = pa.Table.from_pylist(rows, schema=schema)
        pq.write_table(table, temporary, write_page_checksum=True)
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
    """What earlier runs into a results directory finished: these records are skipped.

    ``damaged`` says which parts were found damaged and removed, so that their chunks
    are analysed again.
    """

    done_ids: frozenset[str] = frozenset()
    error_locations: frozenset[str] = frozenset()
    damaged: tuple[str, ...] = ()


def _repair_errors_file(path: Path) -> None:
    """Drop a last line cut short by an interruption."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def _read_errors(results: Path) -> list[dict[str, Any]]:
    path = results / ERRORS_FILE
    return read_error_rows(path) if path.exists() else []


def prepare_resume(results: Path, result_format: str) -> ResumeState:
    """Clean what an interrupted run left half-written and say what is already done.

    A committed part that cannot be read back whole (cut short, wrong column types) is
    removed with its chunk's other part, so that chunk is analysed again; a damaged line
    in ``errors.jsonl`` other than a last one cut short stops the run, naming the line.
    """
    spans_dir = _table_dir(results, "spans", result_format)
    articles_dir = _table_dir(results, "articles", result_format)
    committed = _part_indexes(articles_dir)
    for folder in (spans_dir, articles_dir):
        if folder.is_dir():
            for path in folder.iterdir():
                match = _PART.match(path.name)
                if path.name.endswith(".tmp") or (match and int(match["index"]) not in committed):
                    _remove(path)
    _repair_errors_file(results / ERRORS_FILE)
    error_locations = frozenset(row["location"] for row in _read_errors(results))
    done: list[str] = []
    damaged: list[str] = []
    labels = results_techniques(results)
    for index in sorted(committed):
        name = _part_name(index, result_format)
        parts = (spans_dir / name, articles_dir / name)
        try:
            read_part(parts[0], SPANS_SCHEMA, labels)
            done.extend(read_part(parts[1], ARTICLES_SCHEMA, labels).column("id").to_pylist())
        except DamagedPart as damage:
            damaged.append(f"{damage.path} ({damage.what})")
            for path in parts:
                _remove(path)
    return ResumeState(frozenset(done), error_locations, tuple(damaged))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def read_table(results: str | os.PathLike[str], name: str) -> pa.Table:
    """One result table (``spans``, ``articles`` or ``errors``) in a stable row order.

    Reads dataset folders of Parquet or JSONL parts as written by :func:`run_batch`,
    and single ``spans.parquet``/``spans.jsonl`` files as well. A damaged file is an
    error naming it (and its row or line where known).
    """
    folder = Path(results)
    if name == "errors":
        rows = _read_errors(folder)
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
        labels = results_techniques(folder)
        tables = [read_part(part, schema, labels) for part in parts]
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        return table.sort_by(_SORT_KEYS[name])
    if (folder / MANIFEST).is_file():  # a run in which no record could be analysed
        return schema.empty_table()
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


def results_techniques(results: str | os.PathLike[str]) -> TechniqueSet:
    """The techniques the run's models name, every model's in order (PTC's 14 for runs
    from before the manifest listed them): a span's label must be one of them."""
    manifest = read_manifest(results) or {}
    models = [manifest.get("model"), *(manifest.get("models") or [])]
    labels: dict[str, None] = {}
    for model in models:
        found = model.get("techniques") if isinstance(model, dict) else None
        if not isinstance(found, list) or not all(isinstance(label, str) for label in found):
            continue
        labels.update(dict.fromkeys(found))
    return technique_set(labels or None)


def read_manifest(results: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The settings a results directory was written with, or ``None`` for other folders."""
    path = Path(results) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError) as error:
        problem = f"not valid JSON ({one_line(error)})"
    else:
        if isinstance(manifest, dict):
            return manifest
        problem = f"expected a JSON object of settings, got {type(manifest).__name__}"
    raise PropscanError(f"{path}: {problem}; remove the directory and run the batch again")


def check_resumable(results: Path, manifest: dict[str, Any], resume: bool) -> bool:
    """Whether a run continues earlier results; refuse to mix runs of different settings."""
    existing = read_manifest(results)
    if existing is None:
        if results.is_dir() and any(p.name != LOCK_FILE for p in results.iterdir()):
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


def write_manifest(results: Path, manifest: dict[str, Any]) -> None:
    """Write ``batch.json`` atomically: a directory with it holds results of these settings."""
    temporary = results / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _commit(temporary)


@contextmanager
def results_lock(results: Path) -> Iterator[None]:
    """Hold ``results`` for one run: another run on the same directory (a second terminal,
    a ``--resume`` started too early) is refused rather than writing its chunks twice.

    The lock is the operating system's, so a run that is killed releases it."""
    output_folder(results)
    lock = FileLock(results / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise PropscanError(
            f"another propscan batch is writing to {results}; wait for it to finish (then "
            "--resume if it was stopped), or choose a new --out directory"
        ) from None
    except OSError as error:
        raise PropscanError(f"cannot lock {results} ({one_line(error)})") from None
    try:
        yield
    finally:
        lock.release()


def open_results(
    results: Path, manifest: dict[str, Any], result_format: str, *, resume: bool
) -> ResumeState:
    """Make ``results`` ready for a run and say what an earlier run finished.

    A new directory gets the manifest; with ``resume`` a directory of the same settings
    is cleaned of half-written parts. Mixing runs of different settings is refused.
    """
    resuming = check_resumable(results, manifest, resume)
    output_folder(results)
    with writing(results):
        if resuming:
            return prepare_resume(results, result_format)
        write_manifest(results, manifest)
    return ResumeState()


def commit_chunk(results: Path, result: ChunkResult, result_format: str) -> None:
    """Write a chunk's parts: spans, then articles (the commit), then its errors.

    A failed write (a full disk) is an error naming the results directory.
    """
    with writing(results):
        _commit_chunk(results, result, result_format)


def _finished_rows(
    results: Path, index: int, result_format: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The spans and articles rows a chunk's committed parts hold already.

    A chunk finished earlier gets more to do when its input grew since (records
    appended to a file, then ``--resume``); its parts are rewritten with the old rows
    kept. Spans of articles the articles part lacks were cut off by a stop between the
    two writes and are left out, as their articles are analysed now.
    """
    name = _part_name(index, result_format)
    articles_part = _table_dir(results, "articles", result_format) / name
    if not articles_part.exists():
        return [], []
    labels = results_techniques(results)
    articles = read_part(articles_part, ARTICLES_SCHEMA, labels).to_pylist()
    done = {row["id"] for row in articles}
    spans_part = _table_dir(results, "spans", result_format) / name
    spans = read_part(spans_part, SPANS_SCHEMA, labels).to_pylist() if spans_part.exists() else []
    return [row for row in spans if row["id"] in done], articles


def _commit_chunk(results: Path, result: ChunkResult, result_format: str) -> None:
    if result.articles:
        finished_spans, finished_articles = _finished_rows(results, result.index, result_format)
        spans_part = _write_part(
            _table_dir(results, "spans", result_format),
            result.index,
            finished_spans + result.spans,
            SPANS_SCHEMA,
            result_format,
        )
        articles_part = _write_part(
            _table_dir(results, "articles", result_format),
            result.index,
            finished_articles + result.articles,
            ARTICLES_SCHEMA,
            result_format,
        )
        _commit(spans_part)
        _commit(articles_part)
    if result.errors:
        with (results / ERRORS_FILE).open("a", encoding="utf-8", newline="\n") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in result.errors)
