"""A build's sources read in a process of its own (index/reading.py): the same threads, posts, bodies, problems and
kept parses as reading them in the build's process; the child's log, errors and end reach the build; a build
stopped or failing leaves no reading process behind."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from embeddings.errors import BuildFailed, StorageError
from embeddings.index import reading
from embeddings.index.bodies import BODIES_FILE, BodyRef, SpilledPost
from embeddings.index.datadir import DB_FILE, DataDir
from embeddings.index.reading import JOB_FILE, RESULT_FILE, Reading, read_sources
from embeddings.ingest import discovered, ingest
from embeddings.ingest.reuse import INDEX_SUFFIX, PARSED_DIR, ParseCache
from embeddings.models import Post

from .conftest import DATA, SAMPLE_DIR

NOT_ARCHIVED = (
    "From: someone <someone@example.org>\nSubject: private\nDate: Mon, 3 Jan 2022 10:00:00 +0100\n"
    "Message-ID: <private@example.org>\nX-No-Archive: yes\n\nPlease do not keep this.\n"
)


@pytest.fixture
def sources(tmp_path) -> list[str]:
    """The test data's formats (news, pipermail, clipped pages, JSON Lines) and a bad line, a message not to keep,
    a file that is no archive."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "bad.jsonl").write_text('{"thread_id": "t", "author": "a"}\nnot json\n', encoding="utf-8")
    (extra / "private.eml").write_text(NOT_ARCHIVED, encoding="utf-8")
    (extra / "notes.txt").write_text("Notes of the person who saved these pages.\n", encoding="utf-8")
    return [str(DATA), str(SAMPLE_DIR), str(extra)]


def _read(paths: list[str], tmp: Path, separate: bool, parse_cache=None, progress=None):
    tmp.mkdir(parents=True, exist_ok=True)
    job = Reading(paths, tmp, "auto", {}, 512 * 2**20, 1_000_000, found=discovered(paths), parse_cache=parse_cache)
    return read_sources(job, progress, separate=separate)


def _everything(result) -> tuple:
    posts = [
        (t.thread_id, t.title, t.source, [(*(getattr(p, f) for f in Post.__slots__ if f != "body"), p.body)
                                          for p in t.posts])
        for t in result.threads
    ]  # fmt: skip
    return posts, [str(e) for e in result.errors], result.warnings, result.read, result.files, result.posts


def test_reading_in_a_process_of_its_own_gives_what_reading_here_gives(sources, tmp_path):
    here, here_bodies = _read(sources, tmp_path / "here", separate=False)
    there, there_bodies = _read(sources, tmp_path / "there", separate=True)
    try:
        assert _everything(there) == _everything(here)
        # every kind of problem and note came back: a bad line, a message not kept, a file passed over
        assert any("bad.jsonl:2" in str(e) for e in there.errors)
        assert any("X-No-Archive" in w for w in there.warnings) and any("notes.txt" in w for w in there.warnings)
        posts = [p for t in there.threads for p in t.posts]
        assert len(posts) > 50 and all(isinstance(p, SpilledPost) for p in posts)
        assert all(isinstance(p.body_source, BodyRef) for p in posts)  # read from the child's file, by number
        assert there_bodies.path == tmp_path / "there" / BODIES_FILE and len(there_bodies) == len(posts)
        assert not (tmp_path / "there" / JOB_FILE).exists() and not (tmp_path / "there" / RESULT_FILE).exists()
    finally:
        here_bodies.close()
        there_bodies.close()


def test_the_parses_the_reading_process_keeps_serve_the_next_build(sources, tmp_path):
    first = tmp_path / "first"
    _, bodies = _read(sources, first, True, parse_cache=(None, first / PARSED_DIR, "salt"))
    bodies.close()
    assert list((first / PARSED_DIR).glob(f"*{INDEX_SUFFIX}"))  # made durable by the child, with its index
    plain = ParseCache(None, tmp_path / "plain" / PARSED_DIR, "salt")  # what reading here keeps
    again = ParseCache(first / PARSED_DIR, tmp_path / "second" / PARSED_DIR, "salt")
    try:
        assert _everything(ingest(sources, reuse=again)) == _everything(ingest(sources, reuse=plain))
        assert again.reused == plain.parsed > 0 and again.parsed == 0  # every parse kept is taken, none redone
    finally:
        plain.finish()
        again.finish()


