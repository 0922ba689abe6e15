"""The scorers against hand-checked fixtures, a brute-force reference and random span sets.

The reference implementation below follows the official SemEval-2020 Task 11 and
NLP4IF-2019 scorers' definitions literally: spans are sets of character positions,
merged while they share a position, and every (predicted, gold) pair is visited.
The TC reference aligns labels and hands them to scikit-learn, as the official TC
scorer does.
"""

from __future__ import annotations

import random
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_score, recall_score

from propscan.core.spans import Annotations, Span, to_si_annotations
from propscan.core.techniques import TECHNIQUES
from propscan.errors import PropscanError
from propscan.ptc.io import format_labels, parse_labels, read_labels
from propscan.ptc.scoring import (
    Prf,
    SpanMismatchError,
    SpanScores,
    score_flc,
    score_si,
    score_tc,
)

FIXTURES = Path(__file__).parent / "fixtures" / "scoring"
TOLERANCE = 1e-9

AA, EXAG, DOUBT, NAME = (
    "Appeal_to_Authority",
    "Exaggeration,Minimisation",
    "Doubt",
    "Name_Calling,Labeling",
)
WHAT, CAUSAL, LOADED, SLOGANS = (
    "Whataboutism,Straw_Men,Red_Herring",
    "Causal_Oversimplification",
    "Loaded_Language",
    "Slogans",
)


def flc(name: str) -> Annotations:
    return read_labels(FIXTURES / name, "flc")


# --- brute-force reference ------------------------------------------------------------


def _merged_sets(spans: list[Span]) -> list[set[int]]:
    """Character sets of the spans, united while two of them share a character."""
    groups: list[set[int]] = []
    for span in spans:
        positions = set(range(span.start, span.end))
        for group in [group for group in groups if group & positions]:
            groups.remove(group)
            positions |= group
        groups.append(positions)
    return groups


def _official_prf(precision_sum: float, predicted: int, recall_sum: float, gold: int) -> Prf:
    precision = precision_sum / predicted if predicted > 0 else 0.0
    recall = recall_sum / gold if gold > 0 else 0.0
    f1 = 1.0 if predicted == 0 and gold == 0 else 0.0
    if precision > 0 and recall > 0:
        f1 = 2 * precision * recall / (precision + recall)
    return Prf(precision, recall, f1, predicted, gold)


def _brute_span_scores(
    gold: Annotations, predicted: Annotations, key: Callable[[str, Span], tuple[str, ...]]
) -> dict[str, list[float]]:
    """Sums and counts per technique (or one group "all") of the literal pairwise definition."""

    def grouped(annotations: Annotations) -> dict[tuple[str, ...], list[set[int]]]:
        spans: dict[tuple[str, ...], list[Span]] = {}
        for article_id, span in annotations:
            spans.setdefault(key(article_id, span), []).append(span)
        return {group: _merged_sets(members) for group, members in spans.items()}

    gold_sets, predicted_sets = grouped(gold), grouped(predicted)
    sums: dict[str, list[float]] = {}
    for group in set(gold_sets) | set(predicted_sets):
        label = group[1] if len(group) > 1 else "all"
        entry = sums.setdefault(label, [0.0, 0, 0.0, 0])
        entry[1] += len(predicted_sets.get(group, []))
        entry[3] += len(gold_sets.get(group, []))
        for s in predicted_sets.get(group, []):
            for t in gold_sets.get(group, []):
                entry[0] += len(s & t) / len(s)
                entry[2] += len(s & t) / len(t)
    return sums


def brute_si(gold: Annotations, predicted: Annotations) -> Prf:
    sums = _brute_span_scores(gold, predicted, lambda article_id, span: (article_id,))
    precision_sum, predicted_count, recall_sum, gold_count = sums.get("all", [0.0, 0, 0.0, 0])
    return _official_prf(precision_sum, int(predicted_count), recall_sum, int(gold_count))


