"""Does ``propscan train`` reproduce a shipped model? Two cards of one recipe, side by side.

    python benchmarks/reproduction.py --model NAME|DIR --run DIR [--tolerance 0.005]

``--model`` is the shipped model (a name such as ``mpnet``, or its directory); ``--run``
the output directory of the same ``propscan train`` command run again from scratch. Both
``training.json`` cards give the validation scores (the held-out part of train that chose
every setting), the dev scores where both have them, the final training loss and the
minutes the run took, whether it was resumed from a checkpoint, and the recipe and
decoding settings in which the two cards differ; the files that hold the weights are
compared byte for byte and, where they differ, value by value. A score reproduces when
the two differ by at most ``--tolerance`` (0.005 F1: half a point).
Writes ``benchmarks/results/reproduction_<name>.{json,md}``; with ``--record``, also the
verdict into the shipped model's card (``training.json`` and ``MODEL_CARD.md``), so that a
packaged model says it was reproduced.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from results_files import RESULTS, write_results

SCORES = ("si_f1", "tc_micro_f1", "tc_macro_f1", "flc_f1")
#: Files of a transformer model directory that hold fitted weights (the companion's
#: ``model.json`` holds its settings and the propscan version that wrote it).
WEIGHT_FILES = (
    "encoder.onnx",
    "span_head.npz",
    "baseline/span-model.npz",
    "baseline/technique-model.npz",
)


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _arrays(path: Path) -> dict[str, Any]:
    """The named weight arrays of an ONNX graph (its initializers) or an ``.npz`` file."""
    import numpy as np

    if path.suffix == ".onnx":
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(path)).graph
        return {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    with np.load(path) as weights:
        return {name: weights[name] for name in weights.files}


def weight_difference(shipped: Path, run: Path) -> dict[str, Any]:
    """How far two weight files lie apart: files that differ in bytes may hold the same
    numbers, or numbers one rounding step apart (an int8 weight quantised on the other side
    of a boundary), which is not the same as weights fitted differently."""
    if _digest(shipped) == _digest(run):
        return {"identical": True}
    import numpy as np

    left, right = _arrays(shipped), _arrays(run)
    if set(left) != set(right) or any(left[k].shape != right[k].shape for k in left):
        return {"identical": False, "same_layout": False}
    values = differing = 0
    largest = {"integer": 0.0, "float": 0.0}
    for name, array in left.items():
        gap = np.abs(array.astype(np.float64) - right[name].astype(np.float64))
        values += array.size
        differing += int(np.count_nonzero(gap))
        kind = "integer" if np.issubdtype(array.dtype, np.integer) else "float"
        largest[kind] = max(largest[kind], float(gap.max(initial=0.0)))
    return {
        "identical": False,
        "same_layout": True,
        "values": values,
        "differing_values": differing,
        "largest_integer_difference": largest["integer"],
        "largest_float_difference": largest["float"],
    }


def _describe_weights(name: str, difference: dict[str, Any]) -> str:
    if difference["identical"]:
        return f"{name}: identical byte for byte"
    if not difference["same_layout"]:
        return f"{name}: other arrays"
    share = difference["differing_values"] / max(difference["values"], 1)
    return (
        f"{name}: {difference['differing_values']:,} of {difference['values']:,} values differ "
        f"({share:.2%}), integers by at most {difference['largest_integer_difference']:g}, "
        f"floats by at most {difference['largest_float_difference']:.2g}"
    )


def _facts(directory: Path) -> dict[str, Any]:
    path = directory / "training.json"
    if not path.is_file():
        sys.exit(f"error: {path} is missing: pass a model directory written by 'propscan train'")
    facts: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return facts


def compare(shipped: Path, run: Path, tolerance: float) -> dict[str, Any]:
    """Scores, loss, time and weights of ``shipped`` against ``run``, with the verdict."""
    cards = {"shipped": _facts(shipped), "run": _facts(run)}
    splits = [
        split
        for split in ("validation", "validation (fp32 before export)", "dev")
        if all(split in card.get("scores", {}) for card in cards.values())
    ]
    scores = {
        split: {
            score: {
                side: round(float(card["scores"][split][score]), 4) for side, card in cards.items()
            }
            for score in SCORES
            if all(score in card["scores"][split] for card in cards.values())
        }
        for split in splits
    }
    for table in scores.values():
        for row in table.values():
            row["difference"] = round(row["run"] - row["shipped"], 4)
    validation = scores.get("validation", {})
    return {
        "tolerance": tolerance,
        "scores": scores,
        "reproduced": bool(validation)
        and all(abs(row["difference"]) <= tolerance for row in validation.values()),
        "final_loss": {side: card.get("fit", {}).get("final_loss") for side, card in cards.items()},
        "training_minutes": {
            side: round(card.get("training_seconds", 0) / 60, 1) for side, card in cards.items()
        },
        "machine": {side: card.get("machine") for side, card in cards.items()},
        "resumed": {
            side: card.get("fit", {}).get("fit_seconds_before_resume", 0) > 0
            for side, card in cards.items()
        },
        "weights": {
            name: weight_difference(shipped / name, run / name)
            for name in WEIGHT_FILES
            if (shipped / name).is_file() and (run / name).is_file()
        },
        "recipe_differences": _differences(cards, "settings"),
        "decoding_differences": _differences(cards, "decoding"),
    }


def _differences(cards: dict[str, dict[str, Any]], section: str) -> dict[str, dict[str, Any]]:
    """The entries of one card section (the recipe, or the decoding chosen on validation)
    whose values differ between the shipped model and the run."""
    shipped, run = cards["shipped"].get(section, {}), cards["run"].get(section, {})
    return {
        key: {"shipped": value, "run": run.get(key)}
        for key, value in shipped.items()
        if run.get(key) != value
    }


def record(shipped: Path, result: dict[str, Any], run_date: str) -> None:
    """Write the verdict of ``result`` into the card of the model in ``shipped``."""
    from propscan.evaluation.model_card import write_model_card

    validation = result["scores"]["validation"]
    scores = " / ".join(f"{validation[s]['run']:.3f}" for s in ("si_f1", "tc_micro_f1", "flc_f1"))
    verdict = "within" if result["reproduced"] else "not within"
    weights = result["weights"]
    differing = {name: w for name, w in weights.items() if not w["identical"]}
    if not weights:
        same = "no weight files to compare"
    elif not differing:
        same = "the same weights byte for byte"
    elif all(w["same_layout"] for w in differing.values()):
        steps = max(w["largest_integer_difference"] for w in differing.values())
        drift = max(w["largest_float_difference"] for w in differing.values())
        step_words = "one integer step" if steps == 1 else f"{steps:g} integer steps"
        same = (
            f"weights apart by at most {step_words} and {drift:.2g} ("
            + ", ".join(
                f"{w['differing_values'] / w['values']:.2%} of {name}'s values"
                for name, w in differing.items()
            )
            + ")"
        )
    else:
        same = "other weights"
    facts = _facts(shipped)
    facts["reproduction"] = (
        f"the training command run again from scratch on {run_date} "
        f"({result['training_minutes']['run']} min on {result['machine']['run']}"
        f"{', resumed from checkpoints' if result['resumed']['run'] else ''}): validation SI / "
        f"TC / FLC {scores}, {verdict} {result['tolerance']:g} F1 of this card's on every score, "
        f"{same} (benchmarks/reproduction.py)"
    )
    write_model_card(shipped, facts)


def _listed(differences: dict[str, dict[str, Any]]) -> str:
    return (
        ", ".join(f"{key} ({row['shipped']} / {row['run']})" for key, row in differences.items())
        or "none"
    )


def main() -> None:
    from propscan.models.registry import model_directory

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the shipped model: name or directory")
    parser.add_argument("--run", type=Path, required=True, help="the run's output directory")
    parser.add_argument("--tolerance", type=float, default=0.005)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--record", action="store_true", help="write the verdict into the shipped model's card"
    )
    args = parser.parse_args()

    shipped = model_directory(args.model)
    result = compare(shipped, args.run, args.tolerance)
    name = json.loads((shipped / "model.json").read_text(encoding="utf-8"))["name"]
    command = f"python benchmarks/reproduction.py --model {args.model} --run RUN"
    result = {"model": name, "command": f"{command} --tolerance {args.tolerance}", **result}
    verdict = "reproduces" if result["reproduced"] else "does not reproduce"
    lines = [
        f"# Reproducing {name} with `propscan train`",
        "",
        f"`{result['command']}`, where RUN is the output directory of the training command in "
        f"{name}'s card run again from scratch. On validation the run **{verdict}** the shipped "
        f"model within {args.tolerance:g} F1 on every score.",
        "",
        "| split | score | shipped | run | difference |",
        "|---|---|---|---|---|",
    ]
    for split, table in result["scores"].items():
        for score, row in table.items():
            lines.append(
                f"| {split} | {score} | {row['shipped']:.4f} | {row['run']:.4f} | "
                f"{row['difference']:+.4f} |"
            )
    lines += [
        "",
        "| | shipped | run |",
        "|---|---|---|",
        "| final training loss | {shipped} | {run} |".format(**result["final_loss"]),
        "| training minutes | {shipped} | {run} |".format(**result["training_minutes"]),
        "| machine | {shipped} | {run} |".format(**result["machine"]),
        "| resumed from a checkpoint | {shipped} | {run} |".format(
            **{side: "yes" if resumed else "no" for side, resumed in result["resumed"].items()}
        ),
        "",
        "Weight files: "
        + "; ".join(_describe_weights(file, w) for file, w in result["weights"].items())
        + ".",
        f"Recipe settings that differ: {_listed(result['recipe_differences'])}.",
        "Decoding settings chosen on validation that differ (shipped / run): "
        f"{_listed(result['decoding_differences'])}.",
    ]
    write_results(args.out, f"reproduction_{name}", result, lines)
    if args.record:
        run_date = date.fromtimestamp((args.run / "training.json").stat().st_mtime).isoformat()
        record(shipped, result, run_date)


if __name__ == "__main__":
    main()
