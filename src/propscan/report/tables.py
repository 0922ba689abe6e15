"""Corpus reports from batch results: propaganda per outlet, over time and per technique.

:func:`build_report` turns the tables of a results directory (see :mod:`propscan.batch`)
into summary tables. Densities are pooled, not averaged: an outlet's spans per 1 000
words is all its spans over all its words, and its share of propagandistic sentences is
all such sentences over all its sentences, so long and short articles weigh by their size.
Each outlet's marks are split into its own voice and quotations, the articles are ranked
by their article score, and each frequent fragment lists the articles it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import pandas as pd

from propscan.batch.results import BatchResults
from propscan.core.techniques import PTC_14, TechniqueSet, technique_set
from propscan.errors import PropscanError

#: An English month name or its three-letter short form, which makes a date unambiguous.
_MONTH_NAME = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\b", re.I)

_DAY_NUMBER = re.compile(r"\b\d{1,2}\b")

GroupBy = Literal["outlet", "date", "technique"]
GROUPINGS: tuple[str, ...] = ("outlet", "date", "technique")
PERIODS: tuple[str, ...] = ("day", "week", "month")
UNKNOWN_OUTLET = "(unknown)"
OTHER_OUTLETS = "(other outlets)"
#: Outlets drawn one by one in the plots; the rest are pooled as "(other outlets)".
PLOTTED_OUTLETS = 12
DEFAULT_TOP_FRAGMENTS = 10

_DENSITY_COLUMNS = [
    "articles",
    "words",
    "spans",
    "spans_per_1000_words",
    "sentences",
    "propaganda_sentences",
    "propaganda_sentence_share",
    "own_voice_share",
    "quoted_share",
]
#: Columns of the ranked article list.
ARTICLE_COLUMNS = [
    "rank",
    "id",
    "title",
    "outlet",
    "date",
    "article_score",
    "propaganda_sentences",
    "sentences",
    "spans",
    "quoted_spans",
]


@dataclass(frozen=True)
class CorpusReport:
    """The tables of a report; each is also written as a CSV file of the same name."""

    summary: Mapping[str, Any]
    by_outlet: pd.DataFrame
    by_date: pd.DataFrame
    by_technique: pd.DataFrame
    technique_by_outlet: pd.DataFrame
    technique_by_date: pd.DataFrame
    top_fragments: pd.DataFrame
    period: str
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The technique set of the model that made the results (its order orders the tables).
    techniques: TechniqueSet = PTC_14
    #: Every article, the highest article score first (see :func:`ranked_articles`).
    articles: pd.DataFrame = field(default_factory=pd.DataFrame)

    def table(self, by: str) -> pd.DataFrame:
        """The main table for one grouping (``outlet``, ``date`` or ``technique``)."""
        if by not in GROUPINGS:
            raise PropscanError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
        return {"outlet": self.by_outlet, "date": self.by_date, "technique": self.by_technique}[by]

    @property
    def csv_tables(self) -> dict[str, pd.DataFrame]:
        return {
            "by_outlet": self.by_outlet,
            "by_date": self.by_date,
            "by_technique": self.by_technique,
            "technique_by_outlet": self.technique_by_outlet,
            "technique_by_date": self.technique_by_date,
            "top_fragments": self.top_fragments,
            "articles": self.articles,
        }


def _pooled(groups: Any) -> pd.DataFrame:
    """Sums per group and the pooled densities computed from them."""
    table = groups.agg(
        articles=("id", "count"),
        words=("words", "sum"),
        spans=("spans", "sum"),
        sentences=("sentences", "sum"),
        propaganda_sentences=("propaganda_sentences", "sum"),
        quoted_spans=("quoted_spans", lambda counts: counts.sum(min_count=1)),
    )
    table["spans_per_1000_words"] = _ratio(table["spans"] * 1000.0, table["words"])
    table["propaganda_sentence_share"] = _ratio(table["propaganda_sentences"], table["sentences"])
    # results written before quotations were told apart have no counts: the share is unknown
    table["quoted_share"] = table["quoted_spans"] / table["spans"].where(table["spans"] > 0)
    table["own_voice_share"] = 1.0 - table["quoted_share"]
    return table[_DENSITY_COLUMNS]


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator > 0)).fillna(0.0).astype(float)


def choose_period(dates: pd.Series) -> str:
    """``day``, ``week`` or ``month``: fine enough to show a trend, coarse enough to read."""
    known = dates.dropna()
    if known.empty:
        return "month"
    days = (known.max() - known.min()).days
    return "day" if days <= 45 else "week" if days <= 270 else "month"


def _period_start(dates: pd.Series, period: str) -> pd.Series:
    """Each date as the first day of its period, written ``YYYY-MM-DD``."""
    if period == "day":
        start = dates.dt.normalize()
    elif period == "week":
        start = dates.dt.normalize() - pd.to_timedelta(dates.dt.day_of_week, unit="D")
    else:
        start = dates.dt.to_period("M").dt.start_time
    return start.dt.strftime("%Y-%m-%d").where(dates.notna())


def parse_dates(values: pd.Series) -> pd.Series:
    """The calendar day each value names, as its outlet wrote it (``2024-05-31T23:30-05:00``
    is May 31, not June 1 in UTC); what cannot be read for sure becomes missing (reported
    as undated)."""
    return pd.to_datetime(values.map(calendar_day), errors="coerce")


def calendar_day(value: object) -> date | None:
    """The day of an ISO 8601 date or time, or of a date with its month spelled out and
    its day (``31 May 2024``, ``Fri, 31 May 2024 10:00:00 GMT``); ``None`` for other forms.

    Other numeric forms are refused rather than guessed: ``05/06/2024`` is May 6 in one
    country and June 5 in another, and ``2024`` names no day."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    if not (_MONTH_NAME.search(text) and _DAY_NUMBER.search(text)):
        return None
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return pd.Timestamp(text).date()
    except (ValueError, OverflowError):
        return None