def test_the_reading_process_logs_to_the_build_log(sources, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="embeddings")
    _, bodies = _read(sources, tmp_path / "t", separate=True)
    bodies.close()
    skipped = [r for r in caplog.records if r.name == "embeddings.ingest" and r.getMessage().startswith("skipped")]
    assert skipped and all(r.process != os.getpid() for r in skipped)  # logged there, handled here


def test_an_error_in_the_reading_process_is_raised_in_the_build(sources, tmp_path):
    (tmp_path / "t" / BODIES_FILE).mkdir(parents=True)  # the bodies file cannot be made
    with pytest.raises(StorageError, match="cannot write the posts' bodies") as failure:
        _read(sources, tmp_path / "t", separate=True)
    assert failure.value.path == str(tmp_path / "t")
    assert not _children()


def _children() -> list[int]:
    """This process's child processes (Linux)."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        pytest.skip("needs /proc")
    return [int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()]


def test_stopping_the_build_stops_its_reading_process(sources, tmp_path):
    started = []

    def stopped(done: int, total: int) -> None:
        started.extend(_children())
        raise KeyboardInterrupt  # Ctrl-C, as the build's progress is shown

    with pytest.raises(KeyboardInterrupt):
        _read(sources, tmp_path / "t", separate=True, progress=stopped)
    assert started and not _children()
    with pytest.raises(ProcessLookupError):
        os.kill(started[0], 0)
    assert not (tmp_path / "t" / JOB_FILE).exists()


def test_a_reading_process_that_dies_fails_the_build_and_says_so(sources, tmp_path):
    def killing(done: int, total: int) -> None:
        for pid in _children():
            os.kill(pid, signal.SIGKILL)  # the system's out-of-memory killer, say

    with pytest.raises(BuildFailed, match=r"ended with code -9 \(signal 9\), without a result"):
        _read(sources, tmp_path / "t", separate=True, progress=killing)
    assert not _children()


def test_a_large_archive_is_read_in_a_process_of_its_own(sources, tmp_path, monkeypatch):
    ways, in_child, here = [], reading._in_child, reading._read
    monkeypatch.setattr(reading, "_in_child", lambda job, progress: ways.append("child") or in_child(job, progress))
    monkeypatch.setattr(reading, "_read", lambda job, progress: ways.append("here") or here(job, progress))
    size = sum(p.stat().st_size for p in discovered(sources).files)
    for separate_bytes in (size + 1, size):
        monkeypatch.setattr(reading, "SEPARATE_BYTES", separate_bytes)
        _, bodies = _read(sources, tmp_path / str(separate_bytes), separate=None)
        bodies.close()
    assert ways == ["here", "child"]  # below the size here; from it on, in a process of its own


def _stored(data_dir: Path) -> tuple:
    db = sqlite3.connect(DataDir(data_dir).current_path() / DB_FILE)
    try:
        tables = ("threads", "posts", "passages", "quotes", "outside_quotes", "passage_sets", "postings")
        return tuple(db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables)  # noqa: S608
    finally:
        db.close()


def test_a_build_that_reads_in_a_process_of_its_own_makes_the_same_index(fresh_service, sample_service, monkeypatch):
    monkeypatch.setattr(reading, "SEPARATE_BYTES", 0)
    service = fresh_service()
    report = service.rebuild([str(SAMPLE_DIR)], full=True)
    assert report.kind == "full" and report.passages > 0
    assert _stored(service.settings.data_dir) == _stored(sample_service.settings.data_dir)
    assert not _children()
