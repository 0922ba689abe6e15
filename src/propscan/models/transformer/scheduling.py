"""Scheduling the encoder: every window of every text through it, outputs averaged per token.

Windows overlap, and a token's outputs are averaged over every window that saw it. Texts
go through in groups, and up to ``windows_per_call`` windows of equal length share one
encoder call; calls run side by side on :class:`~propscan.models.transformer.runtime.SideBySide`
when a batch has enough of them, so tokenising and decoding overlap the calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from propscan.core.sentences import sentence_at, split_sentences
from propscan.models.transformer.encoding import (
    TokenizedText,
    Window,
    batch_windows,
    make_windows,
    tokenize,
)
from propscan.models.transformer.heads import sigmoid
from propscan.models.transformer.runtime import EncoderFn, EncoderOutputs, SideBySide

#: The companion's word probabilities of texts: per text, word offsets and probabilities.
CompanionWords = Callable[[Sequence[str]], list[tuple[Any, Any]]]


def sentence_means(text: str, tokens: TokenizedText, probabilities: np.ndarray) -> np.ndarray:
    """Each token gets the mean sentence-head probability of the tokens of its sentence."""
    bounds = split_sentences(text)
    if not bounds or not len(tokens):
        return probabilities
    starts = np.asarray([start for start, _ in bounds])
    sentence = sentence_at(starts, tokens.offsets[:, 0])
    totals = np.bincount(sentence, weights=probabilities, minlength=len(bounds))
    sizes = np.bincount(sentence, minlength=len(bounds))
    return (totals / np.maximum(sizes, 1))[sentence].astype(np.float32)


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


#: Texts tokenised and started together by :meth:`WindowedEncoder.encode`: enough
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


@dataclass
class WindowedEncoder:
    """An encoder run over overlapping windows of whole texts (see the module docstring).

    ``calls_mix_texts``: whether windows of different texts may share a call (exact per
    window only when the encoder is; dynamically quantised encoders are not).
    """

    tokenizer: Any
    encoder: EncoderFn
    special: tuple[int, int, int]  # [CLS], [SEP], [PAD]
    window_tokens: int
    window_stride: int
    techniques: int
    windows_per_call: int = 1
    calls_mix_texts: bool = True
    side_by_side: SideBySide | None = None
    companion_words: CompanionWords | None = None

    def encode(self, texts: Sequence[str]) -> list[TokenOutputs]:
        """Outputs of every text, batching windows across texts."""
        return list(self.encode_each(texts))

    def encode_each(self, texts: Sequence[str]) -> Iterator[TokenOutputs]:
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
            for window in make_windows(len(tokens), self.window_tokens, self.window_stride)
        ]
        return _Group(
            texts,
            tokenized,
            self._calls(jobs),
            self._companion_token_probabilities(texts, tokenized),
            self.special,
        )

    def _read(self, group: _Group, calls: Sequence[_Pending]) -> Iterator[TokenOutputs]:
        """The outputs of a group's texts, in order, each once its calls are read back."""
        sums = _WindowSums(group.tokenized, self.techniques)
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
        if self.companion_words is None:
            return [None] * len(texts)
        found = self.companion_words(texts)
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
