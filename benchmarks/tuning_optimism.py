"""How much of a validation score is the decoding fitted to its own articles.

    python benchmarks/tuning_optimism.py --model DIR [--model ...] [--repeats 4]

A card's validation figures come from decoding settings chosen on the same held-out
articles they score, so they lean a little towards those articles. This benchmark tunes
on one half of the validation articles and scores the other half, both ways, for
``--repeats`` random halvings (seeded 0, 1, ...), and sets the cross-fitted scores (every
article scored once per halving, by settings chosen without it) beside the in-sample ones
(tuned and scored on all of them, as the card does). Tuning on half the articles also
chooses less well, so the gap is an upper bound of the optimism. The model must be a
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

TASKS = ("si", "tc", "flc")


def _scores(data: Any, predicted: Any, hits: dict[str, tuple[int, int]]) -> dict[str, float]:
    """SI, TC and FLC F1 of ``predicted`` on ``data``, as the ablation table scores them."""
    from propscan.models.transformer.tuning import bootstrap_scores

    ids = [article.id for article in data.articles]
    scores = bootstrap_scores(data.gold, predicted, hits, ids, samples=1)
    return {task: round(float(scores[task].value), 4) for task in TASKS}


def _part(data: Any, indices: Sequence[int]) -> Any:
    from propscan.models.transformer.tuning import Encoded

    articles = [data.articles[i] for i in indices]
    return Encoded(
        articles, data.gold.restrict(a.id for a in articles), [data.outputs[i] for i in indices]
    )


def _tuned_on(decoder: Any, tuning: Any, scored: Any) -> tuple[Any, dict]:
    """Predictions and technique hits on ``scored`` by settings chosen on ``tuning``."""
    from propscan.models.transformer.tuning import (
        gold_span_techniques,
        predict,
        technique_hits,
        tune_decoding,
    )

    settings, _, _ = tune_decoding(decoder, tuning)
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
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    train = load_split(args.data, "train")
    held_out = held_out_ids(train.articles, 0.25)
    validation = [a for a in train.articles if a.id in held_out]
    fitting = [a for a in train.articles if a.id not in held_out]
    result: dict[str, Any] = {"repeats": args.repeats, "models": {}}
    lines = [
        "# Tuning optimism: validation scores tuned in sample and cross-fitted",
        "",
        f"`python benchmarks/tuning_optimism.py --repeats {args.repeats} --model ...`: "
        f"SI / TC / FLC F1 on the {len(validation)} validation articles of train. In sample: "
        "decoding tuned and scored on all of them (what a card reports); cross-fitted: tuned "
        "on one half, scored on the other, both ways, mean over the halvings (lowest and "
        "highest in brackets).",
        "",
        "| model | in sample | cross-fitted | in sample - cross-fitted |",
        "|---|---|---|---|",
    ]
    for model_dir in args.model:
        detector = TransformerDetector.load(model_dir)
        decoder = decoder_with_prior(detector.decoder, fitting, train.gold)
        data = Encoded.of(detector, validation, train.gold)
        in_sample = _scores(data, *_tuned_on(decoder, data, data))
        crossed = []
        for seed in range(args.repeats):
            order = list(range(len(validation)))
            random.Random(seed).shuffle(order)
            halves = (sorted(order[: len(order) // 2]), sorted(order[len(order) // 2 :]))
            spans: dict[str, Any] = {}
            hits: dict[str, tuple[int, int]] = {}
            for tuning, scored in (halves, halves[::-1]):
                part_spans, part_hits = _tuned_on(decoder, _part(data, tuning), _part(data, scored))
                spans.update(part_spans.spans)
                hits.update(part_hits)
            crossed.append(_scores(data, Annotations(spans), hits))
            print(model_dir, seed, crossed[-1], flush=True)
        mean = {k: round(float(np.mean([c[k] for c in crossed])), 4) for k in in_sample}
        name = "/".join(model_dir.parts[-2:])
        result["models"][name] = {
            "in_sample": in_sample,
            "cross_fitted": crossed,
            "cross_fitted_mean": mean,
        }
        low = {k: min(c[k] for c in crossed) for k in mean}
        high = {k: max(c[k] for c in crossed) for k in mean}
        lines.append(
            f"| {name} | "
            + " / ".join(f"{in_sample[k]:.3f}" for k in TASKS)
            + " | "
            + " / ".join(f"{mean[k]:.3f} [{low[k]:.3f}, {high[k]:.3f}]" for k in TASKS)
            + " | "
            + " / ".join(f"{in_sample[k] - mean[k]:+.3f}" for k in TASKS)
            + " |"
        )
    write_results(args.out, "tuning_optimism", result, lines)


if __name__ == "__main__":
    main()
