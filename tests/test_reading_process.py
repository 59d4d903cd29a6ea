"""A build's sources read in a process of its own (index/reading.py): the same threads, posts, bodies, problems and
kept parses as reading them in the build's process; the child's log, errors and end reach the build; a build
stopped or failing leaves no reading process behind."""

from __future__ import annotations

import errno
import logging
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from embeddings.errors import BuildFailed, StorageError
from embeddings.index import reading
from embeddings.index.bodies import BODIES_FILE, Bodies, BodyRef, SpilledPost
from embeddings.index.datadir import DB_FILE, DataDir
from embeddings.index.digests import digests
from embeddings.index.reading import JOB_FILE, RESULT_FILE, Reading, read_sources
from embeddings.ingest import IngestResult, discovered, ingest
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


def _read(paths: list[str], tmp: Path, separate: bool, parse_cache=None, progress=None, with_digests=False):
    tmp.mkdir(parents=True, exist_ok=True)
    job = Reading(paths, tmp, "auto", {}, 512 * 2**20, 1_000_000, found=discovered(paths), parse_cache=parse_cache)
    result, bodies, known = read_sources(job, progress, separate=separate)
    return (result, bodies, known) if with_digests else (result, bodies)


def _everything(result) -> tuple:
    posts = [
        (t.thread_id, t.title, t.source, [(*(getattr(p, f) for f in Post.__slots__ if f != "body"), p.body)
                                          for p in t.posts])
        for t in result.threads
    ]  # fmt: skip
    return posts, [str(e) for e in result.errors], result.warnings, result.read, result.files, result.posts


@pytest.mark.parametrize("separate", [False, True], ids=["here", "in a process of its own"])
def test_the_digests_taken_while_reading_are_those_of_the_posts_read_back(sources, tmp_path, separate):
    """The digests an incremental build compares posts by are taken before the bodies go to the file: they are
    those of the posts as every later stage reads them (bodies from the file)."""
    result, bodies, known = _read(sources, tmp_path / "t", separate=separate, with_digests=True)
    try:
        posts = [p for t in result.threads for p in t.posts]
        assert len(known) == len(posts) > 50 and all(isinstance(p.body_source, BodyRef) for p in posts)
        assert known == digests(result.threads)
        assert len(set(known.values())) == len(known)  # one per post: the body and every field are in it
    finally:
        bodies.close()


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

    with pytest.raises(BuildFailed, match=r"ended with code -9 \(signal 9\), without a result \(out of memory\?\)"):
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


def test_what_the_reading_process_logged_before_it_died_reaches_the_build(sources, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="embeddings")

    def killed_at_the_end(done: int, total: int) -> None:
        if done == total:  # every file read, each skipped one logged: the child dies before it can send a result
            for pid in _children():
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(BuildFailed, match="without a result"):
        _read(sources, tmp_path / "t", separate=True, progress=killed_at_the_end)
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped")]
    assert any("notes.txt" in message for message in skipped)


def test_the_reading_process_is_out_of_reach_of_a_terminals_ctrl_c(sources, tmp_path):
    sessions = []

    def seen(done: int, total: int) -> None:
        sessions.extend((pid, os.getsid(pid)) for pid in _children())

    _, bodies = _read(sources, tmp_path / "t", separate=True, progress=seen)
    bodies.close()
    assert sessions and all(pid == sid != os.getsid(0) for pid, sid in sessions)  # a session of its own


def test_the_reading_process_ends_when_the_build_process_dies(sources, tmp_path):
    """The build's process killed outright (no `finally` runs): its reading process goes with it."""
    pid_file = tmp_path / "child.pid"
    script = f"""
import os, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from pathlib import Path
from embeddings.index.reading import Reading, read_sources
from embeddings.ingest import discovered
paths = {sources!r}
tmp = Path({str(tmp_path / "t")!r}); tmp.mkdir()
def die(done, total):
    children = Path(f"/proc/self/task/{{os.getpid()}}/children").read_text().split()
    Path({str(pid_file)!r}).write_text(children[0])
    os._exit(9)
read_sources(Reading(paths, tmp, "auto", {{}}, None, None, found=discovered(paths)), die, separate=True)
"""
    if not Path(f"/proc/self/task/{os.getpid()}/children").exists():
        pytest.skip("needs /proc/PID/task/TID/children")
    build = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert build.returncode == 9, build.stderr
    child = int(pid_file.read_text())
    for _ in range(100):
        try:  # gone, or a zombie nobody reaps (its state, after the name in parentheses, is Z)
            if Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()[0] == "Z":
                break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the reading process {child} outlived the build's")


def test_a_module_in_the_working_directory_does_not_shadow_the_reading_process(sources, tmp_path, monkeypatch):
    shadow = tmp_path / "cwd" / "embeddings"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise SystemExit('the wrong embeddings')\n", encoding="utf-8")
    monkeypatch.chdir(shadow.parent)
    result, bodies = _read(sources, tmp_path / "t", separate=True)
    bodies.close()
    assert result.threads


class _Child:
    def __init__(self, lines: list[str]) -> None:
        self.stdout = iter(lines)


