"""Damage and misuse at the edges of the data directory: every case ends in a message and a working repair."""

from __future__ import annotations

import json
import os
import sqlite3
import threading

import pytest

from embeddings import SearchService
from threadbot.cli import main

from .conftest import SAMPLE_DIR, SAMPLE_FILE


@pytest.fixture
def built(fresh_service):
    service = fresh_service()
    service.rebuild([str(SAMPLE_DIR)])
    return service


def _repairs(built, capsys) -> None:
    data_dir = str(built.settings.data_dir)
    assert main(["--data-dir", data_dir, "index", "-q", "--replace", str(SAMPLE_DIR)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", data_dir, "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["posts"] == 11
    assert SearchService(built.settings, built.embedder).check().ok


def test_a_garbage_pointer_is_damage_that_a_rebuild_repairs(built, capsys):
    (built.settings.data_dir / "CURRENT").write_bytes(os.urandom(300) + b"\xff\xfe")
    data_dir = str(built.settings.data_dir)
    for command in ("search", "stats", "check"):
        args = [command, "Ryutin platform"] if command == "search" else [command]
        assert main(["--data-dir", data_dir, *args]) == 6
        err = capsys.readouterr().err
        assert "Traceback" not in err
    previous = {p.name for p in built.data.builds.iterdir()}
    _repairs(built, capsys)
    assert previous & {p.name for p in built.data.builds.iterdir()}  # the intact old build is kept as fallback


def test_a_directory_in_place_of_the_pointer_is_repaired(built, capsys):
    pointer = built.settings.data_dir / "CURRENT"
    pointer.unlink()
    pointer.mkdir()
    assert main(["--data-dir", str(built.settings.data_dir), "stats"]) == 6
    _repairs(built, capsys)


def test_a_file_in_place_of_the_builds_folder_is_moved_aside(built, capsys):
    import shutil

    shutil.rmtree(built.data.builds)
    built.data.builds.write_text("not a folder\n")
    assert main(["--data-dir", str(built.settings.data_dir), "stats"]) == 6
    _repairs(built, capsys)
    assert list(built.settings.data_dir.glob("builds.damaged-*"))


def test_a_cache_damaged_past_its_first_page_is_moved_aside(built):
    cache = built.data.cache_path
    db = sqlite3.connect(cache)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(cache.read_bytes())
    data[8192:] = os.urandom(len(data) - 8192)
    cache.write_bytes(bytes(data))
    report = built.rebuild([str(SAMPLE_DIR)], add=False, full=True)
    assert report.posts == 11 and list(cache.parent.glob("cache.sqlite.damaged-*"))
    assert built.rebuild([str(SAMPLE_DIR)], add=False, full=True).embedded == 0


def test_check_finds_a_missing_table(built):
    db = sqlite3.connect(built.data.current_path() / "index.sqlite")
    db.execute("DROP TABLE quotes")
    db.commit()
    db.close()
    report = SearchService(built.settings, built.embedder).check()
    assert any("quotes" in p and "missing" in p for p in report.problems)


def test_a_source_inside_another_is_not_read_twice(built, capsys, tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / SAMPLE_FILE.name).write_bytes(SAMPLE_FILE.read_bytes())
    data_dir = str(built.settings.data_dir)
    assert main(["--data-dir", data_dir, "index", "-q", "--replace", str(folder)]) == 0
    assert main(["--data-dir", data_dir, "index", "-q", str(folder / SAMPLE_FILE.name)]) == 0
    assert main(["--data-dir", data_dir, "index", "-q"]) == 0
    assert "named twice" not in capsys.readouterr().err


def test_export_onto_a_fifo_writes_through_it(built, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    code = main(["--data-dir", str(built.settings.data_dir), "export", "-o", str(fifo)])
    reader.join(30)
    assert code == 0 and len(received[0].splitlines()) == 11
    assert fifo.is_fifo()  # still a FIFO, not replaced by a regular file
