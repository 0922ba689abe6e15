"""One number per article that a reader can place: its share of marked sentences, ranked
among the news articles of PTC train as the same model marks them.

**What it means:** an article score of N means that N% of the PTC train news articles
have a smaller share of sentences holding a propaganda mark, when the same model reads
them at its own threshold ("more propaganda than N% of the PTC news articles").

Why the share of marked sentences: it is the figure batch tables already report
(``propaganda_sentence_share``), a reader can count it on the page, and it does not grow
with the model's habit of marking long phrases, as a share of marked characters would.
The reference distribution is stored beside the model (:data:`REFERENCE_FILE`), made by
:func:`propscan.evaluation.article_reference.make_reference`.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propscan.core.analysis import Analysis
from propscan.core.confidence import sentence_spans
from propscan.errors import PropscanError

#: The file beside ``model.json`` that holds a model's reference distribution.
REFERENCE_FILE = "article_reference.json"
#: The per-article statistic the score ranks (the name stored in the reference).
STATISTIC = "marked_sentence_share"
REFERENCE_VERSION = 1


@dataclass(frozen=True)
class ArticleReference:
    """The statistic of every article of a reference corpus, as one model marks them."""

    corpus: str
    model: str
    threshold: float
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(sorted(float(v) for v in self.values)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_version": REFERENCE_VERSION,
            "statistic": STATISTIC,
            "corpus": self.corpus,
            "model": self.model,
            "threshold": self.threshold,
            "articles": len(self.values),
            "values": list(self.values),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = REFERENCE_FILE) -> ArticleReference:
        """A reference from :meth:`to_dict` output; anything else is a one-line error."""
        if not isinstance(data, Mapping) or data.get("reference_version") != REFERENCE_VERSION:
            raise PropscanError(
                f"{where}: not an article reference of version {REFERENCE_VERSION}; "
                "make it again with scripts/article_reference.py MODEL_DIR"
            )
        if data.get("statistic") != STATISTIC:
            raise PropscanError(
                f"{where}: statistic {data.get('statistic')!r} is not {STATISTIC!r}"
            )
        values = data.get("values")
        if not isinstance(values, list) or not values or not all(_is_share(v) for v in values):
            raise PropscanError(f"{where}: 'values' must be a non-empty list of numbers in 0..1")
        threshold = data.get("threshold")
        if not _is_share(threshold):
            raise PropscanError(f"{where}: 'threshold' must be a number in 0..1")
        return cls(str(data.get("corpus")), str(data.get("model")), float(threshold), values)


def _is_share(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    )


@dataclass(frozen=True, slots=True)
class ArticleScore:
    """An article's share of marked sentences and its rank among the reference articles.

    ``percentile`` (0..100) is the share of reference articles with a smaller share;
    ``None`` when there is no reference to compare with.
    """

    marked_sentences: int
    sentences: int
    percentile: float | None

    @property
    def share(self) -> float:
        return self.marked_sentences / self.sentences if self.sentences else 0.0


def marked_sentences(analysis: Analysis) -> tuple[int, int]:
    """How many sentences of ``analysis`` hold a mark, and how many sentences it has."""
    bounds = [(sentence.start, sentence.end) for sentence in analysis.sentences]
    return sum(bool(inside) for inside in sentence_spans(bounds, analysis.spans)), len(bounds)


def percentile(share: float, reference: ArticleReference) -> float:
    """The share (0..100) of the reference articles whose statistic is smaller than ``share``."""
    return 100.0 * bisect.bisect_left(reference.values, share) / len(reference.values)


def article_score(analysis: Analysis, reference: ArticleReference | None) -> ArticleScore:
    """The article score of ``analysis`` against ``reference`` (its model's, or ``None``)."""
    marked, sentences = marked_sentences(analysis)
    share = marked / sentences if sentences else 0.0
    return ArticleScore(
        marked, sentences, None if reference is None else percentile(share, reference)
    )


def read_reference(model_dir: str | Path) -> ArticleReference | None:
    """The reference stored in ``model_dir``, ``None`` for a model made without one."""
    path = Path(model_dir) / REFERENCE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PropscanError(f"{path}: cannot read the article reference ({error})") from None
    return ArticleReference.from_dict(data, str(path))