def brute_flc(gold: Annotations, predicted: Annotations) -> tuple[Prf, dict[str, Prf]]:
    sums = _brute_span_scores(
        gold, predicted, lambda article_id, span: (article_id, span.technique or "")
    )
    totals = [sum(entry[i] for entry in sums.values()) for i in range(4)]
    overall = _official_prf(totals[0], int(totals[1]), totals[2], int(totals[3]))
    per_technique = {
        technique: _official_prf(p, int(n_pred), r, int(n_gold))
        for technique, (p, n_pred, r, n_gold) in sums.items()
    }
    return overall, per_technique


def brute_tc(
    gold: Annotations, predicted: Annotations
) -> tuple[float, tuple[float, float, float], dict[str, Prf]]:
    """Align labels of identical offsets (matches first), then score with scikit-learn:
    micro F1, macro (precision, recall, F1) over the 14, and the scores per technique."""

    def by_offset(annotations: Annotations) -> dict[tuple[str, int, int], list[str]]:
        labels: dict[tuple[str, int, int], list[str]] = {}
        for article_id, span in annotations:
            labels.setdefault((article_id, span.start, span.end), []).append(span.technique or "")
        return labels

    gold_offsets, predicted_offsets = by_offset(gold), by_offset(predicted)
    gold_flat: list[str] = []
    predicted_flat: list[str] = []
    for offset, gold_here in gold_offsets.items():
        left_gold, left_predicted = list(gold_here), list(predicted_offsets[offset])
        for label in list(left_gold):
            if label in left_predicted:
                left_gold.remove(label)
                left_predicted.remove(label)
                gold_flat.append(label)
                predicted_flat.append(label)
        gold_flat += left_gold
        predicted_flat += left_predicted
    labels = list(TECHNIQUES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        micro = f1_score(gold_flat, predicted_flat, average="micro")
        precision = precision_score(gold_flat, predicted_flat, labels=labels, average=None)
        recall = recall_score(gold_flat, predicted_flat, labels=labels, average=None)
        f1 = f1_score(gold_flat, predicted_flat, labels=labels, average=None)
        macro = tuple(
            float(score(gold_flat, predicted_flat, labels=labels, average="macro"))
            for score in (precision_score, recall_score, f1_score)
        )
    per_technique = {
        label: Prf(
            float(precision[i]),
            float(recall[i]),
            float(f1[i]),
            predicted_flat.count(label),
            gold_flat.count(label),
        )
        for i, label in enumerate(labels)
    }
    return float(micro), macro, per_technique  # type: ignore[return-value]


def assert_prf(actual: Prf, expected: Prf) -> None:
    assert actual.predicted_count == expected.predicted_count
    assert actual.gold_count == expected.gold_count
    assert actual.precision == pytest.approx(expected.precision, abs=TOLERANCE)
    assert actual.recall == pytest.approx(expected.recall, abs=TOLERANCE)
    assert actual.f1 == pytest.approx(expected.f1, abs=TOLERANCE)


def f1_of(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall)


def assert_matches_brute_force(gold: Annotations, predicted: Annotations) -> None:
    assert_prf(score_si(gold, predicted).overall, brute_si(gold, predicted))
    flc_scores = score_flc(gold, predicted)
    overall, per_technique = brute_flc(gold, predicted)
    assert_prf(flc_scores.overall, overall)
    for technique, expected in per_technique.items():
        assert_prf(flc_scores.per_technique[technique], expected)


# --- hand-checked fixtures ------------------------------------------------------------
# gold.labels: 8 dev gold lines of articles 738361208 and 730269378. As SI spans
# (merged per article) they are 6: [368,395) (27 chars, the union of 368-394 and
# 368-395), [623,667) (44), [669,821) (152), [2396,2422) (26), [689,696) (7), [718,723) (5).


def test_exact_copy_scores_one_everywhere() -> None:
    gold, predicted = flc("gold.labels"), flc("pred-exact.labels")
    assert_prf(score_si(gold, predicted).overall, Prf(1.0, 1.0, 1.0, 6, 6))
    assert_prf(score_flc(gold, predicted).overall, Prf(1.0, 1.0, 1.0, 8, 8))
    assert score_tc(gold, predicted).micro_f1 == 1.0
    assert_matches_brute_force(gold, predicted)


def test_partial_overlaps_si() -> None:
    # predicted SI spans and their (precision, recall) contributions:
    #   [368,380)  12 of 12 chars in [368,395)           -> 12/12, 12/27
    #   [623,645)  touches [645,667): NOT merged          -> 22/22, 22/44
    #   [645,667)                                         -> 22/22, 22/44
    #   [700,900)  121 chars inside [669,821)             -> 121/200, 121/152
    #   [690,720)  6 chars in [689,696), 2 in [718,723)   -> 6/30 + 2/30, 6/7 + 2/5
    #   999000851 [0,10): article without gold            -> 0, 0 (a false positive)
    precision = (1 + 1 + 1 + 121 / 200 + 6 / 30 + 2 / 30) / 6
    recall = (12 / 27 + 0.5 + 0.5 + 121 / 152 + 6 / 7 + 2 / 5) / 6
    gold, predicted = flc("gold.labels"), flc("pred-partial.labels")
    expected = Prf(precision, recall, f1_of(precision, recall), 6, 6)
    assert_prf(score_si(gold, predicted).overall, expected)
    assert_prf(brute_si(gold, predicted), expected)
    three_columns = read_labels(FIXTURES / "pred-partial-si.labels", "si")
    assert_prf(score_si(gold, three_columns).overall, expected)


def test_partial_overlaps_and_wrong_techniques_flc() -> None:
    # pairs count only within a technique; gold has 8 spans (no same-technique overlaps):
    #   AA    [368,380) vs [368,394) (26 chars)           -> 12/12, 12/26
    #   Doubt [623,645) meets no Doubt gold (technique wrong) -> 0, 0
    #   Exag  [645,667) vs [623,667)                      -> 22/22, 22/44
    #   Doubt [700,900) vs [669,821)                      -> 121/200, 121/152
    #   Loaded [690,720), Slogans [0,10): no such gold     -> 0, 0
    precision = (1 + 1 + 121 / 200) / 6
    recall = (12 / 26 + 0.5 + 121 / 152) / 8
    gold, predicted = flc("gold.labels"), flc("pred-partial.labels")
    scores = score_flc(gold, predicted)
    assert_prf(scores.overall, Prf(precision, recall, f1_of(precision, recall), 6, 8))
    per = scores.per_technique
    assert_prf(per[AA], Prf(1.0, 12 / 26, f1_of(1.0, 12 / 26), 1, 1))
    assert_prf(per[DOUBT], Prf(0.605 / 2, 121 / 152, f1_of(0.605 / 2, 121 / 152), 2, 1))
    assert_prf(per[EXAG], Prf(1.0, 0.5 / 3, f1_of(1.0, 0.5 / 3), 1, 3))
    for technique, predicted_count, gold_count in [
        (NAME, 0, 1),
        (WHAT, 0, 1),
        (CAUSAL, 0, 1),
        (LOADED, 1, 0),
        (SLOGANS, 1, 0),
    ]:
        assert_prf(per[technique], Prf(0.0, 0.0, 0.0, predicted_count, gold_count))
    # absent from both sides: F1 = 1, as the official scorer prints it
    assert_prf(per["Repetition"], Prf(0.0, 0.0, 1.0, 0, 0))
    assert list(per) == list(TECHNIQUES)
    assert_matches_brute_force(gold, predicted)


def test_merged_and_split_predictions() -> None:
    # Doubt 669-750 and 740-821 overlap: merged into [669,821), exactly the gold span.
    # Exag 2396-2410 and 2410-2422 only touch: two spans, each inside gold [2396,2422).
    # SI:  precision (152/152 + 14/14 + 12/12) / 3 = 1; recall (1 + 14/26 + 12/26) / 6 = 1/3
    # FLC: precision 3/3 = 1; recall (1 + 14/26 + 12/26) / 8 = 1/4
    gold, predicted = flc("gold.labels"), flc("pred-merged.labels")
    assert_prf(score_si(gold, predicted).overall, Prf(1.0, 1 / 3, 0.5, 3, 6))
    scores = score_flc(gold, predicted)
    assert_prf(scores.overall, Prf(1.0, 0.25, 0.4, 3, 8))
    assert_prf(scores.per_technique[DOUBT], Prf(1.0, 1.0, 1.0, 1, 1))
    assert_prf(scores.per_technique[EXAG], Prf(1.0, 1 / 3, 0.5, 2, 3))
    assert_matches_brute_force(gold, predicted)


def test_empty_predictions_score_zero() -> None:
    gold, predicted = flc("gold.labels"), flc("pred-empty.labels")
    assert_prf(score_si(gold, predicted).overall, Prf(0.0, 0.0, 0.0, 0, 6))
    assert_prf(score_flc(gold, predicted).overall, Prf(0.0, 0.0, 0.0, 0, 8))
    assert_matches_brute_force(gold, predicted)


def test_predictions_without_gold_are_false_positives() -> None:
    predicted = Annotations({"999000851": (Span(0, 10, SLOGANS),)})
    assert_prf(score_si(Annotations(), predicted).overall, Prf(0.0, 0.0, 0.0, 1, 0))
    assert_prf(score_flc(Annotations(), predicted).overall, Prf(0.0, 0.0, 0.0, 1, 0))


def test_nothing_to_find_and_nothing_found_is_perfect() -> None:
    # the official compute_prec_rec_f1 gives F1 = 1 when both denominators are 0
    assert_prf(score_si(Annotations(), Annotations()).overall, Prf(0.0, 0.0, 1.0, 0, 0))
    assert score_flc(Annotations(), Annotations()).f1 == 1.0


def test_tc_best_match_ignores_line_order() -> None:
    scores = score_tc(flc("gold.labels"), flc("pred-tc-reordered.labels"))
    assert (scores.micro_f1, scores.correct, scores.total) == (1.0, 8, 8)


def test_tc_wrong_techniques() -> None:
    # right: 368-395 Exag, 623-667 Exag, one of {Exag, NameCalling} at 2396-2422 (predicted
    # {NameCalling, NameCalling}), 689-696 and 718-723: 5 of 8 -> micro F1 0.625.
    # Exag: predicted 3, gold 3, right 2; NameCalling: predicted 2, gold 1, right 1.
    gold, predicted = flc("gold.labels"), flc("pred-tc-wrong.labels")
    scores = score_tc(gold, predicted)
    assert (scores.micro_f1, scores.correct, scores.total) == (0.625, 5, 8)
    per = scores.per_technique
    assert_prf(per[EXAG], Prf(2 / 3, 2 / 3, 2 / 3, 3, 3))
    assert_prf(per[NAME], Prf(0.5, 1.0, 2 / 3, 2, 1))
    assert_prf(per[AA], Prf(0.0, 0.0, 0.0, 0, 1))
    assert_prf(per[LOADED], Prf(0.0, 0.0, 0.0, 1, 0))
    assert_prf(per[WHAT], Prf(1.0, 1.0, 1.0, 1, 1))
    # absent from both sides: F1 = 0, as scikit-learn (the official TC scorer) reports it
    assert_prf(per["Repetition"], Prf(0.0, 0.0, 0.0, 0, 0))
    micro, macro, reference = brute_tc(gold, predicted)
    assert scores.micro_f1 == pytest.approx(micro, abs=TOLERANCE)
    assert (scores.macro.precision, scores.macro.recall, scores.macro_f1) == pytest.approx(
        macro, abs=TOLERANCE
    )
    for technique in TECHNIQUES:
        assert_prf(per[technique], reference[technique])


@pytest.mark.parametrize(
    ("change", "gold_count", "predicted_count"),
    [
        (lambda spans: spans[1:], 1, 0),  # a gold span missing
        (lambda spans: [*spans, Span(1, 5, DOUBT)], 0, 1),  # an extra span
        (lambda spans: [*spans, spans[0]], 1, 2),  # a span with one label too many
    ],
)
def test_tc_refuses_spans_that_differ_from_gold(
    change: Callable[[list[Span]], list[Span]], gold_count: int, predicted_count: int
) -> None:
    gold = flc("gold.labels")
    spans = list(gold["738361208"])
    predicted = Annotations({**gold.spans, "738361208": tuple(change(spans))})
    with pytest.raises(SpanMismatchError) as raised:
        score_tc(gold, predicted)
    assert (raised.value.gold_count, raised.value.predicted_count) == (gold_count, predicted_count)
    assert raised.value.article_id == "738361208"
    assert "predicted" in str(raised.value)


def test_tc_refuses_spans_without_technique_and_empty_gold() -> None:
    gold = flc("gold.labels")
    unlabelled = Annotations(
        {aid: tuple(Span(s.start, s.end) for s in spans) for aid, spans in gold.spans.items()}
    )
    with pytest.raises(PropscanError, match="has no technique"):
        score_tc(gold, unlabelled)
    with pytest.raises(PropscanError, match="nothing to score"):
        score_tc(Annotations(), Annotations())


def test_to_si_annotations_reproduces_the_dev_si_gold(corpus_dir: Path) -> None:
    gold_flc = read_labels(corpus_dir / "dev-task-flc-tc.labels", "flc")
    gold_si = read_labels(corpus_dir / "dev-task-si.labels", "si")
    assert to_si_annotations(gold_flc) == gold_si
    assert all(span.technique is None for _, span in to_si_annotations(gold_flc))


def test_to_dict_is_json_ready() -> None:
    scores = score_flc(flc("gold.labels"), flc("pred-merged.labels"))
    as_dict = scores.to_dict()
    assert (as_dict["schema_version"], as_dict["task"], as_dict["f1"]) == (1, "flc", 0.4)
    assert as_dict["per_technique"][DOUBT] == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "predicted_count": 1,
        "gold_count": 1,
    }
    assert "per_technique" not in score_si(flc("gold.labels"), flc("pred-merged.labels")).to_dict()
    tc = score_tc(flc("gold.labels"), flc("pred-tc-wrong.labels")).to_dict()
    assert (tc["task"], tc["micro_f1"], tc["correct"], tc["total"]) == ("tc", 0.625, 5, 8)
    assert set(tc["per_technique"]) == set(TECHNIQUES)


