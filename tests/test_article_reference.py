"""Making and storing a model's article-score reference from PTC train."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from propscan.core.article_score import read_reference
from propscan.errors import PropscanError
from propscan.evaluation.article_reference import make_reference, tuned_threshold, write_reference
from propscan.ptc.splits import load_split


def test_reference_of_a_model_is_stored_beside_it(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    reference = make_reference(model, data_dir)
    assert len(reference.values) == len(load_split(data_dir, "train").articles)
    assert all(0.0 <= value <= 1.0 for value in reference.values)
    assert reference.threshold == tuned_threshold(model)
    write_reference(reference, model)
    assert read_reference(model) == reference


def test_a_model_without_a_threshold_is_a_clear_error(tiny_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    config = json.loads((model / "model.json").read_text())
    config.pop("si_threshold")
    (model / "model.json").write_text(json.dumps(config))
    with pytest.raises(PropscanError, match="records no decision threshold"):
        tuned_threshold(model)
