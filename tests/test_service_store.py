"""The SQLite history: round trips, paging, deletion, migrations and atomic writes."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from propscan.core.analysis import Analysis, Evidence, ModelInfo, SentenceScore
from propscan.core.article_score import ArticleScore
from propscan.core.spans import Span
from propscan.core.techniques import technique_set
from propscan.errors import PropscanError
from propscan.render.layout import display_title
from propscan.service.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    StorageProblem,
    Store,
    default_db_path,
)

TEXT = "Headline 🙂 here\nThe 🦊 traitors lie, always lie.\nA calm line."
MODEL = ModelInfo("propscan-test", "1.2.3")


def make_analysis(
    text: str = TEXT, *, title: str | None = None, url: str | None = None
) -> Analysis:
    first = text.index("traitors")
    spans = (
        Span(first, first + 8, "Name_Calling,Labeling", 0.91),
        Span(first, first + 19, "Loaded_Language", 0.42),  # overlaps the first one
        Span(first + 9, first + 12, "Repetition", None),
    )
    sentences = (SentenceScore(0, 15, 0.0), SentenceScore(16, 47, 0.93))
    return Analysis(text, spans, sentences, MODEL, threshold=0.3, title=title, url=url)


def table_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        tables = ("models", "articles", "analyses", "spans", "sentences")
        return {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "history.db")


def test_a_new_database_is_migrated_to_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "nested" / "dir" / "history.db")
    assert store.schema_version == SCHEMA_VERSION
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_saved_analysis_comes_back_identical(store: Store) -> None:
    analysis = make_analysis(title="A <b>title</b>", url="https://example.org/a")
    saved = store.save(analysis)
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", saved.id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", saved.created_at)
    loaded = store.get(saved.id)
    assert loaded is not None
    assert loaded.analysis.to_dict() == analysis.to_dict()
    assert loaded.to_dict() == {"id": saved.id, **analysis.to_dict()}
    for span in loaded.to_dict()["spans"]:  # type: ignore[union-attr]
        assert TEXT[span["start"] : span["end"]] == span["fragment"]


def test_what_a_reader_sees_is_kept(store: Store) -> None:
    """The article score, the filters and each span's evidence come back as saved."""
    first = TEXT.index("traitors")
    analysis = Analysis(
        TEXT,
        (Span(first, first + 8, "Name_Calling,Labeling", 0.91),),
        (SentenceScore(0, 15, 0.0), SentenceScore(16, 47, 0.91)),
        MODEL,
        threshold=0.15,
        article_score=ArticleScore(1, 2, 80.5, "PTC train as m 1", None),
        evidence={(first, first + 8): (Evidence(first, first + 8, 0.77),)},
        min_band="moderate",
        kept_techniques=("Name_Calling,Labeling",),
    )
    loaded = store.get(store.save(analysis).id)
    assert loaded is not None and loaded.analysis == analysis
    [item] = store.list().items
    assert item.article_score == analysis.article_score