def test_the_reading_process_lines_pass_on_progress_and_records_at_their_loggers_levels(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("embeddings.quiet").setLevel(logging.WARNING)
    try:
        failed = logging.LogRecord("embeddings.ingest", logging.ERROR, "f.py", 3, "failed on %s", ("x",), None)
        try:
            raise ValueError("broken")
        except ValueError:
            failed.exc_info = sys.exc_info()
        lines = []
        sent = reading._Sent(lines.append)
        sent.handle(failed)
        sent.handle(logging.LogRecord("embeddings.quiet", logging.INFO, "f.py", 4, "not shown", (), None))
        sent.handle(logging.LogRecord("embeddings.quiet", logging.WARNING, "f.py", 5, "shown", (), None))
        seen = []
        mark = reading.MARK
        child_output = [
            f"{mark}progress 1 3\n",
            "something a library printed\n",
            "progress 2 3\n",  # a library's line, not the child's
            "log file written\n",
            f"{mark}progress x y\n",
            f"{mark}log {{not json\n",  # cut short
            f'{mark}log {{"name": "embeddings.ingest", "levelno": "high"}}\n',
            *lines,
            f"{mark}progress 3 3",
        ]
        reading._follow(_Child(child_output), lambda done, total: seen.append((done, total)))
    finally:
        logging.getLogger("embeddings.quiet").setLevel(logging.NOTSET)
    assert seen == [(1, 3), (3, 3)]
    unread = [r.getMessage() for r in caplog.records if r.name == reading.__name__]
    assert len(unread) == 2 and all("does not read" in m for m in unread)  # the two broken lines, passed over
    sent = [r for r in caplog.records if r.name != reading.__name__]
    assert [(r.name, r.levelno, r.getMessage()) for r in sent] == [
        ("embeddings.ingest", logging.ERROR, "failed on x"),
        ("embeddings.quiet", logging.WARNING, "shown"),
    ]
    assert "ValueError: broken" in sent[0].exc_text  # the traceback, formatted there, kept
    assert (sent[0].filename, sent[0].lineno) == ("f.py", 3)  # where it was logged, too


def _child_outcome(tmp_path: Path, monkeypatch, read) -> dict:
    """Run the reading process's main in this process, `_read` replaced, and read what it sent."""
    monkeypatch.setattr(reading, "_end_with_parent", lambda parent: None)
    monkeypatch.setattr(reading, "_read", read)
    job_path = tmp_path / JOB_FILE
    job_path.write_bytes(pickle.dumps(Reading([], tmp_path, "auto", {}, None, None)))
    code = reading._child(str(job_path), str(logging.WARNING), str(os.getppid()))
    assert not (tmp_path / (RESULT_FILE + ".part")).exists()
    with open(tmp_path / RESULT_FILE, "rb") as fh:
        return {"code": code, **pickle.load(fh)}


def test_a_result_that_does_not_pickle_is_sent_back_as_the_error_it_is(tmp_path, monkeypatch):
    class Bodiless:
        def close(self): ...
        def offsets(self):
            return lambda: None  # no pickle for a lambda

    def read(job, progress):
        return IngestResult(threads=[]), Bodiless(), {}

    outcome = _child_outcome(tmp_path, monkeypatch, read)
    assert outcome["code"] == 1 and "result" not in outcome
    assert isinstance(outcome["error"], RuntimeError) and "pickle" in str(outcome["error"]).lower()


def test_a_full_disk_as_the_result_is_written_is_a_storage_error(tmp_path, monkeypatch):
    def read(job, progress):
        return IngestResult(threads=[]), Bodies(tmp_path / BODIES_FILE), {}

    real_dump, calls = pickle.dump, []

    def dump(obj, fh, **kw):
        calls.append(obj)
        if len(calls) == 1:
            fh.write(b"half")  # part written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_dump(obj, fh, **kw)

    monkeypatch.setattr(reading.pickle, "dump", dump)
    outcome = _child_outcome(tmp_path, monkeypatch, read)
    assert outcome["code"] == 1
    assert isinstance(outcome["error"], StorageError) and "No space left" in str(outcome["error"])


def test_a_file_the_reading_process_cannot_read_is_named_in_the_error(tmp_path):
    denied = PermissionError(errno.EACCES, "Permission denied", "/archive/2019q1.txt")
    error = reading._sendable(denied, tmp_path, "read the sources")
    assert isinstance(error, StorageError)
    assert "/archive/2019q1.txt" in str(error) and "cannot read the sources (Permission denied)" in str(error)
    full = reading._sendable(OSError(errno.ENOSPC, "No space left on device"), tmp_path, "send what was read")
    assert str(tmp_path) in str(full) and "cannot send what was read" in str(full)


def test_a_crash_the_reading_process_cannot_report_names_its_last_words(sources, tmp_path, monkeypatch):
    monkeypatch.setattr(
        reading,
        "_BOOT",
        "import sys; sys.stderr.write('Fatal Python error: Segmentation fault\\n'); sys.exit(-11 % 256)",
    )
    with pytest.raises(BuildFailed, match=r"code 245, without a result \(Fatal Python error: Segmentation fault\)"):
        _read(sources, tmp_path / "t", separate=True)
    assert not list((tmp_path / "t").glob("reading.*"))
