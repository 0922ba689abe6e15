"""The ``propscan`` Typer application that every command module registers on.

Errors the user can fix (:class:`~propscan.errors.PropscanError`) become a one-line
message on stderr and exit status 2 instead of a traceback.
"""

from __future__ import annotations

from typing import Any

import click
import typer
from typer.core import TyperGroup

from propscan.errors import PropscanError

#: Exit status for input the user can fix (usage errors use 2 as well).
USER_ERROR_EXIT = 2


class _ErrorReportingGroup(TyperGroup):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PropscanError as error:
            # typer vendors its own click, so a click.ClickException would escape as a
            # traceback; print the message and leave with the usage-error status instead.
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(USER_ERROR_EXIT) from None


app = typer.Typer(
    name="propscan",
    help="Find propaganda techniques in news articles.",
    cls=_ErrorReportingGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
