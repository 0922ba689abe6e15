"""Batch runs on a Dask cluster: the same chunks, the same results, more machines.

Each chunk of a batch run becomes one Dask task calling
:func:`propscan.batch.analyze_chunk_in_worker`; a worker loads the model the first
time it needs it and keeps it for every later task. Results come back in chunk
order and are written by the client exactly as a local run writes them, so the
tables are identical whatever the cluster, and ``--resume`` works the same way.

Without ``--scheduler`` a LocalCluster of ``--workers`` processes runs on this
machine. On several machines::

    # one machine: the scheduler (port 8786 must be reachable by workers and client)
    dask scheduler
    # every worker machine: same propscan version, the model at the same path
    PROPSCAN_THREADS=4 dask worker tcp://SCHEDULER:8786 --nworkers 2 --nthreads 1
    # the client: reads INPUT, writes --out; only it touches the input and results
    propscan batch corpus.jsonl --out results --engine dask \
        --scheduler tcp://SCHEDULER:8786 --model /shared/models/propscan

Only the client reads the input and writes the results; workers receive chunks of
text and send back rows. Workers need propscan installed (the same version) and
the model directory at the same path (the shipped model is inside the package; a
model of your own goes on a shared filesystem or is copied to each machine).
``--nthreads 1`` with ``PROPSCAN_THREADS`` set to the cores per worker process
keeps one model per process using its share of the cores.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from propscan.batch import (
    AnalysisOptions,
    Chunk,
    ChunkResult,
    analyze_chunk_in_worker,
    share_cores,
)
from propscan.batch import ordered_results as _ordered_results
from propscan.errors import PropscanError


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise PropscanError(
            "the Dask engine needs dask.distributed; install it with pip install 'propscan[dask]'"
        ) from error
    return distributed


@dataclass
class DaskEngine:
    """Runs batch chunks on a dask.distributed cluster.

    ``scheduler`` is the address of a running scheduler (``tcp://host:8786``); without
    one a :class:`~distributed.LocalCluster` of ``workers`` processes is started here
    and stopped when the engine closes. Use the engine as a context manager.
    """

    model_path: str | None
    scheduler: str | None = None
    workers: int = 2
    threads_per_worker: int = 1
    connect_timeout: float = 30.0
    _client: Any = field(default=None, init=False, repr=False)
    _cluster: Any = field(default=None, init=False, repr=False)

    def __enter__(self) -> DaskEngine:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` of a started engine."""
        if self._client is None:
            raise RuntimeError("the Dask engine is not started; use it in a 'with' block")
        return self._client

    def start(self) -> None:
        distributed = _import_distributed()
        if self._client is not None:
            return
        if self.scheduler is None:
            if self.workers < 1:
                raise PropscanError(f"--workers must be at least 1, got {self.workers}")
            self._cluster = distributed.LocalCluster(
                n_workers=self.workers,
                threads_per_worker=self.threads_per_worker,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env=share_cores(self.workers * self.threads_per_worker),
            )
            self._client = distributed.Client(self._cluster)
            return
        try:
            self._client = distributed.Client(self.scheduler, timeout=self.connect_timeout)
        except OSError as error:
            raise PropscanError(
                f"cannot reach the Dask scheduler at {self.scheduler!r} ({error}); check the "
                "address (tcp://HOST:8786) and that 'dask scheduler' is running there"
            ) from error

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def total_threads(self) -> int:
        """Threads across the cluster's workers (how many chunks can run at once)."""
        return max(sum(self.client.nthreads().values()), 1)

    def run(self, chunks: Iterable[Chunk], options: AnalysisOptions) -> Iterator[ChunkResult]:
        """Analyse chunks on the cluster, keeping a few per thread queued, in chunk order."""
        client = self.client
        try:
            client.wait_for_workers(1, timeout=self.connect_timeout)
        except TimeoutError as error:
            raise PropscanError(
                f"the Dask cluster has no workers after {self.connect_timeout:.0f} s; start some "
                f"with 'dask worker {self.scheduler or 'SCHEDULER'}' and run again"
            ) from error
        run_id = uuid.uuid4().hex[:12]

        def submit(chunk: Chunk) -> Any:
            return client.submit(
                analyze_chunk_in_worker,
                self.model_path,
                options,
                chunk,
                key=f"propscan-chunk-{run_id}-{chunk.index}",
                retries=1,
            )

        yield from _ordered_results(submit, chunks, in_flight=2 * self.total_threads())
