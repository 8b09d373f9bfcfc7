"""Colours and symbols of the map, chosen to read for colour-blind viewers.

Unit statuses use the Okabe–Ito palette (distinguishable under the common colour-vision
deficiencies) and differ in lightness as well as hue; blind spots also get a dark outline, and
priority blind spots a larger, thicker ring, so the categories survive a greyscale projector.
Grid coverage is a single-hue purple ramp that never competes with the unit colours.
"""

from __future__ import annotations

from services.coverage import STATUS_LABELS

__all__ = ['STATUS_COLOURS', 'PRIORITY_LABEL', 'COVERAGE_BINS', 'COVERAGE_COLOURS', 'NO_UNITS_COLOUR', 'PLACE_COLOURS', 'unit_style', 'coverage_colour', 'coverage_bin_labels', 'status_legend']

STATUS_COLOURS = {"own": "#0072B2", "joint": "#56B4E9", "work": "#E69F00", "blind": "#D55E00"}
PRIORITY_LABEL = "重点空白点"
COVERAGE_BINS = (0.2, 0.4, 0.6, 0.8)
COVERAGE_COLOURS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
NO_UNITS_COLOUR = "#d9d9d9"
PLACE_COLOURS = {"park": "#009E73", "building": "#CC79A7", "market": "#8c6d31", "centre": "#B8001F"}


def unit_style(status: str, priority: bool) -> dict:
    """Leaflet path options of one unit marker."""
    style = {"color": "#333333", "weight": 1, "fillColor": STATUS_COLOURS[status], "fillOpacity": 0.9,
             "radius": 6}
    if status == "blind":
        style.update(color="#000000", weight=1.5)
    if priority:
        style.update(color="#000000", weight=3, radius=9)
    return style


def coverage_colour(rate: float | None) -> str:
    """Fill colour of a grid for its organisation coverage rate (None: no units)."""
    if rate is None or rate != rate:
        return NO_UNITS_COLOUR
    for bound, colour in zip(COVERAGE_BINS, COVERAGE_COLOURS):
        if rate < bound:
            return colour
    return COVERAGE_COLOURS[-1]


def coverage_bin_labels() -> list[tuple[str, str]]:
    """(colour, label) of each coverage bin, for the legend."""
    edges = (0.0, *COVERAGE_BINS, 1.0)
    labels = []
    for index, colour in enumerate(COVERAGE_COLOURS):
        low, high = edges[index], edges[index + 1]
        text = f"{low:.0%}–{high:.0%}" if index < len(COVERAGE_COLOURS) - 1 else f"≥{low:.0%}"
        labels.append((colour, text))
    return labels


def status_legend() -> list[tuple[str, str]]:
    """(colour, label) of each unit status, for the legend."""
    return [(STATUS_COLOURS[s], STATUS_LABELS[s]) for s in STATUS_COLOURS]
