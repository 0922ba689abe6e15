"""Where chunks are analysed: this process, a pool of local processes, or a Dask cluster.

Every engine runs :func:`propscan.batch.chunks.analyze_chunk` and yields results in
chunk order, so the tables are the same whatever the engine. On Dask, each chunk
becomes one task calling :func:`analyze_chunk_in_worker`; a worker process loads the
model the first time it needs it and keeps it for every later task. Results come back
in chunk order and are written by the client exactly as a local run writes them, so
``--resume`` works the same way.

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
model package is found by name, so install it on every worker; a model directory of
your own goes on a shared filesystem or is copied to each machine).
``--nthreads 1`` with ``PROPSCAN_THREADS`` set to the cores per worker process
keeps one model per process using its share of the cores.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from types import TracebackType
from typing import Any, Literal, Protocol

from propscan.batch.chunks import AnalysisOptions, Chunk, ChunkResult, analyze_chunk
from propscan.errors import PropscanError
from propscan.models.base import Detector
from propscan.models.registry import model_reference
from propscan.pipeline import load_model

#: Environment variable that caps the threads of one model (read by the transformer).
THREADS_VARIABLE = "PROPSCAN_THREADS"
EngineKind = Literal["local", "dask"]
ENGINES: tuple[str, ...] = ("local", "dask")


class Engine(Protocol):
    """Runs :func:`analyze_chunk` over chunks and yields the results in chunk order."""

    def run(self, chunks: Iterable[Chunk], options: AnalysisOptions) -> Iterator[ChunkResult]: ...


_WORKER_MODELS: dict[str | None, Detector] = {}
_WORKER_MODELS_LOCK = threading.Lock()


def worker_model(model_path: str | None) -> Detector:
    """The model of this process, loaded on first use and kept (once per worker process)."""
    with _WORKER_MODELS_LOCK:
        if model_path not in _WORKER_MODELS:
            _WORKER_MODELS[model_path] = load_model(model_path)
        return _WORKER_MODELS[model_path]


def loaded_worker_models() -> list[str | None]:
    """The model paths this process has loaded (lets a cluster be checked for reloads)."""
    with _WORKER_MODELS_LOCK:
        return list(_WORKER_MODELS)


def analyze_chunk_in_worker(
    model_path: str | None, options: AnalysisOptions, chunk: Chunk
) -> ChunkResult:
    """:func:`analyze_chunk` with the worker process's cached model (a picklable task)."""
    return analyze_chunk(chunk, worker_model(model_path), options)


def share_cores(workers: int) -> dict[str, str]:
    """Environment that splits this machine's cores among ``workers`` model processes.

    Without it each process would size its thread pool to every core and they would
    all fight over them; a ``PROPSCAN_THREADS`` the user set is kept.
    """
    if THREADS_VARIABLE in os.environ:
        return {}
    return {THREADS_VARIABLE: str(max(1, (os.cpu_count() or 1) // workers))}


def _set_environment(variables: Mapping[str, str]) -> None:
    os.environ.update(variables)


def ordered_results(
    submit: Callable[[Chunk], Future[ChunkResult] | Any],
    chunks: Iterable[Chunk],
    in_flight: int,
) -> Iterator[ChunkResult]:
    """Submit chunks ahead (at most ``in_flight`` pending) and yield results in order."""
    pending: deque[Any] = deque()
    try:
        for chunk in chunks:
            pending.append(submit(chunk))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


@dataclass
class LocalEngine:
    """One process: the model is loaded here (or given) and chunks run one after another."""

    model: Detector

    def run(self, chunks: Iterable[Chunk], options: AnalysisOptions) -> Iterator[ChunkResult]:
        for chunk in chunks:
            yield analyze_chunk(chunk, self.model, options)


@dataclass
class ProcessEngine:
    """``workers`` local processes, each loading the model once."""

    model_path: str | None
    workers: int

    def run(self, chunks: Iterable[Chunk], options: AnalysisOptions) -> Iterator[ChunkResult]:
        if self.workers < 1:
            raise PropscanError(f"--workers must be at least 1, got {self.workers}")
        with ProcessPoolExecutor(
            self.workers,
            mp_context=get_context("spawn"),
            initializer=_set_environment,
            initargs=(share_cores(self.workers),),
        ) as pool:
            try:
                yield from ordered_results(
                    lambda chunk: pool.submit(
                        analyze_chunk_in_worker, self.model_path, options, chunk
                    ),
                    chunks,
                    in_flight=2 * self.workers,
                )
            except BrokenProcessPool as error:
                raise PropscanError(
                    "a worker process died (out of memory?); run again with fewer --workers "
                    "and --resume to keep what is done"
                ) from error
            finally:
                pool.shutdown(cancel_futures=True)


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

        yield from ordered_results(submit, chunks, in_flight=2 * self.total_threads())


@contextmanager
def open_engine(
    kind: str = "local",
    *,
    model: str | os.PathLike[str] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> Iterator[Engine]:
    """The engine a run asks for: this process, ``workers`` local processes, or Dask.

    ``model`` is an installed model's name, a model directory or ``None`` for the shipped
    model; worker processes load it themselves, once each (by name, or by absolute path).
    """
    if kind not in ENGINES:
        raise PropscanError(f"unknown engine {kind!r}; use one of {', '.join(ENGINES)}")
    if workers < 1:
        raise PropscanError(f"--workers must be at least 1, got {workers}")
    if scheduler is not None and kind != "dask":
        raise PropscanError("--scheduler needs --engine dask")
    model_path = model_reference(model)
    if kind == "dask":
        with DaskEngine(model_path, scheduler=scheduler, workers=workers) as engine:
            yield engine
    elif workers == 1:
        yield LocalEngine(load_model(model_path))
    else:
        yield ProcessEngine(model_path, workers)
