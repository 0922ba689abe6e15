"""Give a model trained before phrase memories existed the memory `propscan train` keeps now.

    python scripts/phrase_memory.py MODEL_DIR [--data PTC] [--memes DIR [--meme-split S ...]]
                                    [--choose-on SELECTION_DIR]

The memory (``propscan.models.phrase_memory``) is learnt from the articles the model was
fitted on, as its card says: all of train after a refit, else the part not held out,
with the meme texts when it was fitted on them. It stays off until
``memory_min_precision`` is chosen on the held-out part of train:
``benchmarks/ablation.py --model MODEL_DIR --write-settings`` re-tunes every setting of a
model fitted without that part; ``--choose-on SELECTION_DIR`` is for a refitted model,
which has seen it: the least precision is chosen with SELECTION_DIR, a model of the same
recipe fitted without the held-out part and given the memory of its own fitting
articles, every other decoding setting held at MODEL_DIR's, and written to MODEL_DIR.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields, replace
from pathlib import Path

from propscan.errors import PropscanError
from propscan.models.base import read_model_config, write_model_config
from propscan.models.phrase_memory import PhraseMemory
from propscan.models.transformer.detector import TransformerDetector
from propscan.models.transformer.train import SELECTION_DIR
from propscan.models.transformer.tuning import Encoded, predict, tune_decoding
from propscan.ptc.scoring import score_flc, score_si
from propscan.ptc.splits import Split, held_out_ids, load_combined_split, resolve_data_dir


def _settings(model_dir: Path) -> dict:
    """The recipe on ``model_dir``'s card; a run's selection model (``RUN/selection``) has
    the run's, without its refit."""
    card = model_dir / "training.json"
    if not card.is_file() and model_dir.name == SELECTION_DIR:
        return {**_settings(model_dir.parent), "refit": False}
    if not card.is_file():
        raise PropscanError(f"{card} is missing: give a model directory written by propscan train")
    return json.loads(card.read_text(encoding="utf-8"))["settings"]


def _parts(train: Split, model_dir: Path, refit: bool | None = None) -> tuple[list, list]:
    """The articles a model of ``model_dir``'s recipe was fitted on (``refit``: after its
    refit, default: as its card says), and the held-out ones."""
    settings = _settings(model_dir)
    refit = settings["refit"] if refit is None else refit
    held_out = held_out_ids(train.articles, settings["validation_fraction"])
    validation = [a for a in train.articles if a.id in held_out]
    fitted = [a for a in train.articles if refit or a.id not in held_out]
    return fitted, validation


def _choose(model_dir: Path, selection_dir: Path, train: Split) -> dict:
    """The least precision chosen on the held-out articles with the selection model, every
    other setting held at ``model_dir``'s; written into ``model_dir/model.json``."""
    fitted, validation = _parts(train, model_dir, refit=False)
    selection = TransformerDetector.load(selection_dir)
    memory = PhraseMemory.learn(fitted, train.gold)
    held = read_model_config(model_dir)["decoding"]
    decoder = replace(
        selection.decoder.with_settings(selection.settings.from_config(held)), memory=memory
    )
    fixed = {f.name: held[f.name] for f in fields(decoder.settings) if f.name in held}
    fixed.pop("memory_min_precision", None)
    data = Encoded.of(selection, validation, train.gold)
    settings, choices, _ = tune_decoding(decoder, data, fixed)
    scores = {}
    for name, value in (("off", -1.0), ("chosen", settings.memory_min_precision)):
        chosen = decoder.with_settings(replace(settings, memory_min_precision=value))
        spans = predict(chosen, data)
        scores[name] = {
            "si_f1": round(score_si(data.si_gold, spans).f1, 4),
            "flc_f1": round(score_flc(data.gold, spans).f1, 4),
        }
    config = read_model_config(model_dir)
    config["decoding"]["memory_min_precision"] = settings.memory_min_precision
    write_model_config(model_dir, config)
    return {"choices": [vars(c) for c in choices], "validation": scores}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a model directory (made with propscan train)")
    parser.add_argument("--data", default=None, help="PTC corpus directory")
    parser.add_argument("--memes", type=Path, help="the meme corpus the model was fitted with")
    parser.add_argument("--meme-split", action="append", help="meme splits it was fitted on")
    parser.add_argument("--choose-on", type=Path, help="selection model of a refitted model")
    args = parser.parse_args()
    try:
        corpora = [resolve_data_dir(args.data), *([args.memes] if args.memes else [])]
        train = load_combined_split(corpora, "train", meme_splits=args.meme_split or ["train"])
        fitted, _ = _parts(train, args.model)
        memory = PhraseMemory.learn(fitted, train.gold)
        path = memory.save(args.model)
        result = {"memory": str(path), "fitted on": len(fitted), "phrases": len(memory.phrases)}
        if args.choose_on is not None:
            result |= _choose(args.model, args.choose_on, train)
    except PropscanError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
