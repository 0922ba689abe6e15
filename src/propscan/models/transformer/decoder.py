"""The transformer's decoding choices: token probabilities into labelled spans.

A :class:`SpanDecoder` is built from :class:`~propscan.models.decoding.DecodingSettings`
and the model's heads; it never changes, so the tuner builds one per candidate setting
and the detector keeps the one of its ``model.json``. The rules themselves (runs,
trimming, calibration, labels) are the shared ones of :mod:`propscan.models.decoding`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from propscan.core.spans import Span
from propscan.core.techniques import REPETITION, TechniqueSet
from propscan.errors import PropscanError
from propscan.models.base import Prediction, TokenScores
from propscan.models.baseline.detector import BaselineDetector
from propscan.models.decoding import (
    Calibration,
    Candidate,
    decode_subword_spans,
    fragments_within,
    label_top_two,
    prior_adjusted,
    repetition_rules,
    technique_fragments,
)
from propscan.models.decoding_settings import DecodingSettings
from propscan.models.repetition import RepetitionIndex
from propscan.models.transformer.encoding import token_ranges
from propscan.models.transformer.heads import SpanHead, span_features, span_representations
from propscan.models.transformer.scheduling import TokenOutputs

#: Decimals of span scores: float noise below them never reaches the output.
SCORE_DIGITS = 6


@dataclass(frozen=True)
class SpanDecoder:
    """Spans with techniques from one text's encoder outputs, under fixed settings."""

    settings: DecodingSettings
    techniques: TechniqueSet
    span_head: SpanHead
    companion: BaselineDetector | None = None

    def __post_init__(self) -> None:
        prior = self.settings.technique_prior
        if prior and (len(prior) != len(self.techniques) or min(prior) <= 0.0):
            raise PropscanError(
                f"decoding setting 'technique_prior' must hold one positive share per "
                f"technique of the model ({len(self.techniques)}), not {list(prior)}"
            )

    def with_settings(self, settings: DecodingSettings) -> SpanDecoder:
        """This decoder's heads under other settings (what the tuner tries)."""
        return replace(self, settings=settings)

    def token_probabilities(self, outputs: TokenOutputs) -> np.ndarray:
        """Per-token propaganda probability, mixed with the companion's when it has a share
        and gated by the sentence head's probability when the gate is on."""
        weight = self.settings.companion_si_weight
        probabilities = outputs.si_prob
        if outputs.companion_si_prob is not None and weight > 0.0:
            probabilities = (1.0 - weight) * probabilities + weight * outputs.companion_si_prob
        gate = self.settings.sentence_gate
        if outputs.sentence_prob is not None and gate > 0.0:
            probabilities = probabilities * outputs.sentence_prob**gate
        return probabilities

    def technique_probabilities(
        self,
        text: str,
        outputs: TokenOutputs,
        spans: Sequence[Span],
        repetition: RepetitionIndex | None = None,
    ) -> np.ndarray:
        """Technique distribution [len(spans), K] for character spans of an encoded text.

        ``repetition`` counts recurrences over a larger article that ``text`` is a section
        of (else over ``text`` itself).
        """
        if not spans:
            return np.zeros((0, len(self.techniques)), dtype=np.float32)
        index = RepetitionIndex.of(text) if repetition is None else repetition
        # one count per span serves its features and the Repetition rules
        repeats = np.array([index.repeats(span.start, span.end) for span in spans], dtype=int)
        probabilities = self.span_head_probabilities(outputs, spans, repeats)
        weight = self.settings.companion_technique_weight
        if self.companion is not None and weight > 0.0:
            companion = self.companion.technique_model.probabilities(
                text, list(spans), self.techniques
            )
            probabilities = (1.0 - weight) * probabilities + weight * companion
        probabilities = prior_adjusted(
            probabilities, self.settings.technique_prior, self.settings.technique_prior_weight
        )
        if REPETITION in self.techniques:
            probabilities = repetition_rules(
                probabilities,
                repeats,
                self.techniques.index(REPETITION),
                needs_recurrence=self.settings.repetition_needs_recurrence,
                min_repeats=self.settings.repetition_min_repeats,
            )
        return probabilities

    def span_head_probabilities(
        self, outputs: TokenOutputs, spans: Sequence[Span], repeats: np.ndarray
    ) -> np.ndarray:
        """The span head's technique distribution [len(spans), K] alone (no companion, no
        Repetition rules); ``repeats`` counts each span's recurrences in its article."""
        first, last = token_ranges(outputs.tokens.offsets, spans)
        covered = last > first  # a span over no token gets a representation of zeros
        rows = np.zeros((len(spans), self.span_head.w1.shape[1]))
        rows[covered] = span_representations(
            outputs.hidden,
            first[covered],
            last[covered],
            span_features(repeats[covered], (last - first)[covered]),
        )
        return self.span_head(rows)

    def _thresholds(self, threshold: float | None) -> tuple[float, float]:
        """The token threshold that starts phrases and the decision threshold that keeps them.

        Models with a ``token_threshold`` start phrases at it and keep those whose
        calibrated probability reaches the decision threshold; older models decide on runs
        at the decision threshold itself. A ``threshold`` below the tuned one also starts
        phrases lower, in proportion, so that lower finds more; the tuned value itself,
        given explicitly, decodes exactly as giving none does.
        """
        tuned = self.settings.si_threshold
        decision = tuned if threshold is None else threshold
        token_threshold = self.settings.token_threshold
        if token_threshold is None:
            return decision, 0.0
        if threshold is not None and threshold < tuned:
            token_threshold *= threshold / tuned
        return token_threshold, decision

    def runs(
        self,
        text: str,
        outputs: TokenOutputs,
        token_threshold: float,
        probabilities: np.ndarray,
        max_gap: int,
    ) -> list[Candidate]:
        """Candidate phrases at ``token_threshold`` with this decoder's edge rules, before
        calibration and the decision (tuning fits the calibration on them)."""
        settings = self.settings
        return decode_subword_spans(
            text,
            outputs.tokens.offsets,
            probabilities,
            token_threshold,
            max_gap=max_gap,
            min_characters=settings.min_characters,
            trim_function_words=settings.trim_function_words,
            whole_words=settings.whole_words,
            complete_phrases=settings.complete_phrases,
        )

    def phrases(
        self,
        text: str,
        outputs: TokenOutputs,
        threshold: float | None = None,
        probabilities: np.ndarray | None = None,
    ) -> list[Candidate]:
        """Candidate phrases with the score their decision is made on, kept at ``threshold``.

        ``probabilities`` are :meth:`token_probabilities` when the caller has them already.
        """
        token_threshold, decision = self._thresholds(threshold)
        calibration = Calibration(*self.settings.calibration)
        found = []
        for candidate in self.runs(
            text,
            outputs,
            token_threshold,
            self.token_probabilities(outputs) if probabilities is None else probabilities,
            self.settings.merge_gap,
        ):
            score = calibration(candidate.confidence, candidate.end - candidate.start)
            if score >= decision:
                found.append(candidate._replace(confidence=score))
        return found

    def fragments(
        self,
        text: str,
        outputs: TokenOutputs,
        found: Sequence[Candidate],
        probabilities: np.ndarray,
        threshold: float | None = None,
    ) -> list[tuple[int, Candidate]]:
        """``(phrase index, fragment)``: the runs at ``fragment_gap`` inside the phrases
        ``found`` (none when fragments are off or phrases are not merged wider)."""
        gap = self.settings.fragment_gap
        if gap < 0 or not found or 0 <= self.settings.merge_gap <= gap:
            return []
        token_threshold, _ = self._thresholds(threshold)
        return fragments_within(
            found, self.runs(text, outputs, token_threshold, probabilities, gap)
        )

    def decode(
        self,
        text: str,
        outputs: TokenOutputs,
        threshold: float | None = None,
        repetition: RepetitionIndex | None = None,
    ) -> Prediction:
        """Phrases kept at the threshold (the tuned one when None), labelled by the span
        head, with the technique fragments inside them."""
        si_prob = self.token_probabilities(outputs)
        token_scores = TokenScores(outputs.tokens.offsets, si_prob.astype(np.float64))
        found = self.phrases(text, outputs, threshold, si_prob)
        inside = self.fragments(text, outputs, found, si_prob, threshold)
        # one technique pass (and one Repetition index) serves the phrases and fragments
        rows = self.technique_probabilities(
            text,
            outputs,
            [c.span for c in found] + [fragment.span for _, fragment in inside],
            RepetitionIndex.of(text) if repetition is None else repetition,
        )
        phrase_rows = rows[: len(found)]
        spans = label_top_two(
            found,
            phrase_rows,
            self.techniques,
            self.settings.second_technique_threshold,
            digits=SCORE_DIGITS,
            scale_by_technique=self.settings.token_threshold is None,
        )
        spans = technique_fragments(
            found,
            spans,
            phrase_rows,
            inside,
            rows[len(found) :],
            self.techniques,
            self.settings.handover_share,
            digits=SCORE_DIGITS,
        )
        return Prediction(spans=tuple(sorted(spans)), token_scores=token_scores)
