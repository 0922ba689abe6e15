"""The exported encoder on onnxruntime: its sessions, and encoder calls run side by side.

onnxruntime splits the matrix products of one call over its threads, which keeps two
cores busy about 88% of the time; several single-threaded calls side by side keep them
busy all the time (on 2 cores: 1.1-1.15x the encoder throughput, outputs bit for bit
the same). So when a batch has many calls, they run on one single-threaded worker per
core while the detector tokenises the next articles and decodes those whose calls are
done (:meth:`~propscan.models.transformer.detector.TransformerDetector.encode`); a lone
article's few calls still run one at a time on every thread, where each finishes soonest.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from propscan.errors import PropscanError

#: (si_logits [B,T], technique_logits [B,T,K], hidden [B,T,H], sentence_logits [B,T] or
#: None for models without a sentence head)
EncoderOutputs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]
#: (input_ids, attention_mask) -> the encoder's outputs
EncoderFn = Callable[[np.ndarray, np.ndarray], EncoderOutputs]

#: onnxruntime graph fusions left off when a model loads: its SkipLayerNormalization
#: kernel ran slower than the Add and LayerNormalization it replaces (see
#: :func:`propscan.models.transformer.export.fuse_onnx`); graphs that already hold the
#: fused node keep it.
UNFUSED_OPTIMIZERS = ["SkipLayerNormFusion"]
#: onnxruntime's session setting that keeps int8 matrix products exact on every x86 CPU.
#: Its fast kernel for uint8 activations times int8 weights adds products in pairs in
#: 16 bits, which overflow and saturate on CPUs without VNNI (AVX2, and AVX-512 before
#: Cascade Lake): there the int8 encoder's outputs drift from the ones it was tuned and
#: scored with, a little for MiniLM and badly for all-mpnet-base-v2, which then marked
#: nothing (``benchmarks/results/int8_precision.md``). With the setting, onnxruntime
#: turns such products into uint8 times uint8 once when the model loads (exact, slower);
#: on CPUs with VNNI and on ARM it changes nothing.
EXACT_INT8_PRODUCTS = ("session.x64quantprecision", "1")
#: Calls per worker a batch needs before its calls run side by side: with fewer, the
#: last calls would leave cores idle that one multi-threaded call at a time keeps busy.
MIN_CALLS_PER_WORKER = 4


def requested_threads(threads: int | None = None) -> int:
    """``threads``, else ``$PROPSCAN_THREADS``, else 0 (onnxruntime's own choice)."""
    return threads or int(os.environ.get("PROPSCAN_THREADS", 0) or 0)


def available_cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def inference_session(path: Path, threads: int) -> Any:
    """An onnxruntime session of the graph at ``path`` on ``threads`` threads (0:
    onnxruntime's choice), whose int8 products are exact on every CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry(*EXACT_INT8_PRODUCTS)
    try:
        return ort.InferenceSession(
            str(path),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=UNFUSED_OPTIMIZERS,
        )
    except Exception as error:  # onnxruntime raises its own untyped errors
        raise PropscanError(f"{path}: cannot load the ONNX encoder ({error})") from error


def onnx_encoder(path: Path, threads: int) -> EncoderFn:
    """The encoder of the ONNX graph at ``path`` on a session of ``threads`` threads
    (0: onnxruntime's choice)."""
    session = inference_session(path, threads)
    names = ["si_logits", "technique_logits", "hidden"]
    if "sentence_logits" in {output.name for output in session.get_outputs()}:
        names.append("sentence_logits")

    def run(input_ids: np.ndarray, mask: np.ndarray) -> EncoderOutputs:
        outputs = session.run(names, {"input_ids": input_ids, "attention_mask": mask})
        return outputs[0], outputs[1], outputs[2], outputs[3] if len(outputs) > 3 else None

    return run


class SideBySide:
    """Encoder calls run ``workers`` at a time, each on one thread.

    ``make_encoder`` makes the single-threaded encoder on first use (an onnxruntime
    session of its own), so processes that never batch many calls never load it.
    """

    def __init__(
        self,
        make_encoder: Callable[[], EncoderFn],
        workers: int,
        min_calls_per_worker: int = MIN_CALLS_PER_WORKER,
    ) -> None:
        if workers < 2:
            raise ValueError(f"side-by-side calls need at least 2 workers, got {workers}")
        self.workers = workers
        self.min_calls_per_worker = min_calls_per_worker
        self._make_encoder = make_encoder
        self._encoder: EncoderFn | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def encoder(self) -> EncoderFn:
        """The single-threaded encoder that every worker calls."""
        with self._lock:
            if self._encoder is None:
                self._encoder = self._make_encoder()
            return self._encoder

    @encoder.setter
    def encoder(self, encoder: EncoderFn) -> None:
        with self._lock:
            self._encoder = encoder

    def worth_it(self, calls: int) -> bool:
        """Whether ``calls`` calls finish sooner side by side than one at a time."""
        return calls >= self.min_calls_per_worker * self.workers

    def submit(self, input_ids: np.ndarray, mask: np.ndarray) -> Future[EncoderOutputs]:
        """Start one call on the next free worker."""
        encoder = self.encoder
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="propscan-encoder")
            pool = self._pool
        return pool.submit(encoder, input_ids, mask)
