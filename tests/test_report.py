"""Reports: pooled densities per outlet and period, technique tables, fragments, HTML and CSV."""

from __future__ import annotations

import base64
import csv
import json
import re
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from propscan.batch.chunks import AnalysisOptions, ChunkResult
from propscan.batch.results import MANIFEST, commit_chunk, read_results
from propscan.batch.run import run_batch
from propscan.errors import PropscanError
from propscan.models.base import DEFAULT_MODEL_DIR
from propscan.models.registry import model_directory
from propscan.ptc.splits import Split
from propscan.report.html import format_value, make_report, render_html
from propscan.report.reliability import read_reliability
from propscan.report.tables import UNKNOWN_OUTLET, build_report, choose_period, parse_dates

EVIL_OUTLET = '<script>alert("x")</script> & Co'


def article(
    aid: str,
    source: str | None,
    date: str | None,
    words: int,
    sentences: int,
    flagged: int,
    spans: int,
    score: float | None = None,
    quoted: int = 0,
) -> dict[str, Any]:
    return {
        "id": aid,
        "title": f"Title {aid}",
        "source": source,
        "date": date,
        "url": None,
        "characters": words * 6,
        "words": words,
        "sentences": sentences,
        "propaganda_sentences": flagged,
        "propaganda_sentence_share": flagged / sentences,
        "spans": spans,
        "spans_per_1000_words": 1000 * spans / words,
        "article_score": score,
        "article_score_note": None if score is not None else "not ranked here",
        "quoted_spans": quoted,
    }


def span(aid: str, start: int, technique: str, fragment: str, score: float = 0.5) -> dict[str, Any]:
    return {
        "id": aid,
        "start": start,
        "end": start + len(fragment),
        "technique": technique,
        "score": score,
        "fragment": fragment,
        "source": None,
        "date": None,
    }


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    """Three articles of two outlets (one unknown) in two months, with known spans."""
    folder = tmp_path / "results"
    folder.mkdir()
    articles = [
        article("a1", EVIL_OUTLET, "2019-01-05", 1000, 50, 10, 3, score=40.0, quoted=2),
        article("a2", EVIL_OUTLET, "2019-12-20", 500, 30, 5, 2, score=75.5),
        article("a3", None, "not a date", words=500, sentences=20, flagged=0, spans=0),
    ]
    spans = [
        span("a1", 0, "Loaded_Language", "Evil  Traitors"),
        span("a1", 40, "Loaded_Language", "evil traitors"),
        span("a1", 90, "Doubt", "so-called"),
        span("a2", 5, "Loaded_Language", "evil traitors"),
        span("a2", 70, "Flag-Waving", "our great nation"),
    ]
    commit_chunk(
        folder,
        ChunkResult(
            0,
            spans=spans,
            articles=articles,
            errors=[
                {"id": None, "location": "line 9", "reason": "missing id <b>"},
            ],
            records=4,
        ),
        "parquet",
    )
    (folder / MANIFEST).write_text(
        json.dumps({"model": {"name": "m", "version": "1"}}), encoding="utf-8"
    )
    return folder


def test_outlet_table_pools_counts_before_dividing(results: Path) -> None:
    report = build_report(read_results(results))
    by_outlet = report.by_outlet.set_index("outlet")
    evil = by_outlet.loc[EVIL_OUTLET]
    assert (evil["articles"], evil["words"], evil["spans"]) == (2, 1500, 5)
    assert evil["spans_per_1000_words"] == pytest.approx(5 * 1000 / 1500)
    assert evil["propaganda_sentence_share"] == pytest.approx(15 / 80)
    assert evil["top_technique"] == "Loaded_Language"
    unknown = by_outlet.loc[UNKNOWN_OUTLET]
    assert (unknown["spans"], unknown["spans_per_1000_words"]) == (0, 0.0)
    assert report.summary["spans_per_1000_words"] == pytest.approx(5 * 1000 / 2000)
    assert report.summary["failed_records"] == 1
    assert report.summary["outlets"] == 1


