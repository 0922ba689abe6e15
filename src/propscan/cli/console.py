"""The terminal the commands print to, and what happens when its reader goes away.

``propscan analyze big.txt | head -1`` closes the pipe while propscan still writes. Rich
would leave with status 1, which propscan keeps for bugs; the commands instead stop
quietly with 141, the status of a command-line tool stopped by SIGPIPE.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from rich.console import Console

#: Exit status of a command whose output pipe was closed by its reader (128 + SIGPIPE).
BROKEN_PIPE_EXIT = 141


class _Console(Console):
    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def console(**options: Any) -> Console:
    """A rich console whose closed pipe ends the command as :func:`broken_pipe` says."""
    return _Console(**options)


def broken_pipe() -> typer.Exit:
    """Stop writing to the closed standard output (Python would complain on exit) and
    leave with :data:`BROKEN_PIPE_EXIT`."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return typer.Exit(BROKEN_PIPE_EXIT)
