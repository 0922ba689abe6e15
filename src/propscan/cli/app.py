"""The ``propscan`` Typer application that every command module registers on.

It is the CLI's one error boundary: a problem the user can fix
(:class:`~propscan.errors.PropscanError`, or an ``OSError`` such as a full disk) becomes
one line on stderr and exit status 2; anything else is a bug, reported in one line with
exit status 1 (``PROPSCAN_DEBUG=1`` shows its traceback). Never a traceback by default.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from propscan.cli.console import broken_pipe
from propscan.core.confidence import BAND_NAMES
from propscan.errors import PropscanError
from propscan.files import os_reason
from propscan.version import __version__

#: The ``--min-band`` option of the commands that analyse (checked where it is used).
MinBandOption = Annotated[
    str | None,
    typer.Option(
        help=f"Keep only marks of this confidence band or a stronger one "
        f"({', '.join(BAND_NAMES)}; default: every mark)."
    ),
]

#: Exit status for input the user can fix (usage errors use 2 as well).
USER_ERROR_EXIT = 2
#: Exit status for a bug: an error propscan did not expect.
BUG_EXIT = 1
DEBUG_VARIABLE = "PROPSCAN_DEBUG"


#: Every character that ends a line for ``str.splitlines``, written as its escape.
_LINE_BREAKS = str.maketrans(
    {char: repr(char)[1:-1] for char in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}
)


def _fail(message: str, status: int) -> typer.Exit:
    """Print ``message`` as one line (line breaks it quotes are escaped) and exit."""
    typer.echo(f"Error: {message.translate(_LINE_BREAKS)}", err=True)
    return typer.Exit(status)


class _ErrorReportingGroup(TyperGroup):
    # typer vendors its own click (typer._click, a private module) whose Context is not
    # click.Context; the context typer passes in is the vendored one.
    def invoke(self, ctx: click.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)  # type: ignore[arg-type]
        except (typer.Exit, typer.Abort, TyperException):
            raise  # click's own exits and usage errors keep their handling
        except BrokenPipeError:
            raise broken_pipe() from None
        except PropscanError as error:
            # typer vendors its own click, so a click.ClickException would escape as a
            # traceback; print the message and leave with the usage-error status instead.
            raise _fail(str(error), USER_ERROR_EXIT) from None
        except OSError as error:
            where = f"{error.filename}: " if error.filename else ""
            raise _fail(f"{where}{os_reason(error)}", USER_ERROR_EXIT) from None
        except Exception as error:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            message = (
                f"unexpected {type(error).__name__}: {error}; this is a bug in propscan, "
                f"please report it ({DEBUG_VARIABLE}=1 shows the traceback)"
            )
            raise _fail(message, BUG_EXIT) from None


app = typer.Typer(
    name="propscan",
    help="Find propaganda techniques in news articles.",
    cls=_ErrorReportingGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"propscan {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Find propaganda techniques in news articles."""
