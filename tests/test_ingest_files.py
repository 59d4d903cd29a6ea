"""The directory walk and the file reader trust no name: only regular files are read, and never past the size cap.

A reader that regressed would hang on a FIFO or read /dev/zero until memory runs out, so these cases run
`ingest()` in a child process with a time limit and a memory limit: a regression fails the test instead of
stopping the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from embeddings.ingest import ingest

from .conftest import ROOT, SAMPLE_FILE

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX file types")

CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from embeddings.ingest import ingest
result = ingest(json.loads(sys.argv[1]))
print(json.dumps({"posts": result.posts, "errors": [str(e) for e in result.errors]}))
"""


def _ingest_guarded(paths: list[Path]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([str(p) for p in paths])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def _good(folder: Path) -> Path:
    row = {"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": "2020-01-01T10:00", "body": "kept"}
    (folder / "good.jsonl").write_text(json.dumps(row) + "\n")
    return folder / "good.jsonl"


def test_a_fifo_named_txt_in_a_folder_is_reported_not_opened(tmp_path):
    _good(tmp_path)
    os.mkfifo(tmp_path / "x.txt")
    os.mkfifo(tmp_path / "noext")
    out = _ingest_guarded([tmp_path])
    assert out["posts"] == 1
    assert sorted(out["errors"]) == [
        f"{tmp_path / 'noext'}: not a regular file, skipped",
        f"{tmp_path / 'x.txt'}: not a regular file, skipped",
    ]


def test_a_fifo_named_explicitly_is_reported_not_opened(tmp_path):
    os.mkfifo(tmp_path / "x.jsonl")
    out = _ingest_guarded([tmp_path / "x.jsonl", _good(tmp_path)])
    assert out == {"posts": 1, "errors": [f"{tmp_path / 'x.jsonl'}: not a regular file, skipped"]}


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_link_to_dev_zero_is_reported_not_read(tmp_path):
    _good(tmp_path)
    os.symlink("/dev/zero", tmp_path / "zero.txt")
    os.symlink("/dev/zero", tmp_path / "zero")
    out = _ingest_guarded([tmp_path])
    assert out["posts"] == 1 and len(out["errors"]) == 2
    assert all(e.endswith(": not a regular file, skipped") for e in out["errors"])
    named = _ingest_guarded([tmp_path / "zero.txt"])
    assert named["errors"] == [f"{tmp_path / 'zero.txt'}: not a regular file, skipped"]


def test_a_socket_is_reported_not_read(tmp_path):
    path = tmp_path / "s.txt"
    if len(str(path)) > 100:
        pytest.skip("socket path too long for AF_UNIX")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        result = ingest([tmp_path, path])
    finally:
        server.close()
    assert [str(e) for e in result.errors] == [f"{path}: not a regular file, skipped"] * 2


def test_a_link_to_a_regular_file_is_read(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    os.symlink(SAMPLE_FILE, d / "thread.txt")
    result = ingest([d])
    assert result.posts == 11 and not result.errors


def test_broken_links_are_reported(tmp_path):
    os.symlink(tmp_path / "missing.txt", tmp_path / "gone.txt")
    os.symlink(tmp_path / "missing.txt", tmp_path / "picture.png")  # not a name that would be read: passed over
    result = ingest([tmp_path, tmp_path / "gone.txt"])
    assert [str(e) for e in result.errors] == [f"{tmp_path / 'gone.txt'}: broken link (its target does not exist)"] * 2


def test_linked_folders_are_walked_once_and_loops_end(tmp_path):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    shutil.copy(SAMPLE_FILE, d / "sub" / "thread.txt")
    os.symlink(d, d / "sub" / "loop")  # back to the top
    os.symlink(d / "sub", d / "again")  # the same folder under another name
    result = ingest([d])
    assert result.posts == 11 and not result.errors


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_folder_is_reported(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        result = ingest([tmp_path])
    finally:
        locked.chmod(0o755)
    assert [(e.path, "cannot read directory" in e.message) for e in result.errors] == [(str(locked), True)]


def test_a_file_named_twice_is_read_once_with_a_warning(tmp_path):
    f = _good(tmp_path)
    result = ingest([f, tmp_path])
    assert result.posts == 1 and result.errors == [] and f"{f}: named twice; read once" in result.warnings


def test_empty_files_are_not_copies_of_each_other(tmp_path):
    (tmp_path / "a.jsonl").write_text("")
    (tmp_path / "b.jsonl").write_text("")
    assert ingest([tmp_path]).errors == []
