"""Model packages for tests: a real one built and installed by pip, and what pip leaves behind
for one (a module and its ``.dist-info`` with the entry point), written directly.

Either goes into a folder that a test puts on ``sys.path`` (``monkeypatch.syspath_prepend``),
where :func:`importlib.metadata.entry_points` finds it as it finds installed packages.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from propscan.models.registry import ENTRY_POINT_GROUP
from propscan.packaging.build import write_model_package


def pip_install_model_package(model_dir: Path, name: str, work: Path) -> Path:
    """Package ``model_dir`` as the model ``name`` and install it with pip, offline, into a
    new folder of ``work``; returns that folder (a site directory)."""
    package = write_model_package(model_dir, name, work / f"propscan-{name}")
    site = work / "site"
    offline = ["--no-index", "--no-deps", "--disable-pip-version-check", "--quiet"]
    target = ["--target", str(site), str(package.directory)]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", *offline, *target],
        check=True,
        capture_output=True,
    )
    return site


def write_installed_package(
    site: Path, name: str, target: str, *, distribution: str | None = None, body: str = ""
) -> None:
    """What pip installs for a distribution offering the model ``name``: its ``.dist-info``
    with the entry point ``name = target``, and ``body`` as the module ``target`` names."""
    distribution = distribution or f"propscan-{name}"
    module = target.split(":")[0]
    site.mkdir(parents=True, exist_ok=True)
    if body:
        (site / f"{module}.py").write_text(body, encoding="utf-8")
    info = site / f"{distribution.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n{name} = {target}\n", encoding="utf-8"
    )


def offer_model_directory(site: Path, name: str, model_dir: Path) -> None:
    """An installed package offering ``model_dir`` as the model ``name``."""
    module = f"propscan_{name.replace('-', '_')}"
    body = f"from pathlib import Path\n\ndef model_dir():\n    return Path({str(model_dir)!r})\n"
    write_installed_package(site, name, f"{module}:model_dir", body=body)
