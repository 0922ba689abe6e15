"""SQLite storage of analyses: the history behind permanent links.

One file holds the articles, the analyses, their spans and sentence scores, and the
model version that produced each. The schema is versioned with ``PRAGMA user_version``
and upgraded by ordered migrations; every write runs in one transaction so a killed
server leaves either the whole analysis or nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from propscan.core.analysis import UNRANKED, Analysis, Evidence, ModelInfo, SentenceScore
from propscan.core.article_score import ArticleScore
from propscan.core.spans import Span
from propscan.core.techniques import TechniqueSet, technique_set
from propscan.errors import PropscanError
from propscan.render.layout import display_title

DB_ENV_VAR = "PROPSCAN_DB"

#: Seconds a connection waits for another one (a thread or a process) to finish writing.
BUSY_TIMEOUT = 30.0

#: Ordered schema migrations; migration ``i`` moves a database from version ``i`` to ``i + 1``.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        UNIQUE (name, version)
    );
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        text TEXT NOT NULL,
        title TEXT,
        url TEXT,
        source TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX articles_by_sha256 ON articles (sha256);
    CREATE TABLE analyses (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        public_id TEXT NOT NULL UNIQUE,
        article_id INTEGER NOT NULL REFERENCES articles (id),
        model_id INTEGER NOT NULL REFERENCES models (id),
        threshold REAL,
        span_count INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX analyses_by_article ON analyses (article_id);
    CREATE TABLE spans (
        analysis_seq INTEGER NOT NULL REFERENCES analyses (seq) ON DELETE CASCADE,
        start_offset INTEGER NOT NULL CHECK (start_offset >= 0),
        end_offset INTEGER NOT NULL CHECK (end_offset > start_offset),
        technique TEXT,
        score REAL
    );
    CREATE INDEX spans_by_analysis ON spans (analysis_seq);
    CREATE TABLE sentences (
        analysis_seq INTEGER NOT NULL REFERENCES analyses (seq) ON DELETE CASCADE,
        start_offset INTEGER NOT NULL CHECK (start_offset >= 0),
        end_offset INTEGER NOT NULL CHECK (end_offset >= start_offset),
        score REAL NOT NULL
    );
    CREATE INDEX sentences_by_analysis ON sentences (analysis_seq);
    """,
    # the model's technique set, as a JSON list (NULL: PTC's 14, what earlier models named)
    """
    ALTER TABLE models ADD COLUMN techniques TEXT
    """,
    # what a reader sees: the article score (JSON), the filters the spans went through,
    # and the words that carried each span's decision (JSON); NULL in earlier analyses
    """
    ALTER TABLE analyses ADD COLUMN article_score TEXT;
    ALTER TABLE analyses ADD COLUMN min_band TEXT;
    ALTER TABLE analyses ADD COLUMN kept_techniques TEXT;
    ALTER TABLE spans ADD COLUMN evidence TEXT
    """,
    # the technique set of the model that made each analysis (JSON): two models may share
    # a name and version yet name different techniques; NULL: read the models row
    """
    ALTER TABLE analyses ADD COLUMN techniques TEXT
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
#: The tables every propscan history has (a database without them is someone else's).
TABLES = frozenset({"models", "articles", "analyses", "spans", "sentences"})

#: Characters of the text read to find a title for the history list.
_PREVIEW_CHARS = 400
#: White space and control characters at the start of a text.
_BLANK_START = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ufeff]*")


class StorageProblem(PropscanError):
    """The database cannot be read or written now: a read-only folder, a full disk, a lock
    held too long, a damaged file. Not the request's fault: the service answers 503."""


#: SQLite's words for a database it cannot use now.
_STORAGE_PROBLEM = re.compile(
    r"unable to open|disk is full|readonly|read-only|disk I/O error|database is locked"
)


def default_db_path() -> Path:
    """``$PROPSCAN_DB`` if set, else ``propscan/history.db`` in the user's data directory."""
    configured = os.environ.get(DB_ENV_VAR)
    if configured:
        return Path(configured)
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "propscan" / "history.db"


@dataclass(frozen=True)
class StoredAnalysis:
    """An analysis as kept in the history, with its permanent id and creation time."""

    id: str
    created_at: str
    analysis: Analysis

    def to_dict(self) -> dict[str, object]:
        """The analysis JSON (as ``propscan analyze --format json``) plus its ``id``."""
        return {"id": self.id, **self.analysis.to_dict()}


