"""Scorers of the three PTC tasks, equal to the official scorers of the shared tasks.

* SI (span identification), as the SemEval-2020 Task 11 ``task-SI_scorer.py -m``:
  the spans of an article that share a character are merged (spans that only touch,
  ``a.end == b.start``, share none and stay apart); every (predicted ``s``, gold ``t``)
  pair of an article adds ``|s∩t|/|s|`` to the precision sum and ``|s∩t|/|t|`` to the
  recall sum; precision divides by the number of predicted spans, recall by the number
  of gold spans, both over all articles.
* FLC (fragment-level classification), as the NLP4IF-2019 ``task-FLC_scorer.py``: the
  SI formula where a pair counts only when both spans carry the same technique, with
  merging done per technique; overall and per technique.
* TC (technique classification), as the SemEval-2020 ``task-TC_scorer.py``: the
  predictions label exactly the gold spans; labels at identical offsets pair up as the
  best match; micro-averaged F1 (which equals accuracy), per-technique scores and their
  macro average (scikit-learn's over the technique set).

Differences from the official scripts, where they give no number or a wrong one:
predictions in an article absent from the gold file count as false positives (the
official SI and FLC scripts crash there), and the FLC per-technique recall divides the
technique's *recall* sum by its gold spans (the official FLC script reuses the
precision sum there, so its per-technique recall is not a recall). Overall FLC
scores are unaffected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from propscan.core.spans import Annotations, Span, merge_spans
from propscan.core.techniques import PTC_14
from propscan.core.words import plural
from propscan.errors import PropscanError

#: An article id with the start and end offsets of a span.
Offset = tuple[str, int, int]

#: Version of the JSON produced by ``to_dict``; bumped when keys change meaning.
SCORES_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Prf:
    """Precision, recall and F1 of one group of spans, with the counts they divide by."""

    precision: float
    recall: float
    f1: float
    predicted_count: int
    gold_count: int

    def to_dict(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "predicted_count": self.predicted_count,
            "gold_count": self.gold_count,
        }


@dataclass(frozen=True)
class SpanScores:
    """SI or FLC scores; ``per_technique`` is filled for FLC only.

    ``predicted_count`` and ``gold_count`` count spans after merging.
    """

    task: str
    precision: float
    recall: float
    f1: float
    predicted_count: int
    gold_count: int
    per_technique: Mapping[str, Prf] = field(default_factory=dict)

    @property
    def overall(self) -> Prf:
        return Prf(self.precision, self.recall, self.f1, self.predicted_count, self.gold_count)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "schema_version": SCORES_SCHEMA_VERSION,
            "task": self.task,
            **self.overall.to_dict(),
        }
        if self.per_technique:
            result["per_technique"] = {
                technique: prf.to_dict() for technique, prf in self.per_technique.items()
            }
        return result


@dataclass(frozen=True)
class TcScores:
    """TC scores: micro F1 (= micro precision = micro recall = accuracy), macro F1 and per
    technique.

    ``correct`` labels out of ``total`` gold labels were predicted right. Micro F1 is the
    official score and follows the frequent techniques; macro F1, the mean F1 of the
    technique set's techniques, weighs a rare one as much as Loaded Language.
    """

    micro_f1: float
    #: Means of the set's per-technique precision, recall and F1, with the label counts.
    macro: Prf
    correct: int
    total: int
    per_technique: Mapping[str, Prf]

    @property
    def macro_f1(self) -> float:
        return self.macro.f1

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCORES_SCHEMA_VERSION,
            "task": "tc",
            "micro_f1": self.micro_f1,
            "macro_f1": self.macro_f1,
            "macro": self.macro.to_dict(),
            "correct": self.correct,
            "total": self.total,
            "per_technique": {
                technique: prf.to_dict() for technique, prf in self.per_technique.items()
            },
        }


class SpanMismatchError(PropscanError):
    """TC predictions whose spans are not exactly the gold spans (the offsets to fix are kept)."""

    def __init__(
        self, article_id: str, start: int, end: int, gold_count: int, predicted_count: int
    ):
        self.article_id = article_id
        self.start = start
        self.end = end
        self.gold_count = gold_count
        self.predicted_count = predicted_count
        super().__init__(
            f"article {article_id}, span {start}-{end}: {plural(predicted_count, 'label')} "
            f"predicted but {plural(gold_count, 'label')} in the gold file; TC predictions must "
            "list exactly the gold spans (one line per gold line) and change only the technique "
            "column"
        )


@dataclass(frozen=True, slots=True)
class _Tally:
    """The sums and counts behind precision and recall, added up over articles or techniques."""

    precision_sum: float = 0.0
    recall_sum: float = 0.0
    predicted_count: int = 0
    gold_count: int = 0

    def __add__(self, other: _Tally) -> _Tally:
        return _Tally(
            self.precision_sum + other.precision_sum,
            self.recall_sum + other.recall_sum,
            self.predicted_count + other.predicted_count,
            self.gold_count + other.gold_count,
        )

    def prf(self) -> Prf:
        """Scores as the official ``compute_prec_rec_f1``: F1 is 1 when both sides are empty."""
        precision = self.precision_sum / self.predicted_count if self.predicted_count else 0.0
        recall = self.recall_sum / self.gold_count if self.gold_count else 0.0
        return Prf(
            precision,
            recall,
            _span_f1(precision, recall, self.predicted_count, self.gold_count),
            self.predicted_count,
            self.gold_count,
        )


def _span_f1(precision: float, recall: float, predicted_count: int, gold_count: int) -> float:
    if predicted_count == 0 and gold_count == 0:
        return 1.0
    if precision > 0 and recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def _tally(gold: Iterable[Span], predicted: Iterable[Span]) -> _Tally:
    """Merge each side, then sum the overlaps of every (predicted, gold) pair in one sweep."""
    gold_spans = merge_spans(gold)
    predicted_spans = merge_spans(predicted)
    precision_sum = recall_sum = 0.0
    i = j = 0
    while i < len(predicted_spans) and j < len(gold_spans):
        s, t = predicted_spans[i], gold_spans[j]
        shared = min(s.end, t.end) - max(s.start, t.start)
        if shared > 0:
            precision_sum += shared / s.length
            recall_sum += shared / t.length
        if s.end <= t.end:
            i += 1
        else:
            j += 1
    return _Tally(precision_sum, recall_sum, len(predicted_spans), len(gold_spans))


def score_si(gold: Annotations, predicted: Annotations) -> SpanScores:
    """SI precision, recall and F1 of ``predicted`` against ``gold`` (techniques are ignored)."""
    total = _Tally()
    for article_id in sorted(set(gold.spans) | set(predicted.spans)):
        total += _tally(gold[article_id], predicted[article_id])
    overall = total.prf()
    return SpanScores(
        "si",
        overall.precision,
        overall.recall,
        overall.f1,
        overall.predicted_count,
        overall.gold_count,
    )


def _technique_order(seen: Iterable[str], techniques: Sequence[str]) -> list[str]:
    """``techniques`` in their order (each scored, found or not), then any other label
    found, sorted."""
    return [*techniques, *sorted(set(seen) - set(techniques))]


def _by_technique(annotations: Annotations, role: str) -> dict[tuple[str, str], list[Span]]:
    grouped: dict[tuple[str, str], list[Span]] = {}
    for article_id, span in annotations:
        if span.technique is None:
            raise PropscanError(
                f"{role} span {span.start}-{span.end} of article {article_id} has no technique; "
                "FLC and TC scoring need a technique on every span"
            )
        grouped.setdefault((article_id, span.technique), []).append(span)
    return grouped


def score_flc(
    gold: Annotations, predicted: Annotations, techniques: Sequence[str] = PTC_14
) -> SpanScores:
    """FLC scores: SI scoring within each technique, overall and per technique.

    Every one of ``techniques`` gets a row, found or not (the official scorer lists PTC's
    14); a technique absent from both sides scores F1 = 1, as in the official scorer.
    """
    gold_groups = _by_technique(gold, "gold")
    predicted_groups = _by_technique(predicted, "predicted")
    per_technique: dict[str, _Tally] = {}
    for key in sorted(set(gold_groups) | set(predicted_groups)):
        tally = _tally(gold_groups.get(key, ()), predicted_groups.get(key, ()))
        per_technique[key[1]] = per_technique.get(key[1], _Tally()) + tally
    overall = sum(per_technique.values(), _Tally()).prf()
    return SpanScores(
        "flc",
        overall.precision,
        overall.recall,
        overall.f1,
        overall.predicted_count,
        overall.gold_count,
        {
            t: per_technique.get(t, _Tally()).prf()
            for t in _technique_order(per_technique, techniques)
        },
    )


def _labels_by_offset(annotations: Annotations, role: str) -> dict[Offset, Counter[str]]:
    labels: dict[Offset, Counter[str]] = {}
    for (article_id, technique), spans in _by_technique(annotations, role).items():
        for span in spans:
            labels.setdefault((article_id, span.start, span.end), Counter())[technique] += 1
    return labels


def check_tc_spans(gold: Annotations, predicted: Annotations) -> None:
    """Raise :class:`SpanMismatchError` at the first offset whose label counts differ."""
    gold_labels = _labels_by_offset(gold, "gold")
    predicted_labels = _labels_by_offset(predicted, "predicted")
    for offset in sorted(set(gold_labels) | set(predicted_labels)):
        gold_count = gold_labels[offset].total() if offset in gold_labels else 0
        predicted_count = predicted_labels[offset].total() if offset in predicted_labels else 0
        if gold_count != predicted_count:
            raise SpanMismatchError(*offset, gold_count, predicted_count)


def _classification_prf(correct: int, predicted_count: int, gold_count: int) -> Prf:
    """Per-class scores as scikit-learn's (0 where a ratio is undefined)."""
    precision = correct / predicted_count if predicted_count else 0.0
    recall = correct / gold_count if gold_count else 0.0
    denominator = predicted_count + gold_count
    f1 = 2 * correct / denominator if denominator else 0.0
    return Prf(precision, recall, f1, predicted_count, gold_count)