def test_analyses_stored_before_schema_3_read_with_an_unranked_score(tmp_path: Path) -> None:
    """A version-2 database is migrated; its analyses keep their spans, count their marked
    sentences, and list without an article score."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        for script in MIGRATIONS[:2]:
            connection.executescript(script)
        connection.execute("PRAGMA user_version = 2")
        connection.execute("INSERT INTO models (name, version) VALUES ('m', '1')")
        connection.execute(
            "INSERT INTO articles (sha256, text, created_at) VALUES ('x', ?, 'now')", (TEXT,)
        )
        connection.execute(
            "INSERT INTO analyses (public_id, article_id, model_id, threshold, span_count,"
            " created_at) VALUES ('old', 1, 1, NULL, 1, '2024-01-01T00:00:00Z')"
        )
        connection.execute("INSERT INTO spans VALUES (1, 20, 28, 'Doubt', 0.4)")
        connection.execute("INSERT INTO sentences VALUES (1, 16, 47, 0.4)")
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION
    loaded = store.get("old")
    assert loaded is not None
    score = loaded.analysis.article_score
    assert (score.marked_sentences, score.sentences, score.percentile) == (1, 1, None)
    assert loaded.analysis.evidence == {} and loaded.analysis.threshold is None
    assert store.list().items[0].article_score is None


def test_models_sharing_a_name_and_version_keep_their_own_technique_sets(store: Store) -> None:
    """A model trained with its own techniques but the default name must not read back with
    the set of the model stored first under that name."""
    first = TEXT.index("traitors")
    own = ModelInfo(MODEL.name, MODEL.version, technique_set(["Slogan", "Smears"]))
    mine = Analysis(TEXT, (Span(first, first + 8, "Smears", 0.8),), (), own)
    ptc = store.save(make_analysis())
    saved = store.save(mine)
    assert store.get(saved.id).analysis.model.techniques == own.techniques  # type: ignore[union-attr]
    assert store.get(ptc.id).analysis.model.techniques == MODEL.techniques  # type: ignore[union-attr]


def test_unknown_id_is_none(store: Store) -> None:
    assert store.get("no-such-id") is None


def test_history_lists_newest_first_with_paging(store: Store) -> None:
    ids = [store.save(make_analysis(f"Article {n}\n" + TEXT)).id for n in range(5)]
    first = store.list(limit=2, offset=0)
    assert first.total == 5
    assert [item.id for item in first.items] == ids[::-1][:2]
    rest = store.list(limit=10, offset=2)
    assert [item.id for item in rest.items] == ids[::-1][2:]
    assert store.list(limit=10, offset=5).items == ()
    summary = first.items[0]
    assert summary.title == "Article 4"  # no title given: the first line
    assert summary.span_count == 3
    assert summary.characters == len("Article 4\n" + TEXT)
    assert summary.model == MODEL
    with pytest.raises(ValueError):
        store.list(limit=0)


def test_history_counts_and_titles_a_text_with_nul_characters(store: Store) -> None:
    text = "\x00\x00Headline\x00 here\nBody \x00 text that goes on."
    store.save(Analysis(text, (), (), MODEL, threshold=None))
    (summary,) = store.list().items
    assert (summary.characters, summary.title) == (len(text), "Headline here")


@pytest.mark.parametrize("opening", [" " * 401, "\n" * 500, "\ufeff\r\n\t" * 200])
def test_history_titles_a_text_that_opens_with_much_white_space(store: Store, opening: str) -> None:
    """The history finds the title the result page shows, however far down it starts."""
    text = opening + "Real first line\nBody text."
    analysis = Analysis(text, (), (), MODEL, threshold=None)
    store.save(analysis)
    (summary,) = store.list().items
    assert summary.title == "Real first line" == display_title(None, text)


def test_delete_removes_the_analysis_and_its_orphaned_article(store: Store) -> None:
    kept = store.save(make_analysis())
    shared = store.save(make_analysis())  # same text and metadata: shares the article row
    alone = store.save(make_analysis("Another article entirely.\n" + TEXT))
    assert table_counts(store.path)["articles"] == 2

    assert store.delete(alone.id) is True
    assert store.get(alone.id) is None
    counts = table_counts(store.path)
    assert counts["articles"] == 1
    assert counts["spans"] == 6 and counts["sentences"] == 4

    assert store.delete(shared.id) is True
    assert store.get(kept.id) is not None  # the shared article is still used
    assert store.delete(shared.id) is False
    assert store.delete(kept.id) is True
    assert table_counts(store.path) == {
        "models": 1,
        "articles": 0,
        "analyses": 0,
        "spans": 0,
        "sentences": 0,
    }


def test_a_failing_write_leaves_nothing_behind(store: Store) -> None:
    # The spans go in first; the backwards sentence then violates a CHECK constraint.
    bad = Analysis(TEXT, make_analysis().spans, (SentenceScore(9, 3, 0.5),), MODEL)
    with pytest.raises(sqlite3.IntegrityError):
        store.save(bad)
    assert table_counts(store.path) == {
        "models": 0,
        "articles": 0,
        "analyses": 0,
        "spans": 0,
        "sentences": 0,
    }
    assert store.save(make_analysis()).id  # the store is still usable


def test_a_killed_process_keeps_committed_analyses_and_drops_the_unfinished_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.db"
    child = textwrap.dedent(
        f"""
        import os, signal, sqlite3, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_service_store import make_analysis
        from propscan.service.store import Store
        store = Store({str(path)!r})
        print(store.save(make_analysis()).id, flush=True)
        connection = sqlite3.connect({str(path)!r}, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "INSERT INTO articles (sha256, text, created_at) VALUES ('x', 'half-written', 'now')"
        )
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == -9, result.stderr
    saved_id = result.stdout.strip()
    reopened = Store(path)
    assert reopened.get(saved_id) is not None
    assert reopened.count() == 1
    assert table_counts(path)["articles"] == 1


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    saved = Store(path).save(make_analysis())
    reopened = Store(path)
    assert reopened.schema_version == SCHEMA_VERSION
    assert reopened.get(saved.id) is not None


