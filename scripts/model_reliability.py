"""Measure a model on PTC dev again and write what it measured into its card
(``training.json`` and ``MODEL_CARD.md``): dev scores, speed and per-technique reliability,
as ``propscan train`` records them for every model it makes.

    python scripts/model_reliability.py MODEL_DIR [--data DIR]

Runs the model over the dev split (never used for its training or tuning). ``propscan
report`` reads the reliability facts to grey out techniques whose counts cannot be
trusted; ``propscan models`` shows the speed, so cards measured again on one machine
compare models fairly (a card written during training measured its speed wherever and
beside whatever that training ran).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from propscan.errors import PropscanError
from propscan.evaluation.model_card import FACTS_FILE, write_model_card
from propscan.evaluation.reliability import FACTS_KEY
from propscan.models.registry import load_detector
from propscan.ptc.splits import resolve_data_dir
from propscan.training import dev_evaluation


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
        with tempfile.TemporaryDirectory() as scratch:
            dev = dev_evaluation(
                load_detector(args.model), resolve_data_dir(args.data), Path(scratch)
            )
        if dev is None:
            raise PropscanError("the corpus has no dev split to measure the model on")
        facts["scores"]["dev"] = dev["scores"]
        facts["speed"] = dev["speed"]
        facts[FACTS_KEY] = dev[FACTS_KEY]
        write_model_card(args.model, facts)
    except (PropscanError, OSError, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    shares = facts[FACTS_KEY]["marked_sentence_share"]
    print(
        f"{card}: dev F1 SI {dev['scores']['si_f1']:.3f}, FLC {dev['scores']['flc_f1']:.3f}; "
        f"{dev['speed']['articles per second (span finding on dev, one process)']} articles/s; "
        f"sentences marked {shares['predicted']:.1%} (annotators {shares['gold']:.1%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
