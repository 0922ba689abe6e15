"""What models read: composed text with one ``\\n`` per line end, offsets mapped back."""

from __future__ import annotations

import unicodedata

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from propscan.core.model_text import model_text
from propscan.core.sentences import with_newlines
from propscan.core.spans import Span

#: Letters, accents (precomposed and combining), Korean letters and a Tamil vowel sign
#: that compose without being combining marks, line breaks and an emoji.
_ALPHABET = st.sampled_from(
    list("ae o\n\r\u2028\u00e9\u0301\u0300\u0327\U0001f600.\u1100\u1161\u11a8\u0bc6\u0bbe")
)


def test_composed_text_is_read_as_given() -> None:
    read = model_text("Vigan\u00f2 said:\r\nno.")
    assert read.text == "Vigan\u00f2 said:\r\nno." and read.starts is None
    assert read.original_span(Span(0, 6)) == Span(0, 6)


def test_korean_and_tamil_letters_compose_though_they_are_no_combining_marks() -> None:
    korean, tamil = unicodedata.normalize("NFD", "\ud55c\uad6d\uc5b4"), "\u0b95\u0bc6\u0bbe"
    assert model_text(korean).text == "\ud55c\uad6d\uc5b4"
    assert model_text(tamil).text == "\u0b95\u0bca"
    assert model_text(korean).original_span(Span(1, 2)) == Span(3, 6)


def test_a_decomposed_letter_is_one_character_mapped_to_both() -> None:
    text = "Vigano\u0300 lies\u2028again"
    read = model_text(text)
    assert read.text == "Vigan\u00f2 lies\nagain"
    assert read.original_span(Span(0, 6, "Doubt")) == Span(0, 7, "Doubt")
    assert read.original_span(Span(5, 11)) == Span(5, 12)
    offsets = np.asarray([[0, 5], [5, 6], [7, 11]])
    assert read.original_offsets(offsets).tolist() == [[0, 5], [5, 7], [8, 12]]


@given(st.lists(_ALPHABET, max_size=40).map("".join), st.data())
def test_every_span_maps_onto_the_run_of_the_original_that_composes_to_it(
    text: str, data: st.DataObject
) -> None:
    read = model_text(text)
    assert read.text == unicodedata.normalize("NFC", with_newlines(text))
    if len(read.text) < 1:
        return
    start = data.draw(st.integers(0, len(read.text) - 1))
    end = data.draw(st.integers(start + 1, len(read.text)))
    span = read.original_span(Span(start, end))
    original = with_newlines(text)[span.start : span.end]  # same length as text
    # equal, unless the span cuts a letter whose marks do not all compose into it
    assert read.text[start:end] in unicodedata.normalize("NFC", original)
    if not _splits(read.text, start) and not _splits(read.text, end):
        assert not _splits(text, span.start) and not _splits(text, span.end)


def _splits(text: str, edge: int) -> bool:
    """Whether ``edge`` falls between a character and a combining mark after it."""
    return 0 < edge < len(text) and unicodedata.combining(text[edge]) > 0
