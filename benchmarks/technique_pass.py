"""A second technique pass: does a classifier that reads each span with its context name
techniques better than the model's own span head?

    python benchmarks/technique_pass.py --model RUN/selection [--epochs 2] [--encoder DIR]

The SemEval-2020 TC leaders classified each span as a pair, the span's words and the
paragraph around it, with an encoder fine-tuned for that alone. Here one MiniLM (or
``--encoder``) is fine-tuned that way on the gold spans of the train articles that
``--model`` was fitted on, and scored on the gold spans of the held-out ones, beside the
model's own technique distribution and mixtures of the two (the share chosen by 5-fold
cross-validation over the held-out articles). Dev is not used. Writes
``benchmarks/results/technique_pass_<epochs>epochs_lr<lr>.{json,md}``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from results_files import RESULTS, write_results

SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Characters of context on each side of a span, within its line.
CONTEXT_CHARACTERS = 240


def _context(text: str, start: int, end: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return text[
        max(line_start, start - CONTEXT_CHARACTERS) : min(line_end, end + CONTEXT_CHARACTERS)
    ]


def _span_pairs(articles, gold) -> list[tuple[str, str, int, int, Counter[str]]]:
    """(article id, text, start, end, gold labels) of every distinct gold span of ``articles``."""
    rows = []
    for article in articles:
        labels: dict[tuple[int, int], Counter[str]] = {}
        for span in gold[article.id]:
            labels.setdefault((span.start, span.end), Counter())[str(span.technique)] += 1
        for (start, end), here in sorted(labels.items()):
            rows.append((article.id, article.text, start, end, here))
    return rows


def _pair_inputs(tokenizer: Any, spans: list[str], contexts: list[str]) -> Any:
    """A batch of (span, context) pairs, cut to 128 tokens from the longer side."""
    return tokenizer(
        spans,
        contexts,
        truncation="longest_first",
        max_length=128,
        padding=True,
        return_tensors="pt",
    )


def _fit(rows, techniques, encoder: Path, epochs: int, lr: float, batch: int, seed: int):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    random.seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model = AutoModelForSequenceClassification.from_pretrained(encoder, num_labels=len(techniques))
    index = {t: i for i, t in enumerate(techniques)}
    examples = [
        (text[start:end], _context(text, start, end), index[t])
        for _, text, start, end, labels in rows
        for t in labels.elements()
    ]
    steps = epochs * ((len(examples) + batch - 1) // batch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
    )
    model.train()
    for _ in range(epochs):
        random.shuffle(examples)
        for first in range(0, len(examples), batch):
            chunk = examples[first : first + batch]
            inputs = _pair_inputs(tokenizer, [c[0] for c in chunk], [c[1] for c in chunk])
            loss = model(**inputs, labels=torch.tensor([c[2] for c in chunk])).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    model.eval()
    return tokenizer, model, len(examples), steps


def _probabilities(tokenizer, model, rows) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for first in range(0, len(rows), 64):
            chunk = rows[first : first + 64]
            inputs = _pair_inputs(
                tokenizer,
                [text[start:end] for _, text, start, end, _ in chunk],
                [_context(text, start, end) for _, text, start, end, _ in chunk],
            )
            out.append(torch.softmax(model(**inputs).logits, dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(model.config.id2label)))


def _scores(rows, probabilities: np.ndarray, techniques) -> dict[str, float]:
    """TC micro- and macro-F1 with the ``evaluate`` convention (k labels for k gold)."""
    from propscan.core.spans import Annotations, Span
    from propscan.ptc.scoring import score_tc, top_techniques

    gold, predicted = [], []
    for (article_id, _, start, end, labels), row in zip(rows, probabilities, strict=True):
        gold += [(article_id, Span(start, end, t)) for t in labels.elements()]
        predicted += [
            (article_id, Span(start, end, t))
            for t in top_techniques(row, techniques, sum(labels.values()))
        ]
    scores = score_tc(Annotations.from_pairs(gold), Annotations.from_pairs(predicted), techniques)
    return {"micro_f1": round(scores.micro_f1, 4), "macro_f1": round(scores.macro_f1, 4)}


def main() -> None:
    from propscan.core.spans import Span
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.recipe import default_encoder_dir
    from propscan.ptc.splits import held_out_ids, load_split, resolve_data_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a selection model")
    parser.add_argument("--encoder", type=Path, help="encoder to fine-tune (default: MiniLM)")
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--validation-fraction", type=float, default=0.25)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    train = load_split(resolve_data_dir(args.data), "train")
    held_out = held_out_ids(train.articles, args.validation_fraction)
    fitted = [a for a in train.articles if a.id not in held_out]
    validation = [a for a in train.articles if a.id in held_out]
    detector = TransformerDetector.load(args.model)
    techniques = list(detector.techniques)
    fit_rows = _span_pairs(fitted, train.gold)
    rows = _span_pairs(validation, train.gold)

    # the model's own technique distribution on every held-out gold span
    own = []
    by_article: dict[str, list[tuple[int, int]]] = {}
    for article_id, _, start, end, _ in rows:
        by_article.setdefault(article_id, []).append((start, end))
    texts = {a.id: a.text for a in validation}
    outputs = dict(zip(texts, detector.encode(list(texts.values())), strict=True))
    for article_id, offsets in by_article.items():
        own.append(
            detector.decoder.technique_probabilities(
                texts[article_id], outputs[article_id], [Span(s, e) for s, e in offsets]
            )
        )
    own_probabilities = np.concatenate(own)

    started = time.monotonic()
    encoder = args.encoder or default_encoder_dir()
    tokenizer, model, n_examples, steps = _fit(
        fit_rows, techniques, encoder, args.epochs, args.lr, args.batch, args.seed
    )
    minutes = round((time.monotonic() - started) / 60, 1)
    pass_probabilities = _probabilities(tokenizer, model, rows)

    def mix(share: float, where: Any = slice(None)) -> np.ndarray:
        return (1 - share) * own_probabilities[where] + share * pass_probabilities[where]

    curve = {share: _scores(rows, mix(share), techniques) for share in SHARES}
    # the share chosen on four fifths of the held-out articles, scored on the fifth
    articles = sorted(by_article)
    folds = [set(articles[i::5]) for i in range(5)]
    chosen, mixed = [], np.zeros_like(own_probabilities)
    for fold in folds:
        inside = [i for i, row in enumerate(rows) if row[0] not in fold]
        outside = [i for i, row in enumerate(rows) if row[0] in fold]
        best = max(
            SHARES,
            key=lambda s: _scores([rows[i] for i in inside], mix(s, inside), techniques)[
                "micro_f1"
            ],
        )
        chosen.append(best)
        mixed[outside] = mix(best, outside)
    result: dict[str, Any] = {
        "model": str(args.model),
        "encoder": str(encoder),
        "settings": {k: getattr(args, k) for k in ("epochs", "lr", "batch", "seed")},
        "fitted_articles": len(fitted),
        "training_examples": n_examples,
        "steps": steps,
        "training_minutes": minutes,
        "validation_articles": len(validation),
        "validation_spans": len(rows),
        "by_share": {str(k): v for k, v in curve.items()},
        "cross_validated": {"shares": chosen, **_scores(rows, mixed, techniques)},
    }
    encoder_name = "all-MiniLM-L6-v2" if args.encoder is None else encoder.name
    lines = [
        "# A second technique pass over each span, with its context",
        "",
        f"`python benchmarks/technique_pass.py --model {args.model} --epochs {args.epochs} "
        f"--lr {args.lr:g}`: "
        f"{encoder_name} fine-tuned to name the technique of a span read as a pair (its words, "
        f"then up to {CONTEXT_CHARACTERS} characters of its line on each side), on the "
        f"{n_examples} gold labels of the {len(fitted)} train articles the model was fitted on "
        f"({steps} steps, {minutes} min on this machine); scored on the {len(rows)} distinct "
        f"gold spans of the {len(validation)} held-out train articles. Share 0 is the model's "
        "own span head (with its companion and rules), 1 the second pass alone. Dev is not used.",
        "",
        "| second pass share | validation TC micro-F1 | validation TC macro-F1 |",
        "|---|---|---|",
        *(f"| {k} | {v['micro_f1']:.4f} | {v['macro_f1']:.4f} |" for k, v in curve.items()),
        f"| chosen on the other 4 of 5 folds ({', '.join(map(str, chosen))}) | "
        f"{result['cross_validated']['micro_f1']:.4f} | "
        f"{result['cross_validated']['macro_f1']:.4f} |",
    ]
    write_results(args.out, f"technique_pass_{args.epochs}epochs_lr{args.lr:g}", result, lines)


if __name__ == "__main__":
    main()
