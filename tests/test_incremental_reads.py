"""A rebuild reads only the files that changed: a file whose metadata is what the live build recorded is neither
sniffed nor read nor hashed again (`ingest.seen`), and a change that keeps the size and puts the modification
time back is still seen (real model, FAISS and SQLite on a Usenet spool and a mailing-list excerpt)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import embeddings.index.incremental as incremental
import embeddings.ingest as ingest
import embeddings.ingest.discovery as discovery
import embeddings.ingest.seen as seen
from embeddings.ingest.seen import RACY_NS, Seen, signature
from embeddings.service import SearchService

from .conftest import DATA, make_settings, run_cli

HOUR_NS = 3600 * 10**9


@pytest.fixture
def archive(tmp_path, monkeypatch) -> Path:
    """A spool folder of three news articles (no extension: taken by sniffing) and a mailing-list month, last
    modified an hour ago; files written or changed less than 0.1 s before a build read them are not vouched for
    (`seen.RACY_NS`, 2 s outside the tests), so the fixture waits that long."""
    monkeypatch.setattr(seen, "RACY_NS", RACY_TEST_NS)
    root = tmp_path / "archive"
    shutil.copytree(DATA / "20news-sci.space", root / "sci.space")
    shutil.copy(DATA / "pipermail" / "2019q1-excerpt.txt", root / "2019q1.txt")
    _age(root)
    return root


RACY_TEST_NS = 100_000_000


def _age(root: Path) -> None:
    """Every file of `root` last modified an hour ago, and its change (now) more than RACY_TEST_NS ago."""
    then = time.time_ns() - HOUR_NS
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(then, then))
    time.sleep(2 * RACY_TEST_NS / 1e9)


@pytest.fixture
def reads(monkeypatch) -> dict[str, list[str]]:
    """The files read whole ("read") and sniffed ("sniffed") from now on."""
    seen: dict[str, list[str]] = {"read": [], "sniffed": []}

    def counting(real, kind):
        def read(path, *args, **kwargs):
            seen["sniffed" if kwargs.get("head") else kind].append(Path(path).name)
            return real(path, *args, **kwargs)

        return read

    monkeypatch.setattr(ingest, "read_bytes", counting(ingest.read_bytes, "read"))
    monkeypatch.setattr(incremental, "read_bytes", counting(incremental.read_bytes, "read"))
    monkeypatch.setattr(discovery, "read_bytes", counting(discovery.read_bytes, "read"))
    return seen


def _service(tmp_path: Path, embedder, shared_cache) -> SearchService:
    return SearchService(make_settings(tmp_path / "data", shared_cache), embedder)


def _found(service: SearchService, words: str) -> list[str]:
    return [r.author for r in service.search(words, 5, mode="lexical")]


def test_a_rebuild_reads_only_new_files(tmp_path, embedder, sample_service, shared_cache, archive, reads):
    service = _service(tmp_path, embedder, shared_cache)
    try:
        first = service.rebuild([str(archive)])
        assert first.kind == "full" and first.posts > 3
        assert sorted(reads["read"]) == ["2019q1.txt", "61368", "61387", "61532"]
        assert sorted(reads["sniffed"]) == ["61368", "61387", "61532"]

        reads["read"].clear(), reads["sniffed"].clear()
        assert service.rebuild([str(archive)]).kind == "up to date"
        assert reads == {"read": [], "sniffed": []}

        added = archive / "sci.space" / "61999"
        text = (DATA / "20news-sci.space" / "61532").read_text(encoding="latin-1")
        head, body = text.split("\n\n", 1)
        head = head.replace("Message-ID: <", "Message-ID: <added.")
        added.write_text(
            f"{head}\n\nThe zeppelinpowered orbiter was proposed in a later post of its own.\n", encoding="latin-1"
        )
        later = time.time_ns() - HOUR_NS // 2
        os.utime(added, ns=(later, later))
        time.sleep(2 * RACY_TEST_NS / 1e9)
        report = service.rebuild([str(archive)])
        assert reads["read"] == ["61999"] and set(reads["sniffed"]) == {"61999"}
        assert report.posts == first.posts + 1
        assert _found(service, "zeppelinpowered")
    finally:
        service.close()


def test_a_rewrite_that_keeps_size_and_time_is_still_read(tmp_path, embedder, sample_service, shared_cache, archive):
    service = _service(tmp_path, embedder, shared_cache)
    try:
        service.rebuild([str(archive)])
        article = archive / "sci.space" / "61387"
        before = os.stat(article)
        data = article.read_bytes()
        changed = data.replace(b"no effect on its subject", b"no effect on its zqxjvwk")  # the poster's own words
        assert len(changed) == len(data) and changed != data
        with open(article, "r+b") as fh:  # in place: the same inode, size and (put back) modification time
            fh.write(changed)
        os.utime(article, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = os.stat(article)
        assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)

        report = service.rebuild([str(archive)])
        assert report.kind != "up to date"
        assert _found(service, "zqxjvwk")
    finally:
        service.close()


def _recorded(tmp_path: Path) -> tuple[Path, os.stat_result, dict]:
    """A file just written, its metadata, and the manifest record a build that read it keeps."""
    path = tmp_path / "f.txt"
    path.write_text("x")
    st = os.stat(path)
    return path, st, {"path": str(path), **signature(st), "sha256": "ab" * 32}


def test_a_file_modified_just_before_a_build_is_not_vouched_for(tmp_path):
    path, st, record = _recorded(tmp_path)
    assert Seen({str(path): record}, st.st_mtime_ns + RACY_NS + 1).digest(str(path), st) == "ab" * 32
    # modified less than RACY_NS before that build read it: a write in the same tick would not show
    assert Seen({str(path): record}, st.st_mtime_ns + RACY_NS // 2).digest(str(path), st) is None
    for key in ("size", "mtime_ns", "ctime_ns", "ino"):
        other = record | {key: record[key] + 1}
        assert Seen({str(path): other}, st.st_mtime_ns + HOUR_NS).digest(str(path), st) is None
    assert Seen({str(path): record | {"blank": True}}, st.st_mtime_ns + HOUR_NS).digest(str(path), st) is None
    # a manifest written before files were recorded with their metadata vouches for nothing
    assert Seen.from_manifest({"files": [{"path": str(path), "size": 1, "sha256": "ab" * 32}]}) is None


def test_a_changed_post_under_a_relative_data_dir_is_a_full_build_that_says_why(
    tmp_path, embedder, sample_service, shared_cache, archive, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    service = SearchService(make_settings(Path("relative-data"), shared_cache), embedder)
    try:
        service.rebuild([str(archive)])
        article = archive / "sci.space" / "61387"
        article.write_bytes(article.read_bytes().replace(b"no effect on its subject", b"no effect on its zqxjvwk"))
        report = service.rebuild([str(archive)])
        assert report.kind == "full" and "changed" in report.note and _found(service, "zqxjvwk")
    finally:
        service.close()


def test_a_file_named_once_that_is_no_archive_is_passed_over_by_a_later_walk(
    tmp_path, embedder, sample_service, shared_cache, archive
):
    notes = archive / "sci.space" / "notes"  # no extension: a walk sniffs it, and it is no archive
    notes.write_text("Just some notes about the spool.\n")
    _age(archive)
    service = _service(tmp_path, embedder, shared_cache)
    try:
        named = service.rebuild([str(notes), str(archive / "2019q1.txt")])
        assert any("notes" in e for e in named.errors)  # named explicitly: read, and reported
        walked = service.rebuild([str(archive)])
        again = service.rebuild([str(archive)])
        full = service.rebuild([str(archive)], full=True)
        assert walked.errors == again.errors == full.errors and not any("notes" in e for e in full.errors)
    finally:
        service.close()


def test_a_file_whose_change_time_is_recent_is_not_vouched_for(tmp_path):
    path, st, record = _recorded(tmp_path)
    # its modification time put back an hour (touch -r): the change time still says it was just written
    old = SimpleNamespace(st_size=st.st_size, st_mtime_ns=st.st_mtime_ns - HOUR_NS, st_ctime_ns=st.st_ctime_ns)
    old.st_ino = st.st_ino
    record = record | {"mtime_ns": old.st_mtime_ns}
    assert Seen({str(path): record}, st.st_ctime_ns + RACY_NS // 2).digest(str(path), old) is None
    assert Seen({str(path): record}, st.st_ctime_ns + RACY_NS + 1).digest(str(path), old) == "ab" * 32


def test_a_parse_is_not_kept_under_the_digest_of_bytes_it_was_not_made_from(tmp_path):
    from embeddings.ingest import MailRead
    from embeddings.ingest.reuse import ParseCache

    path = tmp_path / "thread.jsonl"
    old = b'{"thread_id": "t", "thread_title": "T", "author": "A", "posted_at": "2020-01-01", "body": "old words"}\n'
    new = old.replace(b"old words", b"new words")
    path.write_bytes(new)
    cache = ParseCache(tmp_path / "previous", tmp_path / "target")
    rows = cache.parse_data(
        None, path, [], [], "auto", MailRead(), None, digest=hashlib.sha256(old).digest(), reread=path.read_bytes
    )
    assert [r.body for r in rows] == ["new words"]  # what the file holds now is read ...
    cache.finish()
    assert not cache.kept() and not (tmp_path / "target").exists()  # ... and not kept as the parse of the old bytes


def test_the_parse_caches_paragraphs_are_given_once_and_a_body_asked_again_is_split_again(tmp_path):
    from embeddings.ingest import MailRead
    from embeddings.ingest.boilerplate import paragraphs
    from embeddings.ingest.reuse import ParseCache

    path = tmp_path / "thread.jsonl"
    body = "A first paragraph of more than eight words, to be counted.\n\n> and a quoted one, not as long"
    path.write_text(
        json.dumps({"thread_id": "t", "thread_title": "T", "author": "A", "posted_at": "2020-01-01", "body": body})
        + "\n"
    )
    cache = ParseCache(None, tmp_path / "target")
    (row,) = cache.parse_data(
        None, path, [], [], "auto", MailRead(), None, digest=hashlib.sha256(path.read_bytes()).digest(),
        reread=path.read_bytes,
    )  # fmt: skip
    assert len(paragraphs(row.body)) == 2 and row.body in cache._paragraphs
    assert cache.paragraphs(row.body) == paragraphs(row.body) and row.body not in cache._paragraphs  # not held twice
    assert cache.paragraphs(row.body) == paragraphs(row.body)  # split again: the same answer
    cache.finish()


def test_a_copied_file_is_no_new_post_and_the_cli_says_so(tmp_path, sample_service, shared_cache, archive, capsys):
    data = tmp_path / "data"
    make_settings(data, shared_cache)
    assert run_cli(capsys, "--data-dir", str(data), "index", "-q", str(archive))[0] == 0
    shutil.copy(archive / "2019q1.txt", archive / "zz-copy.txt")  # the same bytes, read after them: once
    code, out, _ = run_cli(capsys, "--data-dir", str(data), "index", "-q", str(archive))
    assert code == 0 and out.startswith("no new posts: the sources' files changed")
