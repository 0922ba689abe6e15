"""What inside/outside tags can cost SI at best: gold spans merged as IO runs merge them.

    python benchmarks/tagging_ceiling.py [--data DIR]

Inside/outside tags cannot separate two gold spans with nothing but white space between
them: the tagger's run covers both. Begin tags (BIO, BIOES) exist to separate them. The
SI F1 of the train gold against itself, after merging such touching spans, is therefore
the most that begin tags could add to an IO tagger's SI F1. The same figure after merging
spans up to ``g`` characters apart shows what the decoder's merging (``merge_gap``) costs
at best. Only train is read; dev is not used. Writes
``benchmarks/results/tagging_ceiling.{json,md}``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from results_files import RESULTS, write_results

GAPS = (5, 10, 30, 60, 90, 150)


def merged_runs(text: str, spans, gap: int | None):
    """Spans joined when at most ``gap`` characters apart (``None``: only white space)."""
    from propscan.core.spans import Span

    runs: list[Span] = []
    for span in spans:
        if runs:
            between = text[runs[-1].end : span.start]
            joins = not between.strip() if gap is None else len(between) <= gap
            if joins:
                runs[-1] = Span(runs[-1].start, max(runs[-1].end, span.end))
                continue
        runs.append(Span(span.start, span.end))
    return tuple(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from propscan.core.spans import Annotations, to_si_annotations
    from propscan.ptc.scoring import score_si
    from propscan.ptc.splits import load_split

    train = load_split(args.data, "train")
    gold = to_si_annotations(train.gold)
    texts = {article.id: article.text for article in train.articles}
    rows = []
    for gap in (None, *GAPS):
        merged = Annotations(
            {aid: merged_runs(texts[aid], spans, gap) for aid, spans in gold.spans.items()}
        )
        scores = score_si(gold, merged)
        rows.append(
            {
                "merged": "touching (white space only between)" if gap is None else f"<= {gap}",
                "spans": sum(len(spans) for spans in merged.spans.values()),
                "si_precision": round(scores.precision, 4),
                "si_recall": round(scores.recall, 4),
                "si_f1": round(scores.f1, 4),
            }
        )
    result = {
        "articles": len(train.articles),
        "gold_si_spans": sum(len(spans) for spans in gold.spans.values()),
        "rows": rows,
    }
    lines = [
        "# SI ceiling of inside/outside runs (PTC train gold against itself)",
        "",
        "`python benchmarks/tagging_ceiling.py`. Gold SI spans of train "
        f"({result['articles']} articles, {result['gold_si_spans']} spans) merged as runs "
        "would merge them, then scored against the unmerged gold. The first row is what "
        "begin tags could add at most; the others, what merging fragments that many "
        "characters apart costs at best.",
        "",
        "| spans merged | spans left | SI precision | SI recall | SI F1 |",
        "|---|---|---|---|---|",
        *(
            f"| {r['merged']} | {r['spans']} | {r['si_precision']} | {r['si_recall']} | "
            f"{r['si_f1']} |"
            for r in rows
        ),
    ]
    write_results(args.out, "tagging_ceiling", result, lines)


if __name__ == "__main__":
    main()
