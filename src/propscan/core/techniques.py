"""The technique catalogue: named technique sets, and a description of every technique.

A model owns its technique set (``techniques`` in its ``model.json``, read into a
:class:`TechniqueSet`); every view, filter and export takes the set of the model it runs.
This module is the one place where technique labels are spelled out: the sets propscan
knows by name (SemEval-2020's 14 labels, ``PTC_14``; the 18 the corpus was annotated with,
``PTC_18``, merged into the 14 by :data:`MERGE_18_TO_14`) and, for each label, a
:class:`Technique` with a readable name, a short definition, an invented example and a
highlight colour. A model trained on other labels still works: a label the catalogue does
not describe gets a plain description and a colour of its own from the same palette.
"""

from __future__ import annotations

import difflib
import functools
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

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

# Highlight colours: one palette of 14 in which every pair stays apart for readers with
# normal colour vision and under simulated deuteranopia, protanopia and tritanopia. The
# colour difference is the Euclidean distance in CAM02-UCS (Luo, Cui & Li 2006), and the
# deficiencies are simulated at full severity with Machado, Oliveira & Fernandes (2009),
# both as the colorspacious library computes them. The colours were chosen by a
# farthest-point search (then pairwise swaps) over an sRGB grid of step 15, among the
# colours on which black text has a WCAG contrast of at least 7:1, maximising the
# smallest difference between any two colours under any of the four visions: it is 11.1,
# above the bar of 10 that tests/test_palette.py holds them to (a difference of about 10
# tells two patches side by side apart at a glance). Loaded language, by far the most
# frequent technique, gets the palest colour. Techniques merged into one of the 14 share
# its colour; Obfuscation, outside the 14, is pale grey.
_LOADED = "#F0D296"
_NAME_CALLING = "#C3B4FF"
_REPETITION = "#D2FFD2"
_DOUBT = "#FFFF87"
_EXAGGERATION = "#78FFFF"
_FEAR = "#FF5AA5"
_FLAG = "#69D2D2"
_CAUSAL = "#A5C35A"
_SLOGANS = "#96E100"
_AUTHORITY = "#C3B496"
_WHATABOUT = "#A59669"
_BLACK_WHITE = "#9687F0"
_CLICHES = "#2DA5A5"
_BANDWAGON = "#D28700"
_TOL_PALE_GREY = "#DDDDDD"  # Paul Tol's pale grey

