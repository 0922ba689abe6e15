"""The service's history as batch results, so ``propscan report`` can summarise it.

Each stored analysis becomes one article of the ``articles`` table (its permanent id
as ``id``, the time it was made as ``date``) with its spans in the ``spans`` table,
written with the batch run's own result writer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from propscan.batch.chunks import ChunkResult, article_rows
from propscan.batch.results import (
    RESULT_FORMATS,
    RESULTS_SCHEMA_VERSION,
    ResultFormat,
    commit_chunk,
    open_results,
    read_manifest,
)
from propscan.batch.run import BatchSummary
from propscan.core.spans import Article
from propscan.core.techniques import TechniqueSet
from propscan.errors import PropscanError
from propscan.service.store import AnalysisSummary, Store


def export_history(
    database: str | os.PathLike[str],
    results: str | os.PathLike[str],
    *,
    result_format: ResultFormat = "parquet",
    chunk_size: int = 256,
) -> BatchSummary:
    """Write the analyses kept by ``propscan serve`` as batch results, oldest first."""
    path = Path(database)
    if not path.is_file():
        raise PropscanError(
            f"no history database at {str(path)!r}; pass the --db file that 'propscan serve' uses"
        )
    if result_format not in RESULT_FORMATS:
        raise PropscanError(f"unknown format {result_format!r}; use parquet or jsonl")
    store = Store(path, create=False)  # never makes a history of another file
    summaries = _oldest_first(store)
    if not summaries:
        raise PropscanError(f"{path}: the history holds no analyses; nothing to export")
    folder = Path(results)
    manifest = _manifest(path, summaries, result_format, store.technique_sets())
    if read_manifest(folder) is not None:  # an export cannot be resumed: say so plainly
        raise PropscanError(f"{folder} already holds results; export into a new --out directory")
    open_results(folder, manifest, result_format, resume=False)
    started = time.perf_counter()
    done = spans = 0
    for index in range(0, len(summaries), chunk_size):
        result = _chunk(store, index // chunk_size, summaries[index : index + chunk_size])
        commit_chunk(folder, result, result_format)
        done += len(result.articles)
        spans += len(result.spans)
    return BatchSummary(done, 0, 0, spans, time.perf_counter() - started)


def _oldest_first(store: Store) -> list[AnalysisSummary]:
    """Every stored analysis, oldest first, as one snapshot of a history in use."""
    return list(reversed(store.list(limit=None).items))


def _manifest(
    path: Path,
    summaries: Sequence[AnalysisSummary],
    result_format: str,
    techniques: Mapping[tuple[str, str], TechniqueSet],
) -> dict[str, Any]:
    """The results' ``batch.json``: the database and the models that made the analyses,
    each with its technique set."""
    models = [
        {"name": name, "version": version, "techniques": list(techniques.get((name, version), ()))}
        for name, version in sorted({(s.model.name, s.model.version) for s in summaries})
    ]
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "input": str(path.resolve()),
        "format": result_format,
        "model": models[0] if len(models) == 1 else None,
        "models": models,
        "exported_from": "service history",
    }


def _chunk(store: Store, index: int, summaries: Sequence[AnalysisSummary]) -> ChunkResult:
    """The table rows of some stored analyses (one deleted meanwhile is left out)."""
    result = ChunkResult(index)
    for summary in summaries:
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
    return result
