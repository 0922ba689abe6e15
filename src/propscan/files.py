"""Where results go: output paths checked before work starts, write failures in one line.

A path inside a file, a read-only folder or a full disk is a problem the user can fix,
so it becomes a :class:`~propscan.errors.PropscanError` naming the path and the reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from propscan.errors import PropscanError

_ERRNO_IN_TEXT = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)


def os_reason(error: OSError) -> str:
    """The reason of an ``OSError`` in words, also for pyarrow's, which carry no errno."""
    if error.errno:
        return os.strerror(error.errno)
    found = _ERRNO_IN_TEXT.search(str(error))
    return os.strerror(int(found.group(1))) if found else str(error)


@contextmanager
def writing(path: str | os.PathLike[str], what: str = "write the results") -> Iterator[None]:
    """Turn a failed write under ``path`` into one line: what failed, where and why."""
    try:
        yield
    except OSError as error:
        raise PropscanError(f"{path}: cannot {what} ({os_reason(error)})") from error


def output_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` as an existing folder (created if needed), or why it cannot be one."""
    folder = Path(path)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        inside = "" if existing == folder else f" ({existing} is a file)"
        raise PropscanError(f"{folder}: not a directory{inside}; choose a folder for the output")
    with writing(folder, "create the folder"):
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def output_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a file to write, its folder created; or why it cannot be written."""
    file = Path(path)
    if file.is_dir():
        raise PropscanError(f"{file}: is a directory; give the name of a file to write")
    if file.parent != file:
        output_folder(file.parent)
    return file


def write_file(path: str | os.PathLike[str], content: str) -> Path:
    """Write ``content`` as UTF-8 exactly as given (no newline translation)."""
    file = output_file(path)
    with writing(file, "write the result"):
        file.write_text(content, encoding="utf-8", newline="")
    return file
