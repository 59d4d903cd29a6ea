"""A build's post bodies in a scratch file (index/bodies.py): read back as they were written, in any order, with
only the bodies read last held in memory; spilled posts and their passages are the posts and passages of the
archive."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.errors import StorageError
from embeddings.index import bodies as bodies_module
from embeddings.index import builder, reading
from embeddings.index.bodies import BODIES_FILE, Bodies, BodyRef, SpilledPost, spill, spill_post
from embeddings.index.datadir import DataDir
from embeddings.ingest.vbulletin import parse_file
from embeddings.passages import Chunker, make_passages

from .conftest import SAMPLE_DIR, SAMPLE_FILE

LATER_POST = json.dumps(
    {"thread_id": "later", "thread_title": "A later thread", "author": "someone",
     "posted_at": "2031-05-01T10:00:00+00:00",
     "body": "A post written long after the sample thread, about something else entirely."}
) + "\n"  # fmt: skip

# any code point, a lone surrogate included (a source's broken escape is kept as it was: see ingest/jsonl.py)
TEXTS = st.lists(st.text(st.characters(codec=None, exclude_categories=()), max_size=300), max_size=40)


@settings(max_examples=60, deadline=None)
@given(TEXTS, st.randoms(use_true_random=False), st.integers(1, 400))
def test_bodies_read_back_as_written_in_any_order(tmp_path_factory, texts, rnd, cache_chars):
    bodies = Bodies(tmp_path_factory.mktemp("b") / "bodies", cache_chars=cache_chars)
    numbers = [bodies.add(t) for t in texts]
    bodies.flush()
    assert numbers == list(range(len(texts))) and len(bodies) == len(texts)
    order = [rnd.randrange(len(texts)) for _ in range(3 * len(texts))] if texts else []
    for i in order:
        assert bodies.text(i) == texts[i]
        # what is kept decoded stays within its bound, bar one text larger than the bound alone
        assert bodies._cached <= cache_chars or len(bodies._cache) == 1
    bodies.remove()
    assert not bodies.path.exists()


def test_a_text_larger_than_the_cache_is_read_and_kept_alone(tmp_path):
    bodies = Bodies(tmp_path / "bodies", cache_chars=10)
    small, large = bodies.add("short"), bodies.add("x" * 1000)
    bodies.flush()
    assert bodies.text(small) == "short" and bodies.text(large) == "x" * 1000
    assert list(bodies._cache) == [large]  # the large one pushed the small one out, and is kept alone
    assert bodies.text(small) == "short"
    bodies.close()


def test_a_truncated_file_is_an_os_error_not_a_wrong_text(tmp_path):
    bodies = Bodies(tmp_path / "bodies")
    n = bodies.add("a body of some length")
    bodies.flush()
    os.truncate(bodies.path, 5)
    with pytest.raises(OSError, match="shorter"):
        bodies.text(n)
    bodies.close()


def test_spilled_posts_are_the_posts_with_their_bodies_in_the_file(tmp_path):
    threads = [parse_file(SAMPLE_FILE)]
    bodies = Bodies(tmp_path / "bodies", cache_chars=200)  # smaller than most bodies: reads go to the file
    spilled = spill(threads, bodies)
    posts, out = threads[0].posts, spilled[0].posts
    assert len(out) == len(posts) > 5 and len(bodies) == len(posts)
    assert all(type(p) is not SpilledPost for p in threads[0].posts)  # the input is unchanged
    for before, after in zip(posts, out):
        assert isinstance(after, SpilledPost)
        for f in dataclasses.fields(before):
            assert getattr(after, f.name) == getattr(before, f.name), f.name
        assert isinstance(after.body_source, BodyRef) and len(after.body_source) == len(before.body)
        assert str(after.body_source) == before.body and after.body_source[3:40] == before.body[3:40]
        again = dataclasses.replace(after, excluded=((0, 1),))  # a post made from a spilled one holds its body
        assert again.body == before.body and again.excluded == ((0, 1),)
    assert spilled[0].thread_id == threads[0].thread_id and spilled[0].title == threads[0].title
    bodies.close()


def test_passages_of_spilled_posts_are_the_passages_of_the_posts(tmp_path, embedder):
    threads = [parse_file(SAMPLE_FILE)]
    chunker = Chunker(embedder.count_tokens, 60, 1)
    plain = make_passages(threads, chunker, [], drop_quoted=True)
    bodies = Bodies(tmp_path / "bodies", cache_chars=100)
    spilled = make_passages(spill(threads, bodies), chunker, [], True)
    assert [(p.passage_id, p.post_id, p.start, p.end, p.text) for p in spilled] == [
        (p.passage_id, p.post_id, p.start, p.end, p.text) for p in plain
    ]
    assert all(isinstance(p.body, BodyRef) for p in spilled)  # a handle on the body, not its text
    bodies.close()


def test_a_live_build_holds_no_bodies_file(sample_service):
    build = DataDir(sample_service.settings.data_dir).current_path()
    assert build.is_dir() and not (build / BODIES_FILE).exists()
    assert not list(build.rglob("*.scratch"))


def _open_scratch(data_dir: Path) -> list[str]:
    """The bodies files under `data_dir` this process holds open (Linux: /proc/self/fd)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("needs /proc/self/fd")
    names = []
    for fd in fds.iterdir():
        try:
            names.append(os.readlink(fd).removesuffix(" (deleted)"))
        except OSError:  # closed since it was listed (the listing's own, for one)
            continue
    return [n for n in names if n.endswith(BODIES_FILE) and n.startswith(str(data_dir))]