_TECHNIQUE_LIST: tuple[Technique, ...] = (
    Technique(
        "Appeal_to_Authority",
        "Appeal to authority",
        "Holds a claim to be true because an expert, official or other authority backs it, "
        "with no further evidence offered.",
        "Top economists all agree the plan will ruin us, so there is nothing left to debate.",
        _AUTHORITY,
    ),
    Technique(
        "Appeal_to_fear-prejudice",
        "Appeal to fear or prejudice",
        "Wins support for an idea by stirring up anxiety about the alternative, or by "
        "playing on prejudices the audience already holds.",
        "If these newcomers are let in, no street in this town will be safe after dark.",
        _FEAR,
    ),
    Technique(
        "Bandwagon,Reductio_ad_hitlerum",
        "Bandwagon or reductio ad Hitlerum",
        "Urges acceptance because everyone else already agrees, or rejection because a "
        "despised group is said to favour the idea.",
        "Millions have already switched; only fools are still holding out.",
        _BANDWAGON,
    ),
    Technique(
        "Black-and-White_Fallacy",
        "Black-and-white fallacy",
        "Presents two options as the only possible ones, often with one plainly unacceptable, "
        "or declares a single course of action the only way forward.",
        "Either you support this bill or you want criminals roaming our streets.",
        _BLACK_WHITE,
    ),
    Technique(
        "Causal_Oversimplification",
        "Causal oversimplification",
        "Blames a complex outcome on one convenient cause and ignores the other factors involved.",
        "Prices rose the month the new mayor took office, so the mayor caused inflation.",
        _CAUSAL,
    ),
    Technique(
        "Doubt",
        "Doubt",
        "Undermines the credibility of a person, group or institution by raising questions "
        "about them without backing the suspicion up.",
        "Can we really trust a minister who has never given a straight answer?",
        _DOUBT,
    ),
    Technique(
        "Exaggeration,Minimisation",
        "Exaggeration or minimisation",
        "Makes something look far bigger, better or worse than it is, or plays down "
        "something serious as if it hardly mattered.",
        "This is the greatest betrayal in the history of our nation.",
        _EXAGGERATION,
    ),
    Technique(
        "Flag-Waving",
        "Flag-waving",
        "Justifies an idea by appealing to patriotism or to the pride of a group such as a "
        "nation, faith or party.",
        "Every true patriot will stand behind our troops and this decision.",
        _FLAG,
    ),
    Technique(
        "Loaded_Language",
        "Loaded language",
        "Chooses words with strong emotional overtones to sway the reader rather than to inform.",
        "The regime's brutal, bloodthirsty crackdown shocked the world.",
        _LOADED,
    ),
    Technique(
        "Name_Calling,Labeling",
        "Name calling or labelling",
        "Pins an insulting or flattering label on a person or group so that the audience "
        "judges the label instead of the facts.",
        "The globalist elites are at it again.",
        _NAME_CALLING,
    ),
    Technique(
        "Repetition",
        "Repetition",
        "Repeats the same message over and over so that the audience ends up accepting it.",
        "They lied about the war. They lied about the cost. They are lying to you now.",
        _REPETITION,
    ),
    Technique(
        "Slogans",
        "Slogan",
        "A short, catchy phrase, often built on stereotypes, meant to stick in the mind and "
        "work as a rallying cry.",
        "Take back our future!",
        _SLOGANS,
    ),
    Technique(
        "Thought-terminating_Cliches",
        "Thought-terminating cliché",
        "A stock phrase that cuts a discussion short and discourages further thought.",
        "It is what it is, and that is the end of it.",
        _CLICHES,
    ),
    Technique(
        "Whataboutism,Straw_Men,Red_Herring",
        "Whataboutism, straw man or red herring",
        "Deflects a criticism instead of answering it: by accusing the critic of hypocrisy, "
        "by attacking a distorted version of their view, or by changing the subject.",
        "Why complain about our deficit when your party ran up a bigger one?",
        _WHATABOUT,
    ),
    # The 18-label originals that the 14-label task merges or drops.
    Technique(
        "Bandwagon",
        "Bandwagon",
        "Persuades people to join in because supposedly everyone is already doing so.",
        "Every sensible family on the street has already signed up.",
        _BANDWAGON,
    ),
    Technique(
        "Reductio_ad_hitlerum",
        "Reductio ad Hitlerum",
        "Discredits an idea by tying it to a person or group the audience despises.",
        "Registering owners is exactly what the worst dictators did first.",
        _BANDWAGON,
    ),
    Technique(
        "Whataboutism",
        "Whataboutism",
        "Answers a criticism by charging the critic with hypocrisy instead of addressing "
        "the point.",
        "You lecture us on press freedom, but what about the reporters your country jailed?",
        _WHATABOUT,
    ),
    Technique(
        "Straw_Men",
        "Straw man",
        "Swaps an opponent's argument for a weaker, distorted version and then refutes that.",
        "My rival wants safer bike lanes; clearly she wants to ban cars altogether.",
        _WHATABOUT,
    ),
    Technique(
        "Red_Herring",
        "Red herring",
        "Brings up an irrelevant topic to draw attention away from the issue at hand.",
        "Asked about the budget gap, the minister praised the national football team.",
        _WHATABOUT,
    ),
    Technique(
        "Obfuscation,Intentional_Vagueness,Confusion",
        "Obfuscation or intentional vagueness",
        "Uses deliberately unclear wording so that the audience can read into it whatever "
        "it likes and the speaker commits to nothing.",
        "The measures will be adjusted appropriately in due course.",
        _TOL_PALE_GREY,
    ),
)

_BY_LABEL: dict[str, Technique] = {technique.label: technique for technique in _TECHNIQUE_LIST}
#: Colours given, in turn, to labels the catalogue does not describe.
_SPARE_COLOURS: tuple[str, ...] = tuple(dict.fromkeys(t.colour for t in _TECHNIQUE_LIST))

