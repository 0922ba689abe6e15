"""The articles a selection model never saw: the validation part of train it held out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from results_files import RESULTS


def selection_arguments(doc: str) -> argparse.Namespace:
    """``--model`` (a selection model), ``--folds`` over its validation articles,
    ``--data`` and ``--out``, for a benchmark whose docstring is ``doc``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a selection model directory")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def held_out_articles(model: Path, data: str | None) -> tuple[Any, list[Any]]:
    """The train split and its validation articles, as the run that made ``model`` (a
    ``RUN/selection`` directory) split them: its card's fraction, else the default 25%."""
    from propscan.ptc.splits import load_split, validation_ids

    train = load_split(data, "train")
    card = model.parent / "training.json"
    facts = json.loads(card.read_text(encoding="utf-8")) if card.is_file() else {}
    fraction = facts.get("settings", {}).get("validation_fraction", 0.25)
    held_out = validation_ids((a.id for a in train.articles), fraction)
    return train, [a for a in train.articles if a.id in held_out]
