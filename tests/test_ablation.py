"""The ablation script's reading of held settings (``benchmarks/ablation.py``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "ablation.py"


def _ablation() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ablation", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_held_settings_are_read_as_values() -> None:
    """``complete_phrases=false`` holds the rule off: read as the string "false" it was
    true, and the control row measured the rule itself."""
    pairs = _ablation()._pairs(
        ["complete_phrases=false", "whole_words=True", "merge_gap=-1", "note=no"]
    )
    assert pairs == {
        "complete_phrases": False,
        "whole_words": True,
        "merge_gap": -1,
        "note": "no",
    }


@pytest.mark.slow
def test_int8_copy_scores_an_fp32_model_as_it_would_ship(train_split, tmp_path: Path) -> None:
    """``--int8``: a copy of a model whose training kept fp32, its encoder quantised as
    training quantises, loads and marks; the fp32 model is left as it was."""
    pytest.importorskip("torch", reason="training needs the train extra")
    from support.tiny_bert import save_tiny_encoder

    from propscan.models.base import read_model_config
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.recipe import TrainingSettings
    from propscan.models.transformer.train import train_transformer

    settings = TrainingSettings(
        epochs=1, batch_size=4, max_steps=1, max_articles=3, refit=False, quantize=False
    )
    fp32 = train_transformer(
        train_split.articles[:6],
        train_split.gold,
        tmp_path / "fp32",
        techniques=train_split.techniques,
        encoder=save_tiny_encoder(tmp_path / "encoder"),
        settings=settings,
        progress=False,
    ).model_dir
    fp32_bytes = (fp32 / "encoder.onnx").read_bytes()

    copy = _ablation()._int8_copy(fp32, tmp_path / "int8")

    assert read_model_config(copy)["quantized"] is True
    assert read_model_config(fp32)["quantized"] is False
    assert (fp32 / "encoder.onnx").read_bytes() == fp32_bytes
    assert (copy / "encoder.onnx").stat().st_size < len(fp32_bytes) / 2
    assert not (copy / "checkpoint").exists()
    article = train_split.articles[0]
    spans = TransformerDetector.load(copy).predict([article.text], threshold=0.0)[0].spans
    assert spans
    for span in spans:
        assert article.text[span.start : span.end].strip()
    with pytest.raises(SystemExit, match="int8 already"):
        _ablation()._int8_copy(copy, tmp_path / "again")
