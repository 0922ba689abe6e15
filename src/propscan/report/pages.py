"""A corpus report's article pages: each analysed article highlighted, in the report folder.

The report's ranked list links every article to its page, so a reader can go from a
number to the marks behind it. The pages are the same self-contained HTML as
``propscan analyze --format html``, rebuilt from the result tables and the texts of the
run's input (:mod:`propscan.batch.analyses`); when the input is gone, the report says so
instead of linking.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from propscan.batch.analyses import TextsUnavailable, read_analyses
from propscan.render.html import render_html
from propscan.render.layout import display_title

#: The folder of article pages inside a report folder.
PAGES_DIR = "articles"
#: Link from an article page back to the report's ranked list.
BACK_LINK = ("../report.html#articles", "Back to the report")


@dataclass(frozen=True)
class ArticlePages:
    """Where each article's page is (``links``: id -> path relative to the report) and its
    title by the one title rule of every view (``titles``), or why there are none
    (``missing``)."""

    links: dict[str, str] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    missing: str | None = None


def page_name(article_id: str) -> str:
    """A safe, unique file name for an article's page: its id's letters and a short hash."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", article_id)[:60].strip("_") or "article"
    digest = hashlib.sha256(article_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{readable}-{digest}.html"


def write_article_pages(
    results: Path, out: Path, input_path: str | os.PathLike[str] | None = None
) -> ArticlePages:
    """Write one highlighted page per analysed article into ``out/articles``.

    The pages are written aside and put in place once all are, so that an input that
    turns out to have changed since the run leaves no half set of pages behind."""
    folder, partial = out / PAGES_DIR, out / f".{PAGES_DIR}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    links, titles = {}, {}
    try:
        for article_id, analysis in read_analyses(results, input_path):
            partial.mkdir(parents=True, exist_ok=True)
            name = page_name(article_id)
            (partial / name).write_text(render_html(analysis, back=BACK_LINK), encoding="utf-8")
            links[article_id] = f"{PAGES_DIR}/{name}"
            titles[article_id] = display_title(analysis.title, analysis.text)
    except TextsUnavailable as error:
        shutil.rmtree(partial, ignore_errors=True)
        return ArticlePages(missing=f"No article pages: {error}.")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    if partial.exists():
        partial.rename(folder)
    return ArticlePages(links, titles)
