"""Store a model's article-score reference: its marks on every PTC train article.

    python scripts/article_reference.py MODEL_DIR [--data DIR]

Writes ``MODEL_DIR/article_reference.json`` (see ``propscan.core.article_score``); the
shipped model's is ``src/propscan/default_model/article_reference.json``.
"""

from __future__ import annotations

import argparse
import sys

from propscan.errors import PropscanError
from propscan.evaluation.article_reference import make_reference, write_reference


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model directory (made with 'propscan train')")
    parser.add_argument("--data", default=None, help="PTC corpus directory")
    args = parser.parse_args()
    try:
        reference = make_reference(args.model, args.data)
        path = write_reference(reference, args.model)
    except PropscanError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    shares = reference.values
    print(
        f"{path}: {len(shares)} articles, median share of marked sentences "
        f"{shares[len(shares) // 2]:.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
