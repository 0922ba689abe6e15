"""The technique catalogue agrees with the corpus, reads well as highlights, and lets a model
own a technique set of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from propscan.core.techniques import (
    MEME_TO_14,
    MEME_TO_18,
    MERGE_18_TO_14,
    PTC_14,
    PTC_18,
    TECHNIQUES,
    TECHNIQUES_18,
    TechniqueSet,
    get_technique,
    meme_technique,
    technique_set,
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
    assert [technique.label for technique in PTC_14.descriptions()] == list(TECHNIQUES)
    assert [technique.label for technique in PTC_18.descriptions()] == list(TECHNIQUES_18)
    for technique in PTC_14.descriptions() + PTC_18.descriptions():
        assert technique.name.strip() == technique.name != ""
        assert 1 <= len(re.findall(r"[.!?](\s|$)", technique.definition)) <= 2
        assert technique.definition.endswith(".")
        assert 0 < len(technique.example) <= 100


def test_obfuscation_outside_the_14_has_a_colour_of_its_own() -> None:
    obfuscation = get_technique("Obfuscation,Intentional_Vagueness,Confusion")
    assert obfuscation.colour not in {technique.colour for technique in PTC_14.descriptions()}


def test_get_technique_knows_14_and_18_labels() -> None:
    assert get_technique("Loaded_Language").name == "Loaded language"
    assert get_technique("Straw_Men").name == "Straw man"


def test_unknown_label_lists_the_valid_ones() -> None:
    with pytest.raises(PropscanError) as error:
        get_technique("Propaganda")
    assert all(label in str(error.value) for label in TECHNIQUES)


def test_misspelt_label_gets_a_suggestion() -> None:
    with pytest.raises(PropscanError, match="did you mean 'Loaded_Language'"):
        PTC_14.check("Loaded_language")


def test_checking_a_label_explains_the_18_to_14_merge() -> None:
    assert PTC_14.check("Doubt") == "Doubt"
    with pytest.raises(PropscanError, match="merges it into 'Bandwagon,Reductio_ad_hitlerum'"):
        PTC_14.check("Bandwagon")
    with pytest.raises(PropscanError, match="dropped"):
        PTC_14.check("Obfuscation,Intentional_Vagueness,Confusion")


def test_known_label_lists_are_named_sets() -> None:
    assert technique_set(TECHNIQUES) is PTC_14 and PTC_14.name == "ptc-14"
    assert technique_set(list(TECHNIQUES_18)) is PTC_18
    assert technique_set(None) is PTC_14  # models written before they stored their set
    custom = technique_set(["Beta", "Alpha"])
    assert custom.name == "custom" and list(custom) == ["Beta", "Alpha"]  # order is kept
    assert custom.index("Alpha") == 1 and custom[0] == "Beta" and "Gamma" not in custom


@pytest.mark.parametrize("labels", [[], ["A", "A"], ["A", ""]])
def test_a_set_needs_distinct_non_empty_labels(labels: list[str]) -> None:
    with pytest.raises(PropscanError, match="distinct, non-empty labels"):
        TechniqueSet("custom", tuple(labels))


def test_labels_the_catalogue_lacks_get_a_plain_description_and_a_colour_each() -> None:
    custom = TechniqueSet("custom", ("Fear_Mongering", "Loaded_Language", "Hero_Worship"))
    fear, loaded, hero = custom.descriptions()
    assert loaded == get_technique("Loaded_Language")
    assert fear.name == "Fear Mongering" and fear.definition.startswith("Fear Mongering")
    assert len({fear.colour, hero.colour}) == 2
    with pytest.raises(PropscanError, match="expected one of: Fear_Mongering"):
        custom.describe("Doubt")


def test_parse_cuts_only_between_whole_labels_of_the_set() -> None:
    assert PTC_14.parse("Name_Calling,Labeling,Doubt,Whataboutism,Straw_Men,Red_Herring") == (
        "Name_Calling,Labeling",
        "Doubt",
        "Whataboutism,Straw_Men,Red_Herring",
    )
    assert PTC_14.parse(["Doubt", "doubt"]) == ("Doubt",)
    custom = TechniqueSet("custom", ("Alpha", "Beta,Gamma"))
    assert custom.parse("beta,gamma, alpha") == ("Beta,Gamma", "Alpha")
    with pytest.raises(PropscanError, match="unknown technique 'Doubt'"):
        custom.parse("Doubt")
    with pytest.raises(PropscanError, match="at least one of the 2 labels"):
        custom.parse(" , ")


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
