"""Which class loads a model directory: its ``model.json`` ``kind`` names it.

Implementations are imported only when a model of their kind is loaded, so the
interface (:mod:`propscan.models.base`) and this registry import none of them, and a
new kind is one line here.
"""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path

from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR, Detector, read_model_config

#: ``kind`` -> ``module:class`` whose ``load(directory)`` returns the detector.
LOADERS: dict[str, str] = {
    "baseline": "propscan.models.baseline.detector:BaselineDetector",
    "transformer": "propscan.models.transformer.detector:TransformerDetector",
}


def load_detector(directory: str | os.PathLike[str] | None = None) -> Detector:
    """Load the model in ``directory``, or the model shipped with propscan."""
    path = Path(directory) if directory is not None else DEFAULT_MODEL_DIR
    kind = read_model_config(path).get("kind")
    target = LOADERS.get(kind) if isinstance(kind, str) else None
    if target is None:
        raise PropscanError(f"{path}/model.json: unknown model kind {kind!r}")
    module, name = target.split(":")
    loaded: Detector = getattr(import_module(module), name).load(path)
    return loaded
