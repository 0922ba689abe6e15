"""Soft targets from a teacher model, so that one student learns what several models agree on.

A teacher (an ensemble of seeds, :mod:`~propscan.models.transformer.ensemble`, or a larger
model with the same tokenizer) reads every training article once. Its per-token
propaganda, technique and sentence probabilities and its technique distribution over
each gold span are mixed into the gold targets with the recipe's ``teacher_share``
(:func:`~propscan.models.transformer.examples.make_examples`), so the student keeps the
default's size and speed at analysis time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from propscan.core.spans import Annotations, Article
from propscan.errors import PropscanError
from propscan.models.repetition import RepetitionIndex
from propscan.models.transformer.detector import TransformerDetector, one_thread_per_pool


@dataclass(frozen=True)
class TeacherTargets:
    """A teacher's probabilities over one article's tokens and gold spans."""

    offsets: np.ndarray  # [n, 2] token character offsets, to check the student's tokens
    si: np.ndarray  # [n]
    techniques: np.ndarray  # [n, K]
    sentence: np.ndarray | None  # [n], None for a teacher without a sentence head
    #: The span head's technique distribution [K] of each gold span with a technique, keyed by
    #: ``(start, end, technique)``.
    spans: dict[tuple[int, int, str], np.ndarray]


def teacher_targets(
    teacher: TransformerDetector, articles: Sequence[Article], gold: Annotations
) -> dict[str, TeacherTargets]:
    """The teacher's targets of every article, by article id (its encoder runs once each)."""
    targets: dict[str, TeacherTargets] = {}
    with one_thread_per_pool():
        outputs = teacher.windowed.encode_each([article.text for article in articles])
        for article, output in zip(articles, outputs, strict=True):
            spans = [span for span in gold[article.id] if span.technique is not None]
            index = RepetitionIndex.of(article.text)
            repeats = np.array([index.repeats(span.start, span.end) for span in spans], dtype=int)
            distributions = teacher.decoder.span_head_probabilities(output, spans, repeats)
            targets[article.id] = TeacherTargets(
                offsets=output.tokens.offsets,
                si=output.si_prob,
                techniques=output.technique_prob,
                sentence=output.sentence_token_prob,
                spans={
                    (span.start, span.end, str(span.technique)): distribution
                    for span, distribution in zip(spans, distributions, strict=True)
                },
            )
    return targets


def check_same_tokens(
    article: Article, student_offsets: np.ndarray, teacher: TeacherTargets
) -> None:
    """Refuse a teacher whose tokens differ from the student's: its targets would be
    given to the wrong tokens."""
    if not np.array_equal(student_offsets, teacher.offsets):
        raise PropscanError(
            f"article {article.id}: the teacher's tokenizer splits it differently from the "
            "student's; a teacher must use the student's tokenizer"
        )


def mixed(gold: np.ndarray, teacher: np.ndarray | None, share: float) -> np.ndarray:
    """``(1 - share) * gold + share * teacher`` (gold alone without a teacher's values)."""
    if teacher is None or share == 0.0:
        return gold
    return ((1.0 - share) * gold + share * teacher).astype(np.float32)
