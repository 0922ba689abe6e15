"""The speaker rules on their own: the words before and after a quotation."""

from __future__ import annotations

import pytest

from propscan.core.speakers import Speaker, is_person_pronoun, is_pronoun, named_after, named_before


def name(text: str, speaker: Speaker | None) -> str | None:
    return None if speaker is None else text[speaker.start : speaker.end]


@pytest.mark.parametrize(
    ("before", "speaker"),
    [
        ("The Home Office said: ", "The Home Office"),
        ("IRGC commander Ali Jafari said on October 8th that ", "IRGC commander Ali Jafari"),
        ("Karen Freeman-Wilson, mayor of Gary, Indiana, said tragedies ", "Karen Freeman-Wilson"),
        ("Branch contradicted Penkoski, claiming: ", "Branch"),
        ("One officer close to her said, ", None),  # "her" is no speaker
        ("He said long ago, before the war and the floods and the great fire, that the ", None),
        ("The Washington Post used its asset to orchestrate the ", None),  # "Post" is a name
    ],
)  # fmt: skip
def test_named_before(before: str, speaker: str | None) -> None:
    assert name(before, named_before(before, 0, len(before), None)) == speaker


@pytest.mark.parametrize(
    ("after", "speaker"),
    [
        (", the source said, adding that", "the source"),
        (" his translator was overheard saying as the leaders walked.", "his translator"),
        (" said coalition president Tim Lambert.", "coalition president Tim Lambert"),
        (" Ms. Sanders wrote on Monday.", "Ms. Sanders"),
        (", Alan Stern, of the Southwest Research Institute, noted.", "Alan Stern"),
        (" is specifically the legal term used in stating the law.", None),
        (" In Congo, WHO Warns Of An Outbreak", None),
        (" according to a report in BuzzFeed News.", "a report in BuzzFeed News"),
    ],
)
def test_named_after(after: str, speaker: str | None) -> None:
    assert name(after, named_after(after, 0, len(after))) == speaker


def test_a_participle_refers_to_the_speaker_before() -> None:
    text = ", adding that "
    earlier = Speaker(100, 110)
    assert named_before(text, 0, len(text), earlier) == earlier


def test_pronouns() -> None:
    assert is_pronoun("They") and is_pronoun("he") and not is_pronoun("Helen")
    assert is_person_pronoun("She") and not is_person_pronoun("they")
