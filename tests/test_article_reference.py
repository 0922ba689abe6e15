"""Making and storing a model's article-score reference from PTC train."""

from __future__ import annotations

import shutil
from pathlib import Path

from propscan.core.article_score import read_reference
from propscan.evaluation.article_reference import make_reference, write_reference
from propscan.pipeline import load_model
from propscan.ptc.splits import load_split


def test_reference_of_a_model_is_stored_beside_it(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    reference = make_reference(model, data_dir)
    assert len(reference.values) == len(load_split(data_dir, "train").articles)
    assert all(0.0 <= value <= 1.0 for value in reference.values)
    assert reference.threshold == load_model(model).decision_threshold
    write_reference(reference, model)
    assert read_reference(model) == reference
