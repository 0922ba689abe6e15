"""Training examples of the transformer: token windows with their targets and gold spans.

One window per encoder pass, with four targets: per-token propaganda (SI), per-token
techniques (multi-label, so overlapping techniques are learned), "this token's sentence
holds propaganda", and the gold spans inside the window for the span classifier (TC).
With a teacher, every target is mixed with its probabilities
(:mod:`~propscan.models.transformer.distillation`). numpy only: the examples are built
before torch sees them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from propscan.core.sentences import sentence_at, sentences_with_spans, split_sentences
from propscan.core.spans import Annotations, Article, Span, merge_spans
from propscan.core.techniques import TechniqueSet
from propscan.models.repetition import RepetitionIndex
from propscan.models.transformer.distillation import TeacherTargets, check_same_tokens, mixed
from propscan.models.transformer.encoding import make_windows, token_range, tokenize
from propscan.models.transformer.heads import span_features
from propscan.models.transformer.recipe import TrainingSettings


@dataclass
class WindowExample:
    """One training window: token ids, targets, and gold spans as window token ranges
    ``(first, last, technique column, document features)``."""

    ids: np.ndarray
    si: np.ndarray
    techniques: np.ndarray
    sentence: np.ndarray
    spans: list[tuple[int, int, int, np.ndarray]] = field(default_factory=list)
    #: The window's weight in every loss (``other_corpus_weight`` for non-PTC articles).
    weight: float = 1.0
    #: With a teacher: the technique distribution [K] each span of ``spans`` is fitted
    #: to, in their order (empty: the span's technique column alone).
    span_targets: list[np.ndarray] = field(default_factory=list)


def sentence_targets(text: str, token_starts: np.ndarray, spans: Sequence[Span]) -> np.ndarray:
    """1 for tokens whose sentence shares a character with a gold span, else 0."""
    bounds = split_sentences(text)
    if not bounds:
        return np.zeros(len(token_starts), dtype=np.float32)
    labels = sentences_with_spans(bounds, spans).astype(np.float32)
    return labels[sentence_at(np.asarray([start for start, _ in bounds]), token_starts)]


def make_examples(
    tokenizer: Any,
    articles: Sequence[Article],
    gold: Annotations,
    settings: TrainingSettings,
    techniques: TechniqueSet,
    teacher: Mapping[str, TeacherTargets] | None = None,
) -> list[WindowExample]:
    """Windows with token targets, and each gold span assigned to the window covering it best.

    Technique targets are columns of ``techniques``, the model's label set; a gold span
    without a technique marks propaganda (SI) only. ``teacher`` (by article id) mixes its
    probabilities into every target with ``settings.teacher_share``; articles it lacks
    keep gold targets.
    """
    share = settings.teacher_share
    examples: list[WindowExample] = []
    for article, tokens in zip(
        articles, tokenize(tokenizer, [a.text for a in articles]), strict=True
    ):
        n = len(tokens)
        if n == 0:
            continue
        si = np.zeros(n, dtype=np.float32)
        sentence = sentence_targets(article.text, tokens.offsets[:, 0], gold[article.id])
        technique_targets = np.zeros((n, len(techniques)), dtype=np.float32)
        for merged in merge_spans(gold[article.id]):
            found = token_range(tokens.offsets, merged)
            if found:
                si[found[0] : found[1]] = 1.0
        gold_spans = []
        index = RepetitionIndex.of(article.text)
        taught = None if teacher is None or share == 0.0 else teacher.get(article.id)
        if taught is not None:
            check_same_tokens(article, tokens.offsets, taught)
        for span in gold[article.id]:
            found = token_range(tokens.offsets, span)
            if found is None or span.technique is None:
                continue
            k = techniques.index(span.technique)
            technique_targets[found[0] : found[1], k] = 1.0
            features = span_features(index.repeats(span.start, span.end), found[1] - found[0])
            target = None
            if taught is not None:
                taught_span = taught.spans.get((span.start, span.end, span.technique))
                target = mixed(np.eye(len(techniques), dtype=np.float32)[k], taught_span, share)
            gold_spans.append((found[0], found[1], k, features, target))
        if taught is not None:
            si = mixed(si, taught.si, share)
            technique_targets = mixed(technique_targets, taught.techniques, share)
            sentence = mixed(sentence, taught.sentence, share)
        windows = make_windows(n, settings.window_tokens, settings.window_stride)
        weight = 1.0 if article.corpus is None else settings.other_corpus_weight
        window_examples = [
            WindowExample(
                tokens.ids[w.start : w.end],
                si[w.start : w.end],
                technique_targets[w.start : w.end],
                sentence[w.start : w.end],
                weight=weight,
            )
            for w in windows
        ]
        for first, last, k, features, target in gold_spans:
            coverage = [min(last, w.end) - max(first, w.start) for w in windows]
            best = int(np.argmax(coverage))
            window = windows[best]
            clipped_first, clipped_last = max(first, window.start), min(last, window.end)
            window_examples[best].spans.append(
                (clipped_first - window.start, clipped_last - window.start, k, features)
            )
            if target is not None:
                window_examples[best].span_targets.append(target)
        examples.extend(window_examples)
    return examples