def score_tc(
    gold: Annotations, predicted: Annotations, techniques: Sequence[str] = PTC_14
) -> TcScores:
    """TC scores of predictions that label exactly the gold spans (a row per technique of
    ``techniques``, then any other label found).

    Several labels on identical offsets pair as the best match (the multiset
    intersection of the labels), so line order never matters. A technique absent
    from both sides scores F1 = 0, as in the official scorer (scikit-learn); macro F1 is
    scikit-learn's ``f1_score(average="macro", labels=techniques)``.
    """
    check_tc_spans(gold, predicted)
    gold_labels = _labels_by_offset(gold, "gold")
    predicted_labels = _labels_by_offset(predicted, "predicted")
    gold_counts: Counter[str] = Counter()
    predicted_counts: Counter[str] = Counter()
    correct_counts: Counter[str] = Counter()
    for offset, gold_here in gold_labels.items():
        predicted_here = predicted_labels[offset]
        gold_counts += gold_here
        predicted_counts += predicted_here
        correct_counts += gold_here & predicted_here
    total = gold_counts.total()
    if total == 0:
        raise PropscanError("nothing to score: the gold annotations have no spans")
    correct = correct_counts.total()
    order = _technique_order([*gold_counts, *predicted_counts], techniques)
    per_technique = {
        t: _classification_prf(correct_counts[t], predicted_counts[t], gold_counts[t])
        for t in order
    }
    return TcScores(
        micro_f1=correct / total,
        macro=Prf(
            sum(per_technique[t].precision for t in techniques) / len(techniques),
            sum(per_technique[t].recall for t in techniques) / len(techniques),
            sum(per_technique[t].f1 for t in techniques) / len(techniques),
            predicted_counts.total(),
            total,
        ),
        correct=correct,
        total=total,
        per_technique=per_technique,
    )


def top_techniques(scores: Sequence[float], labels: Sequence[str], k: int) -> list[str]:
    """The ``k`` highest-scoring labels, ties by name: the TC convention that a span given
    ``k`` gold labels (the same offsets ``k`` times) is answered with ``k`` techniques."""
    ranked = sorted(range(len(scores)), key=lambda j: (-scores[j], labels[j]))
    return [labels[j] for j in ranked[:k]]
