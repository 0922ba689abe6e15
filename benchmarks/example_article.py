"""Which of the 14 techniques a model names on the shipped sample article, and on the
technique catalogue's one-sentence examples.

    python benchmarks/example_article.py [--model NAME|DIR ...]

The sample article (``propscan analyze --example``) was written to show every PTC
technique; ``src/propscan/examples/sample-article.labels`` marks where. A technique
counts as found when a span the model marks with it overlaps one of its fragments, as a
reader would see it. The catalogue (``propscan techniques``, ``GET /api/techniques``)
gives each technique an invented one-sentence example; there a technique counts when
the model marks the sentence with it. Each ``--model`` adds a column (default: the
shipped model). Writes ``benchmarks/results/example_article.{json,md}``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from results_files import RESULTS, write_results


def main() -> None:
    from propscan.core.techniques import PTC_14
    from propscan.evaluation.error_analysis import techniques_found
    from propscan.examples import SAMPLE_ARTICLE_ID, sample_labels_path, sample_text
    from propscan.pipeline import analyze, load_model
    from propscan.ptc.io import read_labels

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", action="append", default=[], help="model name or directory (repeat)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    text = sample_text()
    gold = read_labels(sample_labels_path(), "flc")[SAMPLE_ARTICLE_ID]
    techniques = sorted({str(span.technique) for span in gold})
    examples = {t.label: t.example for t in PTC_14.descriptions()}
    columns = {}
    catalogue: dict[str, dict[str, list[str]]] = {}  # model -> technique -> named techniques
    command = "python benchmarks/example_article.py"
    for name in args.model or [None]:
        model = load_model(name)
        found = techniques_found(gold, analyze(text, model).spans)
        where = "/".join(Path(name).parts[-2:]) if name and Path(name).is_dir() else name
        column = f"{model.name} {model.version} ({where or 'shipped'})"
        columns[column] = found
        catalogue[column] = {
            label: sorted({str(s.technique) for s in analyze(example, model).spans})
            for label, example in examples.items()
        }
        command += f" --model {where}" if where else ""
    result = {
        "fragments": {
            t: [text[s.start : s.end] for s in gold if s.technique == t] for t in techniques
        },
        "found": columns,
        "catalogue_examples": examples,
        "catalogue_named": catalogue,
    }
    lines = [
        "# The sample article: which techniques each model names",
        "",
        f"`{command}`: a technique counts when a span marked with "
        f"it overlaps one of its fragments in `sample-article.labels` "
        f"({len(techniques)} techniques, {len(gold)} fragments).",
        "",
        "| technique | first fragment | " + " | ".join(columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for technique in techniques:
        fragment = result["fragments"][technique][0]
        marks = ["yes" if technique in found else "" for found in columns.values()]
        lines.append(f"| {technique} | {fragment[:60]} | " + " | ".join(marks) + " |")
    totals = [f"**{len(found)} of {len(techniques)}**" for found in columns.values()]
    lines.append("| found | | " + " | ".join(totals) + " |")
    lines += [
        "",
        "## The catalogue's one-sentence examples",
        "",
        "Each cell: the techniques the model marks the example with (**bold** when its "
        "own is among them; empty when it marks nothing).",
        "",
        "| technique | example | " + " | ".join(catalogue) + " |",
        "|---|---|" + "---|" * len(catalogue),
    ]
    for label, example in examples.items():
        cells = [
            ", ".join(f"**{t}**" if t == label else t for t in named[label])
            for named in catalogue.values()
        ]
        lines.append(f"| {label} | {example} | " + " | ".join(cells) + " |")
    named_right = [sum(label in named[label] for label in examples) for named in catalogue.values()]
    unmarked = [sum(not named[label] for label in examples) for named in catalogue.values()]
    lines.append(
        "| named right (unmarked) | | "
        + " | ".join(
            f"**{right} of {len(examples)}** ({none})"
            for right, none in zip(named_right, unmarked, strict=True)
        )
        + " |"
    )
    write_results(args.out, "example_article", result, lines)


if __name__ == "__main__":
    main()
