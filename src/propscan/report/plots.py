"""The plots of a corpus report, as base64 PNG images to embed in its HTML page.

matplotlib is imported only when a plot is drawn: it is slow to import.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import pandas as pd

from propscan.core.techniques import TechniqueSet
from propscan.report.tables import OTHER_OUTLETS, PLOTTED_OUTLETS, CorpusReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def technique_colour(label: str, techniques: TechniqueSet) -> str:
    """The highlight colour of a technique of the model's set."""
    return techniques.describe(label).colour


def technique_name(label: str, techniques: TechniqueSet) -> str:
    """The readable name of a technique of the model's set."""
    return techniques.describe(label).name


def _png(figure: Figure) -> str:
    """A figure as a base64 PNG, ready for an ``<img src="data:...">``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plotted_outlets(report: CorpusReport) -> list[str]:
    """The outlets drawn one by one: those with most articles."""
    return report.by_outlet["outlet"].head(PLOTTED_OUTLETS).tolist()


def plot_technique_mix(report: CorpusReport) -> str | None:
    """Stacked bars: which techniques make up each outlet's spans."""
    shares = report.technique_by_outlet
    if shares.empty or report.by_outlet["outlet"].nunique() < 2:
        return None
    outlets = _plotted_outlets(report)
    grouped = shares.assign(
        outlet=shares["outlet"].where(shares["outlet"].isin(outlets), OTHER_OUTLETS)
    )
    counts = grouped.pivot_table(
        index="outlet", columns="technique", values="spans", aggfunc="sum", fill_value=0
    )
    order = [o for o in [*outlets, OTHER_OUTLETS] if o in counts.index]
    counts = counts.reindex(order)
    share = counts.div(counts.sum(axis=1), axis=0)
    from matplotlib.figure import Figure  # imported here: slow, and only reports plot

    figure = Figure(figsize=(9, 0.45 * len(order) + 2.2))
    axes = figure.subplots()
    left = pd.Series(0.0, index=share.index)
    for label in [t for t in report.techniques if t in share.columns]:
        axes.barh(
            share.index,
            share[label],
            left=left,
            color=technique_colour(label, report.techniques),
            label=technique_name(label, report.techniques),
            edgecolor="white",
            linewidth=0.5,
        )
        left += share[label]
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("share of the outlet's propaganda spans")
    axes.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 - 0.2 / len(order)),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    axes.set_title("Technique mix per outlet")
    return _png(figure)


def plot_outlet_density(report: CorpusReport) -> str | None:
    """Two bar panels: spans per 1 000 words and share of propagandistic sentences."""
    table = report.by_outlet.head(PLOTTED_OUTLETS)
    if report.by_outlet["outlet"].nunique() < 2:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 0.4 * len(table) + 1.6))
    density_axes, share_axes = figure.subplots(1, 2, sharey=True)
    density_axes.barh(table["outlet"], table["spans_per_1000_words"], color="#77AADD")
    density_axes.set_xlabel("spans per 1 000 words")
    density_axes.invert_yaxis()
    share_axes.barh(table["outlet"], table["propaganda_sentence_share"], color="#EE8866")
    share_axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    share_axes.set_xlabel("share of propagandistic sentences")
    figure.suptitle("Propaganda density per outlet")
    return _png(figure)


def plot_techniques(report: CorpusReport) -> str | None:
    """Horizontal bars: spans of each technique over the whole corpus."""
    table = report.by_technique[report.by_technique["spans"] > 0]
    if table.empty:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 0.35 * len(table) + 1.4))
    axes = figure.subplots()
    axes.barh(
        [technique_name(t, report.techniques) for t in table["technique"]],
        table["spans"],
        color=[technique_colour(t, report.techniques) for t in table["technique"]],
        edgecolor="#555555",
        linewidth=0.5,
    )
    axes.invert_yaxis()
    axes.set_xlabel("spans")
    axes.set_title("Techniques over the corpus")
    return _png(figure)


def plot_trend(report: CorpusReport) -> str | None:
    """Density over time, and the spans of the most used techniques per period."""
    table = report.by_date
    if len(table) < 2:
        return None
    periods = pd.to_datetime(table["period"])
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 6))
    density_axes, technique_axes = figure.subplots(2, 1, sharex=True)
    density_axes.plot(
        periods,
        table["spans_per_1000_words"],
        marker="o",
        color="#4477AA",
        label="spans per 1 000 words",
    )
    density_axes.set_ylabel("spans per 1 000 words")
    share_axes = density_axes.twinx()
    share_axes.plot(
        periods,
        table["propaganda_sentence_share"],
        marker="s",
        color="#EE8866",
        linestyle="--",
        label="share of propagandistic sentences",
    )
    share_axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    share_axes.set_ylabel("propagandistic sentences")
    handles = (
        density_axes.get_legend_handles_labels()[0] + share_axes.get_legend_handles_labels()[0]
    )
    density_axes.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
    density_axes.set_title(f"Propaganda over time (per {report.period})")
    counts = report.technique_by_date.pivot_table(
        index="period", columns="technique", values="spans", aggfunc="sum", fill_value=0
    )
    counts = counts.reindex(table["period"], fill_value=0)
    leading = counts.sum().sort_values(ascending=False).head(6).index
    for label in leading:
        technique_axes.plot(
            periods,
            counts[label].to_numpy(),
            marker=".",
            label=technique_name(label, report.techniques),
            color=technique_colour(label, report.techniques),
            linewidth=2,
        )
    technique_axes.set_ylabel("spans")
    if len(leading):  # a run without marks has no technique to name
        technique_axes.legend(fontsize=8, ncol=2, frameon=False)
    technique_axes.set_title("Most used techniques" if len(leading) else "No marks")
    figure.autofmt_xdate()
    return _png(figure)
