"""Corpus-scale analysis: read many articles, analyse them in chunks, write result tables.

``inputs`` reads records (a folder of ``.txt`` files, JSONL, CSV or Parquet);
``chunks`` analyses one chunk of them (a pure function of the chunk); ``engines`` runs
chunks here, in local processes or on Dask; ``results`` writes and reads the tables
(``spans``, ``articles``, ``errors.jsonl``) resumably; ``run`` ties them together in
:func:`run_batch`.
"""

from propscan.batch.chunks import AnalysisOptions
from propscan.batch.engines import open_engine
from propscan.batch.inputs import Columns
from propscan.batch.results import read_results
from propscan.batch.run import BatchSummary, run_batch

__all__ = ["AnalysisOptions", "BatchSummary", "Columns", "open_engine", "read_results", "run_batch"]
