"""The ablation script's reading of held settings (``benchmarks/ablation.py``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

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
