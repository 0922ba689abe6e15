"""``propscan serve``: the web page and REST API on one machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import app
from propscan.cli.models import model_option
from propscan.core.checks import DEFAULT_MAX_CHARS
from propscan.service.connection_limits import ConnectionLimits


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    db: Annotated[
        Path | None,
        typer.Option(
            help="SQLite file of the analysis history "
            "(default: $PROPSCAN_DB, else ~/.local/share/propscan/history.db).",
            dir_okay=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        model_option(
            "The model used when a request names none: an installed model's name or a model "
            "directory (default: the model shipped with propscan). Requests and the page can "
            "choose any installed model."
        ),
    ] = None,
    allow_private_urls: Annotated[
        bool,
        typer.Option(
            "--allow-private-urls/--no-allow-private-urls",
            help="Let URL analysis fetch private, loopback and link-local addresses.",
        ),
    ] = False,
    max_chars: Annotated[
        int, typer.Option(min=1, help="Longest article accepted, in characters.")
    ] = DEFAULT_MAX_CHARS,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes sharing the port, each with its own model and an equal "
            "share of the CPU cores.",
        ),
    ] = 1,
    header_timeout: Annotated[
        float,
        typer.Option(
            min=0.001, help="Seconds a client has to send a request's headers (then 408)."
        ),
    ] = ConnectionLimits.header_timeout,
    body_timeout: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Seconds a client has to send a request's body, once its headers are in.",
        ),
    ] = ConnectionLimits.body_timeout,
    max_connections: Annotated[
        int,
        typer.Option(min=1, help="Open connections per worker process; more are answered 503."),
    ] = ConnectionLimits.max_connections,
    new_token: Annotated[
        bool,
        typer.Option(
            "--new-token",
            help="Make a new token for the browser extension and show it once "
            "(the old one stops working).",
        ),
    ] = False,
) -> None:
    """Serve the propscan web page and REST API (docs at /api/openapi.json)."""
    from propscan.models.registry import model_reference
    from propscan.pipeline import load_model
    from propscan.service.security import ensure_token, loopback_hosts, token_file
    from propscan.service.serving import ServeOptions, listen, run_server
    from propscan.service.store import Store, default_db_path

    # Take the port, load the model and read the whole database first, so that a port in
    # use, a bad --model or a foreign or damaged --db is a one-line error before any worker
    # starts. Workers load their own model: the command keeps only the name of its copy.
    listener = listen(host, port)
    detector = load_model(model) if workers == 1 else None
    name, version = (
        (detector.name, detector.version) if detector is not None else _checked_model(model)
    )
    database = db if db is not None else default_db_path()
    Store(database).verify()
    tokens = token_file(database)
    digest, token = ensure_token(tokens, renew=new_token)
    if token is not None:
        typer.echo(
            f"propscan: browser-extension token (shown only now; paste it into the extension's "
            f"options): {token}",
            err=True,
        )
    else:
        typer.echo(
            "propscan: the browser extension's token is the one shown when it was made "
            f"(its hash is in {tokens}); --new-token makes a new one",
            err=True,
        )
    options = ServeOptions(
        db=str(database.resolve()),
        model=model_reference(model),
        allow_private_urls=allow_private_urls,
        max_text_chars=max_chars,
        extension_token_digest=digest,
        allowed_hosts=loopback_hosts(host),
    )
    address, bound_port = listener.getsockname()[:2]
    url = f"http://{f'[{address}]' if ':' in address else address}:{bound_port}"
    processes = f", {workers} worker processes" if workers > 1 else ""
    typer.echo(
        f"propscan: serving {url}, model {name} {version}, history in {database}{processes}",
        err=True,
    )
    limits = ConnectionLimits(
        header_timeout=header_timeout, body_timeout=body_timeout, max_connections=max_connections
    )
    run_server(listener, options, workers=workers, detector=detector, limits=limits)


def _checked_model(model: str | None) -> tuple[str, str]:
    """Name and version of ``model``, loaded once to check it and then let go.

    With ``--workers`` each worker loads the model itself; the copy that checked it
    would otherwise stay in the supervisor for as long as it runs (about 90 of its 350 MB
    with the shipped model). It is loaded past the per-process cache of
    :func:`~propscan.pipeline.load_model`, which would keep it.
    """
    import ctypes
    import gc
    from contextlib import suppress

    from propscan.models.registry import load_detector, model_directory

    detector = load_detector(model_directory(model))
    name, version = detector.name, detector.version
    del detector
    gc.collect()
    # glibc keeps freed memory in the process unless asked to give it back (others: no-op)
    with suppress(AttributeError, OSError, TypeError):
        ctypes.CDLL(None).malloc_trim(0)
    return name, version