@dataclass(frozen=True)
class AnalysisSummary:
    """One line of the history: enough to list an analysis without loading its spans."""

    id: str
    created_at: str
    title: str
    source: str | None
    url: str | None
    span_count: int
    characters: int
    model: ModelInfo
    #: ``None`` for analyses stored before article scores were kept.
    article_score: ArticleScore | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "span_count": self.span_count,
            "characters": self.characters,
            "model": {"name": self.model.name, "version": self.model.version},
            "article_score": None if self.article_score is None else self.article_score.to_dict(),
        }


@dataclass(frozen=True)
class HistoryPage:
    """A slice of the history, newest first, with the total for paging."""

    items: tuple[AnalysisSummary, ...]
    total: int
    limit: int | None
    offset: int


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """The analysis history in one SQLite file (created and migrated on open).

    Each operation opens its own short-lived connection, so one store is safe to share
    between the threads that serve requests, and one file between the worker processes
    of ``propscan serve --workers``: SQLite's WAL mode lets reads run while a write
    commits, and writers take turns (each waits up to :data:`BUSY_TIMEOUT` seconds).
    A database with other tables than a history's is refused and left as it was;
    ``create=False`` refuses an empty one too, for a command that only reads the history.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PropscanError(
                f"cannot create the directory for database {str(self.path)!r} "
                f"({error.strerror}); pass --db with a writable path"
            ) from error
        with self._connection() as connection:
            self._refuse_another_kind(connection, create=create)  # before anything is written
            _use_wal(connection)
            self._migrate(connection)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as error:
            raise PropscanError(
                f"cannot open database {str(self.path)!r} ({error}); pass --db with a writable path"
            ) from error
        try:
            connection.execute("PRAGMA foreign_keys = ON")
            yield connection
        except sqlite3.DatabaseError as error:
            if "malformed" in str(error):
                raise self._damaged(str(error)) from error
            if "not a database" in str(error):
                raise PropscanError(
                    f"{self.path} is not a propscan database ({error}); "
                    "pass --db with another path or move the file away"
                ) from error
            if isinstance(error, sqlite3.OperationalError) and _STORAGE_PROBLEM.search(str(error)):
                raise StorageProblem(
                    f"cannot use the history database {str(self.path)!r} ({error}); check that "
                    "its folder is writable and its disk has room, or pass --db another path"
                ) from error
            raise
        finally:
            connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed as a whole, or rolled back on any error."""
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _damaged(self, problem: str) -> StorageProblem:
        return StorageProblem(
            f"the history database {str(self.path)!r} is damaged ({problem}); restore it from "
            "a backup, or move it away and pass --db another path"
        )

    def _refuse_another_kind(self, connection: sqlite3.Connection, *, create: bool) -> None:
        """Raise unless the database is a propscan history, or new and ``create`` is set.

        Read in one transaction, so that another process creating the history meanwhile
        is seen either before it began or once it is done.
        """
        connection.execute("BEGIN")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            schema = connection.execute(
                "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            ).fetchall()
        finally:
            connection.execute("COMMIT")
        names = {name for kind, name in schema if kind == "table"}
        if not schema and version == 0:
            if not create:
                raise PropscanError(
                    f"{self.path} holds no propscan history; pass the --db file that "
                    "'propscan serve' uses"
                )
            return
        if version > SCHEMA_VERSION and "analyses" in names:
            return  # written by a newer propscan: _migrate says so
        if version < 1 or not TABLES.issubset(names):
            others = sorted(names - TABLES)
            shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
            raise PropscanError(
                f"{self.path} is not a propscan database (it holds "
                f"{f'other tables: {shown}' if others else 'no tables of a propscan history'}); "
                "pass --db with another path or move the file away"
            )

    def _migrate(self, connection: sqlite3.Connection) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise PropscanError(
                    f"{self.path} was written by a newer propscan (schema version {version}, "
                    f"this one reads up to {SCHEMA_VERSION}); upgrade propscan or use another --db"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[number]):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        with self._connection() as connection:
            return int(connection.execute("PRAGMA user_version").fetchone()[0])

    def check(self) -> None:
        """Raise if the database cannot be read (used by the health check)."""
        with self._connection() as connection:
            connection.execute("SELECT count(*) FROM analyses").fetchone()

    def verify(self) -> None:
        """Read the whole database (SQLite's ``quick_check``) and raise if it is damaged.

        Opening reads little more than its header, so a file damaged further in would
        start a service whose requests fail one after another; ``propscan serve``
        verifies it once before it serves.
        """
        with self._connection() as connection:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            found = (problem.removeprefix("*** in database main ***") for problem in problems)
            raise self._damaged("; ".join(" ".join(problem.split()) for problem in found))

    def save(self, analysis: Analysis) -> StoredAnalysis:
        """Store ``analysis`` and give it a new permanent id."""
        public_id = secrets.token_urlsafe(9)
        created_at = _now()
        with self._transaction() as connection:
            model_id = _upsert_model(connection, analysis.model)
            article_id = _upsert_article(connection, analysis, created_at)
            cursor = connection.execute(
                "INSERT INTO analyses (public_id, article_id, model_id, threshold, span_count,"
                " created_at, article_score, min_band, kept_techniques, techniques)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    public_id,
                    article_id,
                    model_id,
                    analysis.threshold,
                    len(analysis.spans),
                    created_at,
                    json.dumps(analysis.article_score.to_dict()),
                    analysis.min_band,
                    None
                    if analysis.kept_techniques is None
                    else json.dumps(list(analysis.kept_techniques)),
                    json.dumps(list(analysis.model.techniques)),
                ),
            )
            seq = cursor.lastrowid
            connection.executemany(
                "INSERT INTO spans (analysis_seq, start_offset, end_offset, technique, score,"
                " evidence) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (seq, s.start, s.end, s.technique, s.score, _evidence_json(analysis, s))
                    for s in analysis.spans
                ],
            )
            connection.executemany(
                "INSERT INTO sentences (analysis_seq, start_offset, end_offset, score)"
                " VALUES (?, ?, ?, ?)",
                [(seq, s.start, s.end, s.score) for s in analysis.sentences],
            )
        return StoredAnalysis(public_id, created_at, analysis)

    def get(self, analysis_id: str) -> StoredAnalysis | None:
        """The stored analysis with this id, or ``None`` if there is none."""
        with self._connection() as connection:
            row = connection.execute(
                "SELECT a.seq, a.created_at, a.threshold, t.text, t.title, t.url, t.source,"
                " m.name, m.version, coalesce(a.techniques, m.techniques),"
                " a.article_score, a.min_band, a.kept_techniques"
                " FROM analyses a JOIN articles t ON t.id = a.article_id"
                " JOIN models m ON m.id = a.model_id WHERE a.public_id = ?",
                (analysis_id,),
            ).fetchone()
            if row is None:
                return None
            seq, created_at, threshold, text, title, url, source, name, version, labels = row[:10]
            score, min_band, kept = row[10:]
            spans = []
            evidence: dict[tuple[int, int], tuple[Evidence, ...]] = {}
            for start, end, technique, span_score, words in connection.execute(
                "SELECT start_offset, end_offset, technique, score, evidence FROM spans"
                " WHERE analysis_seq = ? ORDER BY start_offset, end_offset, technique",
                (seq,),
            ):
                spans.append(Span(start, end, technique, span_score))
                if words:
                    evidence[(start, end)] = tuple(Evidence(*word) for word in json.loads(words))
            sentences = tuple(
                SentenceScore(start, end, score)
                for start, end, score in connection.execute(
                    "SELECT start_offset, end_offset, score FROM sentences"
                    " WHERE analysis_seq = ? ORDER BY start_offset",
                    (seq,),
                )
            )
        analysis = Analysis(
            text=text,
            spans=tuple(spans),
            sentences=sentences,
            model=_model_info(name, version, labels),
            threshold=threshold,
            title=title,
            url=url,
            source=source,
            article_score=_article_score(score) or UNRANKED,
            evidence=evidence,
            min_band=min_band,
            kept_techniques=None if kept is None else tuple(json.loads(kept)),
        )
        return StoredAnalysis(analysis_id, created_at, analysis)

    def list(self, limit: int | None = 20, offset: int = 0) -> HistoryPage:
        """Summaries of stored analyses, newest first; ``limit=None``: all of them, read in
        one query, so that analyses stored or deleted meanwhile cannot shift its pages."""
        if (limit is not None and limit < 1) or offset < 0:
            raise ValueError(f"invalid page: limit={limit} offset={offset}")
        with self._connection() as connection:
            _count_in_python(connection)
            total = connection.execute("SELECT count(*) FROM analyses").fetchone()[0]
            rows = connection.execute(
                "SELECT a.public_id, a.created_at, t.title, text_start(t.text, ?), t.source,"
                " t.url, a.span_count, text_length(t.text), m.name, m.version, a.article_score"
                " FROM analyses a JOIN articles t ON t.id = a.article_id"
                " JOIN models m ON m.id = a.model_id ORDER BY a.seq DESC LIMIT ? OFFSET ?",
                (_PREVIEW_CHARS, -1 if limit is None else limit, offset),  # -1: no limit
            ).fetchall()
        items = tuple(
            AnalysisSummary(
                id=public_id,
                created_at=created_at,
                title=display_title(title, preview),
                source=source,
                url=url,
                span_count=span_count,
                characters=characters,
                model=ModelInfo(name=name, version=version),
                article_score=_article_score(score),
            )
            for (
                public_id,
                created_at,
                title,
                preview,
                source,
                url,
                span_count,
                characters,
                name,
                version,
                score,
            ) in rows
        )
        return HistoryPage(items, total, limit, offset)

    def delete(self, analysis_id: str) -> bool:
        """Remove an analysis (and its article when no other analysis uses it)."""
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT seq, article_id FROM analyses WHERE public_id = ?", (analysis_id,)
            ).fetchone()
            if row is None:
                return False
            seq, article_id = row
            connection.execute("DELETE FROM analyses WHERE seq = ?", (seq,))
            connection.execute(
                "DELETE FROM articles WHERE id = ?"
                " AND NOT EXISTS (SELECT 1 FROM analyses WHERE article_id = ?)",
                (article_id, article_id),
            )
        return True

    def count(self) -> int:
        with self._connection() as connection:
            return int(connection.execute("SELECT count(*) FROM analyses").fetchone()[0])

    def technique_sets(self) -> dict[tuple[str, str], TechniqueSet]:
        """The techniques each model (by name and version) named in its stored analyses:
        every set stored under that name, in order, as models sharing a name may differ."""
        labels: dict[tuple[str, str], dict[str, None]] = {}
        with self._connection() as connection:
            for name, version, techniques in connection.execute(
                "SELECT DISTINCT m.name, m.version, coalesce(a.techniques, m.techniques)"
                " FROM analyses a JOIN models m ON m.id = a.model_id ORDER BY a.seq"
            ):
                found = _model_info(name, version, techniques).techniques
                labels.setdefault((name, version), {}).update(dict.fromkeys(found))
        return {key: technique_set(found) for key, found in labels.items()}


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switch the database to WAL mode, even while another process creates it too.

    The switch needs an exclusive lock, and where two connections would deadlock on it
    SQLite answers "database is locked" at once instead of waiting out the busy timeout;
    so several workers opening one new database retry until the first one is done.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _count_in_python(connection: sqlite3.Connection) -> None:
    """``text_length`` and ``text_start``: SQLite's ``length()`` and ``substr()`` stop at a NUL."""
    connection.create_function("text_length", 1, len, deterministic=True)
    connection.create_function("text_start", 2, _text_start, deterministic=True)


