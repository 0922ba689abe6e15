"""Model cards: what a model was trained on, with which settings, and how well it scores.

Written next to the weights as ``MODEL_CARD.md`` (for people) and ``training.json``
(for programs), so every shipped or trained model documents itself
(:mod:`propscan.training` gathers the facts).
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propscan.core.checks import is_finite_number
from propscan.errors import PropscanError
from propscan.evaluation.evaluate import SUMMARY_COLUMNS
from propscan.models.registry import InstalledModel

CARD_FILE = "MODEL_CARD.md"
FACTS_FILE = "training.json"


#: Training scratch kept beside a model, not part of it.
SCRATCH_DIRS = frozenset({"checkpoint", "dev-evaluation", "selection"})


def model_size_bytes(directory: str | os.PathLike[str]) -> int:
    """Bytes of the files a model needs at run time (training scratch excluded)."""
    root = Path(directory)
    return sum(
        path.stat().st_size
        for path in root.rglob("*")
        if path.is_file() and not SCRATCH_DIRS & set(path.relative_to(root).parts[:-1])
    )


#: The scores a model listing shows for each split of a card.
HEADLINE_SCORES = ("si_f1", "tc_micro_f1", "flc_f1")
#: The prefix of the card's speed fact that a listing shows.
_SPEED_FACT = "articles per second"
#: The card's speed fact in characters, which gives the mean length of the articles timed.
_CHARACTER_SPEED_FACT = "characters per second"


@dataclass(frozen=True)
class CardSummary:
    """What a model's card says to someone choosing between models: size, speed, scores.

    ``articles_per_second``, ``characters_per_second`` and ``scores`` (split -> SI, TC and
    FLC F1) are what the card records; a model saved without a card has its size only.
    """

    size_bytes: int
    articles_per_second: float | None
    characters_per_second: float | None
    scores: dict[str, dict[str, float]]
    description: str | None


def read_training_facts(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The facts a model's card was written from (its ``training.json``), for a program
    that relies on them: a missing or damaged file is a clear error."""
    path = Path(directory) / FACTS_FILE
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise PropscanError(
            f"{path}: no readable model card facts ({error}); give a model directory "
            "written by 'propscan train'"
        ) from None
    if not isinstance(facts, dict):
        raise PropscanError(f"{path}: expected a JSON object of model card facts")
    return facts


def read_card_summary(directory: str | os.PathLike[str]) -> CardSummary:
    """The :class:`CardSummary` of the model in ``directory`` (from its ``training.json``)."""
    path = Path(directory) / FACTS_FILE
    try:
        facts = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (ValueError, UnicodeDecodeError):
        facts = {}  # a card is documentation: a damaged one must not hide the model
    facts = facts if isinstance(facts, dict) else {}
    speed = facts["speed"] if isinstance(facts.get("speed"), dict) else {}
    per_second = next((v for k, v in speed.items() if str(k).startswith(_SPEED_FACT)), None)
    characters = speed.get(_CHARACTER_SPEED_FACT)
    scores = facts["scores"] if isinstance(facts.get("scores"), dict) else {}
    size = facts.get("size_bytes")
    return CardSummary(
        size_bytes=int(size) if is_finite_number(size) else model_size_bytes(directory),
        articles_per_second=float(per_second) if is_finite_number(per_second) else None,
        characters_per_second=float(characters) if is_finite_number(characters) else None,
        scores={
            split: {
                key: float(numbers[key])
                for key in HEADLINE_SCORES
                if is_finite_number(numbers.get(key))  # a damaged figure is left out, not fatal
            }
            for split, numbers in scores.items()
            if isinstance(numbers, dict)
        },
        description=facts.get("description") if isinstance(facts.get("description"), str) else None,
    )


def installed_model_entry(model: InstalledModel) -> dict[str, Any]:
    """One installed model as ``propscan models --format json`` and ``GET /api/models`` list
    it: the name to choose it by, what its ``model.json`` and card say, or its problem."""
    entry: dict[str, Any] = {"name": model.name, "package": model.package}
    if model.directory is None or model.description is None:
        return {**entry, "problem": model.problem}
    card = read_card_summary(model.directory)
    return {
        **entry,
        "model": {
            "name": model.description.name,
            "version": model.description.version,
            "techniques": list(model.description.techniques),
        },
        "size_bytes": card.size_bytes,
        "articles_per_second": card.articles_per_second,
        "scores": card.scores,
        "description": card.description,
    }


def _table(rows: dict[str, Any]) -> list[str]:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows.items()]
    return lines


def _scores_table(scores: dict[str, dict[str, float]]) -> list[str]:
    lines = [
        "| split | " + " | ".join(heading for _, heading in SUMMARY_COLUMNS) + " |",
        "|---" * (len(SUMMARY_COLUMNS) + 1) + "|",
    ]
    # validation first, as it chose every setting; the rest in the order given
    ordered = sorted(scores.items(), key=lambda item: not item[0].startswith("validation"))
    for split, numbers in ordered:
        cells = [numbers.get(key) for key, _ in SUMMARY_COLUMNS]
        lines.append(
            f"| {split} | " + " | ".join("" if c is None else f"{c:.3f}" for c in cells) + " |"
        )
    return lines


