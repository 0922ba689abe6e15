"""Add per-technique reliability on PTC dev to a model's card (``training.json`` and
``MODEL_CARD.md``): what ``propscan train`` now records for every model it makes.

    python scripts/model_reliability.py MODEL_DIR [--data DIR]

Runs the model over the dev split (never used for its training or tuning) and writes the
``reliability`` facts of ``propscan.evaluation.reliability`` into its card, which
``propscan report`` reads to grey out techniques whose counts cannot be trusted. The
shipped model's card was completed this way.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from propscan.errors import PropscanError
from propscan.evaluation.evaluate import evaluate
from propscan.evaluation.model_card import FACTS_FILE, write_model_card
from propscan.evaluation.reliability import FACTS_KEY, reliability_facts
from propscan.models.registry import load_detector
from propscan.ptc.splits import load_split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a model directory with a training.json")
    parser.add_argument("--data", default=None, help="PTC corpus directory")
    args = parser.parse_args()
    try:
        card = args.model / FACTS_FILE
        if not card.is_file():
            raise PropscanError(f"{card}: no model card facts; train the model with propscan")
        facts = json.loads(card.read_text(encoding="utf-8"))
        detector = load_detector(args.model)
        dev = load_split(args.data, "dev")
        with tempfile.TemporaryDirectory() as scratch:
            result = evaluate(detector, dev.articles, dev.gold, scratch)
            facts[FACTS_KEY] = reliability_facts(
                result, dev.articles, dev.gold, "dev", detector.techniques
            )
        write_model_card(args.model, facts)
    except (PropscanError, OSError, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    shares = facts[FACTS_KEY]["marked_sentence_share"]
    print(
        f"{card}: reliability on {len(dev.articles)} dev articles; sentences marked "
        f"{shares['predicted']:.1%} (annotators {shares['gold']:.1%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