def _top_technique(spans: pd.DataFrame, key: str) -> pd.Series:
    if spans.empty:
        return pd.Series(dtype=object)
    counts = spans.groupby([key, "technique"]).size().reset_index(name="n")
    counts = counts.sort_values([key, "n", "technique"], ascending=[True, False, True])
    return counts.drop_duplicates(key).set_index(key)["technique"]


def _technique_shares(
    spans: pd.DataFrame, key: str, order: Sequence[str], techniques: TechniqueSet
) -> pd.DataFrame:
    """Spans per (group, technique) and their share of the group's spans, in long form."""
    columns = [key, "technique", "spans", "share"]
    if spans.empty:
        return pd.DataFrame(columns=columns)
    counts = spans.groupby([key, "technique"]).size().rename("spans").reset_index()
    counts["share"] = counts["spans"] / counts.groupby(key)["spans"].transform("sum")
    counts[key] = pd.Categorical(counts[key], categories=list(order), ordered=True)
    counts["technique"] = pd.Categorical(
        counts["technique"], categories=list(techniques), ordered=True
    )
    counts = counts.sort_values([key, "technique"]).astype({key: str, "technique": str})
    return counts[columns].reset_index(drop=True)


def _normal_fragment(fragment: str) -> str:
    return " ".join(fragment.split()).casefold()