def test_technique_tables(results: Path) -> None:
    report = build_report(read_results(results))
    table = report.by_technique.set_index("technique")
    assert len(table) == 14
    loaded = table.loc["Loaded_Language"]
    assert (loaded["spans"], loaded["articles"], loaded["outlets"]) == (3, 2, 1)
    assert loaded["share_of_spans"] == pytest.approx(3 / 5)
    assert loaded["spans_per_1000_words"] == pytest.approx(3 * 1000 / 2000)
    assert report.by_technique["technique"].iloc[0] == "Loaded_Language"
    mix = report.technique_by_outlet
    assert mix["share"].sum() == pytest.approx(1.0)
    assert set(mix["outlet"]) == {EVIL_OUTLET}


def test_dates_are_grouped_and_undated_articles_left_out(results: Path) -> None:
    report = build_report(read_results(results))
    assert report.period == "month"
    assert report.by_date["period"].tolist() == ["2019-01-01", "2019-12-01"]
    assert report.by_date["spans"].tolist() == [3, 2]
    assert report.summary["dated_articles"] == 2
    trend = report.technique_by_date
    assert trend[trend["period"] == "2019-12-01"]["spans"].sum() == 2
    weekly = build_report(read_results(results), period="week")
    assert weekly.by_date["period"].tolist() == ["2018-12-31", "2019-12-16"]


def test_choose_period_follows_the_time_span() -> None:
    def period(first: str, last: str) -> str:
        return choose_period(parse_dates(pd.Series([first, last])))

    assert period("2020-01-01", "2020-01-20") == "day"
    assert period("2020-01-01", "2020-05-01") == "week"
    assert period("2020-01-01", "2021-05-01") == "month"
    dates = parse_dates(pd.Series(["2020-01-02T10:00:00+02:00", "yesterday", None]))
    assert dates.iloc[0] == pd.Timestamp("2020-01-02") and dates.iloc[1:].isna().all()


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2024-05-31T23:30:00-05:00", "2024-05-31"),  # the outlet's day, not UTC's June 1
        ("2024-06-01 02:00:00+09:00", "2024-06-01"),
        ("20240531", "2024-05-31"),
        ("31 May 2024", "2024-05-31"),
        ("Sept. 3, 2020", "2020-09-03"),
        ("Fri, 31 May 2024 10:00:00 GMT", "2024-05-31"),
        ("05/06/2024", None),  # May 6 or June 5: not guessed
        ("2024", None),  # a year names no day
        ("May 2024", None),
        ("soon", None),
    ],
)
def test_dates_are_the_day_as_written_and_never_guessed(written: str, day: str | None) -> None:
    parsed = parse_dates(pd.Series([written])).iloc[0]
    assert (None if pd.isna(parsed) else parsed.strftime("%Y-%m-%d")) == day


def test_top_fragments_ignore_case_and_spacing(results: Path) -> None:
    report = build_report(read_results(results))
    loaded = report.top_fragments[report.top_fragments["technique"] == "Loaded_Language"]
    first = loaded.iloc[0]
    assert (first["fragment"], first["spans"], first["articles"], first["rank"]) == (
        "evil traitors",
        3,
        2,
        1,
    )
    assert (
        build_report(read_results(results), top=1).top_fragments.groupby("technique").size().max()
        == 1
    )


def test_html_is_self_contained_and_escaped(results: Path, tmp_path: Path) -> None:
    report, page = make_report(results, tmp_path / "report", by="technique")
    assert page is not None
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert "missing id &lt;b&gt;" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert images, "the report embeds its plots"
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data in images)
    assert html.index("<h2>Techniques</h2>") < html.index("<h2>Outlets</h2>")
    written = {path.name for path in page.parent.iterdir()}
    assert {f"{name}.csv" for name in report.csv_tables} <= written
    by_outlet = pd.read_csv(page.parent / "by_outlet.csv")
    assert by_outlet["spans"].sum() == 5


