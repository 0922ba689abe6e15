"""The results directory of a batch run: tables written in parts, atomically, and resumable.

``spans`` and ``articles`` are dataset folders of numbered parts (Parquet or JSONL),
one part per chunk, each written under a temporary name and renamed into place
(articles last: a chunk counts as done once its articles part exists); ``errors.jsonl``
lists the records that could not be analysed; ``batch.json`` records the settings, so a
run resumes only with the same ones.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from propscan.batch.chunks import ChunkResult
from propscan.errors import PropscanError
from propscan.files import output_folder, writing

ResultFormat = Literal["parquet", "jsonl"]
RESULT_FORMATS: tuple[str, ...] = ("parquet", "jsonl")
RESULTS_SCHEMA_VERSION = 1
MANIFEST = "batch.json"
ERRORS_FILE = "errors.jsonl"

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
        ("band", pa.string()),
        ("in_quote", pa.bool_()),
        ("speaker", pa.string()),
        (
            "evidence",
            pa.list_(
                pa.struct(
                    [
                        ("word", pa.string()),
                        ("start", pa.int64()),
                        ("end", pa.int64()),
                        ("score", pa.float64()),
                    ]
                )
            ),
        ),
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
        ("article_score", pa.float64()),
        ("article_score_note", pa.string()),
        ("quoted_spans", pa.int64()),
        ("threshold", pa.float64()),
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


def check_resumable(results: Path, manifest: dict[str, Any], resume: bool) -> bool:
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


def write_manifest(results: Path, manifest: dict[str, Any]) -> None:
    """Write ``batch.json`` atomically: a directory with it holds results of these settings."""
    temporary = results / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    _commit(temporary)


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


def _commit_chunk(results: Path, result: ChunkResult, result_format: str) -> None:
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
