"""``propscan analyze``: find propaganda techniques in an article file, standard input or a URL."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import MinBandOption, app
from propscan.cli.console import console
from propscan.cli.models import ModelOption
from propscan.core.checks import DEFAULT_MAX_CHARS, check_text
from propscan.core.confidence import parse_band
from propscan.core.spans import Article
from propscan.errors import PropscanError
from propscan.examples import sample_article
from propscan.files import write_file
from propscan.models.registry import resolve_model
from propscan.pipeline import analyze, check_options
from propscan.ptc.io import article_id_from_filename, decode_utf8, read_text
from propscan.render.formats import FORMATS, format_help
from propscan.render.formats import output_format as output_format_named
from propscan.render.text import render_terminal

STDIN = "-"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


#: The ``--format`` choices: one per entry of the format table.
OutputFormat = StrEnum("OutputFormat", {name: name for name in FORMATS})  # type: ignore[misc]


@app.command("analyze")
def analyze_command(
    source: Annotated[
        str | None,
        typer.Argument(
            metavar="INPUT",
            help="Article text file, '-' for standard input, or an http(s) URL.",
            show_default=False,
        ),
    ] = None,
    example: Annotated[
        bool,
        typer.Option("--example", help="Analyse the short sample article shipped with propscan."),
    ] = False,
    model: ModelOption = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help=format_help()),
    ] = OutputFormat["text"],
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Span decision threshold in [0, 1] (default: the model's tuned one); "
            "lower finds more spans."
        ),
    ] = None,
    techniques: Annotated[
        str | None,
        typer.Option(
            help="Keep only these techniques: comma-separated PTC labels "
            "(see 'propscan techniques')."
        ),
    ] = None,
    min_band: MinBandOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the result to this file ('-': standard output)."),
    ] = None,
    allow_private_urls: Annotated[
        bool,
        typer.Option(
            "--allow-private-urls/--no-allow-private-urls",
            help="Also fetch URLs on private or local networks (only for trusted input).",
        ),
    ] = False,
    max_chars: Annotated[
        int, typer.Option(min=1, help="Longest article analysed, in characters.")
    ] = DEFAULT_MAX_CHARS,
) -> None:
    """Find propaganda techniques in one news article."""
    if (source is None) == (not example):
        raise PropscanError(
            "give an article (a file, '-' for standard input or a URL) or --example, not both"
            if example
            else "give an article: a text file, '-' for standard input, a URL, or --example"
        )
    detector = resolve_model(model)
    threshold, keep = check_options(detector, threshold, techniques)
    band = None if min_band is None else parse_band(min_band).name
    with _status("Reading the article…"):
        article = (
            sample_article()
            if source is None
            else read_article(source, allow_private=allow_private_urls, max_chars=max_chars)
        )
    with _status("Analysing…"):
        analysis = analyze(
            article.text,
            detector,
            threshold=threshold,
            techniques=keep,
            min_band=band,
            title=article.title,
            url=article.url,
            source=article.source,
        )
    chosen = output_format_named(output_format.value)
    if out is None or str(out) == "-":
        if output_format is OutputFormat["text"]:
            render_terminal(analysis, console())
        else:
            sys.stdout.write(chosen.render(analysis, article.id))
        return
    write_file(out, chosen.render(analysis, article.id))
    typer.echo(f"Wrote {output_format} to {out}", err=True)


def read_article(
    source: str, *, allow_private: bool = False, max_chars: int | None = None
) -> Article:
    """The article named by the ``INPUT`` argument: a file, ``-`` for stdin, or a URL."""
    if source == STDIN:
        text = decode_utf8(sys.stdin.buffer.read(), "standard input", "text")
        article = Article(id="stdin", text=text)
    elif _URL.match(source):
        article = _fetch(source, allow_private)
    else:
        article = _read_file(Path(source))
    where = "standard input" if source == STDIN else source
    check_text(article.text, f"the article in {where}", max_chars=max_chars)
    return article


def _read_file(path: Path) -> Article:
    if not path.exists():
        raise PropscanError(
            f"{path}: no such file; give an article text file, '-' for standard input, "
            "or an http(s) URL"
        )
    if path.is_dir():
        raise PropscanError(f"{path}: is a directory; give one article text file")
    article_id = article_id_from_filename(path.name) or re.sub(r"\s+", "_", path.stem) or "article"
    return Article(id=article_id, text=read_text(path))


def _fetch(url: str, allow_private: bool) -> Article:
    from propscan.fetch import FetchError, fetch_article

    try:
        return fetch_article(url, allow_private=allow_private)
    except FetchError as error:
        if error.reason == "private_address":
            raise PropscanError(f"{error}; pass --allow-private-urls to fetch it anyway") from None
        raise


@contextlib.contextmanager
def _status(message: str) -> Iterator[None]:
    """A spinner on stderr while something slow runs, only when stderr is a terminal."""
    spinner = console(stderr=True)
    if not spinner.is_terminal:
        yield
        return
    with spinner.status(message):
        yield
