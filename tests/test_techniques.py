"""The technique inventory agrees with the corpus and reads well as highlights."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from propscan.core.techniques import (
    MEME_TO_14,
    MEME_TO_18,
    MERGE_18_TO_14,
    TECHNIQUES,
    TECHNIQUES_18,
    all_techniques,
    check_technique,
    get_technique,
    meme_technique,
    original_techniques,
)
from propscan.errors import PropscanError


def _labels_file(data_dir: Path, name: str) -> tuple[str, ...]:
    return tuple(line for line in (data_dir / name).read_text("utf-8").splitlines() if line)


def test_labels_match_the_corpus_files(real_data_dir: Path) -> None:
    assert _labels_file(real_data_dir, "techniques-14.txt") == TECHNIQUES
    assert _labels_file(real_data_dir, "techniques-18.txt") == TECHNIQUES_18


def test_merge_maps_every_18_label_onto_the_14() -> None:
    assert set(MERGE_18_TO_14) == set(TECHNIQUES_18)
    assert {merged for merged in MERGE_18_TO_14.values() if merged is not None} == set(TECHNIQUES)
    assert [label for label, merged in MERGE_18_TO_14.items() if merged is None] == [
        "Obfuscation,Intentional_Vagueness,Confusion"
    ]


def test_every_technique_is_described() -> None:
    assert [technique.label for technique in all_techniques()] == list(TECHNIQUES)
    assert [technique.label for technique in original_techniques()] == list(TECHNIQUES_18)
    for technique in all_techniques() + original_techniques():
        assert technique.name.strip() == technique.name != ""
        assert 1 <= len(re.findall(r"[.!?](\s|$)", technique.definition)) <= 2
        assert technique.definition.endswith(".")
        assert 0 < len(technique.example) <= 100


def _relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#RRGGBB`` colour."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_colours_are_distinct_light_highlights_for_black_text() -> None:
    colours = [technique.colour for technique in all_techniques()]
    assert all(re.fullmatch(r"#[0-9A-F]{6}", colour) for colour in colours)
    assert len(set(colours)) == 14
    for colour in colours:
        contrast_with_black = (_relative_luminance(colour) + 0.05) / 0.05
        assert contrast_with_black >= 7, colour  # WCAG AAA for body text


def test_merged_originals_share_the_colour_of_their_14_label() -> None:
    for label, merged in MERGE_18_TO_14.items():
        if merged is not None:
            assert get_technique(label).colour == get_technique(merged).colour
    obfuscation = get_technique("Obfuscation,Intentional_Vagueness,Confusion")
    assert obfuscation.colour not in {technique.colour for technique in all_techniques()}


def test_get_technique_knows_14_and_18_labels() -> None:
    assert get_technique("Loaded_Language").name == "Loaded language"
    assert get_technique("Straw_Men").name == "Straw man"


def test_unknown_label_lists_the_valid_ones() -> None:
    with pytest.raises(PropscanError) as error:
        get_technique("Propaganda")
    assert all(label in str(error.value) for label in TECHNIQUES)


def test_misspelt_label_gets_a_suggestion() -> None:
    with pytest.raises(PropscanError, match="did you mean 'Loaded_Language'"):
        check_technique("Loaded_language")


def test_check_technique_explains_the_18_to_14_merge() -> None:
    assert check_technique("Doubt") == "Doubt"
    with pytest.raises(PropscanError, match="merges it into 'Bandwagon,Reductio_ad_hitlerum'"):
        check_technique("Bandwagon")
    with pytest.raises(PropscanError, match="dropped"):
        check_technique("Obfuscation,Intentional_Vagueness,Confusion")


def test_meme_techniques_map_onto_the_18_and_through_the_merge_onto_the_14() -> None:
    assert len(MEME_TO_18) == len(MEME_TO_14) == 20
    assert {label for label in MEME_TO_18.values() if label is not None} == set(TECHNIQUES_18)
    assert {label for label in MEME_TO_14.values() if label is not None} == set(TECHNIQUES)
    assert sorted(name for name, label in MEME_TO_14.items() if label is None) == [
        "Glittering generalities (Virtue)",
        "Obfuscation, Intentional vagueness, Confusion",
        "Smears",
    ]
    whatabout = "Whataboutism,Straw_Men,Red_Herring"
    assert meme_technique("Presenting Irrelevant Data (Red Herring)") == whatabout
    assert meme_technique("Reductio ad hitlerum") == "Bandwagon,Reductio_ad_hitlerum"
    assert meme_technique("Thought-terminating cliché") == "Thought-terminating_Cliches"
    assert meme_technique("Smears") is None


def test_unknown_meme_technique_names_the_close_one() -> None:
    with pytest.raises(PropscanError, match="'Flag waving'; did you mean 'Flag-waving'"):
        meme_technique("Flag waving")
    with pytest.raises(PropscanError, match="expected one of: Appeal to authority, "):
        meme_technique("Loaded_Language")