# --- the full dev gold ----------------------------------------------------------------


def _shifted(annotations: Annotations, by: int) -> Annotations:
    return Annotations(
        {
            aid: tuple(Span(s.start + by, s.end + by, s.technique) for s in spans)
            for aid, spans in annotations.spans.items()
        }
    )


def test_full_dev_gold_is_scored_right(real_data_dir: Path) -> None:
    gold = read_labels(real_data_dir / "dev-task-flc-tc.labels", "flc")
    assert len(gold) > 1000
    shifted = _shifted(gold, 3)
    si, flc_scores = score_si(gold, shifted), score_flc(gold, shifted)
    self_scores = (score_si(gold, gold).f1, score_flc(gold, gold).f1, score_tc(gold, gold).micro_f1)
    assert self_scores == (1.0, 1.0, 1.0)
    assert 0.5 < si.f1 < 1.0 and 0.5 < flc_scores.f1 < 1.0
    some = gold.restrict(gold.article_ids[:12])
    assert_matches_brute_force(some, _shifted(some, 3))


# --- properties -----------------------------------------------------------------------

ARTICLE_IDS = ("111", "222", "333")
FEW_TECHNIQUES = (DOUBT, LOADED, SLOGANS)


@st.composite
def span_sets(draw: st.DrawFn, max_spans: int = 12) -> Annotations:
    """Random spans on a few short articles, overlapping, touching and repeated."""
    spans = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ARTICLE_IDS),
                st.integers(0, 60),
                st.integers(1, 20),
                st.sampled_from(FEW_TECHNIQUES),
            ),
            max_size=max_spans,
        )
    )
    return Annotations.from_pairs(
        (article_id, Span(start, start + length, technique))
        for article_id, start, length, technique in spans
    )


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