def test_render_html_of_an_empty_corpus(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    commit_chunk(
        folder,
        ChunkResult(0, errors=[{"id": "x", "location": "line 1", "reason": "empty text"}]),
        "jsonl",
    )
    (folder / "articles.jsonl").mkdir()
    (folder / "spans.jsonl").mkdir()
    html = render_html(build_report(read_results(folder)))
    assert "Nothing to show." in html and "No spans were found." in html


def test_a_dated_run_without_marks_plots_without_warnings(tmp_path: Path) -> None:
    """A run at a high threshold: dated articles, no spans; nothing to name in a legend."""
    folder = tmp_path / "quiet"
    folder.mkdir()
    articles = [article(f"q{i}", "Daily", f"2024-0{i}-01", 300, 10, 0, 0) for i in (1, 2)]
    commit_chunk(folder, ChunkResult(0, articles=articles, records=2), "parquet")
    (folder / MANIFEST).write_text(json.dumps({"model": {"name": "m", "version": "1"}}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html = render_html(build_report(read_results(folder)))
    assert "No marks" in html or "No spans" in html


def test_format_value() -> None:
    assert format_value("propaganda_sentence_share", 0.1234) == "12.3%"
    assert format_value("spans_per_1000_words", 12.345) == "12.35"
    assert format_value("words", 12345) == "12,345"
    assert format_value("mean_score", float("nan")) == "–"


def test_unknown_grouping_and_missing_results(results: Path, tmp_path: Path) -> None:
    with pytest.raises(PropscanError, match="unknown grouping 'site'"):
        make_report(results, None, by="site")
    with pytest.raises(PropscanError, match="does not exist"):
        make_report(tmp_path / "nowhere", None)
    (tmp_path / "other").mkdir()
    with pytest.raises(PropscanError, match="no spans table"):
        make_report(tmp_path / "other", None)


def test_report_of_a_real_run_on_dev_articles(dev_run: tuple[Path, Path], tmp_path: Path) -> None:
    _, results = dev_run
    report, page = make_report(results, tmp_path / "report")
    assert report.summary["articles"] == 4
    assert report.by_outlet["outlet"].tolist() == [UNKNOWN_OUTLET]
    assert report.by_date.empty
    assert page is not None and "Propaganda report" in page.read_text(encoding="utf-8")


def test_articles_are_ranked_by_their_article_score(results: Path) -> None:
    ranked = build_report(read_results(results)).articles
    assert ranked["id"].tolist() == ["a2", "a1", "a3"]  # unranked articles last
    assert ranked["rank"].tolist() == [1, 2, 3]
    first = ranked.iloc[0]
    assert (first["title"], first["outlet"], first["date"]) == (
        "Title a2",
        EVIL_OUTLET,
        "2019-12-20",
    )
    assert (first["article_score"], first["propaganda_sentences"], first["sentences"]) == (
        75.5, 5, 30
    )  # fmt: skip


def test_outlets_split_their_marks_into_own_voice_and_quotes(results: Path) -> None:
    report = build_report(read_results(results))
    evil = report.by_outlet.set_index("outlet").loc[EVIL_OUTLET]
    assert evil["quoted_share"] == pytest.approx(2 / 5)
    assert evil["own_voice_share"] == pytest.approx(3 / 5)
    assert report.summary["quoted_share"] == pytest.approx(2 / 5)


def test_frequent_fragments_list_the_articles_they_come_from(results: Path, tmp_path: Path) -> None:
    report, page = make_report(results, tmp_path / "report")
    fragments = report.top_fragments.set_index("fragment")
    assert fragments.loc["evil traitors", "article_ids"] == ["a1", "a2"]
    assert page is not None
    written = pd.read_csv(page.parent / "top_fragments.csv").set_index("fragment")
    assert written.loc["evil traitors", "article_ids"] == "a1; a2"
    html = page.read_text(encoding="utf-8")
    assert "Every fragment of this technique appears once." in html  # Doubt, Flag-waving


def test_shipped_model_card_says_which_counts_mislead() -> None:
    reliability = read_reliability(DEFAULT_MODEL_DIR)
    assert reliability is not None and reliability.split == "dev"
    assert reliability.predicted_share == pytest.approx(0.340, abs=1e-3)
    assert reliability.gold_share == pytest.approx(0.246, abs=1e-3)
    assert "read such shares as about 1.4x the annotators'" in reliability.sentence_caveat()
    slogans = reliability.techniques["Slogans"]
    assert (slogans.predicted, slogans.gold, slogans.trusted) == (7, 40, False)
    warnings = reliability.warnings(get_techniques())
    assert warnings["Slogans"].startswith("Slogan: under-counts, finds about 1 in 6")
    assert warnings["Loaded_Language"].startswith("Loaded language: over-counts, about 1.9x")
    assert "Flag-Waving" not in warnings  # fair: 92 marked where the annotators marked 87


def get_techniques():  # the shipped model's set
    from propscan.pipeline import load_model

    return load_model().techniques


@pytest.fixture
def dev_run(tmp_path: Path, dev_split: Split, tiny_model: Path) -> tuple[Path, Path]:
    """A batch run of four dev articles with titles, and the input it read."""
    path = tmp_path / "dev.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": a.id, "text": a.text, "title": a.title}) + "\n"
            for a in dev_split.articles[:4]
        ),
        encoding="utf-8",
    )
    run_batch(path, tmp_path / "results", model=tiny_model, progress=False)
    return path, tmp_path / "results"


