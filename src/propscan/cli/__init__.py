"""Command-line interface: each command module registers itself on :data:`app`.

Every command is a thin wrapper: it parses options, calls one library function and
prints the result; the work itself lives in the packages below the CLI.
"""

from __future__ import annotations

# Command modules register their commands on ``app`` when imported.
from propscan.cli import (  # noqa: F401
    analyze,
    batch,
    corpus,
    evaluate,
    labelstudio,
    models,
    score,
    serve,
    techniques,
    train,
)
from propscan.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``propscan`` console script."""
    app()
