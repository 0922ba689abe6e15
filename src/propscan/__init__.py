"""propscan: find propaganda techniques in news articles.

Usage::

    import propscan

    analysis = propscan.analyze(article_text)  # with the model shipped with propscan
    for span in analysis.spans:
        print(span.technique, span.score, span.fragment(analysis.text))

The public names are imported on first use so that ``import propscan`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("propscan")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

if TYPE_CHECKING:
    from propscan.data import Article, Span
    from propscan.pipeline import Analysis, analyze, analyze_many, load_model

_EXPORTS = {
    "analyze": "propscan.pipeline",
    "analyze_many": "propscan.pipeline",
    "load_model": "propscan.pipeline",
    "Analysis": "propscan.pipeline",
    "Span": "propscan.data",
    "Article": "propscan.data",
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
