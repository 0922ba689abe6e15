"""Encoder calls side by side: outputs in order, a bounded queue, errors passed on."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from propscan.models.transformer.runtime import (
    CALLS_AHEAD_PER_WORKER,
    SideBySide,
    available_cores,
    requested_threads,
)


def _calls(count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.full((1, 3), i), np.ones((1, 3), dtype=np.int64)) for i in range(count)]


def test_outputs_come_back_in_call_order_whatever_order_the_calls_finish() -> None:
    def encoder(input_ids, mask):
        time.sleep(0.002 * (int(input_ids[0, 0]) % 3))  # later calls may finish first
        return input_ids * 2, mask, input_ids, None

    side_by_side = SideBySide(lambda: encoder, workers=3)
    outputs = list(side_by_side.map(_calls(20)))
    assert [int(si[0, 0]) for si, *_ in outputs] == [2 * i for i in range(20)]


def test_calls_start_before_the_first_output_is_read_and_stay_a_bounded_queue() -> None:
    started, release = [], threading.Event()

    def encoder(input_ids, mask):
        started.append(int(input_ids[0, 0]))
        release.wait(5)
        return input_ids, mask, input_ids, None

    side_by_side = SideBySide(lambda: encoder, workers=2)
    outputs = side_by_side.map(_calls(100))
    deadline = time.monotonic() + 5
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(started) == 2  # two workers busy before anything was read
    release.set()
    next(outputs)
    time.sleep(0.05)
    assert len(started) <= 1 + CALLS_AHEAD_PER_WORKER * 2  # not all 100 queued at once
    assert len(list(outputs)) == 99


def test_an_encoder_error_reaches_the_reader() -> None:
    def encoder(input_ids, mask):
        if int(input_ids[0, 0]) == 3:
            raise RuntimeError("call 3 failed")
        return input_ids, mask, input_ids, None

    outputs = SideBySide(lambda: encoder, workers=2).map(_calls(6))
    assert len([next(outputs) for _ in range(3)]) == 3
    with pytest.raises(RuntimeError, match="call 3 failed"):
        next(outputs)


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
