"""Accuracy on PTC dev: the shipped model, the classical baseline, and published figures.

    python benchmarks/accuracy.py [--model DIR] [--baseline-model DIR] [--beside NAME ...]

Each ``--beside`` model (an installed package such as ``mpnet``, or a directory) gets its
row and its own gap tables, so a larger model's remaining gap reads beside the default's.
The baseline is trained here from the train split (about a minute) unless a trained
one is given. Scores come from ``propscan.evaluation.evaluate`` (the same code as
``propscan evaluate``); the SemEval-2020 winners' figures are from the task paper and
were measured on the *test* set, which is not distributed with PTC v2.
Writes ``benchmarks/results/accuracy.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

#: SemEval-2020 Task 11 winners on the test set (Da San Martino et al., 2020).
PUBLISHED = {
    "SI: Hitachi (RoBERTa/BERT ensemble), test set": {"si_f1": 0.51552},
    "TC: ApplicaAI (RoBERTa ensemble, self-training), test set": {"tc_micro_f1": 0.62067},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default=None, help="model name or directory (default: the shipped model)"
    )
    parser.add_argument(
        "--baseline-model", default=None, help="trained baseline (default: train one now)"
    )
    parser.add_argument(
        "--beside", action="append", default=[], help="another model name or directory (repeat)"
    )
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from propscan.evaluation.error_analysis import flc_gap, phrase_quality, si_by_length
    from propscan.evaluation.evaluate import FLC_FILE, SUMMARY_COLUMNS, TC_FILE, evaluate
    from propscan.evaluation.model_card import machine_description
    from propscan.evaluation.reliability import technique_figures
    from propscan.models.baseline.train import train_baseline
    from propscan.models.registry import load_detector, model_directory
    from propscan.ptc.io import read_labels
    from propscan.ptc.splits import load_split

    dev = load_split(args.data, "dev")
    texts = {article.id: article.text for article in dev.articles}
    rows: dict[str, dict] = {}
    analyses: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for role, name in [("shipped", args.model), *(("optional", b) for b in args.beside)]:
            detector = load_detector(model_directory(name))
            label = f"{detector.name} {detector.version}"
            out_dir = Path(scratch) / str(len(rows))
            result = evaluate(detector, dev.articles, dev.gold, out_dir, progress=True)
            rows[f"{label} ({role}), dev"] = result.summary()
            predicted = read_labels(out_dir / FLC_FILE, "flc")
            classified_gold = read_labels(out_dir / TC_FILE, "flc")
            analyses[label] = {
                "phrase quality (dev predictions)": phrase_quality(texts, predicted, dev.gold),
                "SI by span length in words (dev)": si_by_length(texts, predicted, dev.gold),
                "FLC by technique (dev)": technique_figures(result.flc),
                "FLC with either half perfect (dev)": flc_gap(predicted, classified_gold, dev.gold),
            }
        if args.baseline_model:
            baseline = load_detector(args.baseline_model)
        else:
            train = load_split(args.data, "train")
            baseline = train_baseline(train.articles, train.gold, seed=0, progress=True)
        result = evaluate(
            baseline, dev.articles, dev.gold, Path(scratch) / "baseline", progress=True
        )
        rows[f"{baseline.name} {baseline.version} (classical baseline), dev"] = result.summary()
    rows.update(PUBLISHED)
    machine = machine_description()  # int8 models' last digits depend on the CPU's kernels

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.json").write_text(
        json.dumps({"machine": machine, "scores": rows, "analysis": analyses}, indent=2) + "\n",
        encoding="utf-8",
    )
    header = "| system | " + " | ".join(heading for _, heading in SUMMARY_COLUMNS) + " |"
    lines = [
        "# Accuracy on PTC v2 dev (75 articles)",
        "",
        f"`{shlex.join(['python', 'benchmarks/accuracy.py', *sys.argv[1:]])}` on {machine}; "
        "scores from propscan's scorers (equal to the official "
        "SemEval-2020 SI/TC and NLP4IF-2019 FLC scorers). Published rows are **test-set** figures, "
        "for orientation only.",
        "",
        header,
        "|---" * (len(SUMMARY_COLUMNS) + 1) + "|",
    ]
    for name, scores in rows.items():
        cells = ["" if scores.get(c) is None else f"{scores[c]:.3f}" for c, _ in SUMMARY_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for label, analysis in analyses.items():
        lines += _analysis_tables(label, analysis)
    (args.out / "accuracy.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _analysis_tables(label: str, analysis: dict[str, dict]) -> list[str]:
    """Markdown for one model's phrase-quality figures, per-length and per-technique tables
    and FLC with perfect span finding or perfect technique classification."""
    lines = ["", f"## {label}: phrase quality of its dev predictions", ""]
    lines += [
        f"- {key}: {value}" for key, value in analysis["phrase quality (dev predictions)"].items()
    ]
    for title in (
        "SI by span length in words (dev)",
        "FLC by technique (dev)",
        "FLC with either half perfect (dev)",
    ):
        table = analysis[title]
        columns = list(next(iter(table.values())))
        lines += ["", f"## {label}: {title}", "", "| | " + " | ".join(columns) + " |"]
        lines.append("|---" * (len(columns) + 1) + "|")
        lines += [
            f"| {name} | " + " | ".join(str(v) for v in row.values()) + " |"
            for name, row in table.items()
        ]
    return lines


if __name__ == "__main__":
    main()
