"""The PEP 517 build backend of a propscan model package, on the standard library alone.

:func:`propscan.packaging.build.write_model_package` copies this file into every package
it writes and names it in ``pyproject.toml`` (``backend-path = ["."]``, no build
requirements), so ``pip install ./propscan-NAME`` builds the wheel without fetching
setuptools: it works offline. It packs the one module directory named after the project
(``propscan-mpnet`` -> ``propscan_mpnet/``) with the ``[project]`` metadata, entry points
included; it imports nothing from propscan, since pip runs it in an isolated environment.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

#: Date stamped on every archive member, so that the same files build the same archive.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_CHUNK = 1 << 20


def _pyproject() -> dict[str, Any]:
    with open("pyproject.toml", "rb") as file:
        return tomllib.load(file)


def _project() -> dict[str, Any]:
    project: dict[str, Any] = _pyproject()["project"]
    return project


def _stem(project: dict[str, Any]) -> str:
    """The project's name as wheel file names and the module directory spell it."""
    return re.sub(r"[-_.]+", "_", project["name"]).lower()


def _metadata(project: dict[str, Any]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
        f"Requires-Python: {project.get('requires-python', '>=3')}",
        *(f"Requires-Dist: {requirement}" for requirement in project.get("dependencies", [])),
    ]
    readme = project.get("readme")
    if readme is None:
        return "\n".join(lines) + "\n"
    lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + Path(readme).read_text(encoding="utf-8")


def _entry_points(project: dict[str, Any]) -> str:
    sections = []
    for group, entries in project.get("entry-points", {}).items():
        lines = [f"[{group}]", *(f"{name} = {target}" for name, target in entries.items())]
        sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)


def _dist_info(project: dict[str, Any]) -> dict[str, str]:
    """The files of the ``.dist-info`` directory, RECORD aside."""
    return {
        "METADATA": _metadata(project),
        "WHEEL": (
            "Wheel-Version: 1.0\nGenerator: propscan-model-backend\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        "entry_points.txt": _entry_points(project),
    }


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _record_line(name: str, digest: Any, size: int) -> str:
    encoded = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    return f"{name},sha256={encoded},{size}"


def get_requires_for_build_wheel(config_settings: Any = None) -> list[str]:
    return []


def get_requires_for_build_sdist(config_settings: Any = None) -> list[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Any = None) -> str:
    project = _project()
    name = f"{_stem(project)}-{project['version']}.dist-info"
    folder = Path(metadata_directory) / name
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, content in _dist_info(project).items():
        (folder / file_name).write_text(content, encoding="utf-8")
    return name


def build_wheel(
    wheel_directory: str, config_settings: Any = None, metadata_directory: str | None = None
) -> str:
    """Pack the module directory and the metadata into ``wheel_directory``; its file name."""
    project = _project()
    stem = _stem(project)
    dist_info = f"{stem}-{project['version']}.dist-info"
    wheel_name = f"{stem}-{project['version']}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(Path(wheel_directory) / wheel_name, "w") as wheel:
        for path in sorted(p for p in Path(stem).rglob("*") if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            digest, size = hashlib.sha256(), 0
            with path.open("rb") as source, wheel.open(_member(path.as_posix()), "w") as target:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    target.write(chunk)
            records.append(_record_line(path.as_posix(), digest, size))
        for file_name, content in _dist_info(project).items():
            data = content.encode("utf-8")
            wheel.writestr(_member(f"{dist_info}/{file_name}"), data)
            records.append(
                _record_line(f"{dist_info}/{file_name}", hashlib.sha256(data), len(data))
            )
        records.append(f"{dist_info}/RECORD,,")
        wheel.writestr(_member(f"{dist_info}/RECORD"), "\n".join(records) + "\n")
    return wheel_name


def build_sdist(sdist_directory: str, config_settings: Any = None) -> str:
    """The project as ``NAME-VERSION.tar.gz``, from which :func:`build_wheel` builds again."""
    project = _project()
    base = f"{_stem(project)}-{project['version']}"
    backend_file = _pyproject()["build-system"]["build-backend"] + ".py"
    files = ["pyproject.toml", backend_file, project.get("readme"), _stem(project)]
    with tarfile.open(Path(sdist_directory) / f"{base}.tar.gz", "w:gz") as archive:
        for name in filter(None, files):
            archive.add(name, arcname=f"{base}/{name}", filter=_reset_owner)
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata(project).encode("utf-8")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return f"{base}.tar.gz"


def _reset_owner(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if "__pycache__" in info.name:
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info
