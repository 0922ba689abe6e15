"""The transformer detector: onnxruntime encoder, numpy heads, the shared span decoder.

The exported graph maps ``input_ids``/``attention_mask`` to per-token propaganda
logits, per-token technique logits, hidden states and (in models trained since the
sentence head) per-token "my sentence holds propaganda" logits; the span classifier
(a small MLP over boundary and mean token states plus document features) runs in
numpy. Windows overlap, and token outputs are averaged over every window that saw them.
Phrases are decoded by :mod:`propscan.models.decoding` with the settings of ``model.json``.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike
from threadpoolctl import ThreadpoolController

from propscan.core.checks import check_threshold
from propscan.core.sentences import sections, split_sentences
from propscan.core.spans import Span
from propscan.core.techniques import TECHNIQUES
from propscan.errors import PropscanError
from propscan.models.base import Prediction, TokenScores, read_model_config, write_model_config
from propscan.models.baseline.detector import BaselineDetector
from propscan.models.decoding import (
    Calibration,
    Candidate,
    DecodingSettings,
    decode_subword_spans,
    fragments_within,
    label_top_two,
    repetition_rules,
    technique_fragments,
)
from propscan.models.repetition import RepetitionIndex
from propscan.models.transformer.encoding import (
    TokenizedText,
    Window,
    batch_windows,
    load_tokenizer,
    make_windows,
    token_ranges,
    tokenize,
)
from propscan.models.transformer.runtime import (
    EncoderFn,
    EncoderOutputs,
    SideBySide,
    available_cores,
    onnx_encoder,
    requested_threads,
)

KIND = "transformer"
#: Name and version of the model that ``propscan train`` makes (the shipped one).
MODEL_NAME = "propscan-minilm"
MODEL_VERSION = "0.3.1"
ENCODER_FILE = "encoder.onnx"
SPAN_HEAD_FILE = "span_head.npz"
#: Sub-directory holding the classical companion model whose probabilities are mixed in.
COMPANION_DIR = "baseline"
#: Decimals of span scores: float noise below them never reaches the output.
SCORE_DIGITS = 6
#: Texts longer than this (in characters) are analysed in sections of at most this size,
#: so memory stays bounded: a section's hidden states take about 70 MB.
SECTION_CHARS = 100_000


@dataclass
class TokenOutputs:
    """Encoder outputs of one text, averaged over overlapping windows."""

    tokens: TokenizedText
    si_prob: np.ndarray  # [n]
    technique_prob: np.ndarray  # [n, K]
    hidden: np.ndarray  # [n, H]
    companion_si_prob: np.ndarray | None = None  # [n], the companion's word probabilities
    #: [n], the sentence head's probability at each token (None for models without one)
    sentence_token_prob: np.ndarray | None = None
    text: str = ""  # the text the tokens are of

    @functools.cached_property
    def sentence_prob(self) -> np.ndarray | None:
        """[n], probability that the token's sentence holds propaganda (mean over the
        sentence); found on first use, as decoding needs it only with the sentence gate on."""
        if self.sentence_token_prob is None:
            return None
        return sentence_means(self.text, self.tokens, self.sentence_token_prob)


@functools.lru_cache(maxsize=1)
def _thread_pools(modules_loaded: int) -> ThreadpoolController:
    """The BLAS and OpenMP pools loaded in this process, found again only when modules
    were imported since (an import may load a new pool; finding them takes milliseconds)."""
    return ThreadpoolController()


def one_thread_per_pool() -> Any:
    """A context in which numpy's BLAS and OpenMP pools run one thread each.

    onnxruntime runs the encoder on its own pool. The numpy and scikit-learn work between
    encoder calls is small, but multi-threaded BLAS pools keep spinning after each call
    and take the cores from onnxruntime; with one thread each, analysing one article at a
    time ran 1.4x faster on 2 cores (``benchmarks/speed.py``). One thread also fixes the
    order of every BLAS sum. The pools get their earlier sizes back when the context ends.
    """
    return _thread_pools(len(sys.modules)).limit(limits=1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form; ``x * x * x`` as torch computes it (numpy's ``x**3`` took 8x longer)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * (x * x * x))))


def softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def span_features(repeats: ArrayLike, n_tokens: ArrayLike) -> np.ndarray:
    """Document-level features of a span: its length and how often it recurs in the article
    (``[3]`` for one span, ``[n, 3]`` for arrays of ``n``).

    Repetition is a document-level technique that a window-bound encoder cannot see;
    ``repeats`` comes from the article's :class:`RepetitionIndex`, built once, so each
    span costs O(span).
    """
    repeats, n_tokens = np.asarray(repeats), np.asarray(n_tokens)
    columns = (np.log1p(n_tokens) / 4.0, np.log1p(repeats), (repeats > 0).astype(np.float64))
    return np.stack(columns, axis=-1).astype(np.float32)


def sentence_means(text: str, tokens: TokenizedText, probabilities: np.ndarray) -> np.ndarray:
    """Each token gets the mean sentence-head probability of the tokens of its sentence."""
    bounds = split_sentences(text)
    if not bounds or not len(tokens):
        return probabilities
    starts = np.asarray([start for start, _ in bounds])
    sentence = np.clip(np.searchsorted(starts, tokens.offsets[:, 0], side="right") - 1, 0, None)
    totals = np.bincount(sentence, weights=probabilities, minlength=len(bounds))
    sizes = np.bincount(sentence, minlength=len(bounds))
    return (totals / np.maximum(sizes, 1))[sentence].astype(np.float32)


N_SPAN_FEATURES = 3


def span_representations(
    hidden: np.ndarray, first: np.ndarray, last: np.ndarray, features: np.ndarray
) -> np.ndarray:
    """Boundary states, mean state and document features of tokens ``[first, last)`` of
    each span (float64 rows for the span head; every span covers a token)."""
    if not len(first):
        return np.zeros((0, 3 * hidden.shape[1] + N_SPAN_FEATURES))
    means = np.stack([hidden[f:t].mean(axis=0) for f, t in zip(first, last, strict=True)])
    parts = [hidden[first], hidden[last - 1], means, features]
    return np.concatenate(parts, axis=1, dtype=np.float64)


@dataclass(frozen=True)
class SpanHead:
    """Two-layer MLP classifying a span representation into techniques.

    Runs in float64: BLAS sums in an order that depends on its thread count, and float32
    rounding would then let scores differ between a single process and Dask workers.
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def __call__(self, representations: np.ndarray) -> np.ndarray:
        hidden = gelu_tanh(representations @ self.w1.T + self.b1)
        return softmax(hidden @ self.w2.T + self.b2)

    def save(self, path: Path) -> None:
        np.savez(path, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2)

    @classmethod
    def load(cls, path: Path) -> SpanHead:
        with np.load(path) as weights:
            return cls(
                **{name: weights[name].astype(np.float64) for name in ("w1", "b1", "w2", "b2")}
            )


