"""Confidence a reader can read: bands of the calibrated span probability, and one
sentence score that agrees with the spans shown.

A span's score is calibrated (``models/decoding.py``, :class:`Calibration`): on
held-out articles, about that share of a phrase's characters lay inside annotated
propaganda. Such scores stay low (most lie between 0.2 and 0.5), so a bare "31%" reads
as "probably not" although most such marks touch annotated propaganda. Bands say it in
words, with thresholds set from ``benchmarks/confidence_bands.py``
(``benchmarks/results/confidence_bands.md``). Their meanings are what a model of the
shipped recipe that never saw the validation quarter of PTC train does there, so they
hold for articles new to the model:

- **strong** (score >= :data:`STRONG`): about three in four such marks overlap
  propaganda that the annotators marked (and half of their characters lie inside it);
- **moderate** (:data:`MODERATE` <= score < :data:`STRONG`): more than half do;
- **weak** (below :data:`MODERATE`, down to the decision threshold): fewer than half do.

Below 0.35 the share of right marks no longer falls with the score (long phrases score
higher than short ones of the same token probabilities), so one weak band covers it. The
shipped model itself saw those articles in its final fit, and there nearly nine in ten of
its strong marks are right; the ranking of the bands is the same either way.

A sentence's score is the score of its most confident span (0 where it holds none), so
the number beside a sentence is always one of the numbers on its highlights.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from propscan.core.spans import Span
from propscan.errors import PropscanError

#: Lowest calibrated score of a strong mark (see the module docstring for the evidence).
STRONG = 0.45
#: Lowest calibrated score of a moderate mark.
MODERATE = 0.35


@dataclass(frozen=True, slots=True)
class Band:
    """A named range ``[lowest, next band's lowest)`` of calibrated span scores."""

    name: str
    lowest: float
    meaning: str


#: The bands from the most to the least confident; a score falls in the first it reaches.
BANDS: tuple[Band, ...] = (
    Band("strong", STRONG, "about three in four such marks overlap annotated propaganda"),
    Band("moderate", MODERATE, "more than half of such marks overlap annotated propaganda"),
    Band("weak", 0.0, "fewer than half of such marks overlap annotated propaganda"),
)
BAND_NAMES: tuple[str, ...] = tuple(band.name for band in BANDS)
_BY_NAME = {band.name: band for band in BANDS}
_ASCENDING = sorted(band.lowest for band in BANDS)


def band_of(score: float | None) -> Band:
    """The band of a calibrated span score (a span without a score is weak)."""
    if score is None:
        return _BY_NAME["weak"]
    position = bisect.bisect_right(_ASCENDING, score) - 1
    lowest = _ASCENDING[max(position, 0)]
    return next(band for band in BANDS if band.lowest == lowest)


def parse_band(name: str) -> Band:
    """The band called ``name`` (any case), or a clear error naming the bands there are."""
    band = _BY_NAME.get(name.strip().lower()) if isinstance(name, str) else None
    if band is not None:
        return band
    close = difflib.get_close_matches(str(name).strip().lower(), BAND_NAMES, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise PropscanError(
        f"unknown confidence band {name!r}; {hint}expected one of: {', '.join(BAND_NAMES)}"
    )


def at_least(spans: Iterable[Span], band: Band) -> tuple[Span, ...]:
    """The spans whose band is ``band`` or a more confident one (a ``--min-band`` filter)."""
    return tuple(span for span in spans if (span.score or 0.0) >= band.lowest)


def sentence_spans(
    sentences: Sequence[tuple[int, int]], spans: Sequence[Span]
) -> tuple[tuple[Span, ...], ...]:
    """The spans that share a character with each sentence (``[start, end)`` pairs in text
    order); a span across sentences is in each of them."""
    found: list[list[Span]] = [[] for _ in sentences]
    starts = [start for start, _ in sentences]
    for span in spans:
        index = max(bisect.bisect_right(starts, span.start) - 1, 0)
        while index < len(sentences) and sentences[index][0] < span.end:
            if sentences[index][1] > span.start:
                found[index].append(span)
            index += 1
    return tuple(map(tuple, found))


def sentence_scores(
    sentences: Sequence[tuple[int, int]], spans: Sequence[Span]
) -> tuple[float, ...]:
    """Each sentence's score: the highest score of a span that shares a character with it,
    0.0 where none does.

    One definition for every view, so that a sentence never scores higher than the
    highlights it holds; ``sentences`` are ``[start, end)`` pairs in text order.
    """
    return tuple(
        max((span.score or 0.0 for span in inside), default=0.0)
        for inside in sentence_spans(sentences, spans)
    )
