# ruff: noqa: F811 (the fixtures imported from test_incremental)
"""Incremental builds at their edges, on real mail (the real model, FAISS and SQLite): the approximate (IVF) vector
index appended, and trained again in a full build once it has grown; a build stopped or failing halfway leaves the
live index serving; saved quote state merged as it grows; boilerplate that new posts make of earlier posts' text
is a full build that says so."""

from __future__ import annotations

import os
import shutil
import sqlite3
import types
from pathlib import Path

import faiss
import numpy as np
import pytest

import embeddings.index.append as append_module
import embeddings.index.update as update_module
from embeddings.errors import StorageError
from embeddings.index.datadir import DB_FILE
from embeddings.quotes import batched, state_merge
from embeddings.quotes.resume import STATE_DIR
from embeddings.service import SearchService
from embeddings.vectors.rows import RowFile

from .conftest import make_settings, run_cli
from .test_incremental import _service, mail, warm_cache  # noqa: F401 (fixtures)

QUERY = "compactPDF ghostscript reduce the size of the PDF"


def _builds(service: SearchService) -> list[str]:
    return sorted(p.name for p in (service.data.root / "builds").iterdir())


def _ivf(build: Path):
    index = faiss.read_index(str(build / "vectors.faiss"))
    return index, faiss.downcast_index(index.index)


IVF_FROM = 40  # passages: below what the setting allows (64), so that the test's mail makes an IVF index


def _ivf_service(root: Path, embedder, cache: Path) -> SearchService:
    service = _service(root, embedder, cache)
    object.__setattr__(service.settings, "ann_threshold", IVF_FROM)
    return service


def test_the_ivf_index_is_appended_and_trained_again_once_grown(tmp_path, embedder, mail, warm_cache, monkeypatch):
    service = _ivf_service(tmp_path / "data", embedder, warm_cache)
    first = service.rebuild([str(mail / "a.txt"), str(mail / "b.txt")])
    assert first.kind == "full" and first.passages >= IVF_FROM
    manifest = service.data.read_manifest()
    assert manifest["vectors"]["kind"] == "ivf" and manifest["vector_base"] == first.passages
    _, before = _ivf(service.data.current_path())
    centroids = faiss.vector_to_array(faiss.downcast_index(before.quantizer).codes)

    added = service.rebuild([str(mail / "c.txt")], add=True)
    assert added.kind == "incremental" and added.passages > first.passages
    index, ivf = _ivf(service.data.current_path())
    assert service.data.read_manifest()["vector_base"] == first.passages  # what it was trained on
    # the same lists (not trained again), every passage in them, each new vector where the store says
    assert np.array_equal(faiss.vector_to_array(faiss.downcast_index(ivf.quantizer).codes), centroids)
    ids = faiss.vector_to_array(index.id_map)
    assert np.array_equal(ids, np.arange(1, added.passages + 1))
    db = sqlite3.connect(service.data.current_path() / DB_FILE)
    texts = dict(db.execute("SELECT passage_id, text FROM passages WHERE passage_id > ?", (first.passages,)))
    db.close()
    expected = embedder.encode([texts[i] for i in sorted(texts)])
    ivf.make_direct_map()
    decoded = ivf.reconstruct_batch(np.arange(first.passages, added.passages))
    # 8-bit codes of the same vectors: each decoded vector is nearest its passage's
    assert np.array_equal(np.argmax(decoded @ expected.T, axis=1), np.arange(len(expected)))
    whole = _ivf_service(tmp_path / "whole", embedder, warm_cache)
    whole.rebuild([str(mail / name) for name in ("a.txt", "b.txt", "c.txt")])
    assert [r.post_id for r in service.search(QUERY, 3, mode="dense")] == [
        r.post_id for r in whole.search(QUERY, 3, mode="dense")
    ]
    whole.close()

    # grown past IVF_GROWTH times what it was trained on: a full build trains it again
    monkeypatch.setattr(update_module, "IVF_GROWTH", 1.0)
    shutil.copy(mail / "c.txt", tmp_path / "d.txt")
    text = (
        (tmp_path / "d.txt")
        .read_text(encoding="utf-8")
        .replace("2019", "2020")
        .replace("Message-ID: <", "Message-ID: <d")
    )
    (tmp_path / "d.txt").write_text(text, encoding="utf-8")
    grown = service.rebuild([str(tmp_path / "d.txt")], add=True)
    assert grown.kind == "full" and "trained again" in grown.note
    assert service.data.read_manifest()["vector_base"] == grown.passages
    service.close()


