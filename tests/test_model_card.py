"""Model cards: the card a run writes reads the same when rewritten from its ``training.json``
(as ``scripts/model_reliability.py`` and ``benchmarks/reproduction.py`` do)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from propscan.evaluation.model_card import (
    CARD_FILE,
    FACTS_FILE,
    vector_extensions,
    write_model_card,
)


def test_a_card_rewritten_from_its_facts_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text("{}", encoding="utf-8")
    facts = {
        "name": "propscan-x",
        "version": "1.0",
        "kind": "transformer",
        "description": "A model.",
        "settings": {"epochs": 4, "seed": 13, "batch_size": 16, "teachers": ()},
        "scores": {
            "validation": {"si_f1": 0.41, "tc_micro_f1": 0.65, "flc_f1": 0.2},
            "dev": {"si_f1": 0.4, "tc_micro_f1": 0.58, "flc_f1": 0.17},
        },
        "training_seconds": 60.0,
        "decoding": {"si_threshold": 0.15, "merge_gap": 60},
        "fit": {"steps": 3, "final_loss": 1.0},
        "settings_note": "As recorded when this model was trained.",
    }
    write_model_card(tmp_path, facts)
    first = (tmp_path / CARD_FILE).read_text(encoding="utf-8")
    write_model_card(tmp_path, json.loads((tmp_path / FACTS_FILE).read_text(encoding="utf-8")))
    assert (tmp_path / CARD_FILE).read_text(encoding="utf-8") == first
    rows = [line.split(" | ")[0] for line in first.splitlines() if line.startswith("| ")]
    assert rows.index("| validation") < rows.index("| dev")
    # a note on the settings stays above them, where a card rewritten later keeps it
    assert "## Settings\n\nAs recorded when this model was trained.\n\n| |" in first
    assert "settings_note" not in first


SCRIPT = Path(__file__).parents[1] / "scripts" / "model_reliability.py"


def test_a_model_measured_again_gets_dev_scores_speed_and_reliability(
    tiny_model: Path, data_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    facts = {"name": "propscan-x", "version": "1.0", "kind": "baseline", "scores": {}}
    (model / FACTS_FILE).write_text(json.dumps(facts), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(model), "--data", str(data_dir)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads((model / FACTS_FILE).read_text(encoding="utf-8"))
    assert 0.0 <= measured["scores"]["dev"]["si_f1"] <= 1.0
    assert measured["speed"]["articles per second (span finding on dev, one process)"] > 0
    assert measured["reliability"]["split"] == "dev"
    assert f", {os.cpu_count()} CPUs" in measured["machine"]
    assert "| articles per second" in (model / CARD_FILE).read_text(encoding="utf-8")


def test_measuring_a_model_without_card_facts_is_a_clear_error(tiny_model: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tiny_model)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "no model card facts; train the model with propscan" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_damaged_card_figure_is_left_out_and_hides_no_model(tmp_path: Path) -> None:
    """One package with a wrong number on its card must not stop 'propscan models' or the
    service for every model."""
    from propscan.evaluation.model_card import read_card_summary

    facts = {
        "size_bytes": "lots",
        "speed": {"articles per second (span finding)": None, "characters per second": "fast"},
        "scores": {"dev": {"si_f1": "n/a", "tc_micro_f1": 0.5, "flc_f1": None}},
        "description": ["not", "text"],
    }
    (tmp_path / FACTS_FILE).write_text(json.dumps(facts), encoding="utf-8")
    (tmp_path / "weights.bin").write_bytes(b"x" * 1000)
    summary = read_card_summary(tmp_path)
    assert summary.scores == {"dev": {"tc_micro_f1": 0.5}}
    assert summary.size_bytes >= 1000 and summary.articles_per_second is None
    assert summary.characters_per_second is None and summary.description is None


@pytest.mark.parametrize(
    ("flags", "described"),
    [
        ({"sse4_2", "avx", "avx2", "fma"}, "AVX2"),
        ({"avx2", "avx_vnni"}, "AVX2 with VNNI"),
        ({"avx2", "avx512f", "avx512bw"}, "AVX-512"),
        ({"avx2", "avx512f", "avx512_vnni"}, "AVX-512 with VNNI"),
        ({"fp", "asimd", "asimddp"}, ""),
        (set(), ""),
    ],
)
def test_cards_name_the_vector_extensions_int8_speed_depends_on(
    flags: set[str], described: str
) -> None:
    assert vector_extensions(flags) == described