def _text_start(text: str, length: int) -> str:
    """The first ``length`` characters of ``text`` after any blank or control characters
    it opens with, where the history finds a title when none was given."""
    blank = _BLANK_START.match(text)
    assert blank is not None  # the pattern matches the empty string, so at every position
    return text[blank.end() :][:length]


def _statements(script: str) -> list[str]:
    """The statements of a migration script (none of them contains a semicolon)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _evidence_json(analysis: Analysis, span: Span) -> str | None:
    """A span's evidence words as ``[[start, end, score], ...]`` (``None``: none kept)."""
    words = analysis.evidence_of(span)
    return json.dumps([[e.start, e.end, e.score] for e in words]) if words else None


def _article_score(stored: str | None) -> ArticleScore | None:
    """The article score kept with an analysis (``None`` for those stored before)."""
    return None if stored is None else ArticleScore.from_dict(json.loads(stored))


def _model_info(name: str, version: str, techniques: str | None) -> ModelInfo:
    labels = None if techniques is None else json.loads(techniques)
    return ModelInfo(name, version, technique_set(labels))


def _upsert_model(connection: sqlite3.Connection, model: ModelInfo) -> int:
    techniques = json.dumps(list(model.techniques))
    connection.execute(
        "INSERT INTO models (name, version, techniques) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (model.name, model.version, techniques),
    )
    connection.execute(  # rows stored before the column existed
        "UPDATE models SET techniques = ? WHERE name = ? AND version = ? AND techniques IS NULL",
        (techniques, model.name, model.version),
    )
    row = connection.execute(
        "SELECT id FROM models WHERE name = ? AND version = ?", (model.name, model.version)
    ).fetchone()
    return int(row[0])


def _upsert_article(connection: sqlite3.Connection, analysis: Analysis, created_at: str) -> int:
    """The id of the article row for this text and metadata, inserting it if new."""
    digest = hashlib.sha256(analysis.text.encode("utf-8")).hexdigest()
    row = connection.execute(
        "SELECT id FROM articles WHERE sha256 = ? AND title IS ? AND url IS ? AND source IS ?",
        (digest, analysis.title, analysis.url, analysis.source),
    ).fetchone()
    if row is not None:
        return int(row[0])
    cursor = connection.execute(
        "INSERT INTO articles (sha256, text, title, url, source, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (digest, analysis.text, analysis.title, analysis.url, analysis.source, created_at),
    )
    return int(cursor.lastrowid or 0)
