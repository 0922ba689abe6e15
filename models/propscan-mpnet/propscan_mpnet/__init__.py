"""The propscan model 'mpnet' (propscan-mpnet 0.3.1).

Installed, it is chosen by name: ``propscan analyze FILE --model mpnet``, or
``propscan.load_model("mpnet")`` in Python.
"""

from pathlib import Path

#: The model directory: model.json, weights, tokenizer and model card.
MODEL_DIR = Path(__file__).parent / "model"


def model_dir() -> Path:
    """The model directory (the ``propscan.models`` entry point propscan reads)."""
    return MODEL_DIR
