"""The decoding settings of a model: the tuned values of :mod:`propscan.models.decoding`'s rules.

Stored as the ``decoding`` object of ``model.json``; a new setting is a new field with a
default, so model files written before it existed keep loading and decode as they did,
and a setting renamed since is still read under its old name.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from propscan.errors import PropscanError

#: Setting names of older model files, and the name they have now.
LEGACY_SETTING_NAMES: dict[str, str] = {"second_threshold": "second_technique_threshold"}


@dataclass(frozen=True)
class DecodingSettings:
    """How the transformer turns probabilities into spans; stored in ``model.json``.

    Tuned on held-out train articles. A new setting is a new field with a default, so
    model files written before it existed keep loading and decode as they did.
    """

    si_threshold: float = 0.5
    second_technique_threshold: float = 0.35
    window_tokens: int = 254
    window_stride: int = 192
    #: Share of the companion model in token propaganda and span technique probabilities.
    companion_si_weight: float = 0.0
    companion_technique_weight: float = 0.0
    #: Token probability that starts a candidate phrase (None: ``si_threshold``, and
    #: then ``si_threshold`` decides on the mean token probability, as before phrases).
    token_threshold: float | None = None
    #: Fragments at most this many characters apart on one line are joined (-1: never).
    merge_gap: int = -1
    #: Shorter phrases are dropped (0: keep every length).
    min_characters: int = 0
    #: Drop trailing function words and lone stop words.
    trim_function_words: bool = False
    #: Keep joined words (hyphens, apostrophes, slashes, initialisms) whole, leave no
    #: quotation mark unmatched at a span's edge, and drop a lone identity word ("British",
    #: "Muslim"); keep only the pieces of a span outside web addresses.
    whole_words: bool = False
    #: A span that ends on a word pointing at what follows ("dodged every") takes the
    #: words it points at, and one that ends on a "that" opening a clause leaves it out.
    complete_phrases: bool = False
    #: Platt coefficients (a, b, c) of :class:`Calibration`; the decision threshold
    #: ``si_threshold`` applies to the calibrated score when ``token_threshold`` is set.
    calibration: tuple[float, float, float] = (1.0, 0.0, 0.0)
    #: Repetition only for fragments that recur in the article.
    repetition_needs_recurrence: bool = False
    #: Token probabilities are multiplied by the sentence probability to this power (0: off).
    sentence_gate: float = 0.0
    #: Technique fragments: inside a phrase, runs at most this many characters apart are
    #: labelled on their own, and one whose technique the phrase lacks is added as its own
    #: span (-1: off). Merged phrases suit SI; techniques sit on shorter fragments.
    fragment_gap: int = -1
    #: A phrase hands a technique over to its fragments of that technique when they cover
    #: at most this share of its characters (-1: never; see :func:`technique_fragments`).
    handover_share: float = -1.0
    #: Fragments that recur at least this many times elsewhere in the article are named
    #: Repetition first (-1: never; see :func:`repetition_rules`).
    repetition_min_repeats: int = -1
    #: Each technique's share of the spans the model was fitted on, in the order of its
    #: techniques (empty: not recorded); see ``technique_prior_weight``.
    technique_prior: tuple[float, ...] = ()
    #: Technique probabilities are divided by ``technique_prior`` to this power (0: off):
    #: the post-hoc logit adjustment of long-tail classification, which undoes part of
    #: what the fitted model learnt from how often each technique occurs, so that rare
    #: ones get named.
    technique_prior_weight: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "calibration", tuple(float(v) for v in self.calibration))
        object.__setattr__(self, "technique_prior", tuple(float(v) for v in self.technique_prior))

    @classmethod
    def from_config(cls, values: Mapping[str, Any], where: str = "model.json") -> DecodingSettings:
        """Settings from a ``decoding`` object; older names are accepted.

        A misspelt setting or a value of the wrong type is an error; a setting this
        version does not know (written by a newer propscan) is ignored with a warning.
        """
        if not isinstance(values, Mapping):
            raise PropscanError(f"{where}: 'decoding' must be a JSON object")
        known = {field.name: field for field in fields(cls)}
        chosen: dict[str, Any] = {}
        for name, value in current_setting_names(values).items():
            if name not in known:
                _unknown_setting(name, list(known), where)
                continue
            chosen[name] = _checked_value(name, value, known[name].default, where)
        return cls(**chosen)

    def to_config(self) -> dict[str, Any]:
        """The ``decoding`` object of ``model.json``."""
        values = asdict(self)
        values["calibration"] = [round(v, 6) for v in self.calibration]
        values["technique_prior"] = [round(v, 6) for v in self.technique_prior]
        return values


def _checked_value(name: str, value: Any, default: Any, where: str) -> Any:
    """``value`` if it has the type of the setting's default, else a clear error."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise PropscanError(f"{where}: decoding setting {name!r} must be true or false")
        return value
    if isinstance(default, tuple):
        if (
            not isinstance(value, list | tuple)
            or (default and len(value) != len(default))
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
        ):
            count = f"{len(default)} numbers" if default else "numbers"
            raise PropscanError(f"{where}: decoding setting {name!r} must be a list of {count}")
        return tuple(float(v) for v in value)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PropscanError(f"{where}: decoding setting {name!r} must be a number")
    if isinstance(default, int) and not isinstance(value, int):
        raise PropscanError(f"{where}: decoding setting {name!r} must be a whole number")
    return value


def current_setting_names(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with legacy setting names replaced by today's (today's win when both occur)."""
    renamed = {
        LEGACY_SETTING_NAMES[name]: value
        for name, value in values.items()
        if name in LEGACY_SETTING_NAMES
    }
    renamed.update(
        {name: value for name, value in values.items() if name not in LEGACY_SETTING_NAMES}
    )
    return renamed


def _unknown_setting(name: str, known: list[str], where: str) -> None:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    if close:
        raise PropscanError(
            f"{where}: unknown decoding setting {name!r}; did you mean {close[0]!r}?"
        )
    warnings.warn(
        f"{where}: decoding setting {name!r} is not known to this version of propscan "
        "and is ignored (was the model written by a newer one?)",
        stacklevel=3,
    )
