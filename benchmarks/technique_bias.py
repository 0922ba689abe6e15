"""Per-technique decision offsets for technique classification, cross-validated.

    python benchmarks/technique_bias.py --model DIR [--folds 5]

``DIR`` is a selection model (``propscan train --out RUN`` writes it to
``RUN/selection``): a model that never saw the validation part of train. Its technique
probabilities for every gold span of the validation articles are computed once; one
offset per technique is added to the log-probabilities before ranking, chosen by
coordinate ascent on TC accuracy (the convention of ``technique_hits``: a span with k gold
labels gets its k most probable techniques). The offsets are chosen on all folds but one
and scored on the held-out fold, over articles, so the cross-validated accuracy is what
the lever would give on articles it did not tune on. Dev is not used. Writes
``benchmarks/results/technique_bias.{json,md}``.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
from results_files import write_results
from selection_data import held_out_articles, selection_arguments

#: Offsets tried for each technique (log-probability units).
GRID = tuple(round(value, 2) for value in np.arange(-1.5, 1.51, 0.25))


def labelled_spans(detector, articles, gold) -> list[tuple[int, np.ndarray, Counter, int]]:
    """(article number, log-probabilities, gold labels, label count) of every gold span."""
    from propscan.core.spans import Span

    found = []
    outputs = detector.encode([article.text for article in articles])
    for number, (article, output) in enumerate(zip(articles, outputs, strict=True)):
        labels = Counter((span.start, span.end) for span in gold[article.id])
        offsets = sorted(labels)
        if not offsets:
            continue
        rows = detector.technique_probabilities(
            article.text, output, [Span(start, end) for start, end in offsets]
        )
        for offset, row in zip(offsets, rows, strict=True):
            here = Counter(
                str(span.technique) for span in gold[article.id] if (span.start, span.end) == offset
            )
            found.append((number, np.log(np.maximum(row, 1e-12)), here, labels[offset]))
    return found


def correct(spans, techniques: list[str], offsets: np.ndarray) -> int:
    """Gold labels matched when each span gets its k most probable techniques."""
    from propscan.models.transformer.tuning import top_techniques

    hits = 0
    for _, log_probabilities, labels, k in spans:
        hits += (top_techniques(log_probabilities + offsets, techniques, k) & labels).total()
    return hits


def fit_offsets(spans, techniques: list[str], rounds: int = 2) -> np.ndarray:
    """Coordinate ascent over :data:`GRID`, one technique at a time."""
    offsets = np.zeros(len(techniques))
    best = correct(spans, techniques, offsets)
    for _ in range(rounds):
        for j in range(len(techniques)):
            for value in GRID:
                trial = offsets.copy()
                trial[j] = value
                hits = correct(spans, techniques, trial)
                if hits > best:
                    best, offsets = hits, trial
    return offsets


def main() -> None:
    args = selection_arguments(__doc__)

    from propscan.models.transformer.detector import TransformerDetector

    train, validation = held_out_articles(args.model, args.data)
    detector = TransformerDetector.load(args.model)
    techniques = list(detector.techniques)
    spans = labelled_spans(detector, validation, train.gold)

    numbers = sorted({number for number, *_ in spans})
    np.random.default_rng(0).shuffle(numbers)
    folds = [set(numbers[k :: args.folds]) for k in range(args.folds)]
    labels = sum(k for *_, k in spans)
    without = correct(spans, techniques, np.zeros(len(techniques)))
    rows, cross_validated = [], 0
    for fold in folds:
        tuning = [span for span in spans if span[0] not in fold]
        scored = [span for span in spans if span[0] in fold]
        offsets = fit_offsets(tuning, techniques)
        hits = correct(scored, techniques, offsets)
        cross_validated += hits
        rows.append(
            {
                "articles": len(fold),
                "labels": sum(k for *_, k in scored),
                "correct_without": correct(scored, techniques, np.zeros(len(techniques))),
                "correct_with": hits,
                "offsets": dict(zip(techniques, offsets.tolist(), strict=True)),
            }
        )
    result = {
        "command": f"python benchmarks/technique_bias.py --model {args.model}",
        "date": time.strftime("%Y-%m-%d"),
        "validation_articles": len(validation),
        "labels": labels,
        "tc_without_offsets": round(without / labels, 4),
        "tc_with_cross_validated_offsets": round(cross_validated / labels, 4),
        "folds": rows,
    }
    lines = [
        "# Per-technique decision offsets for technique classification",
        "",
        f"`{result['command']}` on {result['date']}: {len(validation)} validation articles "
        f"(held out of the selection model), {labels} gold labels, {args.folds} folds over "
        "articles. Offsets are chosen on the other folds and scored on each fold.",
        "",
        "| fold | articles | gold labels | TC without offsets | TC with offsets |",
        "|---:|---:|---:|---:|---:|",
        *(
            f"| {number} | {row['articles']} | {row['labels']} "
            f"| {row['correct_without'] / row['labels']:.3f} "
            f"| {row['correct_with'] / row['labels']:.3f} |"
            for number, row in enumerate(rows, start=1)
        ),
        f"| all | {len(validation)} | {labels} | {result['tc_without_offsets']:.3f} "
        f"| {result['tc_with_cross_validated_offsets']:.3f} |",
    ]
    write_results(args.out, "technique_bias", result, lines)


if __name__ == "__main__":
    main()
