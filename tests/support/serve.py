"""``propscan serve`` in a child process, as a person starts it (tests and screenshots)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVING = re.compile(r"serving (http://\S+),")
TOKEN = re.compile(r"browser-extension token \(shown only now[^)]*\): (\S+)")
STARTED = "Application startup complete."


@dataclass(frozen=True)
class Served:
    """A running ``propscan serve``: its URL, the extension token it showed (if it made one)."""

    url: str
    token: str | None
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def propscan_serve(
    log: Path, *args: str | Path, workers: int = 1, timeout: float = 120
) -> Iterator[Served]:
    """``propscan serve ARGS`` on a free port, once its ``workers`` processes are up.

    Its output goes to ``log``; the process is killed when the block ends, if still running.
    """
    command = [sys.executable, "-c", "from propscan.cli import main; main()", "serve"]
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*command, "--port", "0", *map(str, args)], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout
        while (text := log.read_text()).count(STARTED) < workers:
            assert server.poll() is None and time.monotonic() < deadline, text
            time.sleep(0.1)
        serving = SERVING.search(text)
        assert serving, text
        token = TOKEN.search(text)
        yield Served(serving.group(1), token.group(1) if token else None, server, log)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
