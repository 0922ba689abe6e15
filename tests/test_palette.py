"""The 14 highlight colours: readable under black text and told apart by every reader.

Colour difference is the distance in CAM02-UCS; colour-vision deficiencies are simulated
at full severity (Machado et al. 2009), both by colorspacious.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from propscan.core.techniques import MERGE_18_TO_14, PTC_14, get_technique

colorspacious = pytest.importorskip("colorspacious", reason="pip install '.[dev]'")

#: The smallest colour difference allowed between two of the 14 colours, in every vision.
MIN_DIFFERENCE = 10.0
#: WCAG contrast of black text on every colour (AAA for normal text).
MIN_CONTRAST = 7.0
VISIONS = {
    "normal vision": None,
    "deuteranopia": "deuteranomaly",
    "protanopia": "protanomaly",
    "tritanopia": "tritanomaly",
}


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255.0


def contrast_with_black(colour: str) -> float:
    linear = np.where(
        rgb(colour) <= 0.04045, rgb(colour) / 12.92, ((rgb(colour) + 0.055) / 1.055) ** 2.4
    )
    luminance = float(linear @ np.array([0.2126, 0.7152, 0.0722]))
    return (luminance + 0.05) / 0.05


def seen(colour: str, deficiency: str | None) -> np.ndarray:
    """The colour in CAM02-UCS as a reader with ``deficiency`` (None: normal vision) sees it."""
    shown = rgb(colour)
    if deficiency is not None:
        space = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
        shown = np.clip(colorspacious.cspace_convert(shown, space, "sRGB1"), 0, 1)
    return colorspacious.cspace_convert(shown, "sRGB1", "CAM02-UCS")


def test_fourteen_distinct_colours() -> None:
    colours = [technique.colour for technique in PTC_14.descriptions()]
    assert len(colours) == 14 and len(set(colours)) == 14


@pytest.mark.parametrize("technique", PTC_14.descriptions(), ids=lambda t: t.label)
def test_black_text_is_readable_on_every_colour(technique) -> None:
    assert contrast_with_black(technique.colour) >= MIN_CONTRAST


@pytest.mark.parametrize("vision", VISIONS)
def test_every_pair_is_told_apart(vision: str) -> None:
    techniques = PTC_14.descriptions()
    points = {t.name: seen(t.colour, VISIONS[vision]) for t in techniques}
    closest = min(
        (float(np.linalg.norm(points[a] - points[b])), a, b)
        for a, b in itertools.combinations(points, 2)
    )
    assert closest[0] >= MIN_DIFFERENCE, (
        f"{closest[1]} and {closest[2]} look alike ({closest[0]:.1f})"
    )


def test_merged_labels_share_their_techniques_colour() -> None:
    for label, merged in MERGE_18_TO_14.items():
        if merged is not None:
            assert get_technique(label).colour == get_technique(merged).colour
