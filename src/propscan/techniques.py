"""The propaganda techniques of the PTC corpus: the single source of truth.

SemEval-2020 Task 11 uses 14 labels (``TECHNIQUES``); the corpus was annotated
with 18 (``TECHNIQUES_18``) and merged with :data:`MERGE_18_TO_14`.
"""

from __future__ import annotations

from dataclasses import dataclass

from propscan.errors import PropscanError


@dataclass(frozen=True, slots=True)
class Technique:
    """One technique: its exact PTC label, a human name, a definition, an example, a colour."""

    label: str
    name: str
    definition: str
    example: str
    colour: str


TECHNIQUES_18: tuple[str, ...] = (
    "Appeal_to_Authority",
    "Appeal_to_fear-prejudice",
    "Bandwagon",
    "Black-and-White_Fallacy",
    "Causal_Oversimplification",
    "Doubt",
    "Exaggeration,Minimisation",
    "Flag-Waving",
    "Loaded_Language",
    "Name_Calling,Labeling",
    "Obfuscation,Intentional_Vagueness,Confusion",
    "Red_Herring",
    "Reductio_ad_hitlerum",
    "Repetition",
    "Slogans",
    "Straw_Men",
    "Thought-terminating_Cliches",
    "Whataboutism",
)

#: The official 18 -> 14 merge. Obfuscation was dropped from the 14-label task (``None``).
MERGE_18_TO_14: dict[str, str | None] = {
    **{label: label for label in TECHNIQUES_18},
    "Bandwagon": "Bandwagon,Reductio_ad_hitlerum",
    "Reductio_ad_hitlerum": "Bandwagon,Reductio_ad_hitlerum",
    "Whataboutism": "Whataboutism,Straw_Men,Red_Herring",
    "Straw_Men": "Whataboutism,Straw_Men,Red_Herring",
    "Red_Herring": "Whataboutism,Straw_Men,Red_Herring",
    "Obfuscation,Intentional_Vagueness,Confusion": None,
}

#: The 14 SemEval-2020 labels, in the order of ``techniques-14.txt``.
TECHNIQUES: tuple[str, ...] = tuple(
    sorted({merged for merged in MERGE_18_TO_14.values() if merged is not None})
)


def check_technique(label: str) -> str:
    """Return ``label`` if it is one of the 14 techniques, else raise a helpful error."""
    if label not in TECHNIQUES:
        raise PropscanError(
            f"unknown technique {label!r}; expected one of the 14 PTC labels "
            "(run 'propscan techniques' to list them)"
        )
    return label
