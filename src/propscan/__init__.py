"""propscan: find propaganda techniques in news articles.

Usage::

    import propscan

    analysis = propscan.analyze(article_text)  # with the model shipped with propscan
    for span in analysis.spans:
        print(span.technique, span.score, span.fragment(analysis.text))

The public names are imported on first use so that ``import propscan`` stays light.

The package reads from the bottom up: ``core`` (data types), ``ptc`` (the corpus and
its scorers), ``models`` (the detectors and the one span decoder), ``pipeline`` (text to
:class:`Analysis`), then ``evaluation``, ``render``, ``batch``, ``report``, ``service``
and the ``cli``; a module imports only from the layers below it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from propscan.version import __version__

if TYPE_CHECKING:
    from propscan.core.analysis import Analysis
    from propscan.core.spans import Article, Span
    from propscan.pipeline import analyze, analyze_many, load_model

_EXPORTS = {
    "analyze": "propscan.pipeline",
    "analyze_many": "propscan.pipeline",
    "load_model": "propscan.pipeline",
    "Analysis": "propscan.core.analysis",
    "Span": "propscan.core.spans",
    "Article": "propscan.core.spans",
}

__all__ = ["Analysis", "Article", "Span", "__version__", "analyze", "analyze_many", "load_model"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'propscan' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
