"""Dask runs: a LocalCluster run writes exactly the tables of a one-process run."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from propscan.batch.engines import THREADS_VARIABLE, loaded_worker_models, share_cores
from propscan.batch.results import read_results
from propscan.batch.run import run_batch
from propscan.errors import PropscanError
from propscan.ptc.splits import Split

pytest.importorskip("distributed", reason="the Dask engine needs the 'dask' extra")

from propscan.batch.engines import DaskEngine


@pytest.fixture()
def five_dev_articles(tmp_path: Path, dev_split: Split) -> Path:
    path = tmp_path / "dev5.jsonl"
    lines = [
        json.dumps({"id": a.id, "text": a.text, "title": a.title, "source": f"outlet-{n % 2}"})
        for n, a in enumerate(dev_split.articles[:5])
    ]
    lines.insert(2, json.dumps({"id": "empty", "text": ""}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_local_cluster_run_equals_the_local_run(
    tmp_path: Path, five_dev_articles: Path, tiny_model: Path
) -> None:
    run_batch(five_dev_articles, tmp_path / "local", model=tiny_model, chunk_size=2, progress=False)
    model_path = str(tiny_model.resolve())
    with DaskEngine(model_path, workers=2) as engine:
        summary = run_batch(
            five_dev_articles,
            tmp_path / "dask",
            model=tiny_model,
            engine=engine,
            chunk_size=2,
            progress=False,
        )
        loaded = engine.client.run(loaded_worker_models)
        threads = engine.client.run(os.getenv, THREADS_VARIABLE)
    assert (summary.done, summary.failed) == (5, 1)
    assert len(loaded) == 2
    assert all(models == [model_path] for models in loaded.values())
    expected_threads = share_cores(2).get(THREADS_VARIABLE, os.environ.get(THREADS_VARIABLE))
    assert set(threads.values()) == {expected_threads}

    local, dask = read_results(tmp_path / "local"), read_results(tmp_path / "dask")
    assert local.spans.num_rows > 0
    assert dask.spans.equals(local.spans)
    assert dask.articles.equals(local.articles)
    assert dask.errors.equals(local.errors)


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    engine = DaskEngine(None, scheduler="tcp://127.0.0.1:9", connect_timeout=1.0)
    with pytest.raises(
        PropscanError, match=re.escape("cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'")
    ):
        engine.start()


def test_the_engine_must_be_started_before_use() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        DaskEngine(None).client  # noqa: B018
