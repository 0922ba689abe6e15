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


class UserError(click.ClickException):
    """A PropscanError shown as ``Error: ...`` with exit status 2."""

    exit_code = 2


class _ErrorReportingGroup(TyperGroup):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PropscanError as error:
            raise UserError(str(error)) from None


app = typer.Typer(
    name="propscan",
    help="Find propaganda techniques in news articles.",
    cls=_ErrorReportingGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