def _reliability_section(facts: dict[str, Any]) -> list[str]:
    """Per-technique figures on held-out articles: how far each count can be trusted."""
    reliability = facts.get("reliability")
    if not isinstance(reliability, dict):
        return []
    shares = reliability.get("marked_sentence_share", {})
    lines = [
        "",
        f"## Reliability per technique ({reliability.get('split')}, "
        f"{reliability.get('articles')} articles)",
        "",
        f"Share of sentences marked: {shares.get('predicted', 0):.1%} by the model, "
        f"{shares.get('gold', 0):.1%} by the annotators. Per technique, FLC scores and the "
        "spans the model predicted against those the annotators marked (what a corpus "
        "report's counts over- or under-count):",
        "",
        "| technique | precision | recall | F1 | predicted | gold |",
        "|---|---|---|---|---|---|",
    ]
    for label, row in reliability.get("techniques", {}).items():
        lines.append(
            f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} "
            f"| {row['predicted']} | {row['gold']} |"
        )
    return lines


def _cpuinfo_field(*names: str) -> str | None:
    """The first ``/proc/cpuinfo`` value of a field named ``names`` (Linux; else None)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            field, _, value = line.partition(":")
            if field.strip() in names:
                return value.strip()
    return None


def cpu_flags() -> set[str]:
    """The instruction set extensions the CPU reports (x86 ``flags``, ARM ``Features``)."""
    return set((_cpuinfo_field("flags", "Features") or "").split())


def vector_extensions(flags: set[str]) -> str:
    """The widest x86 vector extension in ``flags``, and whether it has VNNI: CPUs of one
    model name differ in both, and an int8 encoder's speed with them."""
    widest = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    if widest and flags & {"avx512_vnni", "avx_vnni"}:
        return f"{widest} with VNNI"
    return widest


def machine_description() -> str:
    """The CPU model, count and vector extensions where a card's speed was measured
    (speeds from two cards compare only when these match)."""
    cpu = _cpuinfo_field("model name") or platform.processor() or platform.machine()
    extensions = vector_extensions(cpu_flags())
    return f"{cpu}, {os.cpu_count()} CPUs" + (f", {extensions}" if extensions else "")


def _twin_clause(twin: Any) -> str:
    """How a card whose model was also fitted on dev says whose scores it shows."""
    if not isinstance(twin, dict):
        return "."
    return (
        f" by {twin.get('name')} {twin.get('version')}, whose scores these are: this model is "
        "the same recipe fitted on train and dev together, so no held-out figure of its "
        "own exists (its dev scores would overstate it)."
    )


def write_model_card(directory: str | os.PathLike[str], facts: dict[str, Any]) -> Path:
    """Write ``MODEL_CARD.md`` and ``training.json`` from ``facts``.

    Expected keys: ``name``, ``version``, ``kind``, ``description``, ``data``
    (dict), ``settings`` (dict), ``scores`` (split -> metric -> value),
    ``training_seconds``, and optionally ``settings_note`` (a line above the settings
    that says how they differ from today's recipe); anything else is listed under
    "Other facts".
    """
    folder = Path(directory)
    facts = {
        **facts,
        "size_bytes": model_size_bytes(folder),
        "machine": machine_description(),
    }
    written = json.dumps(facts, indent=2, sort_keys=True, default=str)
    (folder / FACTS_FILE).write_text(written + "\n", encoding="utf-8")
    # the card is rendered from what training.json holds (a tuple as a list), so that a card
    # rewritten from that file later reads the same
    facts = json.loads(written)
    known = {
        "name",
        "version",
        "kind",
        "description",
        "data",
        "settings",
        "scores",
        "training_seconds",
        "size_bytes",
        "speed",
        "reliability",
        "twin",
        "settings_note",
    }
    lines = [
        f"# Model card: {facts.get('name')} {facts.get('version')}",
        "",
        str(facts.get("description", "")),
        "",
        "## Scores",
        "",
        "Span identification (SI), technique classification (TC) and fragment-level "
        "classification (FLC), computed with propscan's scorers (equal to the official "
        "SemEval-2020 / NLP4IF-2019 ones). `validation` is the held-out part of train used "
        "to tune thresholds; `dev` was never used for training or tuning"
        + _twin_clause(facts.get("twin")),
        "",
        *_scores_table(facts.get("scores", {})),
        *_reliability_section(facts),
        "",
        "## Data",
        "",
        *_table(facts.get("data", {})),
        "",
        "## Settings",
        "",
        *([str(facts["settings_note"]), ""] if facts.get("settings_note") else []),
        *_table(dict(sorted(facts.get("settings", {}).items()))),
        "",
        "## Size and cost",
        "",
        *_table(
            {
                "kind": facts.get("kind"),
                "size on disk": f"{facts['size_bytes'] / 1e6:.1f} MB",
                "training time": f"{float(facts.get('training_seconds', 0)) / 60:.1f} min",
                **facts.get("speed", {}),
                "machine": facts["machine"],
            }
        ),
    ]
    other = {k: v for k, v in sorted(facts.items()) if k not in known and k != "machine"}
    if other:
        lines += [
            "",
            "## Other facts",
            "",
            *_table({k: json.dumps(v, default=str, sort_keys=True) for k, v in other.items()}),
        ]
    path = folder / CARD_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
