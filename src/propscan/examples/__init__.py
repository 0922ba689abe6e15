"""A short sample article shipped with propscan, so a first run needs no other file.

The article is an invented op-ed written for propscan (every name in it is fictional);
``propscan analyze --example`` analyses it. It was written to show each of PTC's 14
techniques at least once: ``sample-article.labels`` (PTC's FLC format) marks where, so
that what a model finds on it can be counted (``benchmarks/example_article.py``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from propscan.core.spans import Article

#: File name of the sample article inside this package.
SAMPLE_ARTICLE_FILE = "sample-article.txt"
#: Its techniques, as PTC FLC lines (article id, technique, start, end).
SAMPLE_LABELS_FILE = "sample-article.labels"
#: Article id of the sample article (in PTC output, file names and exports).
SAMPLE_ARTICLE_ID = "sample"


def sample_text() -> str:
    """The text of the sample article exactly as shipped (title on the first line)."""
    file = resources.files(__name__).joinpath(SAMPLE_ARTICLE_FILE)
    return file.read_bytes().decode("utf-8")


def sample_article() -> Article:
    """The sample article as an :class:`~propscan.data.Article` with its title."""
    text = sample_text()
    return Article(id=SAMPLE_ARTICLE_ID, text=text, title=text.split("\n", 1)[0].strip())


def sample_labels_path() -> Path:
    """Where the sample article's technique labels lie (read them with ``ptc.io``)."""
    return Path(str(resources.files(__name__).joinpath(SAMPLE_LABELS_FILE)))