#: The technique that the decoding's recurrence rules name (a document-level technique).
REPETITION = "Repetition"


def _described(label: str, position: int) -> Technique:
    """The catalogue's description of ``label``, or a plain one for a label it lacks."""
    known = _BY_LABEL.get(label)
    if known is not None:
        return known
    name = label.replace("_", " ").replace(",", ", ")
    colour = _SPARE_COLOURS[position % len(_SPARE_COLOURS)]
    definition = f"{name} (a technique of this model's own label set)."
    return Technique(label, name, definition, "", colour)


@dataclass(frozen=True)
class TechniqueSet(Sequence[str]):
    """The ordered technique labels a model predicts or a corpus is annotated with.

    Order matters: it is the order of a model's technique heads and of every table and
    legend. :meth:`parse` and :meth:`check` take user input against these labels only.
    A read-only sequence of its labels; equality, hashing and repr are the dataclass's.
    """

    name: str
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        labels = tuple(str(label) for label in self.labels)
        if not labels or len(set(labels)) != len(labels) or not all(labels):
            raise PropscanError(
                f"technique set {self.name!r} must list distinct, non-empty labels, got {labels!r}"
            )
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self) -> Iterator[str]:
        return iter(self.labels)

    @overload
    def __getitem__(self, position: int) -> str: ...

    @overload
    def __getitem__(self, position: slice) -> tuple[str, ...]: ...

    def __getitem__(self, position: int | slice) -> str | tuple[str, ...]:
        return self.labels[position]

    def __contains__(self, label: object) -> bool:
        return label in self._positions

    def index(self, label: str, start: int = 0, stop: int = sys.maxsize) -> int:
        """The position of ``label`` (a KeyError when the set lacks it); ``start`` and
        ``stop`` only to match :meth:`Sequence.index`, searching like a tuple."""
        if start == 0 and stop == sys.maxsize:
            return self._positions[label]
        return self.labels.index(label, start, stop)

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        return {label: position for position, label in enumerate(self.labels)}

    def describe(self, label: str) -> Technique:
        """The description of one of this set's labels (a helpful error for any other)."""
        if label not in self:
            raise _unknown_technique(label, self.labels)
        return _described(label, self.index(label))

    def descriptions(self) -> list[Technique]:
        """Every technique of the set, in order."""
        return [_described(label, position) for position, label in enumerate(self.labels)]

    def check(self, label: str) -> str:
        """``label`` if it belongs to the set, else a helpful error."""
        if label not in self:
            raise _unknown_technique(label, self.labels)
        return label

    def parse(self, value: Iterable[str] | str) -> tuple[str, ...]:
        """Labels of this set from a list or a comma-separated string, checked and de-duplicated.

        Several PTC labels contain commas themselves (``Name_Calling,Labeling``), so a string
        is cut at the commas that separate whole labels. Matching ignores case.
        """
        by_key = {label.casefold(): label for label in self.labels}
        most_parts = max(label.count(",") + 1 for label in self.labels)
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",")]
        else:
            parts = [str(label).strip() for label in value]
        labels: list[str] = []
        position = 0
        while position < len(parts):
            if not parts[position]:
                position += 1
                continue
            for width in range(min(most_parts, len(parts) - position), 0, -1):
                candidate = ",".join(parts[position : position + width]).casefold()
                if candidate in by_key:
                    labels.append(by_key[candidate])
                    position += width
                    break
            else:
                self.check(parts[position])  # no label starts here: raises a helpful error
                position += 1
        if not labels:
            raise PropscanError(
                f"no technique given to keep; name at least one of the {len(self)} labels "
                "(run 'propscan techniques' to list them) or leave the filter out"
            )
        return tuple(dict.fromkeys(labels))


#: SemEval-2020 Task 11's 14 techniques, the set of the shipped model.
PTC_14 = TechniqueSet("ptc-14", TECHNIQUES)
#: The 18 techniques the PTC corpus was annotated with.
PTC_18 = TechniqueSet("ptc-18", TECHNIQUES_18)
#: The technique sets known by name.
TECHNIQUE_SETS: dict[str, TechniqueSet] = {s.name: s for s in (PTC_14, PTC_18)}


