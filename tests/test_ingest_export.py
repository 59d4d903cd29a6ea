"""`threadbot export` saved into a source folder beside the file it came from, then rebuilt: every post is
indexed once, the copies are reported as duplicates (exit code 1: some input skipped), nothing else changes."""

from __future__ import annotations

import json
import shutil

from threadbot.cli import main

from .conftest import SAMPLE_FILE


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