def test_crossing_the_ann_threshold_is_a_full_build(tmp_path, embedder, mail, warm_cache):
    service = _service(tmp_path / "data", embedder, warm_cache)
    first = service.rebuild([str(mail / "a.txt")])
    service.close()
    # the next passage makes the index approximate
    service = SearchService(make_settings(tmp_path / "data"), embedder)
    object.__setattr__(service.settings, "ann_threshold", first.passages + 1)
    report = service.rebuild([str(mail / "b.txt")], add=True)
    assert report.kind == "full" and "becomes approximate" in report.note
    assert service.data.read_manifest()["vectors"]["kind"] == "ivf"
    service.close()


def test_a_changed_ann_threshold_alone_makes_the_index_the_kind_it_asks_for(tmp_path, embedder, mail, warm_cache):
    service = _service(tmp_path / "data", embedder, warm_cache)
    first = service.rebuild([str(mail / "a.txt")])
    assert service.rebuild([str(mail / "a.txt")]).kind == "up to date"
    object.__setattr__(service.settings, "ann_threshold", first.passages)  # the same sources, now approximate
    report = service.rebuild([str(mail / "a.txt")])
    assert report.kind == "full" and "becomes approximate" in report.note
    assert service.data.read_manifest()["vectors"]["kind"] == "ivf"
    assert service.rebuild([str(mail / "a.txt")]).kind == "up to date"
    service.close()


def test_a_build_stopped_halfway_leaves_the_live_index_serving(tmp_path, embedder, mail, warm_cache, monkeypatch):
    service = _service(tmp_path / "data", embedder, warm_cache)
    service.rebuild([str(mail / "a.txt")])
    live, builds, answer = service.data.current_build(), _builds(service), service.search(QUERY, 3)

    def interrupted(*args, **kwargs):  # Ctrl-C once the new store is written, before the vectors are
        raise KeyboardInterrupt

    monkeypatch.setattr(update_module, "append_vectors", interrupted)
    with pytest.raises(KeyboardInterrupt):
        service.rebuild([str(mail / "b.txt")], add=True)
    assert service.data.current_build() == live and _builds(service) == builds  # nothing half-written is left
    assert service.search(QUERY, 3) == answer and service.stats().posts == 21
    monkeypatch.undo()
    assert service.rebuild([str(mail / "b.txt")], add=True).kind == "incremental"  # the saved state still fits
    service.close()


def test_a_full_disk_in_an_incremental_build_is_reported_and_the_index_kept(
    tmp_path, embedder, mail, warm_cache, capsys, monkeypatch
):
    service = _service(tmp_path / "data", embedder, warm_cache)
    service.rebuild([str(mail / "a.txt")])
    live = service.data.current_build()

    def full_disk(path, *args, **kwargs):  # the copied store cannot grow by a page: SQLite's "disk is full"
        db = sqlite3.connect(path, *args, **kwargs)
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
        return db

    monkeypatch.setattr(append_module, "sqlite3", types.SimpleNamespace(**{**vars(sqlite3), "connect": full_disk}))
    with pytest.raises(StorageError, match="cannot write the new index"):
        service.rebuild([str(mail / "b.txt")], add=True)
    code, _, err = run_cli(capsys, "--data-dir", service.settings.data_dir, "index", "-q", mail / "b.txt")
    assert code == 74 and "cannot write the new index (database or disk is full)" in err and "Traceback" not in err
    assert service.data.current_build() == live and len(_builds(service)) == 1 and service.stats().posts == 21
    service.close()


