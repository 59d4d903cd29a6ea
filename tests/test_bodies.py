"""A build's post bodies in a scratch file (index/bodies.py): read back as they were written, in any order, with
only the bodies read last held in memory; spilled posts and their passages are the posts and passages of the
archive."""

from __future__ import annotations

import dataclasses
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.index.bodies import BODIES_FILE, Bodies, BodyRef, SpilledPost, spill
from embeddings.index.datadir import DataDir
from embeddings.ingest.vbulletin import parse_file
from embeddings.passages import Chunker, make_passages

from .conftest import SAMPLE_FILE

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
        assert bodies._cached <= cache_chars or len(bodies._cache) == 1  # bounded, bar one text over the budget
    bodies.remove()
    assert not bodies.path.exists()


def test_a_text_larger_than_the_cache_is_read_and_kept_alone(tmp_path):
    bodies = Bodies(tmp_path / "bodies", cache_chars=10)
    small, large = bodies.add("short"), bodies.add("x" * 1000)
    bodies.flush()
    assert bodies.text(small) == "short" and bodies.text(large) == "x" * 1000
    assert list(bodies._cache) == [large]  # the large one pushed the small one out, and is kept alone
    assert bodies.text(small) == "short"


def test_a_truncated_file_is_an_os_error_not_a_wrong_text(tmp_path):
    bodies = Bodies(tmp_path / "bodies")
    n = bodies.add("a body of some length")
    bodies.flush()
    os.truncate(bodies.path, 5)
    try:
        bodies.text(n)
    except OSError as exc:
        assert "shorter" in str(exc)
    else:
        raise AssertionError("a short read was taken for the body")


def test_spilled_posts_are_the_posts_with_their_bodies_in_the_file(tmp_path):
    threads = [parse_file(SAMPLE_FILE)]
    bodies = Bodies(tmp_path / "bodies", cache_chars=200)  # smaller than most bodies: reads go to the file
    spilled = spill(threads, bodies)
    posts, out = threads[0].posts, spilled[0].posts
    assert len(out) == len(posts) > 5 and len(bodies) == len(posts)
    assert threads[0].posts is posts and all(type(p) is not SpilledPost for p in posts)  # the input is unchanged
    for before, after in zip(posts, out):
        assert isinstance(after, SpilledPost)
        for f in dataclasses.fields(before):
            assert getattr(after, f.name) == getattr(before, f.name), f.name
        assert isinstance(after.body_source, BodyRef) and len(after.body_source) == len(before.body)
        assert str(after.body_source) == before.body and after.body_source[3:40] == before.body[3:40]
        again = dataclasses.replace(after, excluded=((0, 1),))  # a post made from a spilled one holds its body
        assert again.body == before.body and again.excluded == ((0, 1),)
    assert spilled[0].thread_id == threads[0].thread_id and spilled[0].title == threads[0].title


def test_passages_of_spilled_posts_are_the_passages_of_the_posts(tmp_path, embedder):
    threads = [parse_file(SAMPLE_FILE)]
    chunker = Chunker(embedder.count_tokens, 60, 1)
    plain = make_passages(threads, chunker, [], drop_quoted=True)
    spilled = make_passages(spill(threads, Bodies(tmp_path / "bodies", cache_chars=100)), chunker, [], True)
    assert [(p.passage_id, p.post_id, p.start, p.end, p.text) for p in spilled] == [
        (p.passage_id, p.post_id, p.start, p.end, p.text) for p in plain
    ]
    assert all(isinstance(p.body, BodyRef) for p in spilled)  # a handle on the body, not its text


def test_a_live_build_holds_no_bodies_file(sample_service):
    build = DataDir(sample_service.settings.data_dir).current_path()
    assert build.is_dir() and not (build / BODIES_FILE).exists()
    assert not list(build.rglob("*.scratch"))
