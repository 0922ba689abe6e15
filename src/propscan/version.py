"""The installed propscan version, for stamping results, models and pages."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("propscan")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"
