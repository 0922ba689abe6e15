"""The output formats of an analysis, in one table shared by the CLI and the service.

A format is a name, a one-line description, how it renders an analysis, and where the
service offers it for download (its file suffix, or none); a new format is one entry of
:data:`FORMATS`, and ``propscan analyze --format`` and the result page's downloads both
follow it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from propscan.core.analysis import Analysis
from propscan.errors import PropscanError
from propscan.render.html import render_html
from propscan.render.text import render_json, render_ptc, render_text


@dataclass(frozen=True)
class Format:
    """One way to write an analysis down."""

    name: str
    description: str
    #: ``render(analysis, article_id)``: the article id names the article where a format
    #: needs one (PTC lines start with it).
    render: Callable[[Analysis, str], str]
    media_type: str
    #: The suffix of the service's download (``/a/{id}.{suffix}``); None: not offered there.
    download_suffix: str | None = None
    #: The download's link text on the result page.
    download_label: str = ""


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format(
            "text",
            "highlighted article",
            lambda analysis, _: render_text(analysis),
            "text/plain; charset=utf-8",
        ),
        Format(
            "json", "all results", lambda analysis, _: render_json(analysis), "application/json"
        ),
        Format(
            "ptc",
            "SemEval FLC lines",
            render_ptc,
            "text/plain; charset=utf-8",
            "labels",
            "Download PTC labels",
        ),
        Format(
            "html",
            "a self-contained report page",
            lambda analysis, _: render_html(analysis),
            "text/html; charset=utf-8",
            "html",
            "Download the report page",
        ),
    )
}


def output_format(name: str) -> Format:
    """The format called ``name``, or a clear error listing the known ones."""
    found = FORMATS.get(name)
    if found is None:
        raise PropscanError(f"unknown format {name!r}; use one of {', '.join(FORMATS)}")
    return found


def format_help() -> str:
    """Every format with its description, as the CLI's ``--format`` help says it."""
    return "; ".join(f"{fmt.name}: {fmt.description}" for fmt in FORMATS.values()) + "."


def downloads() -> list[Format]:
    """The formats the service offers for download, in table order."""
    return [fmt for fmt in FORMATS.values() if fmt.download_suffix is not None]


def download_format(suffix: str) -> Format | None:
    """The format the service offers at ``/a/{id}.{suffix}``, if any."""
    return next((fmt for fmt in FORMATS.values() if fmt.download_suffix == suffix), None)
