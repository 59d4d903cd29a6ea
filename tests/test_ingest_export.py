"""`threadbot export` saved into a source folder beside the file it came from, then rebuilt: every post is
indexed once, the copies are reported as duplicates (exit code 1: some input skipped), nothing else changes.
A mail index exported and the export indexed: the same passages, quotes and posters' zones."""

from __future__ import annotations

import json
import shutil
import sqlite3

from embeddings.index.datadir import DB_FILE, DataDir
from threadbot.cli import main

from .conftest import SAMPLE_FILE
from .test_ingest_mail import PIPERMAIL


def _stats(capsys, data_dir) -> dict:
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "stats", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_an_export_beside_its_sources_is_indexed_once(tmp_path, capsys, sample_service, shared_cache):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(SAMPLE_FILE, src / "thread.txt")
    rows = [
        {"thread_id": "j", "thread_title": "J", "author": "alice", "posted_at": "2021-05-05T05:05", "body": "hello"},
        {"thread_id": "j", "thread_title": "J", "author": "bob", "posted_at": "2021-05-05T06:00", "body": "hi there"},
    ]
    (src / "posts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(shared_cache, data / "cache.sqlite")
    assert main(["--data-dir", str(data), "index", "-q", str(src)]) == 0
    before = _stats(capsys, data)
    assert (before["threads"], before["posts"]) == (2, 13)

    assert main(["--data-dir", str(data), "export", "-o", str(src / "export.jsonl")]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(data), "index", "-q", "--replace", str(src)]) == 1
    err = capsys.readouterr().err
    assert err.count("duplicate of post") == 13 and "export.jsonl:" in err
    after = _stats(capsys, data)
    assert (after["threads"], after["posts"], after["quotes"]) == (2, 13, before["quotes"])


def _passages(data_dir) -> list[tuple]:
    db = sqlite3.connect(DataDir(data_dir).current_path() / DB_FILE)
    try:
        return db.execute("SELECT post_id, start, end, text FROM passages ORDER BY post_id, start").fetchall()
    finally:
        db.close()


def _out(capsys, *argv) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == 0
    return capsys.readouterr().out


def test_a_mail_export_indexes_to_the_same_passages_quotes_and_zones(tmp_path, capsys, sample_service, shared_cache):
    mail, again = tmp_path / "mail", tmp_path / "again"
    for d in (mail, again):
        d.mkdir()
        shutil.copy(shared_cache, d / "cache.sqlite")
    export = tmp_path / "export.jsonl"
    _out(capsys, "--data-dir", mail, "index", "-q", PIPERMAIL)
    _out(capsys, "--data-dir", mail, "export", "-o", export)
    rows = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert [row.get("utc_offset") for row in rows] == [330, -300, -480]
    # a list footer, "[[alternative HTML version deleted]]", a signature: kept in the body, not in passages
    assert [len(row.get("excluded", [])) for row in rows] == [1, 0, 3]
    assert all(row["body"][s:e].strip() for row in rows for s, e in row.get("excluded", []))

    _out(capsys, "--data-dir", again, "index", "-q", export)
    assert _passages(again) == _passages(mail)
    assert json.loads(_out(capsys, "--data-dir", again, "quotes", "--json")) == json.loads(
        _out(capsys, "--data-dir", mail, "quotes", "--json")
    )
    assert _out(capsys, "--data-dir", again, "export") == export.read_text(encoding="utf-8")
