"""Batch results back as analyses, for the views that show whole articles.

The result tables hold spans and scores but no texts (a corpus can be large, and its
input is kept anyway), so an article's :class:`~propscan.core.analysis.Analysis` is
rebuilt by joining the tables with the text read again from the run's input: the
corpus report's article pages and Label Studio tasks use it. When the input has moved,
``input_path`` names where it is now; when it is gone, :class:`TextsUnavailable` says
so in one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from propscan.batch.inputs import Columns, read_records
from propscan.batch.results import read_manifest, read_results
from propscan.core.analysis import UNRANKED, Analysis, Evidence, ModelInfo, SentenceScore
from propscan.core.article_score import ArticleScore
from propscan.core.confidence import sentence_scores
from propscan.core.sentences import split_sentences
from propscan.core.spans import Article, Span
from propscan.core.techniques import technique_set
from propscan.errors import PropscanError


class TextsUnavailable(PropscanError):
    """The article texts of a results directory cannot be read: its input is gone."""


def batch_input(results: Path, input_path: str | os.PathLike[str] | None = None) -> Path:
    """Where the texts of a results directory are: ``input_path``, else the run's input."""
    manifest = read_manifest(results) or {}
    if manifest.get("exported_from") and input_path is None:
        raise TextsUnavailable(
            f"{results}: results exported from the {manifest['exported_from']} hold no "
            "article texts; open the analyses there"
        )
    recorded = manifest.get("input")
    if input_path is None and not recorded:
        raise TextsUnavailable(
            f"{results}: the results name no input and hold no article texts; pass --input "
            "with the articles the batch run analysed"
        )
    if input_path is not None and not Path(input_path).exists():  # a slip of the user's
        raise PropscanError(f"--input {str(input_path)!r}: no such file or folder")
    source = Path(input_path if input_path is not None else str(recorded))
    if not source.exists():
        raise TextsUnavailable(
            f"{results}: the run's input {str(source)!r} is gone, and the results hold no "
            "article texts; pass --input with the articles the batch run analysed"
        )
    return source


def read_analyses(
    results: str | os.PathLike[str], input_path: str | os.PathLike[str] | None = None
) -> Iterator[tuple[str, Analysis]]:
    """``(article id, analysis)`` of every analysed article of ``results``, in input order.

    A span whose fragment no longer matches the input's text is an error: the input
    changed after the run.
    """
    folder = Path(results)
    source = batch_input(folder, input_path)
    manifest = read_manifest(folder) or {}
    column_settings = dict(manifest.get("columns") or {})
    if "source" in column_settings:
        column_settings["source"] = tuple(column_settings["source"])
    tables = read_results(folder)
    rows = {row["id"]: row for row in tables.articles.to_pylist()}
    spans_by_id: dict[str, list[dict[str, Any]]] = {}
    for row in tables.spans.to_pylist():
        spans_by_id.setdefault(row["id"], []).append(row)
    model = manifest.get("model") or {}
    info = ModelInfo(
        str(model.get("name")), str(model.get("version")), technique_set(model.get("techniques"))
    )
    for record in read_records(source, Columns(**column_settings), max_characters=2**62):
        article = record.article
        if article is None or article.id not in rows:
            continue
        row = rows.pop(article.id)
        spans = spans_by_id.get(article.id, [])
        yield article.id, _analysis(article, row, spans, info, manifest, folder, source)


def _analysis(
    article: Article,
    row: Mapping[str, Any],
    span_rows: list[dict[str, Any]],
    info: ModelInfo,
    manifest: Mapping[str, Any],
    results: Path,
    source: Path,
) -> Analysis:
    """One article's analysis from its rows of the tables and its text."""
    if row.get("characters") is not None and row["characters"] != len(article.text):
        raise PropscanError(
            f"{results}: article {article.id!r} has {len(article.text):,} characters in "
            f"{source}, but the run analysed {row['characters']:,}; the input changed after "
            "the run"
        )
    spans = []
    evidence: dict[tuple[int, int], tuple[Evidence, ...]] = {}
    for found in span_rows:
        span = Span(found["start"], found["end"], found["technique"], found["score"])
        if span.end > len(article.text) or span.fragment(article.text) != found["fragment"]:
            raise PropscanError(
                f"{results}: span {span.start}:{span.end} of article {article.id!r} "
                f"does not match the text in {source}; the input changed after the run"
            )
        spans.append(span)
        words = found.get("evidence") or []
        if words:
            evidence[(span.start, span.end)] = tuple(
                Evidence(word["start"], word["end"], word["score"]) for word in words
            )
    bounds = split_sentences(article.text)
    scores = sentence_scores(bounds, spans)
    score = UNRANKED
    if row.get("article_score_note") is not None or row.get("article_score") is not None:
        score = ArticleScore(
            row["propaganda_sentences"],
            row["sentences"],
            row.get("article_score"),
            note=row.get("article_score_note"),
        )
    techniques = manifest.get("techniques")
    return Analysis(
        text=article.text,
        spans=tuple(spans),
        sentences=tuple(
            SentenceScore(start, end, value)
            for (start, end), value in zip(bounds, scores, strict=True)
        ),
        model=info,
        threshold=row.get("threshold", manifest.get("threshold")),
        title=article.title,
        url=article.url,
        source=article.source,
        article_score=score,
        evidence=evidence,
        min_band=manifest.get("min_band"),
        kept_techniques=None if techniques is None else tuple(techniques),
    )
