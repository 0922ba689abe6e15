"""The transformer detector: an onnxruntime encoder over windows, numpy heads, the span decoder.

The exported graph maps ``input_ids``/``attention_mask`` to per-token propaganda
logits, per-token technique logits, hidden states and (in models trained since the
sentence head) per-token "my sentence holds propaganda" logits. The detector loads a
model directory and wires three parts: :class:`~.scheduling.WindowedEncoder` runs the
encoder over overlapping windows, :class:`~.heads.SpanHead` classifies spans in numpy,
and :class:`~.decoder.SpanDecoder` turns probabilities into spans with the settings of
``model.json``.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from propscan.core.sentences import sections
from propscan.core.spans import Span
from propscan.core.techniques import TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.models.base import Prediction, TokenScores, read_model_config, write_model_config
from propscan.models.baseline.detector import BaselineDetector
from propscan.models.decoding_settings import DecodingSettings
from propscan.models.repetition import RepetitionIndex
from propscan.models.transformer.decoder import SpanDecoder
from propscan.models.transformer.encoding import load_tokenizer
from propscan.models.transformer.heads import SpanHead
from propscan.models.transformer.runtime import (
    EncoderFn,
    SideBySide,
    available_cores,
    onnx_encoder,
    requested_threads,
)
from propscan.models.transformer.scheduling import TokenOutputs, WindowedEncoder

KIND = "transformer"
#: Name and version of the model that ``propscan train`` makes (the shipped one).
MODEL_NAME = "propscan-minilm"
MODEL_VERSION = "0.3.3"
ENCODER_FILE = "encoder.onnx"
SPAN_HEAD_FILE = "span_head.npz"
#: Sub-directory holding the classical companion model whose probabilities are mixed in.
COMPANION_DIR = "baseline"
#: Texts longer than this (in characters) are analysed in sections of at most this size,
#: so memory stays bounded: a section's hidden states take about 70 MB.
SECTION_CHARS = 100_000


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


def load_companion(directory: Path) -> BaselineDetector | None:
    """The classical companion stored with a model, if it has one."""
    if (directory / COMPANION_DIR / "model.json").is_file():
        return BaselineDetector.load(directory / COMPANION_DIR)
    return None


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
        self.config = config
        self.directory = directory
        self.name: str = config.get("name", "propscan-transformer")
        self.version: str = config.get("version", "0")
        self.techniques: TechniqueSet = technique_set(config.get("techniques"))
        self.companion = companion
        self.decoder = SpanDecoder(
            DecodingSettings.from_config(config.get("decoding", {})),
            self.techniques,
            span_head,
            companion,
        )
        special = config["special_tokens"]
        # Up to ``windows_per_call`` windows of equal length (no padding) share an encoder
        # call. Dynamic int8 quantisation scales activations over the whole input tensor,
        # so those models batch only the windows of one text (else an article's spans
        # would depend on its neighbours); fp32 models, exact per window, batch windows of
        # different texts too.
        self.windowed = WindowedEncoder(
            tokenizer,
            encoder,
            (special["cls"], special["sep"], special["pad"]),
            self.settings.window_tokens,
            self.settings.window_stride,
            len(self.techniques),
            windows_per_call=max(1, int(config.get("windows_per_call", 1))),
            calls_mix_texts=not config.get("quantized"),
            side_by_side=side_by_side,
            companion_words=None
            if companion is None
            else companion.span_model.token_probabilities_of,
        )

    @property
    def settings(self) -> DecodingSettings:
        """The decoding settings of ``model.json``."""
        return self.decoder.settings

    @property
    def decision_threshold(self) -> float:
        """The tuned threshold on a span's calibrated score (``si_threshold``)."""
        return self.settings.si_threshold

    # -- loading and saving -------------------------------------------------------------
    @classmethod
    def load(
        cls, directory: str | os.PathLike[str], threads: int | None = None
    ) -> TransformerDetector:
        """Load a model directory; ``threads`` (else ``$PROPSCAN_THREADS``) caps onnxruntime."""
        path = Path(directory)
        return cls.assemble(path, read_model_config(path), load_companion(path), threads)

    @classmethod
    def assemble(
        cls,
        directory: Path,
        config: dict[str, Any],
        companion: BaselineDetector | None = None,
        threads: int | None = None,
    ) -> TransformerDetector:
        """The detector of the encoder, span head and tokenizer files in ``directory`` with
        ``config`` (what training tunes before it writes ``model.json``)."""
        threads = requested_threads(threads)
        encoder = onnx_encoder(directory / ENCODER_FILE, threads)
        workers = threads or available_cores()
        side_by_side = None
        if workers > 1:
            side_by_side = SideBySide(lambda: onnx_encoder(directory / ENCODER_FILE, 1), workers)
        return cls(
            load_tokenizer(directory),
            encoder,
            SpanHead.load(directory / SPAN_HEAD_FILE),
            config,
            directory,
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
        return self.windowed.encode(texts)

    # -- the Detector protocol ----------------------------------------------------------
    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        """Spans of every text; ``threshold`` (0..1, checked by the caller) overrides the
        tuned one.

        Texts longer than :data:`SECTION_CHARS` are analysed a section at a time.
        """
        short = [text for text in texts if len(text) <= SECTION_CHARS]
        with one_thread_per_pool():
            encoded = self.windowed.encode_each(short)
            return [
                self.decoder.decode(text, next(encoded), threshold)
                if len(text) <= SECTION_CHARS
                else self._predict_in_sections(text, threshold)
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
            found = self.decoder.decode(piece, outputs, threshold, repetition.shifted(start))
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
            probabilities = self.decoder.technique_probabilities(text, outputs, spans)
        return [
            {label: float(p) for label, p in zip(self.techniques, row, strict=True)}
            for row in probabilities
        ]
