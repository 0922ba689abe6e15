"""A decision rule for rare techniques: each span's technique probabilities divided by
the technique's share of the fitting spans to the power tau (logit adjustment), before
the Repetition rules, as the decoding setting ``technique_prior_weight`` does.

    python benchmarks/technique_prior.py --model RUN/selection [--model ...]

tau = 0 is the model as it is; tau = 1 removes the prior of the training data, so rare
techniques win more often. TC micro-F1 (the official score) and macro-F1 (every
technique weighing the same) on the gold spans of the validation quarter of train, the
split that would choose tau, and of dev (reported only). The model must be a selection
model (fitted without the validation quarter). Writes
``benchmarks/results/technique_prior.{json,md}``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from results_files import RESULTS, write_results

TAUS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


def main() -> None:
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.tuning import (
        Encoded,
        decoder_with_prior,
        gold_span_techniques,
    )
    from propscan.ptc.scoring import score_tc
    from propscan.ptc.splits import held_out_ids, load_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, action="append", required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    train, dev = load_split(args.data, "train"), load_split(args.data, "dev")
    held_out = held_out_ids(train.articles, 0.25)
    splits = {
        "validation": ([a for a in train.articles if a.id in held_out], train.gold),
        "dev": (dev.articles, dev.gold),
    }
    fitting = [a for a in train.articles if a.id not in held_out]
    result: dict = {"taus": list(TAUS), "models": {}}
    lines = [
        "# Technique prior: a decision rule for rare techniques",
        "",
        "`python benchmarks/technique_prior.py --model ...`: technique probabilities of each "
        "gold span divided by the technique's share of the fitting spans to the power tau "
        "(the decoding setting `technique_prior_weight`); TC micro-F1 / macro-F1.",
        "",
        "| model | split | " + " | ".join(f"tau {tau}" for tau in TAUS) + " |",
        "|---|---|" + "---|" * len(TAUS),
    ]
    for model_dir in args.model:
        detector = TransformerDetector.load(model_dir)
        with_prior = decoder_with_prior(detector.decoder, fitting, train.gold)
        name = "/".join(model_dir.parts[-2:])
        result["models"][name] = {}
        for split, (articles, gold) in splits.items():
            data = Encoded.of(detector, articles, gold)
            scores = []
            for tau in TAUS:
                decoder = with_prior.with_settings(
                    replace(with_prior.settings, technique_prior_weight=tau)
                )
                labelled = gold_span_techniques(decoder, data)
                tc = score_tc(data.gold.restrict(labelled.spans), labelled, detector.techniques)
                scores.append({"micro": round(tc.micro_f1, 4), "macro": round(tc.macro_f1, 4)})
            result["models"][name][split] = scores
            cells = [f"{s['micro']:.3f} / {s['macro']:.3f}" for s in scores]
            lines.append(f"| {name} | {split} | " + " | ".join(cells) + " |")
    write_results(args.out, "technique_prior", result, lines)


if __name__ == "__main__":
    main()