def test_a_database_from_a_newer_propscan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    Store(path)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(PropscanError, match="newer propscan"):
        Store(path)


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(PropscanError, match="not a propscan database"):
        Store(path)


def a_damaged_history(path: Path) -> Path:
    """A history whose third page (inside a table, past what opening reads) is zeroed."""
    store = Store(path)
    for number in range(40):
        store.save(make_analysis(f"{TEXT} {number}" * 20))
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = 4096
    with path.open("r+b") as file:
        file.seek(2 * page)
        file.write(bytes(page))
    return path


@pytest.mark.parametrize("version", [0, 3])
def test_a_database_of_another_program_is_refused_and_left_as_it_was(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "notes.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.execute("INSERT INTO notes VALUES ('mine')")
        connection.execute(f"PRAGMA user_version = {version}")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(
        PropscanError, match=r"not a propscan database \(it holds other tables: notes"
    ):
        Store(path)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()


def test_a_command_that_only_reads_makes_no_history_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(PropscanError, match="holds no propscan history"):
        Store(path, create=False)
    assert path.read_bytes() == b""
    Store(path)  # the service makes one there, as ever
    assert Store(path, create=False).schema_version == SCHEMA_VERSION


def test_verify_reads_the_damage_that_opening_misses(tmp_path: Path) -> None:
    healthy = tmp_path / "healthy.db"
    Store(healthy).save(make_analysis())
    Store(healthy).verify()
    damaged = Store(a_damaged_history(tmp_path / "damaged.db"))  # opens: only its header is read
    with pytest.raises(StorageProblem, match=r"damaged\.db' is damaged .*restore it from a backup"):
        damaged.verify()


def test_a_truncated_database_is_a_storage_problem(tmp_path: Path) -> None:
    path = a_damaged_history(tmp_path / "history.db")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(StorageProblem, match="is damaged"):
        Store(path)


def test_an_impossible_path_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(PropscanError, match="--db"):
        Store(blocker / "sub" / "history.db")


def test_default_path_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROPSCAN_DB", str(tmp_path / "chosen.db"))
    assert default_db_path() == tmp_path / "chosen.db"
    monkeypatch.delenv("PROPSCAN_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "propscan" / "history.db"


def test_concurrent_writers_all_succeed(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda n: store.save(make_analysis(f"{n}\n{TEXT}")).id, range(24)))
    assert len(set(ids)) == 24
    assert store.count() == 24


def test_processes_writing_one_new_database_at_once_lose_nothing(tmp_path: Path) -> None:
    # as the workers of ``propscan serve --workers``, but all creating the file as well
    path = tmp_path / "history.db"
    start = tmp_path / "start"
    child = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_service_store import TEXT, make_analysis
        from propscan.service.store import Store
        while not Path({str(start)!r}).exists():
            time.sleep(0.01)
        store = Store({str(path)!r})
        for number in range(40):
            print(store.save(make_analysis(f"{{sys.argv[1]}} {{number}}\\n{{TEXT}}")).id)
        """
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", child, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for name in ("a", "b")
    ]
    start.touch()
    ids = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
        ids += out.decode().split()
    store = Store(path)
    assert len(set(ids)) == 80 and store.count() == 80
    assert all(store.get(analysis_id) is not None for analysis_id in ids)
    assert table_counts(path)["spans"] == 3 * 80


def test_opening_a_new_database_waits_for_another_writer(tmp_path: Path) -> None:
    # Switching a new file to WAL while another connection writes is refused at once
    # ("database is locked"), without waiting: the store must retry.
    path = tmp_path / "history.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE elsewhere (x)")
    finish = threading.Timer(0.3, writer.execute, ["COMMIT"])
    finish.start()
    try:
        store = Store(path)
    finally:
        finish.join()
        writer.close()
    assert store.schema_version == SCHEMA_VERSION
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
