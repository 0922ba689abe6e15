"""The corpus splits: which articles and gold spans make up ``train`` and ``dev``.

:func:`load_split` reads a split of a PTC directory; :func:`validation_ids` is the fixed
part of train that every model holds out to tune its thresholds, so dev stays untouched.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from propscan.core.spans import Annotations, Article, Span
from propscan.core.techniques import PTC_14, TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.ptc.io import (
    articles_dir,
    combined_labels_path,
    read_articles,
    read_labels,
    read_technique_set,
)

SPLITS = ("train", "dev")
DEFAULT_DATA_DIR = Path("../shared/data/ptc-v2")


def resolve_data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """The corpus directory: ``data``, else ``$PROPSCAN_DATA``, else ``../shared/data/ptc-v2``."""
    chosen = data or os.environ.get("PROPSCAN_DATA")
    path = Path(chosen) if chosen else DEFAULT_DATA_DIR
    if not path.is_dir():
        hint = "pass --data DIR or set PROPSCAN_DATA to a directory in PTC layout"
        raise PropscanError(f"corpus directory {str(path)!r} does not exist; {hint}")
    return path


@dataclass(frozen=True)
class Split:
    """One corpus split: its articles, their gold FLC annotations and the corpus's labels."""

    name: str
    articles: list[Article]
    gold: Annotations
    techniques: TechniqueSet = field(default=PTC_14)

    @cached_property
    def by_id(self) -> dict[str, Article]:
        return {article.id: article for article in self.articles}


def load_split(data: str | os.PathLike[str] | None, split: str) -> Split:
    """Articles and gold FLC spans of ``split`` (``train`` or ``dev``) from a PTC directory."""
    if split not in SPLITS:
        raise PropscanError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    root = resolve_data_dir(data)
    folder = articles_dir(root, split)
    if not folder.is_dir():
        raise PropscanError(
            f"{root} has no {folder.name}/ folder; is it a corpus directory in PTC layout?"
        )
    articles = read_articles(folder)
    by_id = {article.id: article for article in articles}
    techniques = read_technique_set(root)
    gold = read_labels(
        combined_labels_path(root, split, "flc"), "flc", by_id, techniques=techniques
    )
    spans = {article.id: gold[article.id] for article in articles}
    return Split(split, articles, Annotations(spans), techniques)


def load_combined_split(roots: Sequence[str | os.PathLike[str]], split: str) -> Split:
    """Split ``split`` of several PTC-layout corpora together, read in the order given.

    An article found again in a later corpus (same id, same text) takes that corpus's
    spans, so hand-corrected copies of articles replace the originals; the same id with a
    different text is an error rather than a silent merge. The technique set is the first
    corpus's, followed by any label only a later one has.
    """
    articles: dict[str, Article] = {}
    gold: dict[str, tuple[Span, ...]] = {}
    origin: dict[str, str] = {}
    labels: dict[str, None] = {}
    for root in roots:
        part = load_split(root, split)
        labels.update(dict.fromkeys(part.techniques))
        for article in part.articles:
            earlier = articles.get(article.id)
            if earlier is not None and earlier.text != article.text:
                raise PropscanError(
                    f"article {article.id!r} is in {origin[article.id]} and in {root} with "
                    "different texts; rename one of them"
                )
            articles[article.id] = article
            gold[article.id] = part.gold[article.id]
            origin[article.id] = str(root)
    return Split(split, list(articles.values()), Annotations(gold), technique_set(labels))


def load_labelled(articles: str | os.PathLike[str], gold: str | os.PathLike[str]) -> Split:
    """A folder of ``article{ID}.txt`` files and their FLC gold labels, as one split."""
    loaded = read_articles(articles)
    by_id = {article.id: article for article in loaded}
    return Split(Path(articles).name, loaded, read_labels(gold, "flc", by_id))


def validation_ids(article_ids: Iterable[str], fraction: float = 0.1) -> set[str]:
    """A fixed, seed-free part of the train articles held out for tuning thresholds.

    Chosen by a hash of the id so that every model and every run holds out the same
    articles, and dev stays untouched for evaluation.
    """

    def bucket(article_id: str) -> float:
        digest = hashlib.sha256(article_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return {article_id for article_id in article_ids if bucket(article_id) < fraction}


def check_gold(articles: Sequence[Article], gold: Annotations, purpose: str) -> None:
    """Refuse gold spans without a technique or beyond their article (``purpose`` needs FLC).

    Spans of articles not among ``articles`` are not looked at.
    """
    lengths = {article.id: len(article.text) for article in articles}
    for article_id, span in gold:
        if article_id not in lengths:
            continue
        if span.technique is None:
            raise PropscanError(
                f"gold span {span.start}-{span.end} of article {article_id} has no technique; "
                f"{purpose} needs FLC gold labels (ID TECHNIQUE START END)"
            )
        if span.end > lengths[article_id]:
            raise PropscanError(
                f"gold span {span.start}-{span.end} ends beyond article {article_id} "
                f"({lengths[article_id]} characters); are these the labels of these articles?"
            )
