"""``propscan serve``: the web page and REST API on one machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import app
from propscan.core.checks import DEFAULT_MAX_CHARS


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
        Path | None,
        typer.Option(help="Model directory (default: the model shipped with propscan)."),
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
) -> None:
    """Serve the propscan web page and REST API (docs at /api/openapi.json)."""
    import uvicorn

    from propscan.pipeline import load_model
    from propscan.service.app import create_app
    from propscan.service.serving import listen
    from propscan.service.store import Store, default_db_path

    # Take the port, load the model and open the database first, so that a port in use,
    # a bad --model or --db is reported as a one-line error instead of a failed start.
    listener = listen(host, port)
    detector = load_model(model)
    database = db if db is not None else default_db_path()
    Store(database)
    application = create_app(
        detector,
        database,
        allow_private_urls=allow_private_urls,
        max_text_chars=max_chars,
    )
    typer.echo(
        f"propscan: model {detector.name} {detector.version}, history in {database}",
        err=True,
    )
    config = uvicorn.Config(application, host=host, port=port, log_level="info")
    uvicorn.Server(config).run(sockets=[listener])
