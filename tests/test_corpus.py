"""Reading, validating and writing the PTC layout, on a hand-made mini corpus and the real one."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from propscan.core.spans import Annotations, Article, Span
from propscan.errors import InputFormatError, PropscanError
from propscan.ptc.io import (
    TASKS,
    Task,
    article_labels_dir,
    article_labels_filename,
    articles_dir,
    combined_labels_path,
    format_labels,
    parse_labels,
    read_article,
    read_article_labels,
    read_articles,
    read_labels,
    read_spans_to_classify,
    write_article_labels,
    write_labels,
)
from propscan.ptc.memes import MEME_SPLITS
from propscan.ptc.splits import SPLITS, Split, load_split, resolve_data_dir
from propscan.ptc.stats import corpus_stats, count_overlaps, percentile

MINI = Path(__file__).parent / "fixtures" / "corpus" / "mini"


@pytest.fixture(scope="module")
def mini_train() -> Split:
    return load_split(MINI, "train")


def test_load_split_reads_articles_and_gold_spans(mini_train: Split) -> None:
    assert [article.id for article in mini_train.articles] == ["1001", "1002", "1003"]
    assert mini_train.articles[0].title == "Elites lie again"
    assert mini_train.gold.article_ids == ["1001", "1002", "1003"]
    assert mini_train.gold["1003"] == ()
    fragments = {
        (aid, span.technique): span.fragment(mini_train.by_id[aid].text)
        for aid, span in mini_train.gold
    }
    assert fragments[("1001", "Repetition")] == "They lied, they lied and they lied"
    # Offsets count code points: the emoji before the span is one character.
    assert fragments[("1002", "Loaded_Language")] == "shameful betrayal"


def test_article_text_is_kept_as_stored_with_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "article7.txt"
    path.write_bytes("\ufeffA title\r\n\r\nThe shameful plan.\r\n".encode())
    article = read_article(path)
    assert article.text == "\ufeffA title\r\n\r\nThe shameful plan.\r\n"
    assert article.title == "A title"
    # The BOM is one character and each CRLF two: "shameful" starts at 1 + 7 + 4 + 4.
    labels = parse_labels("7\t16\t24\n", "inline", "si", {"7": article})
    assert labels["7"][0].fragment(article.text) == "shameful"


def test_corpus_offsets_count_a_leading_bom(train_split: Split) -> None:
    article = train_split.by_id["811005"]
    assert article.text.startswith("\ufeffRally")
    assert article.title == "Rally in the Capital"
    fragments = {span.fragment(article.text) for span in train_split.gold[article.id]}
    assert "Every true patriot stands with our soldiers" in fragments


def test_real_corpus_offsets_count_a_leading_bom(real_train_split: Split) -> None:
    article = real_train_split.by_id["712382330"]
    assert article.text.startswith("\ufeffCommunion")
    assert article.title is not None and article.title.startswith("Communion")
    fragments = {span.fragment(article.text) for span in real_train_split.gold[article.id]}
    assert "a gross understatement" in fragments


def test_labels_files_may_have_a_bom_crlf_and_blank_lines() -> None:
    text = "\ufeff1001\tSlogans\t92\t109\r\n\r\n1002\tDoubt\t19\t36\r\n"
    labels = parse_labels(text, "inline", "flc")
    assert list(labels) == [("1001", Span(92, 109, "Slogans")), ("1002", Span(19, 36, "Doubt"))]


def test_empty_labels_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "empty.labels"
    path.write_bytes(b"")
    assert len(read_labels(path, "flc")) == 0


@pytest.mark.parametrize(
    ("task", "content", "problem"),
    [
        ("si", "1001\t22\n", "expected 3 tab-separated columns (ID START END), got 2"),
        ("si", "1001 22 29\n", "separate the columns with tabs, not spaces"),
        ("si", "1001\tDoubt\t22\t29\n", "this looks like an FLC/TC labels file"),
        ("flc", "1001\t22\t29\n", "this looks like an SI labels file"),
        ("si", "\t22\t29\n", "empty article id"),
        ("si", "1001\tx\t29\n", "start offset 'x' is not an integer"),
        ("si", "1001\t22\t2.5\n", "end offset '2.5' is not an integer"),
        ("si", "1001\t-1\t29\n", "start offset -1 is negative"),
        ("si", "1001\t29\t29\n", "start offset 29 is not before end offset 29"),
        ("si", "1001\t22\t999\n", "end offset 999 is beyond article 1001 (111 characters)"),
        ("si", "9999\t1\t2\n", "unknown article id '9999'"),
        ("flc", "1001\tLoaded_language\t22\t29\n", "did you mean 'Loaded_Language'"),
        ("flc", "1001\tBandwagon\t22\t29\n", "merges it into 'Bandwagon,Reductio_ad_hitlerum'"),
        ("flc", "1001\t?\t22\t29\n", "unknown technique '?'"),
    ],
)
def test_bad_lines_are_reported_with_file_and_line(
    mini_train: Split, tmp_path: Path, task: Task, content: str, problem: str
) -> None:
    path = tmp_path / "bad.labels"
    good_line = "1001\t22\t29\n" if task == "si" else "1001\tDoubt\t22\t29\n"
    path.write_text(good_line + content, encoding="utf-8")
    with pytest.raises(InputFormatError) as error:
        read_labels(path, task, mini_train.by_id)
    assert error.value.line == 2
    assert str(error.value).startswith(f"{path}:2: ")
    assert problem in str(error.value)


def test_non_utf8_bytes_are_reported_with_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.labels"
    path.write_bytes(b"1001\t22\t29\n1001\t30\t33 caf\xe9\n")
    with pytest.raises(InputFormatError, match=r"latin1.labels:2: not valid UTF-8"):
        read_labels(path, "si")


def test_missing_labels_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PropscanError, match="cannot read file"):
        read_labels(tmp_path / "nothing.labels", "si")


def test_unknown_task_is_rejected() -> None:
    with pytest.raises(PropscanError, match="unknown task 'tc'"):
        parse_labels("", "inline", "tc")  # type: ignore[arg-type]


def test_tc_template_round_trips_with_question_marks(tmp_path: Path, mini_train: Split) -> None:
    template = "1001\t?\t22\t29\n1001\t?\t92\t109\n1001\t?\t92\t109\n"
    path = tmp_path / "template.labels"
    path.write_text(template, encoding="utf-8")
    spans = read_spans_to_classify(path, mini_train.by_id)
    assert spans["1001"] == (Span(22, 29), Span(92, 109), Span(92, 109))
    assert format_labels(spans, "flc") == template


def test_per_article_file_must_hold_only_its_article(tmp_path: Path) -> None:
    folder = tmp_path / "train-labels-task-si"
    folder.mkdir()
    (folder / article_labels_filename("1001", "si")).write_text("1002\t19\t36\n")
    with pytest.raises(InputFormatError, match="article id '1002' in the labels file of article"):
        read_article_labels(folder, "si")


def test_per_article_file_of_an_unknown_article_is_rejected(
    tmp_path: Path, mini_train: Split
) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / article_labels_filename("4242", "flc")).write_text("")
    with pytest.raises(InputFormatError, match="no article with id '4242'"):
        read_article_labels(folder, "flc", mini_train.by_id)


def test_folder_without_labels_files_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PropscanError, match=r"expected names like article123\.task-si\.labels"):
        read_article_labels(tmp_path, "si")


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("task", TASKS)
def test_mini_corpus_files_round_trip_byte_for_byte(tmp_path: Path, split: str, task: Task) -> None:
    """The mini corpus is written in canonical order, so reading and writing reproduces it."""
    articles = {a.id: a for a in read_articles(articles_dir(MINI, split))}
    combined = combined_labels_path(MINI, split, task)
    labels = read_labels(combined, task, articles)
    assert write_labels(tmp_path / combined.name, labels, task).read_bytes() == (
        combined.read_bytes()
    )
    source = article_labels_dir(MINI, split, task)
    written = write_article_labels(tmp_path / source.name, labels, task, articles)
    assert sorted(path.name for path in written) == sorted(path.name for path in source.iterdir())
    for path in written:
        assert path.read_bytes() == (source / path.name).read_bytes()


def test_write_article_labels_writes_empty_files_and_refuses_unlisted_spans(
    tmp_path: Path,
) -> None:
    labels = Annotations({"1": (Span(0, 4, "Doubt"),)})
    written = write_article_labels(tmp_path, labels, "flc", ["1", "2"])
    assert [path.name for path in written] == [
        "article1.task-flc-tc.labels",
        "article2.task-flc-tc.labels",
    ]
    assert written[0].read_text() == "1\tDoubt\t0\t4\n"
    assert written[1].read_bytes() == b""
    with pytest.raises(PropscanError, match="not among the articles to write: 1"):
        write_article_labels(tmp_path, labels, "flc", ["2"])
    with pytest.raises(PropscanError, match="cannot be used in a file name"):
        write_article_labels(tmp_path, Annotations({}), "si", ["../escape"])


def test_format_labels_merges_duplicate_si_lines_and_marks_missing_techniques() -> None:
    labels = Annotations({"7": (Span(3, 9, "Slogans"), Span(3, 9, "Flag-Waving"), Span(0, 2))})
    assert format_labels(labels, "si") == "7\t0\t2\n7\t3\t9\n"
    assert format_labels(labels, "flc") == "7\t?\t0\t2\n7\tFlag-Waving\t3\t9\n7\tSlogans\t3\t9\n"
    with pytest.raises(PropscanError, match="no spaces, tabs or line breaks"):
        format_labels(Annotations({"a\tb": (Span(0, 1),)}), "si")


def _corpus_files(data_dir: Path, split: str, task: Task) -> tuple[dict[str, Article], Path, Path]:
    articles = {a.id: a for a in read_articles(articles_dir(data_dir, split))}
    combined = combined_labels_path(data_dir, split, task)
    return articles, combined, article_labels_dir(data_dir, split, task)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("task", TASKS)
def test_corpus_round_trips(corpus_dir: Path, tmp_path: Path, split: str, task: Task) -> None:
    """The corpus lists spans in annotation order, not sorted: lines survive, order may not."""
    articles, combined, per_article = _corpus_files(corpus_dir, split, task)
    labels = read_labels(combined, task, articles)
    written = write_labels(tmp_path / combined.name, labels, task)
    assert read_labels(written, task, articles) == labels
    original_lines = Counter(combined.read_text("utf-8").splitlines())
    assert Counter(written.read_text("utf-8").splitlines()) == original_lines
    rewritten = write_labels(tmp_path / "again.labels", read_labels(written, task), task)
    assert rewritten.read_bytes() == written.read_bytes()

    files = write_article_labels(tmp_path / per_article.name, labels, task, articles)
    assert {path.name for path in files} == {path.name for path in per_article.iterdir()}
    for path in files:
        source = (per_article / path.name).read_text("utf-8")
        assert Counter(path.read_text("utf-8").splitlines()) == Counter(source.splitlines())


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("task", TASKS)
def test_per_article_files_agree_with_combined_files(
    corpus_dir: Path, split: str, task: Task
) -> None:
    articles, combined, per_article = _corpus_files(corpus_dir, split, task)
    from_folder = read_article_labels(per_article, task, articles)
    assert from_folder.article_ids == sorted(articles)
    assert from_folder == read_labels(combined, task, articles)


def test_resolve_data_dir_prefers_argument_then_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROPSCAN_DATA", str(MINI))
    assert resolve_data_dir(None) == MINI
    assert resolve_data_dir(tmp_path) == tmp_path
    with pytest.raises(PropscanError, match="pass --data DIR or set PROPSCAN_DATA"):
        resolve_data_dir(tmp_path / "missing")


def test_load_split_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(PropscanError, match=r"unknown split 'test' of the PTC corpus at .*mini"):
        load_split(MINI, "test")
    with pytest.raises(PropscanError, match="is not a corpus directory; expected a PTC directory"):
        load_split(tmp_path, "train")
    (tmp_path / "train-articles").mkdir()
    with pytest.raises(PropscanError, match="has no dev-articles/ folder"):
        load_split(tmp_path, "dev")
    with pytest.raises(PropscanError, match="no article files"):
        load_split(tmp_path, "train")


def test_percentile_is_nearest_rank() -> None:
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert [percentile(values, p) for p in (10, 25, 50, 75, 90, 100)] == [1, 3, 5, 8, 9, 10]
    assert percentile([7], 10) == 7


def test_count_overlaps_counts_pairs_sharing_characters() -> None:
    labels = Annotations(
        {
            "1": (
                Span(0, 10, "Doubt"),
                Span(5, 8, "Doubt"),
                Span(5, 8, "Slogans"),
                Span(10, 12, "Doubt"),  # touches the first span but shares no character
            ),
            "2": (Span(0, 3, "Doubt"),),
        }
    )
    overlaps = count_overlaps(labels)
    assert (overlaps.pairs, overlaps.same_technique_pairs, overlaps.same_offsets_pairs) == (3, 1, 1)
    assert overlaps.spans_overlapping == 3


def test_corpus_stats_of_the_mini_corpus(mini_train: Split) -> None:
    stats = corpus_stats(mini_train)
    texts = [article.text for article in mini_train.articles]
    assert (stats.split, stats.articles, stats.spans) == ("train", 3, 7)
    assert stats.characters == sum(map(len, texts)) == 111 + 54 + 39
    assert stats.words == 20 + 10 + 7
    assert stats.spans_per_technique["Name_Calling,Labeling"] == 2
    assert stats.spans_per_technique["Doubt"] == 0
    assert stats.span_length == {"p10": 7, "p25": 8, "p50": 17, "p75": 17, "p90": 34, "max": 34}
    assert stats.overlaps.pairs == 2 and stats.overlaps.same_offsets_pairs == 1
    assert stats.to_dict()["overlaps"]["spans_overlapping"] == 4


def test_combined_split_lets_a_corrected_copy_replace_the_original(tmp_path: Path) -> None:
    from propscan.ptc.splits import load_combined_split

    original = load_split(MINI, "train")
    article = original.articles[0]
    corrected = Annotations({article.id: (Span(0, 4, "Doubt"),)})
    (tmp_path / "train-articles").mkdir()
    (tmp_path / "train-articles" / f"article{article.id}.txt").write_text(
        article.text, encoding="utf-8", newline=""
    )
    write_labels(combined_labels_path(tmp_path, "train", "flc"), corrected, "flc")

    combined = load_combined_split([MINI, tmp_path], "train")
    assert [a.id for a in combined.articles] == [a.id for a in original.articles]
    assert combined.gold[article.id] == (Span(0, 4, "Doubt"),)
    others = [a.id for a in original.articles[1:]]
    assert combined.gold.restrict(others) == original.gold.restrict(others)
    assert load_combined_split([MINI], "train").gold == original.gold

    (tmp_path / "train-articles" / f"article{article.id}.txt").write_text("changed", "utf-8")
    with pytest.raises(PropscanError, match="with different texts"):
        load_combined_split([MINI, tmp_path], "train")


def test_a_meme_directory_loads_its_three_splits(memes_dir: Path) -> None:
    from propscan.ptc.splits import corpus_splits

    assert corpus_splits(memes_dir) == MEME_SPLITS == ("train", "dev", "test")
    assert corpus_splits(MINI) == SPLITS
    dev = load_split(memes_dir, "dev")
    assert dev.name == "dev" and [a.id for a in dev.articles] == [
        "meme10_batch_2",
        "meme11_batch_2",
    ]
    assert dev.original is not None and len(dev.original) == 5
    assert [s.technique for s in dev.gold["meme11_batch_2"]] == ["Slogans"]
    kept = load_split(memes_dir, "dev", unmapped="unlabelled")
    assert [s.technique for s in kept.gold["meme11_batch_2"]] == [None, None, "Slogans"]
    assert load_split(MINI, "train").original is None


def test_meme_directory_errors_name_the_problem(memes_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(
        PropscanError, match=r"unknown split 'valid' of the meme corpus .*train, dev, test"
    ):
        load_split(memes_dir, "valid")
    (tmp_path / "training_set_task2.txt").write_text("[]", encoding="utf-8")
    assert load_split(tmp_path, "train").articles == []
    with pytest.raises(
        PropscanError, match=r"has no test_set_task2\.txt; is the meme corpus complete"
    ):
        load_split(tmp_path, "test")
    (tmp_path / "train-articles").mkdir()
    with pytest.raises(PropscanError, match="holds both a PTC corpus and a meme corpus"):
        load_split(tmp_path, "train")


def test_combined_split_takes_the_memes_train_split_or_the_ones_asked(
    memes_dir: Path,
) -> None:
    from propscan.ptc.splits import load_combined_split

    ptc = load_split(MINI, "train")
    combined = load_combined_split([MINI, memes_dir], "train")
    memes = [a for a in combined.articles if a.corpus is not None]
    assert [a.id for a in combined.articles[: len(ptc.articles)]] == [a.id for a in ptc.articles]
    assert [a.id for a in memes] == [f"meme{n}" for n in (1, 2, 3, 4, 5, 7)]
    assert combined.gold.restrict(a.id for a in ptc.articles) == ptc.gold
    every = load_combined_split(
        [MINI, memes_dir], "train", unmapped="unlabelled", meme_splits=("train", "dev", "test")
    )
    ids = [a.id for a in every.articles]
    assert len(ids) == len(set(ids)) == len(ptc.articles) + 6 + 2 + 1
    # meme 7 is in train (no spans) and test (Bandwagon): the later split's spans win
    assert [s.technique for s in every.gold["meme7"]] == ["Bandwagon,Reductio_ad_hitlerum"]
    assert Span(0, 26) in every.gold["meme1"]


def test_held_out_articles_are_ptc_ones_only(memes_dir: Path) -> None:
    from propscan.ptc.splits import held_out_ids, load_combined_split, validation_ids

    combined = load_combined_split([MINI, memes_dir], "train", meme_splits=MEME_SPLITS)
    memes = [a.id for a in combined.articles if a.corpus is not None]
    assert validation_ids(memes), "some meme ids would be held out by their hash alone"
    ptc = [a.id for a in combined.articles if a.corpus is None]
    assert held_out_ids(combined.articles) == validation_ids(ptc)
    assert held_out_ids(combined.articles, 1.0) == set(ptc)


def test_check_gold_accepts_unlabelled_meme_spans_only_when_asked(memes_dir: Path) -> None:
    from propscan.ptc.splits import check_gold

    memes = load_split(memes_dir, "train", unmapped="unlabelled")
    check_gold(memes.articles, memes.gold, "training", unlabelled_ok=True)
    with pytest.raises(PropscanError, match="meme1 has no technique; evaluation needs FLC"):
        check_gold(memes.articles, memes.gold, "evaluation")
    news = Article("5", "They lied.")
    with pytest.raises(PropscanError, match="article 5 has no technique; training needs FLC"):
        check_gold([news], Annotations({"5": (Span(5, 9),)}), "training", unlabelled_ok=True)


def test_the_real_meme_corpus_loads_beside_ptc(real_memes_dir: Path) -> None:
    sizes = {name: len(load_split(real_memes_dir, name).articles) for name in MEME_SPLITS}
    assert sizes == {"train": 688, "dev": 63, "test": 200}
    train = load_split(real_memes_dir, "train")
    assert train.original is not None and len(train.original) == 1498
    assert len(train.gold) == 1498 - 239  # Smears, Glittering generalities, Obfuscation
    assert all(article.id.startswith("meme") for article in train.articles)


def test_present_splits_are_those_whose_files_are_there(memes_dir: Path, tmp_path: Path) -> None:
    from propscan.ptc.splits import present_splits

    assert present_splits(memes_dir) == MEME_SPLITS and present_splits(MINI) == SPLITS
    (tmp_path / "dev_set_task2.txt").write_text("[]", encoding="utf-8")
    assert present_splits(tmp_path) == ("dev",)


def test_train_and_dev_join_into_one_split_and_an_article_in_both_is_refused(
    train_split: Split, dev_split: Split
) -> None:
    from propscan.ptc.splits import joined_splits

    joined = joined_splits(train_split, dev_split)
    assert joined.name == "train+dev"
    assert [a.id for a in joined.articles] == [
        *(a.id for a in train_split.articles),
        *(a.id for a in dev_split.articles),
    ]
    for split in (train_split, dev_split):
        assert all(joined.gold[a.id] == split.gold[a.id] for a in split.articles)
    with pytest.raises(PropscanError, match="in both the train and the train split"):
        joined_splits(train_split, train_split)