def _links(html: str) -> dict[str, str]:
    """Title -> link of every article of the ranked list."""
    section = html.split('id="articles"', 1)[1].split("</section>", 1)[0]
    return {text: href for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', section)}


def test_each_ranked_article_links_to_its_highlighted_page(
    dev_run: tuple[Path, Path], tmp_path: Path, dev_split: Split, tiny_model: Path
) -> None:
    _, results = dev_run
    report, page = make_report(results, tmp_path / "report", model=tiny_model)
    assert page is not None
    links = _links(page.read_text(encoding="utf-8"))
    titles = {a.title: a for a in dev_split.articles[:4]}
    assert set(links) == set(titles)
    for title, href in links.items():
        article_page = (page.parent / href).read_text(encoding="utf-8")
        assert f"<h1>{title}</h1>" in article_page
        assert 'href="../report.html#articles"' in article_page
        spans = report.articles.set_index("title").loc[title, "spans"]
        assert article_page.count('<tr><td class="num">') == spans


def test_the_report_says_when_the_input_is_gone(dev_run: tuple[Path, Path], tmp_path: Path) -> None:
    source, results = dev_run
    source.unlink()
    _, page = make_report(results, tmp_path / "report")
    assert page is not None
    html = page.read_text(encoding="utf-8")
    assert "No article pages:" in html and "is gone" in html and "pass --input" in html
    assert _links(html) == {} and not (page.parent / "articles").exists()


def reliability_card(model_dir: Path) -> dict[str, object]:
    """A ``training.json`` with dev reliability figures for the model in ``model_dir``."""
    return {
        "name": "propscan-baseline",
        "version": json.loads((model_dir / "model.json").read_text())["version"],
        "reliability": {
            "split": "dev",
            "articles": 4,
            "marked_sentence_share": {"predicted": 0.5, "gold": 0.25},
            "techniques": {
                "Loaded_Language": {"f1": 0.3, "predicted": 40, "gold": 10},
                "Slogans": {"f1": 0.0, "predicted": 0, "gold": 12},
            },
        },
    }


def report_with_a_card(results: Path, out: Path, model: Path) -> str:
    """The report's HTML, made while ``model`` has a card with reliability figures."""
    card = reliability_card(model)
    (model / "training.json").write_text(json.dumps(card), encoding="utf-8")
    try:
        _, page = make_report(results, out, model=model)
    finally:
        (model / "training.json").unlink()
    assert page is not None
    return page.read_text(encoding="utf-8")


def test_reliability_greys_techniques_and_a_model_not_the_results_is_refused(
    dev_run: tuple[Path, Path], tmp_path: Path, tiny_model: Path
) -> None:
    _, results = dev_run
    html = report_with_a_card(results, tmp_path / "report", tiny_model)
    assert "marks 50.0% of sentences where the annotators marked 25.0%" in html
    assert re.search(r'<tr class="unreliable"><td><span class="swatch"[^>]*></span>Slogan<', html)
    assert "Loaded language: over-counts, about 4.0x" in html
    assert "Slogan: hardly ever found" in html
    with pytest.raises(PropscanError, match="the results were made by propscan-baseline"):
        make_report(results, tmp_path / "other", model=DEFAULT_MODEL_DIR)
    without = make_report(results, tmp_path / "none")[1]  # the tiny model is not installed
    assert without is not None and "Slogan: hardly ever found" not in without.read_text("utf-8")


def test_a_filtered_run_says_so_and_leaves_out_the_card_caveats(
    dev_run: tuple[Path, Path], tmp_path: Path, tiny_model: Path
) -> None:
    """Counts of a run that kept some techniques or bands are not the counts the card's
    caveats describe."""
    source, _ = dev_run
    results = tmp_path / "filtered"
    options = AnalysisOptions(techniques=("Loaded_Language",), min_band="moderate")
    run_batch(source, results, model=tiny_model, options=options, progress=False)
    html = report_with_a_card(results, tmp_path / "report", tiny_model)
    assert "only the techniques Loaded_Language" in html
    assert "only moderate marks and stronger" in html
    assert "marks 50.0% of sentences" not in html and "over-counts" not in html
    report, _ = make_report(results, None)
    assert list(report.by_technique["technique"]) == ["Loaded_Language"]
    assert set(report.technique_by_outlet["technique"]) == {"Loaded_Language"}


def test_an_input_changed_since_the_run_stops_the_report_before_it_writes(
    dev_run: tuple[Path, Path], tmp_path: Path
) -> None:
    """Text appended to one article (even one without marks) is caught, and the report
    folder is left without tables, pages or a half set of pages."""
    source, results = dev_run
    lines = source.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[-1])
    lines[-1] = json.dumps({**record, "text": record["text"] + " And one more sentence."})
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "report"
    with pytest.raises(PropscanError, match="the input changed after the run"):
        make_report(results, out)
    assert not out.exists() or list(out.iterdir()) == []


