"""Which class loads or trains a model: its ``kind`` names it; and how a model is named.

Implementations are imported only when a model of their kind is loaded or trained, so
the interface (:mod:`propscan.models.base`) and this registry import none of them, and a
new kind is one line in each table. :func:`resolve_model` is the one place that turns
what a caller names (a loaded detector, a model directory, or nothing for the shipped
model) into a detector; :func:`describe_model` reads the same without loading it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from propscan.core.techniques import TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR, Detector, read_model_config

#: ``kind`` -> ``module:class`` whose ``load(directory)`` returns the detector.
LOADERS: dict[str, str] = {
    "baseline": "propscan.models.baseline.detector:BaselineDetector",
    "transformer": "propscan.models.transformer.detector:TransformerDetector",
}

#: ``kind`` -> ``module:function`` that trains a model of that kind into a directory
#: (``train(split, out, options, progress)``, see :class:`TrainingOptions`).
TRAINERS: dict[str, str] = {
    "baseline": "propscan.models.baseline.train:train_model",
    "transformer": "propscan.models.transformer.train:train_model",
}

#: What names a model: a loaded detector, a model directory, or None for the shipped one.
ModelSource = Detector | str | os.PathLike[str] | None


@dataclass(frozen=True)
class TrainingOptions:
    """What ``propscan train`` asks of any kind of model (a kind ignores what it lacks)."""

    seed: int = 13
    epochs: int = 4
    max_steps: int | None = None
    max_articles: int | None = None
    quantize: bool = True
    refit: bool = True
    encoder: Path | None = None
    #: Where torch computes (``cpu``, or ``cuda`` where a GPU is); kinds without torch
    #: ignore it.
    device: str = "cpu"
    #: Recipe settings of the kind by name (the transformer's ``TrainingSettings``), over
    #: its defaults; a kind refuses a setting it does not have.
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelDescription:
    """Name, version and technique set of a model, read from its ``model.json``."""

    name: str
    version: str
    techniques: TechniqueSet


def _imported(target: str) -> Any:
    module, name = target.split(":")
    return getattr(import_module(module), name)


def load_detector(directory: str | os.PathLike[str] | None = None) -> Detector:
    """Load the model in ``directory``, or the model shipped with propscan."""
    path = Path(directory) if directory is not None else DEFAULT_MODEL_DIR
    kind = read_model_config(path).get("kind")
    target = LOADERS.get(kind) if isinstance(kind, str) else None
    if target is None:
        raise PropscanError(f"{path}/model.json: unknown model kind {kind!r}")
    loaded: Detector = _imported(target).load(path)
    return loaded


def trainer(kind: str) -> Any:
    """The training function of models of ``kind`` (see :data:`TRAINERS`)."""
    target = TRAINERS.get(kind)
    if target is None:
        raise PropscanError(f"unknown model kind {kind!r}; expected one of {', '.join(TRAINERS)}")
    return _imported(target)


def resolve_model(model: ModelSource) -> Detector:
    """The detector ``model`` names; the shipped model is loaded once per process."""
    if model is None:
        return _shipped_model()
    if isinstance(model, str | os.PathLike):
        return load_detector(model)
    return model


@functools.cache
def _shipped_model() -> Detector:
    if not (DEFAULT_MODEL_DIR / "model.json").is_file():
        raise PropscanError(
            "this installation of propscan ships no model; pass a model directory "
            "(--model DIR) made with 'propscan train'"
        )
    return load_detector(DEFAULT_MODEL_DIR)


def describe_model(model: ModelSource) -> ModelDescription:
    """Name, version and techniques of ``model``, without loading it when it is not loaded."""
    if model is not None and not isinstance(model, str | os.PathLike):
        return ModelDescription(model.name, model.version, model.techniques)
    config = read_model_config(model if model is not None else DEFAULT_MODEL_DIR)
    return ModelDescription(
        str(config.get("name")), str(config.get("version")), technique_set(config.get("techniques"))
    )