def top_fragments(
    spans: pd.DataFrame, top: int = DEFAULT_TOP_FRAGMENTS, techniques: TechniqueSet = PTC_14
) -> pd.DataFrame:
    """The most frequent fragments of each technique (case and spacing ignored).

    Each is shown in its most common spelling with the number of spans and articles, and
    the ids of those articles (``article_ids``, in order).
    """
    columns = ["technique", "rank", "fragment", "spans", "articles", "article_ids"]
    if spans.empty:
        return pd.DataFrame(columns=columns)
    frame = spans[["id", "technique", "fragment"]].copy()
    frame["key"] = frame["fragment"].map(_normal_fragment)
    grouped = frame.groupby(["technique", "key"])
    table = grouped.agg(
        spans=("id", "size"),
        articles=("id", "nunique"),
        article_ids=("id", lambda ids: list(dict.fromkeys(sorted(ids)))),
    ).reset_index()
    spelling = (
        frame.groupby(["technique", "key", "fragment"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["technique", "key", "n", "fragment"], ascending=[True, True, False, True])
        .drop_duplicates(["technique", "key"])
    )
    table = table.merge(spelling[["technique", "key", "fragment"]], on=["technique", "key"])
    table = table.sort_values(
        ["technique", "spans", "articles", "key"], ascending=[True, False, False, True]
    )
    table["rank"] = table.groupby("technique").cumcount() + 1
    table = table[table["rank"] <= top]
    table["technique"] = pd.Categorical(
        table["technique"], categories=list(techniques), ordered=True
    )
    table = table.sort_values(["technique", "rank"]).astype({"technique": str})
    return table[columns].reset_index(drop=True)


def ranked_articles(articles: pd.DataFrame) -> pd.DataFrame:
    """Every article, the highest article score first (unranked ones last, by their share
    of marked sentences), with its outlet, date and counts."""
    if articles.empty:
        return pd.DataFrame(columns=ARTICLE_COLUMNS)
    table = articles.assign(
        title=articles["title"].fillna(articles["id"]),
        date=articles["parsed_date"].dt.strftime("%Y-%m-%d").fillna(articles["date"]),
    )
    table = table.sort_values(
        ["article_score", "propaganda_sentence_share", "id"],
        ascending=[False, False, True],
        na_position="last",
    )
    table["rank"] = range(1, len(table) + 1)
    return table[ARTICLE_COLUMNS].reset_index(drop=True)


def _technique_table(
    spans: pd.DataFrame, articles: pd.DataFrame, techniques: TechniqueSet
) -> pd.DataFrame:
    """Per technique: spans, articles and outlets using it, share of all spans, density."""
    total_words = int(articles["words"].sum()) if not articles.empty else 0
    columns = [
        "technique",
        "spans",
        "share_of_spans",
        "spans_per_1000_words",
        "articles",
        "outlets",
        "mean_score",
        "mean_characters",
    ]
    rows = []
    total_spans = len(spans)
    for label in techniques:
        used = spans[spans["technique"] == label] if not spans.empty else spans
        rows.append(
            {
                "technique": label,
                "spans": len(used),
                "share_of_spans": len(used) / total_spans if total_spans else 0.0,
                "spans_per_1000_words": 1000.0 * len(used) / total_words if total_words else 0.0,
                "articles": int(used["id"].nunique()) if len(used) else 0,
                "outlets": int(used.loc[used["outlet"] != UNKNOWN_OUTLET, "outlet"].nunique()),
                "mean_score": float(used["score"].mean()) if len(used) else float("nan"),
                "mean_characters": float((used["end"] - used["start"]).mean())
                if len(used)
                else float("nan"),
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["spans", "technique"], ascending=[False, True]).reset_index(drop=True)


def build_report(
    results: BatchResults,
    top: int = DEFAULT_TOP_FRAGMENTS,
    period: str | None = None,
    techniques: TechniqueSet = PTC_14,
) -> CorpusReport:
    """All tables of a report from the result tables of a batch run.

    ``period`` (``day``, ``week`` or ``month``) sets the time buckets; by default they
    follow the time the corpus covers. ``techniques`` is the set of the model that made
    the results (the manifest names it).
    """
    if period is not None and period not in PERIODS:
        raise PropscanError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    articles = results.articles.to_pandas()
    spans = results.spans.to_pandas()
    errors = results.errors.to_pandas()
    found = sorted(set(spans["technique"].dropna()) - set(techniques)) if len(spans) else []
    if found:  # results whose manifest does not name the model's set (a history export)
        techniques = technique_set([*techniques, *found])
    articles["outlet"] = articles["source"].fillna(UNKNOWN_OUTLET)
    articles["parsed_date"] = parse_dates(articles["date"])
    period = period or choose_period(articles["parsed_date"])
    articles["period"] = _period_start(articles["parsed_date"], period)
    for column in ("outlet", "period"):
        spans[column] = spans["id"].map(dict(zip(articles["id"], articles[column], strict=True)))

    by_outlet = _pooled(articles.groupby("outlet"))
    by_outlet = by_outlet.sort_values(["articles", "spans_per_1000_words"], ascending=False)
    by_outlet["top_technique"] = _top_technique(spans, "outlet").reindex(by_outlet.index)
    by_outlet = by_outlet.reset_index()

    dated = articles[articles["period"].notna()]
    by_date = _pooled(dated.groupby("period")).sort_index()
    by_date["top_technique"] = _top_technique(spans.dropna(subset=["period"]), "period").reindex(
        by_date.index
    )
    by_date = by_date.reset_index()

    words = int(articles["words"].sum())
    sentences = int(articles["sentences"].sum())
    quoted = articles["quoted_spans"].sum(min_count=1)
    summary = {
        "articles": len(articles),
        "outlets": int(articles["source"].nunique()),
        "words": words,
        "spans": len(spans),
        "spans_per_1000_words": 1000.0 * len(spans) / words if words else 0.0,
        "propaganda_sentence_share": int(articles["propaganda_sentences"].sum()) / sentences
        if sentences
        else 0.0,
        "dated_articles": len(dated),
        "first_date": dated["parsed_date"].min().strftime("%Y-%m-%d") if len(dated) else None,
        "last_date": dated["parsed_date"].max().strftime("%Y-%m-%d") if len(dated) else None,
        "failed_records": len(errors),
        "quoted_share": float(quoted) / len(spans) if len(spans) and quoted == quoted else None,
    }
    return CorpusReport(
        summary=summary,
        by_outlet=by_outlet,
        by_date=by_date,
        by_technique=_technique_table(spans, articles, techniques),
        technique_by_outlet=_technique_shares(spans, "outlet", by_outlet["outlet"], techniques),
        technique_by_date=_technique_shares(
            spans.dropna(subset=["period"]), "period", by_date["period"], techniques
        ),
        top_fragments=top_fragments(spans, top, techniques),
        period=period,
        errors=errors,
        techniques=techniques,
        articles=ranked_articles(articles),
    )
