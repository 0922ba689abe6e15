"""Where a phrase memory's held-out gain comes from: recurring phrases, or re-found quotes?

    python benchmarks/phrase_memory.py --model DIR [--data PTC] [--out DIR]

``--model`` is a model fitted without the held-out quarter of train (propscan-mpnet's
package model is one). Its spans on the held-out articles are scored with the phrase
memory of the fitted PTC articles added at each least precision, once with every
remembered fragment and once with only those marked in two or more fitted articles (the
phrases that recur across outlets, which the memory is meant for), and on the held-out
articles that share at most and more than 10% of their word 8-grams with the fitted
ones. The same share is given for dev against all of train (text only, no labels).
Writes ``benchmarks/results/phrase_memory.{json,md}``.
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from results_files import RESULTS, write_results

from propscan.core.spans import Annotations, Article
from propscan.models.phrase_memory import PhraseMemory, _words
from propscan.models.registry import load_detector
from propscan.ptc.scoring import score_flc, score_si
from propscan.ptc.splits import held_out_ids, load_split

PRECISIONS = (-1.0, 0.3, 0.5, 0.7)
#: Held-out articles sharing more than this share of word 8-grams with the fitted ones.
OVERLAP = 0.1


def _grams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _shared(articles: Sequence[Article], pool: Sequence[Article]) -> dict[str, float]:
    """Each article's share of word 8-grams that occur in ``pool``."""
    seen = set().union(*(_grams(a.text) for a in pool))
    return {a.id: len(_grams(a.text) & seen) / max(1, len(_grams(a.text))) for a in articles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--fraction", type=float, default=0.25)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    train, dev = load_split(args.data, "train"), load_split(args.data, "dev")
    held = held_out_ids(train.articles, args.fraction)
    fitted = [a for a in train.articles if a.id not in held]
    validation = [a for a in train.articles if a.id in held]
    memory = PhraseMemory.learn(fitted, train.gold)
    marked_in: defaultdict[tuple[str, ...], set[str]] = defaultdict(set)
    for article in fitted:
        for span in train.gold[article.id]:
            marked_in[tuple(w for w, _, _ in _words(article.text[span.start : span.end]))].add(
                article.id
            )
    recurring = PhraseMemory(
        {words: r for words, r in memory.phrases.items() if len(marked_in[words]) >= 2}
    )
    shared = _shared(validation, fitted)
    detector = load_detector(args.model)
    spans = dict(
        zip(shared, (p.spans for p in detector.predict([a.text for a in validation])), strict=True)
    )

    def with_memory(article: Article, kept: PhraseMemory, least: float) -> tuple:
        found = list(spans[article.id])
        if least < 0:
            return tuple(found)
        for span in kept.spans(article.text, least):
            if not any(o.technique == span.technique and o.overlaps(span) for o in found):
                found.append(span)
        return tuple(sorted(found))

    subsets = {
        "all held-out": validation,
        f"sharing <= {OVERLAP:.0%} of 8-grams": [a for a in validation if shared[a.id] <= OVERLAP],
        f"sharing > {OVERLAP:.0%} of 8-grams": [a for a in validation if shared[a.id] > OVERLAP],
    }
    rows = []
    for memory_name, kept in (("every fragment", memory), ("marked in 2+ articles", recurring)):
        for subset_name, subset in subsets.items():
            gold = Annotations({a.id: train.gold[a.id] for a in subset})
            for least in PRECISIONS:
                predicted = Annotations({a.id: with_memory(a, kept, least) for a in subset})
                flc = score_flc(gold, predicted)
                rows.append(
                    {
                        "memory": memory_name,
                        "articles": subset_name,
                        "count": len(subset),
                        "least precision": least,
                        "si_f1": round(score_si(gold, predicted).f1, 4),
                        "flc_f1": round(flc.f1, 4),
                        "techniques below 0.05": sum(
                            v.f1 < 0.05 for v in flc.per_technique.values()
                        ),
                    }
                )
    dev_shared = _shared(dev.articles, train.articles)
    overlap = {
        "held-out vs fitted": round(statistics.mean(shared.values()), 3),
        "held-out articles sharing > 50%": sum(v > 0.5 for v in shared.values()),
        "dev vs train": round(statistics.mean(dev_shared.values()), 3),
        "dev articles sharing > 50%": sum(v > 0.5 for v in dev_shared.values()),
    }
    result = {
        "model": f"{detector.name} {detector.version}",
        "fragments": len(memory.phrases),
        "fragments marked in 2+ articles": len(recurring.phrases),
        "mean share of word 8-grams seen": overlap,
        "rows": rows,
    }
    lines = [
        "# Phrase memory: recurring phrases or re-found quotes?",
        "",
        f"`python benchmarks/phrase_memory.py --model DIR` with {result['model']}. The memory "
        f"of the {len(fitted)} fitted PTC train articles holds {len(memory.phrases):,} "
        f"fragments of two or more words; {len(recurring.phrases)} of them are marked in two "
        "or more articles. Least precision -1: no memory.",
        "",
        "| memory | held-out articles | n | least precision | SI F1 | FLC F1 | techniques < 0.05 |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['memory']} | {r['articles']} | {r['count']} | {r['least precision']} "
            f"| {r['si_f1']:.4f} | {r['flc_f1']:.4f} | {r['techniques below 0.05']} |"
            for r in rows
        ),
        "",
        "Mean share of an article's word 8-grams that occur in the fitted articles: "
        + ", ".join(f"{k} {v}" for k, v in overlap.items())
        + ".",
    ]
    write_results(args.out, "phrase_memory", result, lines)


if __name__ == "__main__":
    main()