def test_articles_the_given_input_lacks_are_named_as_without_a_page(
    dev_run: tuple[Path, Path], tmp_path: Path
) -> None:
    source, results = dev_run
    lines = source.read_text(encoding="utf-8").splitlines()
    partial = tmp_path / "two.jsonl"
    partial.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    _, page = make_report(results, tmp_path / "report", input_path=partial)
    assert page is not None
    html = page.read_text(encoding="utf-8")
    missing = [json.loads(line)["id"] for line in lines[2:]]
    assert "2 of 4 articles have no page" in html and all(i in html for i in missing)


def test_the_reliability_comes_from_the_installed_model_the_run_recorded(
    dev_run: tuple[Path, Path], tmp_path: Path, tiny_package: str
) -> None:
    """``report`` finds the card of the model that made the results among the installed
    ones by itself, and ``--model`` takes an installed model's name."""
    _, results = dev_run
    installed = model_directory(tiny_package)
    card = installed / "training.json"
    card.write_text(json.dumps(reliability_card(installed)), encoding="utf-8")
    try:
        pages = [
            make_report(results, tmp_path / "found")[1],
            make_report(results, tmp_path / "named", model=tiny_package)[1],
        ]
    finally:
        card.unlink()
    for page in pages:
        assert page is not None and "Slogan: hardly ever found" in page.read_text("utf-8")
    with pytest.raises(PropscanError, match="the results were made by propscan-baseline"):
        make_report(results, tmp_path / "other", model="default")


