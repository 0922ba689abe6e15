"""A batch run: read every record of an input, analyse it chunk by chunk, write the tables.

:func:`run_batch` plans chunks of consecutive records (leaving out what an earlier run
finished), hands them to an engine (:mod:`propscan.batch.engines`) and commits each
chunk's rows to the results directory (:mod:`propscan.batch.results`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from itertools import groupby
from pathlib import Path
from typing import Any

from tqdm import tqdm

from propscan.batch.chunks import AnalysisOptions, Chunk
from propscan.batch.engines import Engine, LocalEngine
from propscan.batch.inputs import (
    DEFAULT_MAX_CHARACTERS,
    Columns,
    InputRecord,
    count_records,
    read_records,
)
from propscan.batch.results import (
    ERRORS_FILE,
    RESULT_FORMATS,
    RESULTS_SCHEMA_VERSION,
    ResultFormat,
    ResumeState,
    check_resumable,
    commit_chunk,
    open_results,
    results_lock,
)
from propscan.core.words import plural
from propscan.errors import PropscanError
from propscan.models.base import Detector
from propscan.models.registry import describe_model, resolve_model

DEFAULT_CHUNK_SIZE = 16
_NO_OPTIONS = AnalysisOptions()
_DEFAULT_COLUMNS = Columns()


@dataclass(frozen=True)
class BatchSummary:
    """What one run did: ``done`` analysed, ``skipped`` finished earlier, ``failed`` errors.

    ``damaged`` names the parts an earlier run left damaged, whose chunks were redone.
    """

    done: int
    skipped: int
    failed: int
    spans: int
    seconds: float
    damaged: tuple[str, ...] = ()

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def describe(self, results: str | os.PathLike[str]) -> str:
        parts = [f"{self.done} analysed", f"{self.skipped} skipped", f"{self.failed} failed"]
        line = f"{', '.join(parts)}; {plural(self.spans, 'span')} in {self.seconds:.1f} s"
        if self.done:
            line += f" ({self.per_second:.1f} articles/s)"
        if self.failed:
            line += f"; reasons in {Path(results) / ERRORS_FILE}"
        if self.damaged:
            line += f"; analysed again the chunks of {plural(len(self.damaged), 'damaged part')}"
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
        "min_band": options.min_band,
        "chunk_size": chunk_size,
        "columns": asdict(columns) | {"source": list(columns.source)},
    }


def run_batch(
    input_path: str | os.PathLike[str],
    results: str | os.PathLike[str],
    *,
    model: Detector | str | os.PathLike[str] | None = None,
    engine: Engine | None = None,
    result_format: ResultFormat = "parquet",
    options: AnalysisOptions = _NO_OPTIONS,
    columns: Columns = _DEFAULT_COLUMNS,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_characters: int = DEFAULT_MAX_CHARACTERS,
    limit: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> BatchSummary:
    """Analyse every record of ``input_path`` and write the result tables into ``results``.

    ``model`` is a loaded Detector, a model directory or ``None`` for the shipped model;
    ``engine`` defaults to this process (give a :class:`~propscan.batch.engines.ProcessEngine`
    or a :class:`~propscan.batch.engines.DaskEngine` to spread the work). With ``resume`` a
    run continues the results of an interrupted one with the same settings.
    """
    if result_format not in RESULT_FORMATS:
        raise PropscanError(f"unknown format {result_format!r}; use parquet or jsonl")
    if chunk_size < 1:
        raise PropscanError(f"chunk size must be at least 1, got {chunk_size}")
    source = Path(input_path)
    # counted first: an input that cannot be split into records leaves no results behind
    total = count_records(source, columns, max_characters)
    folder = Path(results)
    described = describe_model(model)
    options = options.for_model(described.techniques)
    model_info = {
        "name": described.name,
        "version": described.version,
        "techniques": list(described.techniques),
    }
    manifest = _manifest(source, result_format, model_info, options, chunk_size, columns)
    check_resumable(folder, manifest, resume)  # a refused run creates nothing
    with results_lock(folder):
        state = open_results(folder, manifest, result_format, resume=resume)
        if engine is None:
            engine = LocalEngine(resolve_model(model))
        records: Iterable[InputRecord] = read_records(source, columns, max_characters)
        if limit is not None:
            records = (record for record in records if record.position < limit)
            total = min(total, limit)
        chunks = plan_chunks(records, chunk_size, state)
        summary = _run_chunks(engine, chunks, options, folder, result_format, total, progress)
    return replace(summary, damaged=state.damaged)


def _run_chunks(
    engine: Engine,
    chunks: Iterator[Chunk],
    options: AnalysisOptions,
    folder: Path,
    result_format: str,
    total: int,
    progress: bool,
) -> BatchSummary:
    """Analyse the chunks on ``engine`` and commit each result as it comes."""
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
        for result in engine.run(chunks, options):
            commit_chunk(folder, result, result_format)
            done += len(result.articles)
            failed += len(result.errors)
            spans += len(result.spans)
            skipped += result.records - len(result.articles) - len(result.errors)
            bar.update(result.records)
            bar.set_postfix(failed=failed, refresh=False)
    return BatchSummary(done, skipped, failed, spans, time.perf_counter() - started)
