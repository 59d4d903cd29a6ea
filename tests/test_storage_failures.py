"""Writing fails (a full disk, a file-size limit, a read-only data dir): exit 74 with the path, the live index
untouched, nothing left behind that a later build could take for the previous index."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from embeddings import SearchService, StorageError
from embeddings.index import datadir

from .conftest import ROOT, SAMPLE_DIR

LIMIT_WRITES = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from threadbot.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def built(fresh_service):
    service = fresh_service()
    service.rebuild([str(SAMPLE_DIR)])
    return service


def _cli_with_write_limit(limit: int, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LIMIT_WRITES.format(limit=limit), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
def test_a_build_that_cannot_write_its_files_exits_74_and_the_old_index_serves(built, tmp_path):
    live = built.data.current_build()
    # one long post of one repeated sentence: few distinct passages to embed, but an index file over the limit
    body = "The float sticks when the engine is cold. " * 2000
    thread = tmp_path / "another.jsonl"
    post = {"thread_id": "t", "thread_title": "Floats", "author": "ann", "posted_at": "2020-01-01T10:00", "body": body}
    thread.write_text(json.dumps(post) + "\n")
    run = _cli_with_write_limit(
        64 * 1024, "--data-dir", str(built.settings.data_dir), "index", "-q", "--replace", str(thread), cwd=tmp_path
    )
    assert run.returncode == 74, run.stderr
    assert "Traceback" not in run.stderr and str(built.settings.data_dir) in run.stderr
    assert built.data.current_build() == live
    assert not list(built.data.builds.glob("*.tmp"))
    assert SearchService(built.settings, built.embedder).search("Ryutin platform", 1)[0].author == "Ismail"


def test_a_failed_switch_leaves_no_orphan_for_the_next_build_to_keep(built, monkeypatch):
    first = built.data.current_build()
    built.rebuild([str(SAMPLE_DIR)], add=False, full=True)
    second = built.data.current_build()
    real_write = Path.write_text

    def full_disk(self, *args, **kwargs):
        if self.name == "CURRENT.tmp":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(StorageError) as err:
        built.rebuild([str(SAMPLE_DIR)], add=False, full=True)
    assert "No space left" in str(err.value) and err.value.exit_code == 74
    monkeypatch.undo()
    assert built.data.current_build() == second
    assert sorted(p.name for p in built.data.builds.iterdir()) == sorted([first, second])  # no orphan

    built.rebuild([str(SAMPLE_DIR)], add=False, full=True)
    third = built.data.current_build()
    # the build that was live before the last switch is the one kept as the fallback
    assert sorted(p.name for p in built.data.builds.iterdir()) == sorted([second, third])


def test_a_read_only_data_dir_is_exit_74_naming_it(built, tmp_path, capsys):
    from threadbot.cli import main

    if os.geteuid() == 0:  # root writes through permission bits: make the write fail another way
        target = tmp_path / "not-a-dir"
        target.write_text("a file where the data directory should be\n")
    else:
        target = built.settings.data_dir
        target.chmod(0o500)
    try:
        code = main(["--data-dir", str(target), "index", "-q", str(SAMPLE_DIR)])
    finally:
        if target.is_dir():
            target.chmod(0o700)
    err = capsys.readouterr().err
    assert code == 74 and str(target) in err and "Traceback" not in err


def test_commit_build_removes_the_renamed_build_when_the_pointer_cannot_be_written(tmp_path, monkeypatch):
    data = datadir.DataDir(tmp_path)
    build_id, tmp = data.new_build_dir()
    for name in (datadir.DB_FILE, datadir.VECTORS_FILE):
        (tmp / name).write_bytes(b"x")
    monkeypatch.setattr(datadir.os, "replace", _fail_for("CURRENT"))
    with pytest.raises(StorageError):
        data.commit_build(build_id, tmp, {"build_id": build_id})
    monkeypatch.undo()
    assert list(data.builds.iterdir()) == [] and data.current_build() is None


def _fail_for(name: str):
    real = os.replace

    def replace(src, dst):
        if Path(dst).name == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst)

    return replace
