"""Where a benchmark leaves its figures: ``results/NAME.json`` and a table in ``NAME.md``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def write_results(out: Path, name: str, result: dict[str, Any], lines: list[str]) -> None:
    """Write ``result`` as JSON and ``lines`` as Markdown into ``out``; print the table."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