def test_a_build_cuts_its_passages_from_spilled_posts_and_closes_the_file(fresh_service, monkeypatch):
    seen: list = []

    def recording(threads, *args, **kwargs):
        passages = make_passages(threads, *args, **kwargs)
        seen.append(([p for t in threads for p in t.posts], passages))
        return passages

    monkeypatch.setattr(builder, "make_passages", recording)
    service = fresh_service()
    report = service.rebuild([str(SAMPLE_DIR)], full=True)
    ((posts, passages),) = seen
    assert report.passages == len(passages) > 0
    assert posts and all(isinstance(p, SpilledPost) for p in posts)
    assert all(isinstance(p.body, BodyRef) for p in passages)
    assert not _open_scratch(service.settings.data_dir)


def test_a_failed_build_closes_its_bodies_file_and_keeps_the_live_index(fresh_service, monkeypatch):
    service = fresh_service()
    service.rebuild([str(SAMPLE_DIR)])
    live = DataDir(service.settings.data_dir).current_path()

    def failing(*args, **kwargs):
        assert _open_scratch(service.settings.data_dir)  # open while the build runs
        raise RuntimeError("a stage failed")

    monkeypatch.setattr(builder, "make_passages", failing)
    with pytest.raises(RuntimeError, match="a stage failed") as failure:
        service.rebuild([str(SAMPLE_DIR)], full=True)
    # closed by the build, not when its frames are let go: the traceback, still held here, holds them
    assert failure.tb is not None and not _open_scratch(service.settings.data_dir)
    assert DataDir(service.settings.data_dir).current_path() == live


def test_a_bodies_file_that_cannot_be_written_is_a_storage_error(fresh_service, monkeypatch):
    monkeypatch.setattr(reading, "BODIES_FILE", "no-such-folder/" + BODIES_FILE)
    service = fresh_service()
    with pytest.raises(StorageError, match="cannot write the posts' bodies"):
        service.rebuild([str(SAMPLE_DIR)])
    assert not _open_scratch(service.settings.data_dir)


def test_an_interrupted_spill_closes_the_file(fresh_service, monkeypatch):
    service, spilled = fresh_service(), []

    def interrupted(post, bodies):
        if len(spilled) == 3:
            raise KeyboardInterrupt
        spilled.append(post)
        return spill_post(post, bodies)

    monkeypatch.setattr(bodies_module, "spill_post", interrupted)
    with pytest.raises(KeyboardInterrupt) as failure:
        service.rebuild([str(SAMPLE_DIR)])
    assert failure.tb is not None and not _open_scratch(service.settings.data_dir)


def test_an_incremental_build_holds_no_bodies_file_once_live(fresh_service, tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    shutil.copy(SAMPLE_FILE, folder / SAMPLE_FILE.name)
    service = fresh_service()
    service.rebuild([str(folder)])
    (folder / "later.jsonl").write_text(LATER_POST, encoding="utf-8")
    report = service.rebuild([str(folder)])
    assert report.kind == "incremental" and report.new_posts == 1
    build = DataDir(service.settings.data_dir).current_path()
    assert not (build / BODIES_FILE).exists() and not _open_scratch(service.settings.data_dir)