#: Texts tokenised and started together by :meth:`TransformerDetector.encode`: enough
#: that one tokeniser call and one companion featurisation serve several articles, few
#: enough that the first outputs come back soon.
TEXTS_PER_GROUP = 8


@dataclass(frozen=True)
class _Group:
    """Texts tokenised together, with their encoder calls (windows as ``(text, window)``)."""

    texts: Sequence[str]
    tokenized: list[TokenizedText]
    calls: list[list[tuple[int, Window]]]
    companion_words: list[np.ndarray | None]
    special: tuple[int, int, int]  # [CLS], [SEP], [PAD]

    def inputs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(input_ids, attention_mask)`` of each call."""
        for chunk in self.calls:
            ids = [self.tokenized[i].ids[w.start : w.end] for i, w in chunk]
            yield batch_windows(ids, *self.special)


class _Pending(Protocol):
    """A started encoder call: a future of the side-by-side workers, or a deferred call."""

    def result(self) -> EncoderOutputs: ...


class _Deferred:
    """An encoder call made when its result is asked for (calls one at a time)."""

    def __init__(self, encoder: EncoderFn, input_ids: np.ndarray, mask: np.ndarray) -> None:
        self.call = functools.partial(encoder, input_ids, mask)

    def result(self) -> EncoderOutputs:
        return self.call()


class _WindowSums:
    """Encoder outputs of each text, summed over the windows that saw each token."""

    def __init__(self, tokenized: Sequence[TokenizedText], techniques: int) -> None:
        self.tokenized = tokenized
        self.techniques = techniques
        self.sums: list[list[np.ndarray] | None] = [None] * len(tokenized)
        self.counts = [np.zeros(len(tokens), dtype=np.float32) for tokens in tokenized]
        self.has_sentence_head = False

    def add(self, chunk: Sequence[tuple[int, Window]], outputs: EncoderOutputs) -> None:
        """Add the outputs of one call, whose rows are the windows of ``chunk``."""
        si, technique, hidden, sentence = outputs
        self.has_sentence_head = sentence is not None
        if sentence is None:
            sentence = np.zeros_like(si)
        for row, (i, window) in enumerate(chunk):
            n = window.end - window.start
            parts = (
                si[row, 1 : n + 1],
                technique[row, 1 : n + 1],
                hidden[row, 1 : n + 1],
                sentence[row, 1 : n + 1],
            )
            sums = self.sums[i]
            if sums is None:
                n_all = len(self.tokenized[i])
                sums = self.sums[i] = [
                    np.zeros(n_all, dtype=np.float32),
                    np.zeros((n_all, technique.shape[-1]), dtype=np.float32),
                    np.zeros((n_all, hidden.shape[-1]), dtype=np.float32),
                    np.zeros(n_all, dtype=np.float32),
                ]
            for total, part in zip(sums, parts, strict=True):
                total[window.start : window.end] += part
            self.counts[i][window.start : window.end] += 1

    def outputs(self, i: int, text: str, companion_si: np.ndarray | None) -> TokenOutputs:
        """Text ``i``'s outputs, averaged (its sums are handed over, not copied)."""
        tokens = self.tokenized[i]
        sums, self.sums[i] = self.sums[i], None
        if sums is None:
            empty = np.zeros(0, dtype=np.float32)
            return TokenOutputs(tokens, empty, np.zeros((0, self.techniques)), empty)
        si_sum, technique_sum, hidden_sum, sentence_sum = sums
        c = self.counts[i]
        overlapped = c > 1  # the hidden sums are averaged in place, where windows overlap
        hidden_sum[overlapped] /= c[overlapped, None]
        return TokenOutputs(
            tokens,
            sigmoid(si_sum / c),
            sigmoid(technique_sum / c[:, None]),
            hidden_sum,
            companion_si,
            sigmoid(sentence_sum / c) if self.has_sentence_head else None,
            text,
        )


