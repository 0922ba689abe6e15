"""Encoder calls side by side: worker threads, one encoder made once, errors passed on."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from propscan.evaluation.model_card import cpu_flags
from propscan.models.transformer import runtime
from propscan.models.transformer.runtime import (
    SideBySide,
    available_cores,
    inference_session,
    requested_threads,
)


def test_calls_run_on_worker_threads_with_one_encoder_made_once() -> None:
    made, threads = [], set()

    def make():
        made.append(1)

        def encoder(input_ids, mask):
            threads.add(threading.current_thread().name)
            time.sleep(0.01)
            return input_ids * 2, mask, input_ids, None

        return encoder

    side_by_side = SideBySide(make, workers=2)
    calls = [side_by_side.submit(np.full((1, 3), i), np.ones((1, 3))) for i in range(6)]
    assert [int(call.result()[0][0, 0]) for call in calls] == [0, 2, 4, 6, 8, 10]
    assert made == [1]
    assert len(threads) == 2 and all(name.startswith("propscan-encoder") for name in threads)


def test_an_encoder_error_reaches_the_reader() -> None:
    def encoder(input_ids, mask):
        raise RuntimeError("the call failed")

    call = SideBySide(lambda: encoder, workers=2).submit(np.zeros((1, 3)), np.ones((1, 3)))
    with pytest.raises(RuntimeError, match="the call failed"):
        call.result()


def test_side_by_side_needs_two_workers_and_enough_calls() -> None:
    with pytest.raises(ValueError, match="at least 2 workers"):
        SideBySide(lambda: None, workers=1)  # type: ignore[arg-type, return-value]
    side_by_side = SideBySide(lambda: None, workers=2, min_calls_per_worker=4)  # type: ignore[arg-type, return-value]
    assert not side_by_side.worth_it(7) and side_by_side.worth_it(8)


def test_threads_come_from_the_argument_then_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("PROPSCAN_THREADS", "3")
    assert requested_threads(2) == 2
    assert requested_threads() == 3
    monkeypatch.delenv("PROPSCAN_THREADS")
    assert requested_threads() == 0
    assert available_cores() >= 1


def _int8_product_graph(path: Path, weights: np.ndarray) -> None:
    """A graph of one uint8 x int8 product with constant weights, as dynamic
    quantisation writes every linear layer of the encoder."""
    from onnx import TensorProto, helper, numpy_helper

    rows, columns = weights.shape
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w", "a_zero", "w_zero"], ["y"])],
        "int8_product",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [1, rows])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, columns])],
        [
            numpy_helper.from_array(weights, "w"),
            numpy_helper.from_array(np.array(0, dtype=np.uint8), "a_zero"),
            numpy_helper.from_array(np.zeros(columns, dtype=np.int8), "w_zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


def _saturating_product(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Large activations times weights near -128 and 127: pairs of such products leave
    the 16-bit range that onnxruntime's fast kernel adds them in on CPUs without VNNI.
    Returns the graph, its activations and their exact product."""
    generator = np.random.default_rng(0)
    weights = generator.choice(np.array([-128, -127, 126, 127], dtype=np.int8), (64, 32))
    activations = generator.integers(200, 256, (1, 64)).astype(np.uint8)
    _int8_product_graph(tmp_path / "product.onnx", weights)
    exact = activations.astype(np.int32) @ weights.astype(np.int32)
    return tmp_path / "product.onnx", activations, exact


def test_int8_products_are_exact_on_every_cpu(tmp_path: Path) -> None:
    graph, activations, exact = _saturating_product(tmp_path)
    (found,) = inference_session(graph, threads=1).run(["y"], {"a": activations})
    assert np.array_equal(found, exact)


@pytest.mark.skipif(
    "avx2" not in cpu_flags() or bool(cpu_flags() & {"avx512_vnni", "avx_vnni"}),
    reason="only x86 CPUs without VNNI have onnxruntime's saturating int8 kernel",
)
def test_without_the_setting_this_cpu_saturates_the_same_product(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # shows that the graph above reaches the kernel the setting exists for
    graph, activations, exact = _saturating_product(tmp_path)
    monkeypatch.setattr(runtime, "EXACT_INT8_PRODUCTS", ("session.x64quantprecision", "0"))
    (found,) = inference_session(graph, threads=1).run(["y"], {"a": activations})
    assert not np.array_equal(found, exact)
