"""Write a trained model as a Python package that ``pip`` installs and propscan finds by name.

``propscan package-model MODEL_DIR --name mpnet --out models/propscan-mpnet`` writes::

    models/propscan-mpnet/
        pyproject.toml               # project propscan-mpnet, entry point mpnet
        README.md                    # how to install and choose it, then the model card
        propscan_model_backend.py    # the build backend (standard library only)
        propscan_mpnet/__init__.py   # model_dir() -> the directory below
        propscan_mpnet/model/        # model.json, weights, tokenizer, card

``python -m pip install ./models/propscan-mpnet`` then needs no network, and
``--model mpnet`` works everywhere: the package offers its directory through the
``propscan.models`` entry point (:data:`~propscan.models.registry.ENTRY_POINT_GROUP`),
as a package of a third party would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from propscan.errors import PropscanError
from propscan.evaluation.model_card import CARD_FILE, SCRATCH_DIRS, read_card_summary
from propscan.models.base import DEFAULT_MODEL_DIR, read_model_config, write_model_config
from propscan.models.registry import (
    DEFAULT_MODEL_NAME,
    ENTRY_POINT_GROUP,
    load_detector,
    model_directory,
)
from propscan.packaging import backend
from propscan.version import __version__

#: A model's name: lower-case words joined by hyphens (``mpnet``, ``roberta-large``).
MODEL_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
#: A public version as PEP 440 spells it (what a package's version must be).
PACKAGE_VERSION = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")
#: The file name of the build backend inside a package.
BACKEND_FILE = "propscan_model_backend.py"
#: The model directory inside the package's module.
MODEL_SUBDIR = "model"


@dataclass(frozen=True)
class ModelPackage:
    """A written package: its project directory, distribution and module, and model name."""

    directory: Path
    distribution: str
    module: str
    name: str
    version: str


def _check_name(name: str) -> None:
    if name == DEFAULT_MODEL_NAME or not MODEL_NAME.match(name):
        raise PropscanError(
            f"--name {name!r} cannot name a model: use lower-case letters, digits and "
            f"hyphens, starting with a letter (e.g. mpnet), other than {DEFAULT_MODEL_NAME!r}"
        )


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PropscanError(
            f"{out}: already exists and is not an empty directory; choose a new --out"
        )


def _model_name(model_dir: Path, config: dict[str, object], renamed: str | None) -> str:
    """The name the packaged model records in every result: ``renamed``, else its own; never
    the shipped model's name for another model."""
    name = renamed or str(config.get("name"))
    shipped = (
        read_model_config(DEFAULT_MODEL_DIR).get("name") if DEFAULT_MODEL_DIR.is_dir() else None
    )
    if name == shipped and model_dir.resolve() != DEFAULT_MODEL_DIR.resolve():
        raise PropscanError(
            f"{model_dir}/model.json names the model {name!r}, as the model shipped with "
            "propscan is named; give it a name of its own with --model-name (results record it)"
        )
    return name


def _pyproject(package: ModelPackage, description: str) -> str:
    return "\n".join(
        [
            "[build-system]",
            "requires = []",
            f'build-backend = "{Path(BACKEND_FILE).stem}"',
            'backend-path = ["."]',
            "",
            "[project]",
            f'name = "{package.distribution}"',
            f'version = "{package.version}"',
            f"description = {json.dumps(description)}",
            'readme = "README.md"',
            'requires-python = ">=3.11"',
            f'dependencies = ["propscan>={__version__}"]',
            "",
            f'[project.entry-points."{ENTRY_POINT_GROUP}"]',
            f'{package.name} = "{package.module}:model_dir"',
            "",
        ]
    )


def _module(package: ModelPackage, model_name: str) -> str:
    return f'''"""The propscan model {package.name!r} ({model_name} {package.version}).

Installed, it is chosen by name: ``propscan analyze FILE --model {package.name}``, or
``propscan.load_model("{package.name}")`` in Python.
"""

from pathlib import Path

#: The model directory: model.json, weights, tokenizer and model card.
MODEL_DIR = Path(__file__).parent / "{MODEL_SUBDIR}"


def model_dir() -> Path:
    """The model directory (the ``{ENTRY_POINT_GROUP}`` entry point propscan reads)."""
    return MODEL_DIR
'''


def _readme(package: ModelPackage, model_name: str, card: str) -> str:
    install = f"python -m pip install ./{package.directory.name}"
    width = len(install) + 3
    return f"""# {package.distribution}

The propscan model `{package.name}` ({model_name} {package.version}) as a Python package.

```bash
{install:<{width}}# needs no network
{"propscan models":<{width}}# lists it with its size, speed and scores
propscan analyze article.txt --model {package.name}
```

In Python: `propscan.load_model("{package.name}")`; on the page of `propscan serve`, choose
it in the Model menu. propscan finds it through the `{ENTRY_POINT_GROUP}` entry point
`{package.name} = "{package.module}:model_dir"`.

{card}"""


def write_model_package(
    model: str | os.PathLike[str],
    name: str,
    out: str | os.PathLike[str],
    *,
    model_name: str | None = None,
) -> ModelPackage:
    """Write the model ``model`` names (a directory or a model's name) as the package
    ``propscan-{name}`` in ``out``; ``model_name`` renames the model in its ``model.json``."""
    _check_name(name)
    folder = Path(out)
    _check_out(folder)
    source = model_directory(model)
    config = read_model_config(source)
    load_detector(source)  # a model that does not load is not packaged
    recorded = _model_name(source, config, model_name)
    version = str(config.get("version"))
    if not PACKAGE_VERSION.match(version):
        raise PropscanError(
            f"{source}/model.json: version {version!r} is not a package version "
            "(PEP 440, e.g. 1.0.2)"
        )
    package = ModelPackage(
        folder, f"propscan-{name}", f"propscan_{name.replace('-', '_')}", name, version
    )
    target = folder / package.module / MODEL_SUBDIR
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*SCRATCH_DIRS, "__pycache__"))
    if recorded != config.get("name"):
        write_model_config(target, {**config, "name": recorded})
    card = target / CARD_FILE
    summary = read_card_summary(target)
    description = summary.description or f"The propscan model {name} ({recorded} {version})."
    (folder / "pyproject.toml").write_text(_pyproject(package, description), encoding="utf-8")
    (folder / package.module / "__init__.py").write_text(_module(package, recorded), "utf-8")
    card_text = card.read_text(encoding="utf-8") if card.is_file() else ""
    (folder / "README.md").write_text(_readme(package, recorded, card_text), encoding="utf-8")
    shutil.copy2(backend.__file__, folder / BACKEND_FILE)
    return package