@pytest.mark.parametrize(
    ("owner", "writer", "message"),
    [  # a full build saves the quote state of each batch of posts as it detects, and each passage vector as embedded
        (batched, "write_segment", "cannot save the quote state (No space left on device)"),
        (RowFile, "put", "cannot write the passage vectors (No space left on device)"),
    ],
)
def test_a_full_disk_while_a_full_build_writes_is_reported_and_the_index_kept(
    tmp_path, embedder, mail, warm_cache, capsys, monkeypatch, owner, writer, message
):
    service = _service(tmp_path / "data", embedder, warm_cache)
    service.rebuild([str(mail / "a.txt")])
    live = service.data.current_build()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(owner, writer, full_disk)
    code, _, err = run_cli(capsys, "--data-dir", service.settings.data_dir, "index", "-q", "--full", mail / "a.txt")
    assert code == 74 and message in err and "Traceback" not in err
    assert service.data.current_build() == live and len(_builds(service)) == 1 and service.stats().posts > 0
    assert not list((tmp_path / "data" / "builds").glob("*.tmp"))
    fds = Path("/proc/self/fd")  # Linux: the failed build's files are closed, not only unlinked
    held = [os.readlink(fd) for fd in fds.iterdir() if fd.is_symlink()] if fds.is_dir() else []
    assert not [target for target in held if ".tmp/" in target]
    service.close()


def test_saved_state_segments_are_merged_as_they_grow(tmp_path, embedder, mail, warm_cache, monkeypatch):
    monkeypatch.setattr(state_merge, "MAX_SEGMENTS", 2)  # the count rule alone: sizes never merge
    monkeypatch.setattr(state_merge, "MERGE_RATIO", 0)
    service = _service(tmp_path / "data", embedder, warm_cache)
    kinds = [service.rebuild([str(mail / "a.txt")]).kind]
    kinds += [service.rebuild([str(mail / name)], add=True).kind for name in ("b.txt", "c.txt")]
    assert kinds == ["full", "incremental", "incremental"]
    segments = sorted(p.name for p in (service.data.current_path() / STATE_DIR).iterdir())
    assert segments == ["0000", "0003"] and service.data.read_manifest()["quote_state"] == segments
    whole = _service(tmp_path / "whole", embedder, warm_cache)
    whole.rebuild([str(mail / name) for name in ("a.txt", "b.txt", "c.txt")])
    assert service.quotes() == whole.quotes()
    whole.close()
    service.close()


def _message(n: int, thread: int, author: str, day: int, body: str) -> str:
    return (
        f"From {author}@example.org  Mon Mar {day:2d} 10:00:00 2021\n"
        f"From: {author}@example.org ({author.title()})\n"
        f"Date: Mon, {day} Mar 2021 10:00:00 +0000\n"
        f"Subject: [R-pkg-devel] question number {thread} about packages\n"
        f"Message-ID: <m{n}@example.org>\n\n{body}\n\n"
    )


DISCLAIMER = "This message and any attachment are confidential and meant only for the people it is sent to."


def test_boilerplate_that_new_posts_make_of_indexed_text_is_a_full_build_that_says_so(tmp_path, embedder):
    own = [
        "How do I declare a system requirement such as cmake in the DESCRIPTION file of my package?",
        "My vignette builds locally but the check on the build server fails with a missing LaTeX style.",
        "Is it allowed to download data from the internet while the tests of a package are running?",
    ]
    posts = [_message(i, i, f"author{i}", 1 + i, f"{own[i]}\n\n{DISCLAIMER}") for i in range(3)]
    (tmp_path / "a.mbox").write_text("".join(posts[:2]), encoding="utf-8")
    service = SearchService(make_settings(tmp_path / "data"), embedder)
    service.rebuild([str(tmp_path / "a.mbox")])
    (tmp_path / "b.mbox").write_text(posts[2], encoding="utf-8")  # the third thread: now it is boilerplate
    report = service.rebuild([str(tmp_path / "b.mbox")], add=True)
    assert report.kind == "full" and report.posts == 3
    assert report.note.startswith(
        "the boilerplate found across the archive now leaves other text out of 2 indexed posts "
        f"(the first: {tmp_path / 'a.mbox'}:"
    )
    assert not any("confidential" in r.passage for r in service.search("confidential attachment", 5))
    service.close()