@pytest.mark.slow
def test_a_reader_follows_the_ranked_list_to_an_article_page(
    dev_run: tuple[Path, Path], tmp_path: Path
) -> None:
    """In Chromium: open the report, click the first article of the ranked list, read its
    highlighted page, and come back."""
    from support.browser import browser_missing, chromium

    problem = browser_missing()
    if problem is not None:
        pytest.fail(f"{problem}: run 'bash scripts/test.sh' to install Chromium and Playwright")
    from playwright.sync_api import expect

    _, results = dev_run
    report, page = make_report(results, tmp_path / "report")
    assert page is not None
    first = report.articles.iloc[0]
    with chromium() as browser:
        context = browser.new_context()
        try:
            tab = context.new_page()
            tab.goto(page.resolve().as_uri())
            ranked = tab.locator("#articles table tbody tr")
            expect(ranked).to_have_count(4)
            ranked.first.get_by_role("link").click()
            expect(tab.locator("h1")).to_have_text(str(first["title"]))
            expect(tab.locator("mark")).to_have_count(tab.locator("mark").count())
            assert tab.locator("table.spans tbody tr").count() == first["spans"]
            tab.get_by_role("link", name="Back to the report").click()
            expect(tab.locator("#articles h2")).to_be_visible()
        finally:
            context.close()


def test_an_untitled_article_is_listed_by_its_first_line_as_on_its_page(
    tmp_path: Path, dev_split: Split, tiny_model: Path
) -> None:
    """One title rule for the page, the CLI's HTML and the report."""
    article = dev_split.articles[0]
    path = tmp_path / "untitled.jsonl"
    path.write_text(json.dumps({"id": "u1", "text": article.text}) + "\n", encoding="utf-8")
    run_batch(path, tmp_path / "results", model=tiny_model, progress=False)
    _, page = make_report(tmp_path / "results", tmp_path / "report")
    assert page is not None
    first_line = article.text.split("\n", 1)[0].strip()
    [(title, href)] = _links(page.read_text(encoding="utf-8")).items()
    assert title == first_line
    assert f"<h1>{first_line}</h1>" in (page.parent / href).read_text(encoding="utf-8")
    with (page.parent / "articles.csv").open(encoding="utf-8") as table:
        assert [row["title"] for row in csv.DictReader(table)] == [first_line]


def test_report_csvs_keep_formula_like_text_as_text(tmp_path: Path) -> None:
    """A page titled ``=HYPERLINK(...)`` (the extension sends page titles) is no formula in
    the spreadsheet a reader opens the report's tables with."""
    folder = tmp_path / "results"
    folder.mkdir()
    hostile = article("h1", "+cmd|' /C calc'!A0", "2024-01-01", 300, 10, 2, 1)
    hostile["title"] = '=HYPERLINK("http://x")'
    spans = [span("h1", 0, "Loaded_Language", "evil traitors")]
    commit_chunk(folder, ChunkResult(0, spans=spans, articles=[hostile], records=1), "parquet")
    (folder / MANIFEST).write_text(json.dumps({"model": {"name": "m", "version": "1"}}))
    _, page = make_report(folder, tmp_path / "report")
    assert page is not None
    cells = [
        cell
        for table in page.parent.glob("*.csv")
        for row in csv.reader(table.open(encoding="utf-8"))
        for cell in row
    ]
    assert '\'=HYPERLINK("http://x")' in cells and "'+cmd|' /C calc'!A0" in cells
    assert not [cell for cell in cells if cell and cell[0] in "=+@"]
