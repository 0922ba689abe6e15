"""What one yes-or-no decoding rule changes in a model's dev marks, as a reader sees them.

    python benchmarks/edge_rule.py --setting complete_phrases [--model NAME|DIR ...]
                                   [--data DIR] [--examples N]

Each model (default: the shipped one) marks the PTC dev articles twice, with the rule
held off and on and every other setting its own; the marks that differ are counted,
with the characters of gold spans they cover, and the first few are shown side by side.
Validation decides whether a rule is adopted (``ablation.py``); this shows what it does.
Writes ``benchmarks/results/edge_rule_SETTING.{json,md}``.
"""

from __future__ import annotations

import argparse
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from results_files import RESULTS, write_results


def _covered(spans: list[tuple[int, int]], start: int, end: int) -> int:
    return sum(max(0, min(end, b) - max(start, a)) for a, b in spans)


def compare(model: Any, setting: str, articles: list[Any], gold: Any) -> dict[str, Any]:
    """Marks found only with ``setting`` off, only with it on, and their gold coverage."""
    from propscan.core.spans import merge_spans

    marks = {}
    for value in (False, True):
        model.decoder = model.decoder.with_settings(replace(model.settings, **{setting: value}))
        found = model.predict([article.text for article in articles])
        marks[value] = [{(s.start, s.end) for s in one.spans} for one in found]
    changed: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for article, off, on in zip(articles, marks[False], marks[True], strict=True):
        gold_spans = [(s.start, s.end) for s in merge_spans(gold[article.id])]
        for side, only in (("off", off - on), ("on", on - off)):
            for start, end in sorted(only):
                changed[side].append(
                    {
                        "article": article.id,
                        "start": start,
                        "end": end,
                        "mark": article.text[start:end],
                        "characters": end - start,
                        "gold characters": _covered(gold_spans, start, end),
                    }
                )
    return {
        "marks": sum(len(m) for m in marks[True]),
        "only with it off": len(changed["off"]),
        "only with it on": len(changed["on"]),
        "gold characters covered (off / on)": [
            sum(m["gold characters"] for m in changed[side]) for side in ("off", "on")
        ],
        "changed": changed,
    }


def _pairs(changed: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """Each mark found only with the rule off beside the marks found only with it on that
    overlap it in the same article (what became of it)."""
    pairs = []
    for before in changed["off"]:
        after = [
            m["mark"]
            for m in changed["on"]
            if m["article"] == before["article"]
            and m["start"] < before["end"]
            and before["start"] < m["end"]
        ]
        pairs.append((before["mark"], " / ".join(after) or "(none)"))
    return pairs


def main() -> None:
    from propscan.models.decoding_settings import DecodingSettings
    from propscan.pipeline import load_model
    from propscan.ptc.splits import load_split

    booleans = [f.name for f in fields(DecodingSettings) if isinstance(f.default, bool)]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setting", required=True, choices=booleans)
    parser.add_argument(
        "--model", action="append", default=[], help="model name or directory (repeat)"
    )
    parser.add_argument("--data", default=None, help="PTC corpus directory")
    parser.add_argument("--examples", type=int, default=8, help="changed marks shown per model")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    dev = load_split(args.data, "dev")
    command = f"python benchmarks/edge_rule.py --setting {args.setting}"
    result: dict[str, Any] = {"setting": args.setting, "models": {}}
    lines = [f"# What `{args.setting}` changes in the dev marks", ""]
    for name in args.model or [None]:
        command += f" --model {name}" if name else ""
        model = load_model(name)
        label = f"{model.name} {model.version}"
        found = compare(model, args.setting, dev.articles, dev.gold)
        result["models"][label] = found
        off, on = found["gold characters covered (off / on)"]
        lines += [
            f"## {label}",
            "",
            f"{found['marks']} dev marks with the rule on; {found['only with it off']} marks "
            f"change into {found['only with it on']}, covering {off:,} and {on:,} gold "
            "characters.",
            "",
            "| with it off | with it on |",
            "|---|---|",
        ]
        for before, after in _pairs(found["changed"])[: args.examples]:
            lines.append(f"| {before[-70:]!r} | {after[-70:]!r} |")
        lines.append("")
    lines[2:2] = [f"`{command}`: the first changed marks, their last 70 characters.", ""]
    write_results(args.out, f"edge_rule_{args.setting}", result, lines)


if __name__ == "__main__":
    main()
