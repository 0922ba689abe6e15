"""How much of a validation score is the decoding fitted to its own articles.

    python benchmarks/tuning_optimism.py --model DIR [--model ...] [--repeats 4]
                                         [--plateau-width 0 --plateau-width 1 ...]

A card's validation figures come from decoding settings chosen on the same held-out
articles they score, so they lean a little towards those articles. This benchmark tunes
on one half of the validation articles and scores the other half, both ways, for
``--repeats`` random halvings (seeded 0, 1, ...), and sets the cross-fitted scores (every
article scored once per halving, by settings chosen without it) beside the in-sample ones
(tuned and scored on all of them, as the card does). Tuning on half the articles also
chooses less well, so the gap is an upper bound of the optimism. Each ``--plateau-width``
is a way of choosing each setting (0: the best score on the grid, as training does; w:
the best mean over a value and its w neighbours on either side). The model must be a
selection model (fitted without the validation part of train). Writes
``benchmarks/results/tuning_optimism.{json,md}``.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from results_files import RESULTS, write_results


def _scores(data: Any, predicted: Any, hits: dict[str, tuple[int, int]]) -> dict[str, float]:
    from propscan.ptc.scoring import score_flc, score_si

    correct, total = np.asarray(list(hits.values()), dtype=np.float64).reshape(-1, 2).sum(axis=0)
    return {
        "si": round(score_si(data.si_gold, predicted).f1, 4),
        "tc": round(float(correct / total) if total else 0.0, 4),
        "flc": round(score_flc(data.gold, predicted).f1, 4),
    }


def _part(data: Any, indices: Sequence[int]) -> Any:
    from propscan.models.transformer.tuning import Encoded

    articles = [data.articles[i] for i in indices]
    return Encoded(
        articles, data.gold.restrict(a.id for a in articles), [data.outputs[i] for i in indices]
    )


def _tuned_on(decoder: Any, tuning: Any, scored: Any, plateau_width: int) -> tuple[Any, dict]:
    """Predictions and technique hits on ``scored`` by settings chosen on ``tuning``."""
    from propscan.models.transformer.tuning import (
        gold_span_techniques,
        predict,
        technique_hits,
        tune_decoding,
    )

    settings, _, _ = tune_decoding(decoder, tuning, plateau_width=plateau_width)
    chosen = decoder.with_settings(settings)
    hits = technique_hits(scored.gold, gold_span_techniques(chosen, scored))
    return predict(chosen, scored), hits


def main() -> None:
    from propscan.core.spans import Annotations
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.tuning import Encoded, decoder_with_prior
    from propscan.ptc.splits import held_out_ids, load_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, action="append", required=True)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--plateau-width", type=int, action="append", default=[])
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    widths = args.plateau_width or [0]

    train = load_split(args.data, "train")
    held_out = held_out_ids(train.articles, 0.25)
    validation = [a for a in train.articles if a.id in held_out]
    fitting = [a for a in train.articles if a.id not in held_out]
    result: dict[str, Any] = {"repeats": args.repeats, "models": {}}
    lines = [
        "# Tuning optimism: validation scores tuned in sample and cross-fitted",
        "",
        f"`python benchmarks/tuning_optimism.py --repeats {args.repeats} "
        + " ".join(f"--plateau-width {w}" for w in widths)
        + " --model ...`: SI / TC / FLC F1 on the "
        f"{len(validation)} validation articles of train. In sample: decoding tuned and "
        "scored on all of them (what a card reports); cross-fitted: tuned on one half, "
        "scored on the other, both ways, mean over the halvings (lowest and highest in "
        "brackets). Plateau width 0 chooses each setting by its own score (training's rule).",
        "",
        "| model | plateau width | in sample | cross-fitted | in sample - cross-fitted |",
        "|---|---|---|---|---|",
    ]
    for model_dir in args.model:
        detector = TransformerDetector.load(model_dir)
        decoder = decoder_with_prior(detector.decoder, fitting, train.gold)
        data = Encoded.of(detector, validation, train.gold)
        everyone = list(range(len(validation)))
        name = "/".join(model_dir.parts[-2:])
        result["models"][name] = {}
        for width in widths:
            predicted, hits = _tuned_on(decoder, data, data, width)
            in_sample = _scores(data, predicted, hits)
            crossed = []
            for seed in range(args.repeats):
                order = everyone[:]
                random.Random(seed).shuffle(order)
                halves = (sorted(order[: len(order) // 2]), sorted(order[len(order) // 2 :]))
                spans: dict[str, Any] = {}
                hits = {}
                for tuning, scored in (halves, halves[::-1]):
                    part_spans, part_hits = _tuned_on(
                        decoder, _part(data, tuning), _part(data, scored), width
                    )
                    spans.update(part_spans.spans)
                    hits.update(part_hits)
                crossed.append(_scores(data, Annotations(spans), hits))
                print(name, width, seed, crossed[-1], flush=True)
            mean = {k: round(float(np.mean([c[k] for c in crossed])), 4) for k in in_sample}
            result["models"][name][str(width)] = {
                "in_sample": in_sample,
                "cross_fitted": crossed,
                "cross_fitted_mean": mean,
            }
            low = {k: min(c[k] for c in crossed) for k in mean}
            high = {k: max(c[k] for c in crossed) for k in mean}
            span = " / ".join(
                f"{mean[k]:.3f} [{low[k]:.3f}, {high[k]:.3f}]" for k in ("si", "tc", "flc")
            )
            lines.append(
                f"| {name} | {width} | "
                + " / ".join(f"{in_sample[k]:.3f}" for k in ("si", "tc", "flc"))
                + f" | {span} | "
                + " / ".join(f"{in_sample[k] - mean[k]:+.3f}" for k in ("si", "tc", "flc"))
                + " |"
            )
    write_results(args.out, "tuning_optimism", result, lines)


if __name__ == "__main__":
    main()