@PROPERTY_SETTINGS
@given(span_sets(), span_sets())
def test_fast_scorers_equal_the_brute_force_definition(
    gold: Annotations, predicted: Annotations
) -> None:
    assert_matches_brute_force(gold, predicted)


@settings(max_examples=25, deadline=None)
@given(span_sets(), st.randoms(use_true_random=False))
def test_tc_equals_the_aligned_scikit_learn_reference(
    gold: Annotations, rng: random.Random
) -> None:
    if len(gold) == 0:
        return
    predicted = Annotations.from_pairs(
        (article_id, Span(span.start, span.end, rng.choice(FEW_TECHNIQUES)))
        for article_id, span in gold
    )
    scores = score_tc(gold, predicted)
    micro, macro, reference = brute_tc(gold, predicted)
    assert scores.micro_f1 == pytest.approx(micro, abs=TOLERANCE)
    assert (scores.macro.precision, scores.macro.recall, scores.macro_f1) == pytest.approx(
        macro, abs=TOLERANCE
    )
    for technique in TECHNIQUES:
        assert_prf(scores.per_technique[technique], reference[technique])


@PROPERTY_SETTINGS
@given(span_sets())
def test_gold_against_itself_scores_one(gold: Annotations) -> None:
    assert score_si(gold, gold).f1 == 1.0
    assert score_flc(gold, gold).f1 == 1.0
    if len(gold):
        assert score_tc(gold, gold).micro_f1 == 1.0


