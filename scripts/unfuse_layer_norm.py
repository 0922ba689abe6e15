"""Rewrite a transformer model exported before 0.3.1 the way training now exports it.

    python scripts/unfuse_layer_norm.py MODEL_DIR [--version 0.3.1] [--windows-per-call 4]

The encoder's fused ``SkipLayerNormalization`` nodes become ``Add`` + ``LayerNormalization``
(:func:`propscan.models.transformer.export.unfuse_skip_layer_norm`: the same outputs,
faster in onnxruntime), ``model.json`` gets the windows per encoder call that training
now writes, and the model card gets dev scores and speed measured again (weights,
decoding and validation scores are the model's own). Needs the ``train`` extra (onnx)
and the PTC corpus (``--data``, else ``$PROPSCAN_DATA`` or ``../shared/data/ptc-v2``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a transformer model directory")
    parser.add_argument("--version", default=None, help="new model version")
    parser.add_argument("--windows-per-call", type=int, default=4)
    parser.add_argument("--data", default=None, help="PTC directory for the dev scores")
    args = parser.parse_args()

    import onnx

    from propscan.evaluation.model_card import FACTS_FILE, dev_evaluation, write_model_card
    from propscan.models.base import read_model_config, write_model_config
    from propscan.models.registry import load_detector
    from propscan.models.transformer.detector import ENCODER_FILE
    from propscan.models.transformer.export import unfuse_skip_layer_norm
    from propscan.ptc.splits import resolve_data_dir

    encoder = onnx.load(str(args.model / ENCODER_FILE))
    replaced = unfuse_skip_layer_norm(encoder)
    onnx.save(encoder, str(args.model / ENCODER_FILE))
    config = read_model_config(args.model)
    config.pop("format_version", None)
    config["windows_per_call"] = args.windows_per_call
    if args.version:
        config["version"] = args.version
    write_model_config(args.model, config)

    facts = json.loads((args.model / FACTS_FILE).read_text(encoding="utf-8"))
    facts["version"] = config["version"]
    facts["settings"]["windows_per_call"] = args.windows_per_call
    facts["rewritten"] = (
        f"{replaced} SkipLayerNormalization nodes split into Add + LayerNormalization and "
        f"{args.windows_per_call} windows per encoder call "
        "(scripts/unfuse_layer_norm.py); dev scores and speed measured after it"
    )
    with tempfile.TemporaryDirectory() as scratch:
        dev = dev_evaluation(load_detector(args.model), resolve_data_dir(args.data), Path(scratch))
    if dev is not None:
        facts["scores"]["dev"] = dev["scores"]
        facts["speed"] = dev["speed"]
    write_model_card(args.model, facts)
    print(json.dumps({"replaced": replaced, "dev": facts["scores"].get("dev")}, indent=2))


if __name__ == "__main__":
    main()