class TransformerDetector:
    """The transformer detector behind ``propscan analyze`` (kind ``"transformer"``)."""

    def __init__(
        self,
        tokenizer: Any,
        encoder: EncoderFn,
        span_head: SpanHead,
        config: dict[str, Any],
        directory: Path | None = None,
        companion: BaselineDetector | None = None,
        side_by_side: SideBySide | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.companion = companion
        self.encoder = encoder
        #: where a batch's many encoder calls run, one per core (None: one at a time)
        self.side_by_side = side_by_side
        self.span_head = span_head
        self.config = config
        self.directory = directory
        self.name: str = config.get("name", "propscan-transformer")
        self.version: str = config.get("version", "0")
        self.settings = DecodingSettings.from_config(config.get("decoding", {}))
        self.techniques: tuple[str, ...] = tuple(config.get("techniques", TECHNIQUES))
        special = config["special_tokens"]
        self._cls, self._sep, self._pad = special["cls"], special["sep"], special["pad"]
        # Up to ``windows_per_call`` windows of equal length (no padding) share an encoder
        # call. Dynamic int8 quantisation scales activations over the whole input tensor,
        # so those models batch only the windows of one text (else an article's spans
        # would depend on its neighbours); fp32 and statically quantised models, exact per
        # window, batch windows of different texts too.
        self.windows_per_call: int = max(1, int(config.get("windows_per_call", 1)))
        quantization = config.get("quantization", {}).get("kind", "dynamic")
        self.calls_mix_texts: bool = not config.get("quantized") or quantization == "static"

    # -- loading and saving -------------------------------------------------------------
    @classmethod
    def load(
        cls, directory: str | os.PathLike[str], threads: int | None = None
    ) -> TransformerDetector:
        """Load a model directory; ``threads`` (else ``$PROPSCAN_THREADS``) caps onnxruntime."""
        path = Path(directory)
        config = read_model_config(path)
        threads = requested_threads(threads)
        encoder = onnx_encoder(path / ENCODER_FILE, threads)
        workers = threads or available_cores()
        side_by_side = None
        if workers > 1:
            side_by_side = SideBySide(lambda: onnx_encoder(path / ENCODER_FILE, 1), workers)
        companion = None
        if (path / COMPANION_DIR / "model.json").is_file():
            companion = BaselineDetector.load(path / COMPANION_DIR)
        return cls(
            load_tokenizer(path),
            encoder,
            SpanHead.load(path / SPAN_HEAD_FILE),
            config,
            path,
            companion,
            side_by_side,
        )

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Copy this model's files to ``directory`` (a model is written by training/export)."""
        if self.directory is None:
            raise PropscanError(
                "this model was not loaded from disk; export it with 'propscan train'"
            )
        target = Path(directory)
        if target.resolve() != self.directory.resolve():
            target.mkdir(parents=True, exist_ok=True)
            for item in self.directory.iterdir():
                if item.is_file():
                    shutil.copy2(item, target / item.name)
            if self.companion is not None:
                self.companion.save(target / COMPANION_DIR)
        write_model_config(target, self.config)
        return target

    # -- encoder passes -----------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> list[TokenOutputs]:
        """Run every window of every text through the encoder, batching across texts."""
        return list(self._encode_each(texts))

    def _encode_each(self, texts: Sequence[str]) -> Iterator[TokenOutputs]:
        """:meth:`encode`, each text's outputs given as soon as its calls are read back.

        Texts go through in groups: a group's calls are started, then the next group is
        tokenised and its calls started, and only then are the first group's outputs read
        back and handed on. When calls run side by side, the tokenising, the companion's
        features and the caller's decoding of each text overlap the calls after it.
        """
        starts = range(0, len(texts), TEXTS_PER_GROUP)
        groups = (self._plan(texts[i : i + TEXTS_PER_GROUP]) for i in starts)
        first = next(groups, None)
        if first is None:
            return
        side_by_side = self.side_by_side
        if side_by_side is not None and (
            len(texts) > TEXTS_PER_GROUP or side_by_side.worth_it(len(first.calls))
        ):
            start: Callable[[np.ndarray, np.ndarray], _Pending] = side_by_side.submit
        else:
            start = functools.partial(_Deferred, self.encoder)
        started = [(first, [start(*call) for call in first.inputs()])]
        for group in groups:
            started.append((group, [start(*call) for call in group.inputs()]))
            yield from self._read(*started.pop(0))
        for group, calls in started:
            yield from self._read(group, calls)

    def _plan(self, texts: Sequence[str]) -> _Group:
        """A group of texts tokenised, with their encoder calls and companion word scores."""
        tokenized = tokenize(self.tokenizer, texts)
        jobs = [
            (index, window)
            for index, tokens in enumerate(tokenized)
            for window in make_windows(
                len(tokens),
                self.settings.window_tokens,
                self.settings.window_stride,
                self.settings.balanced_windows,
            )
        ]
        return _Group(
            texts,
            tokenized,
            self._calls(jobs),
            self._companion_token_probabilities(texts, tokenized),
            (self._cls, self._sep, self._pad),
        )

    def _read(self, group: _Group, calls: Sequence[_Pending]) -> Iterator[TokenOutputs]:
        """The outputs of a group's texts, in order, each once its calls are read back."""
        sums = _WindowSums(group.tokenized, len(self.techniques))
        calls_left = [0] * len(group.texts)
        for chunk in group.calls:
            for i in {i for i, _ in chunk}:
                calls_left[i] += 1
        ready = 0
        for chunk, call in zip(group.calls, calls, strict=True):
            sums.add(chunk, call.result())
            for i in {i for i, _ in chunk}:
                calls_left[i] -= 1
            while ready < len(group.texts) and not calls_left[ready]:
                yield sums.outputs(ready, group.texts[ready], group.companion_words[ready])
                ready += 1
        for i in range(ready, len(group.texts)):
            yield sums.outputs(i, group.texts[i], group.companion_words[i])

    def _calls(self, jobs: list[tuple[int, Window]]) -> list[list[tuple[int, Window]]]:
        """Windows grouped into encoder calls of at most ``windows_per_call`` equal lengths
        (of one text unless :attr:`calls_mix_texts`).

        Equal lengths mean no padding; the stable sort keeps each article's windows in
        order, so sums add up the same way.
        """
        size = self.windows_per_call
        if size == 1:
            return [[job] for job in jobs]

        def group(job: tuple[int, Window]) -> tuple[int, int]:
            return (0 if self.calls_mix_texts else job[0], job[1].end - job[1].start)

        calls: list[list[tuple[int, Window]]] = []
        for job in sorted(jobs, key=group):
            last = calls[-1] if calls else None
            if last and len(last) < size and group(last[0]) == group(job):
                last.append(job)
            else:
                calls.append([job])
        return calls

    def _companion_token_probabilities(
        self, texts: Sequence[str], tokenized: Sequence[TokenizedText]
    ) -> list[np.ndarray | None]:
        """The companion's word probabilities, given to each sub-word token of the word."""
        if self.companion is None:
            return [None] * len(texts)
        found = self.companion.span_model.token_probabilities_of(texts)
        probabilities: list[np.ndarray | None] = []
        for tokens, (words, word_probabilities) in zip(tokenized, found, strict=True):
            if not len(tokens):
                probabilities.append(None)
            elif not len(words):
                probabilities.append(np.zeros(len(tokens), dtype=np.float32))
            else:
                starts = tokens.offsets[:, 0]
                index = np.clip(np.searchsorted(words.starts, starts, side="right") - 1, 0, None)
                probabilities.append(np.asarray(word_probabilities, dtype=np.float32)[index])
        return probabilities

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

    # -- the Detector protocol ----------------------------------------------------------
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
        first, last = token_ranges(outputs.tokens.offsets, spans)
        covered = last > first  # a span over no token gets a representation of zeros
        rows = np.zeros((len(spans), self.span_head.w1.shape[1]))
        rows[covered] = span_representations(
            outputs.hidden,
            first[covered],
            last[covered],
            span_features(repeats[covered], (last - first)[covered]),
        )
        probabilities = self.span_head(rows)
        weight = self.settings.companion_technique_weight
        if self.companion is not None and weight > 0.0:
            companion = self.companion.technique_model.probabilities(text, list(spans))
            probabilities = (1.0 - weight) * probabilities + weight * companion
        if "Repetition" in self.techniques:
            probabilities = repetition_rules(
                probabilities,
                repeats,
                self.techniques.index("Repetition"),
                needs_recurrence=self.settings.repetition_needs_recurrence,
                min_repeats=self.settings.repetition_min_repeats,
            )
        return probabilities

    def _thresholds(self, threshold: float | None) -> tuple[float, float]:
        """The token threshold that starts phrases and the decision threshold that keeps them.

        Models with a ``token_threshold`` start phrases at it and keep those whose
        calibrated probability reaches the decision threshold (a ``threshold`` below the
        token threshold also starts phrases lower, so that lower always finds more);
        older models decide on runs at the decision threshold itself.
        """
        decision = self.settings.si_threshold if threshold is None else threshold
        token_threshold = self.settings.token_threshold
        if token_threshold is None:
            return decision, 0.0
        if threshold is not None:
            token_threshold = min(token_threshold, threshold)
        return token_threshold, decision

    def _runs(
        self,
        text: str,
        outputs: TokenOutputs,
        token_threshold: float,
        probabilities: np.ndarray,
        max_gap: int,
    ) -> list[Candidate]:
        settings = self.settings
        return decode_subword_spans(
            text,
            outputs.tokens.offsets,
            probabilities,
            token_threshold,
            max_gap=max_gap,
            min_characters=settings.min_characters,
            trim_function_words=settings.trim_function_words,
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
        for candidate in self._runs(
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
            found, self._runs(text, outputs, token_threshold, probabilities, gap)
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

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        """Spans of every text; ``threshold`` (0..1) overrides the tuned one.

        Texts longer than :data:`SECTION_CHARS` are analysed a section at a time.
        """
        checked = check_threshold(threshold)
        short = [text for text in texts if len(text) <= SECTION_CHARS]
        with one_thread_per_pool():
            encoded = self._encode_each(short)
            return [
                self.decode(text, next(encoded), checked)
                if len(text) <= SECTION_CHARS
                else self._predict_in_sections(text, checked)
                for text in texts
            ]

    def _predict_in_sections(self, text: str, threshold: float | None) -> Prediction:
        """One long text, encoded and decoded a section at a time (memory O(section)).

        Windows and phrases stay inside a section; Repetition is still counted over the
        whole text. The encoder's per-token outputs of a section (a hidden state of
        :math:`H` floats per token) are dropped before the next one is encoded.
        """
        repetition = RepetitionIndex.of(text)
        spans: list[Span] = []
        offsets, scores = [np.zeros((0, 2), dtype=np.int64)], [np.zeros(0)]
        for start, end in sections(text, SECTION_CHARS):
            piece = text[start:end]
            outputs = self.encode([piece])[0]
            found = self.decode(piece, outputs, threshold, repetition.shifted(start))
            spans += (replace(s, start=s.start + start, end=s.end + start) for s in found.spans)
            offsets.append(found.token_scores.offsets + start)
            scores.append(found.token_scores.scores)
        token_scores = TokenScores(np.concatenate(offsets), np.concatenate(scores))
        return Prediction(spans=tuple(sorted(spans)), token_scores=token_scores)

    def classify(self, text: str, spans: Sequence[Span]) -> list[dict[str, float]]:
        """Probability of each technique for each given span of ``text`` (the TC task)."""
        for span in spans:
            span.check_within(text)
        with one_thread_per_pool():
            outputs = self.encode([text])[0]
            probabilities = self.technique_probabilities(text, outputs, spans)
        return [
            {label: float(p) for label, p in zip(self.techniques, row, strict=True)}
            for row in probabilities
        ]
