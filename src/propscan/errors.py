"""User-facing errors: each says what was wrong, where, and what to do.

The CLI turns a :class:`PropscanError` into a one-line message and exit status 2;
the service turns it into a JSON 4xx response. Anything else is a bug.
"""

from __future__ import annotations


class PropscanError(Exception):
    """An input problem the user can fix (bad file, bad offsets, unknown technique...)."""


class InputFormatError(PropscanError):
    """A file does not follow the expected format; the message names file and line."""

    def __init__(self, path: object, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


def one_line(error: BaseException) -> str:
    """An exception's message on one line: Arrow's and Thrift's span several."""
    return " ".join(str(error).split())
