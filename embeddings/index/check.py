"""`threadbot check`: is the live build whole, and does each of its files agree with the others?

Reads only; never repairs. Each problem names the file and the command that fixes it. The checks, in order:
the pointer names a build that is there; its manifest is a threadbot manifest of this format and model; the
SQLite store passes ``PRAGMA integrity_check``, holds the manifest's counts and its FTS5 keyword index matches
the passages; the FAISS file loads and holds exactly one vector of the right dimension per passage id; the
embedding cache is a sound SQLite file.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import IndexDamagedError, reason
from ..vectors.ann import load_vector_index
from .datadir import DB_FILE, FORMAT_VERSION, VECTORS_FILE, DataDir
from .sentences import check_sentence_vectors

REBUILD = "threadbot index --replace PATH...  (or `threadbot index` with `sources` configured)"


@dataclass
class CheckReport:
    data_dir: str
    build_id: str | None = None
    checked: list[str] = field(default_factory=list)  # what was verified and found sound
    problems: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    no_index: bool = False  # nothing has been built yet: not damage

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        """0 sound, 4 no index yet, 6 damaged (as NoIndexError and IndexDamagedError)."""
        return 0 if self.ok else 4 if self.no_index else 6

    def problem(self, text: str, fix: str = REBUILD) -> None:
        self.problems.append(text)
        if fix not in self.fixes:
            self.fixes.append(fix)


def check_data_dir(data: DataDir, expected_model: str | None) -> CheckReport:
    report = CheckReport(data_dir=str(data.root))
    try:
        path = data.current_path()
        if path is None:
            report.problem(f"no index in {data.root}", "threadbot index PATH...")
            report.no_index = True
            return report
        manifest = data.read_manifest(path)
    except IndexDamagedError as exc:
        report.problem(exc.problem)
        return report
    report.build_id = path.name
    if manifest.get("format_version") != FORMAT_VERSION:
        report.problem(f"{path.name}: format {manifest.get('format_version')!r}, this threadbot reads {FORMAT_VERSION}")
        return report
    if expected_model is not None and manifest.get("model") != expected_model:
        report.problem(
            f"{path.name}: built with model {manifest.get('model')!r}, the configured model is {expected_model!r}",
            f"set `model` back to {manifest.get('model')!r}, or {REBUILD}",
        )
    report.checked.append(f"manifest of build {path.name}")
    counts = manifest.get("counts", {})
    passage_ids = _check_store(path / DB_FILE, counts, report)
    _check_vectors(path / VECTORS_FILE, manifest, passage_ids, report)
    problem, checked = check_sentence_vectors(path, manifest)
    if problem:
        report.problem(problem)
    else:
        report.checked.append(checked)
    _check_cache(data.cache_path, report)
    return report


def _check_store(db_path: Path, counts: dict, report: CheckReport) -> np.ndarray | None:
    if not db_path.is_file():
        report.problem(f"{db_path} is missing")
        return None
    try:
        db = sqlite3.connect(db_path, isolation_level=None)
        try:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                report.problem(f"{db_path}: SQLite integrity check failed ({verdict})")
                return None
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = sorted({"threads", "posts", "passages", "quotes", "passages_fts"} - tables)
            if missing:
                report.problem(f"{db_path}: table(s) {', '.join(missing)} missing")
                return None
            for table, key in (("threads", "threads"), ("posts", "posts"), ("passages", "passages")):
                n = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                if n != counts.get(key):
                    report.problem(f"{db_path}: {n} {table}, the manifest says {counts.get(key)}")
            ids = np.array(
                [r[0] for r in db.execute("SELECT passage_id FROM passages ORDER BY passage_id")], dtype=np.int64
            )
            _check_keyword_index(db, db_path, len(ids), report)
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        report.problem(f"{db_path} cannot be read ({exc})")
        return None
    report.checked.append(f"{DB_FILE}: integrity, counts, keyword index")
    return ids


def _check_keyword_index(db: sqlite3.Connection, db_path: Path, passages: int, report: CheckReport) -> None:
    """FTS5's own integrity check, content included (rank 1), inside a transaction that is rolled back; where
    the file cannot be opened for writing, the index's document count instead."""
    try:
        db.execute("BEGIN")
        try:
            db.execute("INSERT INTO passages_fts(passages_fts, rank) VALUES ('integrity-check', 1)")
        finally:
            db.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):
            raise
        documents = db.execute("SELECT COUNT(*) FROM passages_fts_docsize").fetchone()[0]
        if documents != passages:
            report.problem(f"{db_path}: the keyword index holds {documents} passages of {passages}")
    except sqlite3.DatabaseError:
        report.problem(f"{db_path}: the keyword index does not match the passages")


def _check_vectors(path: Path, manifest: dict, passage_ids: np.ndarray | None, report: CheckReport) -> None:
    try:
        vectors = load_vector_index(path)
    except (RuntimeError, OSError) as exc:
        report.problem(f"{path} cannot be read ({reason(exc)})")
        return
    if vectors.dimension != manifest.get("dimension"):
        report.problem(
            f"{path}: vectors of dimension {vectors.dimension}, the manifest says {manifest.get('dimension')}"
        )
    if passage_ids is None:
        report.checked.append(f"{VECTORS_FILE}: {len(vectors)} vectors (not compared: the store is unreadable)")
    elif not np.array_equal(np.sort(vectors.ids()), passage_ids):
        report.problem(f"{path}: {len(vectors)} vectors whose ids are not the {len(passage_ids)} passage ids")
    else:
        report.checked.append(f"{VECTORS_FILE}: {len(vectors)} vectors, one per passage")


def _check_cache(path: Path, report: CheckReport) -> None:
    if not path.exists():
        return
    try:
        # not mode=ro: a WAL file without its -shm cannot be opened read-only
        db = sqlite3.connect(f"file:{urllib.parse.quote(str(path.resolve()))}", uri=True)
        try:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            db.execute("SELECT model, hash, dim, vector FROM vectors LIMIT 1").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        verdict = str(exc)
    if verdict != "ok":
        report.problem(
            f"{path}: the embedding cache is damaged ({verdict})",
            "nothing is lost: the next build that embeds moves it aside and starts a new one (`threadbot index --full` does it now)",
        )
    else:
        report.checked.append("embedding cache")
