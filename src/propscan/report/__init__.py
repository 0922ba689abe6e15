"""Corpus reports from batch results: per outlet, over time and per technique.

``tables`` builds the summary tables, ``plots`` draws them, ``html`` writes the
self-contained page and the CSV files (:func:`make_report` does all three).
"""

from propscan.report.html import make_report, write_report
from propscan.report.tables import CorpusReport, build_report

__all__ = ["CorpusReport", "build_report", "make_report", "write_report"]
