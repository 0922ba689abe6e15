"""A copy of a transformer model whose classical companion weighs techniques by inverse
frequency (``class_weight="balanced"`` in its technique regression): one ablation row.

    python benchmarks/balanced_companion.py --model RUN/selection --out DIR
    python benchmarks/ablation.py --model DIR --variant "class-balanced companion"

The companion is trained as ``propscan train`` trains the selection stage's (train split,
seed 13, the same quarter held out), so the row differs from ``--model`` only there.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a selection-stage model")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    import sklearn.linear_model

    import propscan.models.baseline.train as baseline_train
    from propscan.core.techniques import technique_set
    from propscan.ptc.splits import load_split

    baseline_train.LogisticRegression = functools.partial(
        sklearn.linear_model.LogisticRegression, class_weight="balanced"
    )
    shutil.copytree(args.model, args.out, ignore=shutil.ignore_patterns("baseline", "checkpoint"))
    config = json.loads((args.out / "model.json").read_text(encoding="utf-8"))
    split = load_split(args.data, "train")
    companion = baseline_train.train_baseline(
        split.articles,
        split.gold,
        seed=13,
        validation_fraction=0.25,
        techniques=technique_set(config["techniques"]),
        progress=False,
    )
    companion.save(args.out / "baseline")
    print(f"{args.out}: companion {companion.training}")


if __name__ == "__main__":
    main()
