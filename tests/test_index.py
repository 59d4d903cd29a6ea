"""Index builds: cache, manifest, atomic swap, crash safety and model checks."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embeddings.errors import BuildFailed, IndexMismatchError, NoIndexError, RebuildInProgressError
from embeddings.index.datadir import MANIFEST, BuildLock, DataDir, manifest_text
from embeddings.service import SearchService

from .conftest import ROOT, SAMPLE_DIR


def test_manifest_and_counts(sample_service):
    data = DataDir(sample_service.settings.data_dir)
    manifest = data.read_manifest()
    assert manifest["format_version"] == 1
    assert manifest["model"] == "sentence-transformers/all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["counts"]["threads"] == 1 and manifest["counts"]["posts"] == 11
    assert manifest["counts"]["passages"] == len(sample_service._current().vectors) > 11
    assert manifest["sources"] == [str(SAMPLE_DIR)]
    assert manifest["built_at"].startswith("20")
    lines = (data.current_path() / MANIFEST).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and len(lines) == len(manifest) + 2  # one top-level key a line
    assert [json.loads(line.rstrip(",").partition(": ")[0]) for line in lines[1:-1]] == sorted(manifest)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _json, max_size=6))
def test_a_manifest_reads_back_as_written(manifest):
    assert json.loads(manifest_text(manifest)) == manifest


def test_rebuild_with_nothing_changed_embeds_nothing(fresh_service, tmp_path):
    service = fresh_service()
    service.settings.data_dir.joinpath("cache.sqlite").unlink()  # start cold: this test counts embeddings
    first = service.rebuild([str(SAMPLE_DIR)])
    assert first.embedded == first.passages > 0 and first.cached == 0 and first.kind == "full"
    unchanged = service.rebuild()  # same sources, recorded in the manifest: no build at all
    assert unchanged.kind == "up to date" and unchanged.build_id == first.build_id
    assert unchanged.passages == first.passages and unchanged.embedded == 0
    second = service.rebuild(full=True)  # a complete build all the same: every vector from the cache
    assert second.embedded == 0 and second.cached == first.passages and second.kind == "full"
    assert second.build_id != first.build_id
    assert service.stats().build_id == second.build_id
    # one new post (later than every indexed one) is added: only its own passages are embedded
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        json.dumps(
            {
                "thread_id": "x",
                "thread_title": "Extra",
                "author": "zed",
                "posted_at": "2020-01-01T00:00",
                "body": "A brand new remark about turnips.",
            }
        )
        + "\n"
    )
    third = service.rebuild([str(extra)], add=True)
    assert third.embedded == 1 and third.posts == 12 and third.kind == "incremental" and third.new_posts == 1


def test_old_builds_are_pruned(fresh_service):
    service = fresh_service()
    for _ in range(4):
        service.rebuild([str(SAMPLE_DIR)], full=True)
    builds = sorted(p.name for p in service.data.builds.iterdir())
    assert len(builds) == 2 and service.data.current_build() in builds


def test_no_index_and_model_mismatch_are_clear(fresh_service, embedder):
    service = fresh_service()
    with pytest.raises(NoIndexError, match="threadbot index"):
        service.search("anything")
    service.rebuild([str(SAMPLE_DIR)])
    data = service.data
    manifest = data.read_manifest()
    manifest["model"] = "some/other-model"
    (data.current_path() / "manifest.json").write_text(json.dumps(manifest))
    other = SearchService(service.settings, embedder)
    with pytest.raises(IndexMismatchError) as err:
        other.search("anything")
    assert "some/other-model" in str(err.value) and "rebuild" in str(err.value)


def test_failed_build_keeps_the_old_index(fresh_service, tmp_path):
    service = fresh_service()
    service.rebuild([str(SAMPLE_DIR)])
    before = service.data.current_build()
    junk = tmp_path / "junk.txt"
    junk.write_text("no posts in here\n")
    with pytest.raises(BuildFailed) as err:
        service.rebuild([str(junk)])
    assert "junk.txt" in str(err.value.errors[0])
    assert service.data.current_build() == before
    assert service.search("Ryutin platform", 1)[0].author == "Ismail"
    assert not list(service.data.builds.glob("*.tmp"))


def test_one_build_at_a_time(fresh_service):
    service = fresh_service()
    with BuildLock(service.data.root, started_by="alice"):
        with pytest.raises(RebuildInProgressError) as err:
            service.rebuild([str(SAMPLE_DIR)])
    assert err.value.started_by == "alice"


def _uncached_corpus(path, n=400):
    """Posts whose text nobody has embedded yet, so that embedding takes a few seconds."""
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()
    with open(path, "w") as fh:
        for i in range(n):
            body = " ".join(words[(i * 7 + j) % len(words)] for j in range(40)) + f" marker {time.time_ns()} {i}."
            fh.write(
                json.dumps(
                    {
                        "thread_id": f"t{i // 20}",
                        "thread_title": f"Thread {i // 20}",
                        "author": f"u{i % 9}",
                        "posted_at": f"2020-01-{1 + i % 28:02d}T10:{i % 60:02d}",
                        "body": body,
                    }
                )
                + "\n"
            )


@pytest.mark.slow
def test_killed_build_leaves_the_old_index_answering(fresh_service, tmp_path):
    service = fresh_service()
    service.rebuild([str(SAMPLE_DIR)])
    live = service.data.current_build()
    corpus = tmp_path / "big.jsonl"
    _uncached_corpus(corpus)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "threadbot",
                "--data-dir",
                str(service.settings.data_dir),
                "index",
                "--replace",
                str(corpus),
            ],
            stderr=stderr,
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
        )
    deadline = time.time() + 120
    while not list(service.data.builds.glob("*.tmp")):  # stderr is no terminal, so it shows no progress bars
        assert proc.poll() is None, log.read_text(errors="replace")
        assert time.time() < deadline
        time.sleep(0.05)
    cache = service.data.cache_path
    cached_before = _cached_vectors(cache)
    while _cached_vectors(cache) <= cached_before:  # let it commit at least one batch of vectors
        assert proc.poll() is None, "the build finished before it could be killed"
        assert time.time() < deadline
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = _cached_vectors(cache) - cached_before

    assert service.data.current_build() == live
    fresh = SearchService(service.settings, service.embedder)
    assert fresh.search("Ryutin platform", 1)[0].author == "Ismail"
    assert fresh.stats().posts == 11
    # the next build cleans up what the killed one left behind and succeeds
    report = fresh.rebuild([str(SAMPLE_DIR)], full=True)
    assert report.posts == 11 and not list(service.data.builds.glob("*.tmp"))
    # and the killed build's finished embeddings were kept: resuming embeds only the rest
    resumed = fresh.rebuild([str(corpus)], add=False)
    assert resumed.cached >= committed > 0
    assert resumed.embedded == resumed.passages - resumed.cached


def _cached_vectors(cache) -> int:
    db = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
    finally:
        db.close()