def technique_set(labels: Iterable[str] | None) -> TechniqueSet:
    """The set of ``labels`` (named when it is one the catalogue knows); PTC's 14 for None,
    as models written before their technique set was stored predict those."""
    if labels is None:
        return PTC_14
    ordered = tuple(str(label) for label in labels)
    for known in TECHNIQUE_SETS.values():
        if known.labels == ordered:
            return known
    return TechniqueSet("custom", ordered)


def _unknown_technique(label: str, valid: tuple[str, ...]) -> PropscanError:
    """An error for ``label`` with a merge hint or a close spelling when there is one."""
    merged = MERGE_18_TO_14.get(label, label)
    if merged != label and (merged is None or merged in valid):
        hint = (
            f"it is an 18-label name; the 14-label task merges it into {merged!r}"
            if merged is not None
            else "it is an 18-label name that the 14-label task dropped"
        )
        return PropscanError(f"unknown technique {label!r}: {hint}")
    close = difflib.get_close_matches(label, valid, n=1, cutoff=0.6)
    suggestion = f"did you mean {close[0]!r}? " if close else ""
    return PropscanError(
        f"unknown technique {label!r}; {suggestion}expected one of: {', '.join(valid)} "
        "(run 'propscan techniques' for their definitions)"
    )


def get_technique(label: str) -> Technique:
    """The catalogue's description of a label of any known set (a helpful error otherwise)."""
    technique = _BY_LABEL.get(label)
    if technique is None:
        raise _unknown_technique(label, tuple(_BY_LABEL))
    return technique


# --- The SemEval-2021 Task 6 meme corpus -----------------------------------------------
# Annotated by the PTC group under the same guidelines, with 20 techniques named in its
# own spelling. Each is mapped once here onto the 18 PTC originals, so the PTC merge
# above gives its label among the 14; techniques PTC never had map to ``None``.

#: The meme corpus's 20 technique names onto the 18 PTC originals (``None``: PTC has none).
MEME_TO_18: dict[str, str | None] = {
    "Appeal to authority": "Appeal_to_Authority",
    "Appeal to fear/prejudice": "Appeal_to_fear-prejudice",
    "Bandwagon": "Bandwagon",
    "Black-and-white Fallacy/Dictatorship": "Black-and-White_Fallacy",
    "Causal Oversimplification": "Causal_Oversimplification",
    "Doubt": "Doubt",
    "Exaggeration/Minimisation": "Exaggeration,Minimisation",
    "Flag-waving": "Flag-Waving",
    "Glittering generalities (Virtue)": None,
    "Loaded Language": "Loaded_Language",
    "Misrepresentation of Someone's Position (Straw Man)": "Straw_Men",
    "Name calling/Labeling": "Name_Calling,Labeling",
    "Obfuscation, Intentional vagueness, Confusion": "Obfuscation,Intentional_Vagueness,Confusion",
    "Presenting Irrelevant Data (Red Herring)": "Red_Herring",
    "Reductio ad hitlerum": "Reductio_ad_hitlerum",
    "Repetition": "Repetition",
    "Slogans": "Slogans",
    "Smears": None,
    "Thought-terminating cliché": "Thought-terminating_Cliches",
    "Whataboutism": "Whataboutism",
}

#: The meme corpus's 20 technique names onto the 14 labels (``None``: outside the 14).
MEME_TO_14: dict[str, str | None] = {
    name: None if original is None else MERGE_18_TO_14[original]
    for name, original in MEME_TO_18.items()
}


def meme_technique(name: str) -> str | None:
    """The label among the 14 of a meme corpus technique, ``None`` when PTC has none."""
    if name not in MEME_TO_14:
        close = difflib.get_close_matches(name, MEME_TO_14, n=1, cutoff=0.6)
        suggestion = f"did you mean {close[0]!r}? " if close else ""
        raise PropscanError(
            f"unknown meme corpus technique {name!r}; {suggestion}"
            f"expected one of: {', '.join(MEME_TO_14)}"
        )
    return MEME_TO_14[name]