@PROPERTY_SETTINGS
@given(span_sets())
def test_empty_predictions_have_recall_zero(gold: Annotations) -> None:
    for scores in (score_si(gold, Annotations()), score_flc(gold, Annotations())):
        assert scores.recall == 0.0 and scores.precision == 0.0


@PROPERTY_SETTINGS
@given(span_sets(), span_sets(), st.randoms(use_true_random=False))
def test_line_order_never_matters(
    gold: Annotations, predicted: Annotations, rng: random.Random
) -> None:
    def shuffled(annotations: Annotations) -> Annotations:
        lines = format_labels(annotations, "flc").splitlines(keepends=True)
        rng.shuffle(lines)
        return parse_labels("".join(lines), Path("shuffled.labels"), "flc")

    assert score_si(shuffled(gold), shuffled(predicted)) == score_si(gold, predicted)
    assert score_flc(shuffled(gold), shuffled(predicted)) == score_flc(gold, predicted)
    if len(gold):
        assert score_tc(shuffled(gold), shuffled(gold)) == score_tc(gold, gold)


@PROPERTY_SETTINGS
@given(span_sets(), span_sets(), st.data())
def test_shrinking_a_predicted_span_never_raises_recall(
    gold: Annotations, predicted: Annotations, data: st.DataObject
) -> None:
    pairs = list(predicted)
    if not pairs:
        return
    index = data.draw(st.integers(0, len(pairs) - 1))
    article_id, span = pairs[index]
    start = data.draw(st.integers(span.start, span.end - 1))
    end = data.draw(st.integers(start + 1, span.end))
    pairs[index] = (article_id, Span(start, end, span.technique))
    smaller = Annotations.from_pairs(pairs)
    for scorer in (score_si, score_flc):
        assert scorer(gold, smaller).recall <= scorer(gold, predicted).recall + TOLERANCE


@PROPERTY_SETTINGS
@given(span_sets(), span_sets())
def test_scores_stay_between_zero_and_one(gold: Annotations, predicted: Annotations) -> None:
    scores: list[SpanScores] = [score_si(gold, predicted), score_flc(gold, predicted)]
    prfs = [s.overall for s in scores] + list(scores[1].per_technique.values())
    for prf in prfs:
        for value in (prf.precision, prf.recall, prf.f1):
            assert 0.0 <= value <= 1.0 + TOLERANCE


def test_counts_match_merging() -> None:
    # three spans of one article: two overlap (merged), one only touches (kept apart)
    spans = (Span(0, 10, DOUBT), Span(5, 12, DOUBT), Span(12, 20, DOUBT))
    predicted = Annotations({"111": spans})
    assert score_si(predicted, predicted).predicted_count == 2
    assert Counter(len(s) for s in _merged_sets(list(spans))) == Counter({12: 1, 8: 1})
