"""Write a multi-outlet JSONL corpus built from PTC articles, for trying batch runs and reports.

PTC articles carry no outlet or date, so each article gets a made-up outlet and a
publication date derived from a hash of its id: the same corpus comes out every
time, and nothing random is involved. Writes outside the repository by default.

    python benchmarks/make_synthetic_corpus.py --out /tmp/synthetic.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

from propscan.ptc.splits import load_split

OUTLETS = (
    "The Daily Ledger",
    "Capitol Watch",
    "Freedom Post",
    "Harbour Gazette",
    "Northern Courier",
    "Patriot Wire",
)
FIRST_DAY = date(2019, 1, 1)
DAYS = 270
#: Records that a batch run must report as errors rather than analyse.
BAD_RECORDS = (
    {"id": "empty-article", "text": "   ", "outlet": "Freedom Post", "date": "2019-03-01"},
    {"text": "An article that lost its id on the way.", "outlet": "Capitol Watch"},
)


def _bucket(article_id: str, salt: str, size: int) -> int:
    digest = hashlib.sha256(f"{salt}:{article_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % size


def synthetic_records(data: Path | None, splits: tuple[str, ...]) -> list[dict[str, str | None]]:
    """One record per article of ``splits``: id, title, text, outlet, date, url."""
    records = []
    for split in splits:
        for article in load_split(data, split).articles:
            outlet = OUTLETS[_bucket(article.id, "outlet", len(OUTLETS))]
            day = FIRST_DAY + timedelta(days=_bucket(article.id, "date", DAYS))
            slug = outlet.lower().replace(" ", "-")
            records.append(
                {
                    "id": article.id,
                    "title": article.title,
                    "text": article.text,
                    "outlet": outlet,
                    "date": day.isoformat(),
                    "url": f"https://{slug}.example/articles/{article.id}",
                }
            )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/propscan-synthetic.jsonl"))
    parser.add_argument("--data", type=Path, default=None, help="PTC corpus directory")
    parser.add_argument("--splits", nargs="+", default=["train", "dev"], choices=["train", "dev"])
    parser.add_argument(
        "--bad-records",
        action="store_true",
        help="append a few invalid records to exercise the errors table",
    )
    args = parser.parse_args()
    records: list[dict[str, str | None]] = synthetic_records(args.data, tuple(args.splits))
    if args.bad_records:
        records.extend(BAD_RECORDS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    print(f"wrote {len(records)} records to {args.out}")


if __name__ == "__main__":
    main()
