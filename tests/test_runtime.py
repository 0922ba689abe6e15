"""Encoder calls side by side: worker threads, one encoder made once, errors passed on."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from propscan.models.transformer.runtime import (
    SideBySide,
    available_cores,
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
