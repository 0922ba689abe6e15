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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from propscan.core.checks import is_finite_number
from propscan.core.confidence import sentence_spans
from propscan.core.spans import Span
from propscan.core.words import plural
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
        return cls(str(data.get("corpus")), str(data.get("model")), float(threshold), tuple(values))


def _is_share(value: Any) -> TypeGuard[float]:
    return is_finite_number(value) and 0 <= value <= 1


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


#: What an article score means, in one sentence, wherever a view shows one.
MEANING = (
    "An article score of N means that N% of the PTC train news articles have a smaller "
    "share of sentences holding a propaganda mark, when the same model reads them at its "
    "own threshold."
)


@dataclass(frozen=True, slots=True)
class ArticleScore:
    """An article's share of marked sentences and its rank among the reference articles.

    ``percentile`` (0..100) is the share of reference articles with a smaller share;
    ``None`` when the article cannot be ranked, and ``note`` then says why (no reference
    for the model, or marks made at another threshold or filtered, which the reference's
    are not). ``reference`` names what the article is ranked against.
    """

    marked_sentences: int
    sentences: int
    percentile: float | None = None
    reference: str | None = None
    note: str | None = None

    @property
    def share(self) -> float:
        return self.marked_sentences / self.sentences if self.sentences else 0.0

    def headline(self) -> str:
        """The score in one line, as every view shows it."""
        counted = f"{self.marked_sentences} of {plural(self.sentences, 'sentence')} marked"
        if self.percentile is None:
            return f"Article score not ranked ({self.note or 'no reference'}); {counted}"
        rank = round(self.percentile)
        return (
            f"Article score {rank} of 100: a larger share of marked sentences than "
            f"{rank}% of PTC news articles ({counted})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "marked_sentences": self.marked_sentences,
            "sentences": self.sentences,
            "share": self.share,
            "percentile": self.percentile,
            "reference": self.reference,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "article_score") -> ArticleScore:
        """An article score from :meth:`to_dict` output; anything else is a one-line error."""
        if not isinstance(data, Mapping):
            raise PropscanError(f"{where}: expected a JSON object")
        marked, sentences = data.get("marked_sentences"), data.get("sentences")
        if not (_is_count(marked) and _is_count(sentences)):
            raise PropscanError(f"{where}: 'marked_sentences' and 'sentences' must be counts")
        if marked > sentences:
            raise PropscanError(f"{where}: more marked sentences than sentences")
        rank = data.get("percentile")
        if rank is not None and not _is_share(rank / 100 if is_finite_number(rank) else rank):
            raise PropscanError(f"{where}: 'percentile' must be a number in 0..100 or null")
        texts = [data.get("reference"), data.get("note")]
        if not all(text is None or isinstance(text, str) for text in texts):
            raise PropscanError(f"{where}: 'reference' and 'note' must be strings or null")
        return cls(marked, sentences, None if rank is None else float(rank), *texts)


def marked_sentences(sentences: Sequence[tuple[int, int]], spans: Sequence[Span]) -> int:
    """How many of the ``[start, end)`` sentences share a character with a span."""
    return sum(bool(inside) for inside in sentence_spans(sentences, spans))


def percentile(share: float, reference: ArticleReference) -> float:
    """The share (0..100) of the reference articles whose statistic is smaller than ``share``."""
    return 100.0 * bisect.bisect_left(reference.values, share) / len(reference.values)


def score_article(
    sentences: Sequence[tuple[int, int]],
    spans: Sequence[Span],
    reference: ArticleReference | None,
    *,
    threshold: float | None,
    every_mark: bool,
) -> ArticleScore:
    """The article score of marks ``spans`` over ``sentences`` against ``reference``.

    The reference counts every mark the model makes at its own threshold, so an article
    is ranked only when its marks were made the same way: at ``threshold`` equal to the
    reference's, with ``every_mark`` kept (no technique or band filter). Otherwise the
    share is still given, with a note saying why it is not ranked.
    """
    marked = marked_sentences(sentences, spans)
    if reference is None:
        return ArticleScore(marked, len(sentences), note="this model has no reference articles")
    described = f"{reference.corpus} as {reference.model} marks them"
    if threshold is None or not math.isclose(threshold, reference.threshold, abs_tol=1e-9):
        made = "an unknown threshold" if threshold is None else f"threshold {threshold:.2f}"
        note = f"marks made at {made}, the reference at the model's own {reference.threshold:.2f}"
        return ArticleScore(marked, len(sentences), reference=described, note=note)
    if not every_mark:
        note = "only some techniques or bands kept; the reference counts every mark"
        return ArticleScore(marked, len(sentences), reference=described, note=note)
    share = marked / len(sentences) if sentences else 0.0
    return ArticleScore(marked, len(sentences), round(percentile(share, reference), 1), described)


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
