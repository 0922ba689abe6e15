"""``propscan train``: train a model of any kind on a corpus, score it on dev, write its card.

The kind's trainer (:data:`propscan.models.registry.TRAINERS`) fits and exports the model
and returns what its card says about it; this module reads the corpus, scores the
finished model on dev (reported, never used for choices) and writes the card.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from propscan.errors import PropscanError
from propscan.evaluation.evaluate import evaluate
from propscan.evaluation.model_card import read_training_facts, write_model_card
from propscan.evaluation.reliability import FACTS_KEY, reliability_facts
from propscan.models.base import Detector
from propscan.models.registry import TrainingOptions, capped_articles, load_detector, trainer
from propscan.ptc.memes import UnmappedPolicy, is_meme_dir
from propscan.ptc.splits import joined_splits, load_combined_split, load_split, resolve_data_dir


def dev_evaluation(detector: Detector, data: Path, out_dir: Path) -> dict[str, Any] | None:
    """Scores, speed and per-technique reliability on the dev split (reported, never used
    for choices), if present."""
    try:
        dev = load_split(data, "dev")
    except PropscanError:
        return None
    result = evaluate(detector, dev.articles, dev.gold, out_dir / "dev-evaluation")
    characters = sum(len(article.text) for article in dev.articles)
    speed = {
        "articles per second (span finding on dev, one process)": round(
            len(dev.articles) / result.predict_seconds, 2
        ),
        "characters per second": round(characters / result.predict_seconds),
    }
    return {
        "scores": result.summary(),
        "speed": speed,
        FACTS_KEY: reliability_facts(result, dev.articles, dev.gold, "dev", detector.techniques),
    }


def _twin_facts(twin: Path, memes: str | None) -> dict[str, Any]:
    """The card of the model a run fitted with dev answers through, checked to have been
    fitted on the same meme texts and scored on dev."""
    facts = read_training_facts(twin)
    if "twin" in facts:
        raise PropscanError(
            f"--with-dev {twin}: that model was itself fitted on dev; give the model it "
            "answers through, fitted without dev"
        )
    if "dev" not in facts.get("scores", {}):
        raise PropscanError(
            f"--with-dev {twin}: its card has no dev scores, so it cannot answer for a model "
            "fitted with dev; give a model trained with --evaluate-dev"
        )
    if facts.get("data", {}).get("memes") != memes:
        raise PropscanError(
            f"--with-dev {twin}: it was fitted on other meme texts "
            f"({facts.get('data', {}).get('memes') or 'none'}) than this run "
            f"({memes or 'none'}); give the same --data and --meme-split"
        )
    return facts


def _check_out(folder: Path, kind: str) -> None:
    """``folder`` is new, empty, or a ``propscan train`` run of ``kind`` to resume or redo:
    training writes over what is there, so another model or other files are refused."""
    if folder.exists() and not folder.is_dir():
        raise PropscanError(
            f"--out {folder} is a file; --out must be a folder (a new or empty one, or a run "
            "of this command to resume)"
        )
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    checkpoints = [folder / "checkpoint", folder / "selection" / "checkpoint"]
    try:
        recorded = read_training_facts(folder).get("kind")
    except PropscanError:  # no card: not a finished run
        recorded = None
    if recorded == kind or (kind == "transformer" and any(c.is_dir() for c in checkpoints)):
        return
    what = f"a {recorded} model" if isinstance(recorded, str) else "files of its own"
    raise PropscanError(
        f"{folder} holds {what}, which training would overwrite; choose a new --out "
        "directory (a run of this kind stopped half way resumes in its own)"
    )


def train_with_card(
    out: str | os.PathLike[str],
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    *,
    kind: str = "transformer",
    options: TrainingOptions | None = None,
    evaluate_dev: bool = True,
    progress: bool = True,
    unmapped: UnmappedPolicy = "drop",
    meme_splits: Sequence[str] = ("train",),
) -> tuple[Path, dict[str, Any]]:
    """Train a model of ``kind`` on the train split into ``out``, score it on dev and write
    its card.

    ``data`` is a corpus directory or several, trained on together (dev scores come from
    the first PTC one); a meme corpus among them adds its ``meme_splits`` for fitting only,
    with spans outside the 14 handled as ``unmapped`` says. ``options.max_articles`` caps
    the PTC articles and the meme texts each (:func:`capped_articles`), whatever the order
    of ``data``. With ``options.twin`` the first PTC corpus's dev articles are fitted on too
    and the card's figures are the twin's. A run resumes from ``out/checkpoint``. Returns
    the card's path and the facts it was written from.
    """
    train = trainer(kind)
    options = options or TrainingOptions()
    folder = Path(out)
    _check_out(folder, kind)
    given = [] if data is None else [data] if isinstance(data, str | os.PathLike) else data
    roots = [resolve_data_dir(path) for path in given] or [resolve_data_dir(None)]
    split = load_combined_split(roots, "train", unmapped=unmapped, meme_splits=meme_splits)
    news = [root for root in roots if not is_meme_dir(root)]
    if all(article.corpus is not None for article in split.articles):
        raise PropscanError(
            "memes are for fitting only: training holds out PTC articles to choose its "
            "settings; add a PTC corpus with --data"
        )
    data_facts = {"corpora": ", ".join(str(path) for path in roots)} if len(roots) > 1 else {}
    memes = sum(article.corpus is not None for article in split.articles)
    fitted = sum(
        article.corpus is not None
        for article in capped_articles(split.articles, options.max_articles)
    )
    if memes:
        data_facts["memes"] = (
            f"{fitted} SemEval-2021 Task 6 meme texts in the training data "
            + (f"(the first {fitted} of {memes} by --max-articles; " if fitted < memes else "(")
            + f"splits {', '.join(meme_splits)}; spans of techniques outside the 14: "
            f"{unmapped}) for fitting only, never held out"
        )
    twin = None
    if options.twin is not None:
        twin = _twin_facts(options.twin, data_facts.get("memes"))
        dev = load_split(news[0], "dev")
        split = joined_splits(split, dev)
        data_facts["dev articles"] = (
            f"{len(dev.articles)} PTC dev articles fitted on as well: every score, speed and "
            f"reliability figure on this card is the twin's, {twin['name']} "
            f"{twin['version']}, the same recipe fitted without dev"
        )
    started = time.monotonic()
    facts = train(split, folder, options, progress)
    facts["data"].update(data_facts)
    if twin is not None:
        facts["twin"] = {key: twin[key] for key in ("name", "version")}
        facts["scores"] = twin["scores"]
        for key in ("speed", FACTS_KEY):
            if key in twin:
                facts[key] = twin[key]
        evaluate_dev = False
    detector = load_detector(folder)
    if evaluate_dev:
        dev_facts = dev_evaluation(detector, news[0], folder)
        if dev_facts is not None:
            facts["scores"]["dev"] = dev_facts["scores"]
            facts["speed"] = dev_facts["speed"]
            facts[FACTS_KEY] = dev_facts[FACTS_KEY]
    # a resumed run counts the fitting its checkpoints (both stages') already hold
    resumed = sum(
        (facts.get(stage) or {}).get("fit_seconds_before_resume", 0.0)
        for stage in ("fit", "selection_fit")
    )
    facts["training_seconds"] = round(time.monotonic() - started + resumed, 1)
    return write_model_card(folder, facts), facts
