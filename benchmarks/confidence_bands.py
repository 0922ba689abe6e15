"""How often a mark of each calibrated score is right: the evidence for the confidence bands.

    python benchmarks/confidence_bands.py [--model DIR] [--data DIR]

Runs the model (default: the shipped one) over the validation quarter of PTC train
(``validation_ids(ids, 0.25)``, the articles its decoding was tuned on; dev is never
used) and, for every predicted span, records whether it overlaps a gold span (any
technique), whether it overlaps a gold span of its own technique, and the share of its
characters inside gold spans. The table gives these per score range and for each band
of ``propscan.core.confidence``. Writes ``benchmarks/results/confidence_bands.{json,md}``.

The shipped model was fitted again on all of train after its decoding was chosen, so
these articles were among its training data. ``--held-out DIR`` names a model of the
same recipe that never saw them (``propscan train --no-refit`` writes one); its table,
measured the same way, shows how often the bands are right on unseen articles.

    python benchmarks/confidence_bands.py --held-out runs/minilm-selection
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from results_files import RESULTS, write_results

#: Score ranges of the table.
EDGES = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 1.0)


def span_facts(spans, gold, text_length: int) -> list[tuple[float, bool, bool, float, str]]:
    """(score, overlaps gold, overlaps gold of its technique, gold share, band) per span."""
    from propscan.core.confidence import band_of

    inside = np.zeros(text_length + 1, dtype=bool)
    for span in gold:
        inside[span.start : span.end] = True
    facts = []
    for span in spans:
        overlapping = [g for g in gold if g.overlaps(span)]
        same = any(g.technique == span.technique for g in overlapping)
        share = float(inside[span.start : span.end].mean())
        score = float(span.score or 0.0)
        facts.append((score, bool(overlapping), same, share, band_of(score).name))
    return facts


def summary(rows: list[tuple[float, bool, bool, float, str]]) -> dict[str, float | int]:
    if not rows:
        return {"spans": 0}
    scores, overlap, same, share, _ = (np.array(column) for column in zip(*rows, strict=True))
    return {
        "spans": len(rows),
        "mean_score": round(float(scores.mean()), 3),
        "overlaps_gold": round(float(overlap.mean()), 3),
        "overlaps_gold_of_its_technique": round(float(same.mean()), 3),
        "gold_character_share": round(float(share.mean()), 3),
    }


def measure(model_dir: Path | None, data: str | None) -> dict:
    """Score ranges and bands of one model's marks on the validation quarter of train."""
    from propscan.core.confidence import BANDS
    from propscan.core.spans import Annotations, Span
    from propscan.pipeline import analyze_many, load_model
    from propscan.ptc.scoring import score_si
    from propscan.ptc.splits import load_split, validation_ids

    model = load_model(model_dir)
    train = load_split(data, "train")
    held_out = validation_ids((a.id for a in train.articles), 0.25)
    articles = [a for a in train.articles if a.id in held_out]
    begin = time.perf_counter()
    analyses = analyze_many([a.text for a in articles], model)
    seconds = time.perf_counter() - begin
    rows = []
    for article, analysis in zip(articles, analyses, strict=True):
        rows += span_facts(analysis.spans, train.gold[article.id], len(article.text))
    predicted = Annotations(
        {
            a.id: tuple(Span(s.start, s.end) for s in x.spans)
            for a, x in zip(articles, analyses, strict=True)
        }
    )
    gold = Annotations({a.id: train.gold[a.id] for a in articles})
    ranges = []
    for low, high in itertools.pairwise(EDGES):
        part = [row for row in rows if low <= row[0] < high]
        ranges.append({"from": low, "to": high, **summary(part)})
    return {
        "model": f"{model.name} {model.version}",
        "directory": str(model_dir) if model_dir else "shipped",
        "articles": len(articles),
        "seconds": round(seconds, 1),
        "si_f1_on_these_articles": round(score_si(gold, predicted).f1, 3),
        "all": summary(rows),
        "score_ranges": ranges,
        "bands": [
            {"band": b.name, "from": b.lowest, **summary([r for r in rows if r[4] == b.name])}
            for b in BANDS
        ],
    }


def tables(result: dict) -> list[str]:
    header = (
        "| {first} | spans | mean score | overlaps gold | overlaps gold of its technique "
        "| share of its characters in gold |"
    )
    lines = [header.format(first="score"), "|---|---|---|---|---|---|"]
    for item in result["score_ranges"]:
        lines.append(_row(f"{item['from']:.2f}–{item['to']:.2f}", item))
    lines += ["", header.format(first="band"), "|---|---|---|---|---|---|"]
    for item in result["bands"]:
        lines.append(_row(f"{item['band']} (≥ {item['from']:.2f})", item))
    lines.append(_row("all", result["all"]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="model directory (shipped)")
    parser.add_argument(
        "--held-out",
        type=Path,
        default=None,
        help="a model of the same recipe fitted without "
        "the validation quarter of train (the selection stage)",
    )
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    result = measure(args.model, args.data)
    lines = [
        "# Confidence bands: how often a mark of each score is right",
        "",
        f"`python benchmarks/confidence_bands.py{' --held-out DIR' if args.held_out else ''}`: "
        f"{result['model']} on the {result['articles']} validation articles of PTC train "
        "(`validation_ids(ids, 0.25)`; dev is never used), every predicted span at the "
        "model's own threshold.",
        "",
        *tables(result),
        "",
        f"The shipped model was fitted again on all of train, these articles included: its "
        f"SI F1 on them is {result['si_f1_on_these_articles']:.3f}.",
    ]
    if args.held_out is not None:
        twin = measure(args.held_out, args.data)
        result["held_out"] = twin
        lines[-1] += (
            f" The same recipe fitted without them ({twin['model']}, the selection stage "
            f"of `propscan train`) scores SI F1 {twin['si_f1_on_these_articles']:.3f} there; "
            "its marks, below, show how often each band is right on articles a model has "
            "not seen."
        )
        lines += ["", "## The held-out twin", "", *tables(twin)]
    write_results(args.out, "confidence_bands", result, lines)


def _row(first: str, item: dict) -> str:
    if not item.get("spans"):
        return f"| {first} | 0 | | | | |"
    return (
        f"| {first} | {item['spans']} | {item['mean_score']:.3f} | {item['overlaps_gold']:.1%} "
        f"| {item['overlaps_gold_of_its_technique']:.1%} | {item['gold_character_share']:.1%} |"
    )


if __name__ == "__main__":
    main()
