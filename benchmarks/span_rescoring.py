"""Second-stage span re-scorers, cross-validated on held-out train: do they add anything?

    python benchmarks/span_rescoring.py --model DIR [--folds 5]

``DIR`` is a selection model (``RUN/selection``), which never saw the validation part
of train. Two levers are measured on those articles only (dev is not used), each fitted
on all folds but one and scored on the held-out fold, over articles:

* **Phrases (SI).** The model keeps a candidate phrase when its calibrated score (Platt
  scaling of the mean token probability and the length) reaches a threshold. Here a
  logistic regression over twelve features of the candidate (the shape of its token
  probabilities, the share of its tokens above the token threshold, the runs merged into
  it, the sentence head, the companion, the span head's confidence) replaces the
  scaling, with the threshold chosen on the fitting folds too.
* **Techniques (TC).** The span text alone (no article around it) goes through the same
  encoder; a logistic regression over its states, fitted on the gold spans of the
  articles the model was fitted on, gives a second technique distribution, mixed into the
  model's own at a share chosen on the fitting folds.

Writes ``benchmarks/results/span_rescoring.{json,md}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from results_files import write_results
from selection_data import held_out_articles, selection_arguments

THRESHOLDS = tuple(round(0.025 * i, 3) for i in range(1, 25))  # 0.025 .. 0.6
SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)
SPAN_TOKENS = 62  # span texts are cut to this many word pieces


def _logit(p: Any) -> Any:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def phrase_table(detector, data) -> tuple[list[tuple[str, int, int]], np.ndarray, np.ndarray]:
    """Every candidate phrase (article, start, end) of the encoded articles, its features
    (the calibration's two first) and its share of characters inside gold spans."""
    from propscan.models.decoding import decode_subword_spans
    from propscan.models.transformer.encoding import token_ranges
    from propscan.models.transformer.tuning import candidate_table

    settings = detector.settings
    keys, rows = [], []
    for article, output in zip(data.articles, data.outputs, strict=True):
        probabilities = detector.token_probabilities(output)
        candidates = decode_subword_spans(
            article.text,
            output.tokens.offsets,
            probabilities,
            settings.token_threshold,
            max_gap=settings.merge_gap,
            min_characters=settings.min_characters,
            trim_function_words=settings.trim_function_words,
        )
        if not candidates:
            continue
        spans = [candidate.span for candidate in candidates]
        first, last = token_ranges(output.tokens.offsets, spans)
        techniques = detector.technique_probabilities(article.text, output, spans)
        sentence = output.sentence_prob
        companion = output.companion_si_prob
        for candidate, f, t, row in zip(candidates, first, last, techniques, strict=True):
            inside = slice(f, max(t, f + 1))
            p = probabilities[inside]
            above = p >= settings.token_threshold
            runs = int(np.sum(np.diff(np.r_[0, above.astype(int)]) == 1))
            rows.append(
                [
                    _logit(p.max()),
                    _logit(p.min()),
                    _logit(np.median(p)),
                    above.mean(),
                    np.log1p(runs),
                    _logit(output.si_prob[inside].mean()),
                    _logit(companion[inside].mean()) if companion is not None else 0.0,
                    _logit(sentence[inside].mean()) if sentence is not None else 0.0,
                    row.max(),
                    -(row * np.log(row + 1e-12)).sum(),
                ]
            )
            keys.append((article.id, candidate.start, candidate.end))
    # the same candidates in the same order: the calibration's features and targets
    calibration_features, targets = candidate_table(detector, data, settings)
    return keys, np.hstack([calibration_features, np.asarray(rows).reshape(-1, 10)]), targets


def fit_scorer(features: np.ndarray, targets: np.ndarray, c: float) -> Callable:
    """Logistic regression against the gold share (each candidate counted as a positive
    and a negative, weighted by its share), on standardised features."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-9
    x = np.concatenate([features, features])
    y = np.r_[np.ones(len(targets)), np.zeros(len(targets))]
    model = LogisticRegression(C=c, max_iter=2000).fit(
        (x - mean) / scale, y, sample_weight=np.r_[targets, 1.0 - targets]
    )
    return lambda rows: model.predict_proba((rows - mean) / scale)[:, 1]


def si_f1(keys, keep: np.ndarray, gold_si, article_ids: Sequence[str]) -> float:
    from propscan.core.spans import Annotations, Span
    from propscan.ptc.scoring import score_si

    kept: dict[str, list] = {article_id: [] for article_id in article_ids}
    for (article_id, start, end), chosen in zip(keys, keep, strict=True):
        if chosen:
            kept[article_id].append(Span(start, end))
    gold = Annotations({a: tuple(gold_si[a]) for a in article_ids})
    return score_si(gold, Annotations({a: tuple(s) for a, s in kept.items()})).f1


def cross_validated_si(keys, features, targets, gold_si, folds, columns, c) -> float:
    """SI F1 of the held-out folds' kept candidates, scorer and threshold fitted on the rest."""
    article_of = np.asarray([key[0] for key in keys])
    keep = np.zeros(len(keys), dtype=bool)
    for fold in folds:
        held = np.isin(article_of, list(fold))
        score = fit_scorer(features[~held][:, columns], targets[~held], c)
        fitting_ids = sorted(set(article_of[~held]))
        fitted = score(features[~held][:, columns])
        fitting_keys = [key for key, h in zip(keys, held, strict=True) if not h]
        threshold = max(
            THRESHOLDS,
            key=lambda t: si_f1(fitting_keys, fitted >= t, gold_si, fitting_ids),
        )
        keep[held] = score(features[held][:, columns]) >= threshold
    return si_f1(keys, keep, gold_si, sorted(gold_si))


def span_text_states(detector, text: str, spans) -> np.ndarray:
    """[CLS] state, mean state and mean technique logits of each span's text alone."""
    from propscan.models.transformer.encoding import tokenize

    rows = []
    for tokens in tokenize(detector.tokenizer, [text[s.start : s.end] for s in spans]):
        ids = np.r_[detector._cls, tokens.ids[:SPAN_TOKENS], detector._sep].astype(np.int64)
        _, techniques, hidden, _ = detector.encoder(ids[None], np.ones((1, len(ids)), np.int64))
        inner = slice(1, max(len(ids) - 1, 2))
        rows.append(np.r_[hidden[0, 0], hidden[0, inner].mean(0), techniques[0, inner].mean(0)])
    return np.asarray(rows)


def technique_rows(detector, articles, gold, outputs=None):
    """Per gold span (offsets once): article id, gold labels, span-text states and, given
    the articles' encoder ``outputs``, the model's own technique distribution."""
    from propscan.core.spans import Span

    with_model = outputs is not None
    outputs = outputs if with_model else [None] * len(articles)
    ids, labels, states, own = [], [], [], []
    for article, output in zip(articles, outputs, strict=True):
        here: dict[tuple[int, int], list[str]] = {}
        for span in gold[article.id]:
            here.setdefault((span.start, span.end), []).append(str(span.technique))
        spans = [Span(start, end) for start, end in sorted(here)]
        if not spans:
            continue
        states.append(span_text_states(detector, article.text, spans))
        if with_model:
            own.append(detector.technique_probabilities(article.text, output, spans))
        ids += [article.id] * len(spans)
        labels += [here[(s.start, s.end)] for s in spans]
    return ids, labels, np.concatenate(states), np.concatenate(own) if own else None


def tc_hits(probabilities: np.ndarray, labels, techniques) -> int:
    """Gold labels matched when a span with k labels gets its k most probable techniques."""
    from collections import Counter

    from propscan.models.transformer.tuning import top_techniques

    return sum(
        (top_techniques(row, techniques, len(gold)) & Counter(gold)).total()
        for row, gold in zip(probabilities, labels, strict=True)
    )


def main() -> None:
    args = selection_arguments(__doc__)

    from sklearn.linear_model import LogisticRegression

    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.tuning import encode

    train, validation = held_out_articles(args.model, args.data)
    detector = TransformerDetector.load(args.model)
    techniques = list(detector.techniques)
    order = [a.id for a in validation]
    np.random.default_rng(0).shuffle(order)
    folds = [set(order[k :: args.folds]) for k in range(args.folds)]

    data = encode(detector, validation, train.gold)
    gold_si = {article_id: list(spans) for article_id, spans in data.si_gold.spans.items()}
    keys, features, targets = phrase_table(detector, data)
    every = list(range(features.shape[1]))
    phrase_results = {
        "every candidate kept": si_f1(keys, np.ones(len(keys), bool), gold_si, sorted(gold_si)),
        "calibration's 2 features (as shipped)": cross_validated_si(
            keys, features, targets, gold_si, folds, [0, 1], 100.0
        ),
        "12 features": cross_validated_si(keys, features, targets, gold_si, folds, every, 1.0),
    }

    validation_ids = {a.id for a in validation}
    fitted_on = [a for a in train.articles if a.id not in validation_ids]
    _, fit_labels, fit_states, _ = technique_rows(detector, fitted_on, train.gold)
    x = np.repeat(fit_states, [len(labels) for labels in fit_labels], axis=0)
    y = [techniques.index(label) for labels in fit_labels for label in labels]
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    text_model = LogisticRegression(C=0.01, max_iter=3000).fit((x - mean) / scale, y)
    ids, labels, states, own = technique_rows(detector, validation, train.gold, data.outputs)
    text_view = np.zeros_like(own)
    text_view[:, text_model.classes_] = text_model.predict_proba((states - mean) / scale)
    ids = np.asarray(ids)
    n_labels = sum(len(gold) for gold in labels)

    def hits(rows: np.ndarray, share: float) -> int:
        mixed = (1 - share) * own[rows] + share * text_view[rows]
        return tc_hits(mixed, [labels[i] for i in np.flatnonzero(rows)], techniques)

    cross_hits, shares = 0, []
    for fold in folds:
        held = np.isin(ids, list(fold))
        share = max(SHARES, key=lambda s: (hits(~held, s), -s))
        shares.append(share)
        cross_hits += hits(held, share)
    everything = np.ones(len(ids), dtype=bool)
    technique_results = {
        "model's own (as shipped)": hits(everything, 0.0) / n_labels,
        "span text alone": hits(everything, 1.0) / n_labels,
        "mixed at a cross-validated share": cross_hits / n_labels,
    }

    result = {
        "command": f"python benchmarks/span_rescoring.py --model {args.model}",
        "date": time.strftime("%Y-%m-%d"),
        "validation_articles": len(validation),
        "candidates": len(keys),
        "si_f1": {k: round(v, 4) for k, v in phrase_results.items()},
        "gold_labels": n_labels,
        "tc_micro_f1": {k: round(v, 4) for k, v in technique_results.items()},
        "shares_chosen_per_fold": shares,
    }
    lines = [
        "# Second-stage span re-scorers",
        "",
        f"`{result['command']}` on {result['date']}: {len(validation)} validation articles "
        f"(held out of the selection model), {args.folds} folds over articles; each lever is "
        "fitted on the other folds and scored on each fold. Dev is not used.",
        "",
        f"## Keeping candidate phrases ({len(keys)} candidates)",
        "",
        "| candidate scorer | validation SI F1 |",
        "|---|---:|",
        *(f"| {name} | {value:.4f} |" for name, value in phrase_results.items()),
        "",
        f"## Techniques of gold spans ({n_labels} gold labels)",
        "",
        "| technique distribution | validation TC micro-F1 |",
        "|---|---:|",
        *(f"| {name} | {value:.4f} |" for name, value in technique_results.items()),
        "",
        f"Shares of the span-text view chosen on the fitting folds: {shares}.",
    ]
    write_results(args.out, "span_rescoring", result, lines)


if __name__ == "__main__":
    main()
