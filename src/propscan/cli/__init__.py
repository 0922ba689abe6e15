"""Command-line interface: each command module registers itself on :data:`app`."""

from __future__ import annotations

from propscan.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``propscan`` console script."""
    app()
