"""What a build holds in memory: passages hold their post's body, not a copy of their text, and the posts are let go
once written."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from embeddings.index.datadir import DB_FILE, DataDir
from embeddings.ingest import IngestResult
from embeddings.ingest.vbulletin import parse_file
from embeddings.models import Passage
from embeddings.passages import Chunker, PassageTexts, make_passages

from .conftest import SAMPLE_FILE


def test_passages_of_the_sample_share_their_posts_bodies(embedder):
    threads = [parse_file(SAMPLE_FILE)]
    bodies = {p.post_id: p.body for t in threads for p in t.posts}
    passages = make_passages(threads, Chunker(embedder.count_tokens, 60, 1), [], drop_quoted=False)
    assert len(passages) > len(bodies)  # posts cut into several passages
    for p in passages:
        assert p.body is bodies[p.post_id]  # the same string, not a copy
        assert p.text == bodies[p.post_id][p.start : p.end]
    texts = PassageTexts(passages)
    assert len(texts) == len(passages)
    assert list(texts) == [p.text for p in passages]
    assert texts[2:5] == [p.text for p in passages[2:5]] and texts[-1] == passages[-1].text


@given(st.text(max_size=60), st.integers(0, 70), st.integers(0, 70))
def test_a_passage_reads_its_slice_of_the_body(body, start, end):
    passage = Passage(1, "p", start, end, body)
    assert passage.text == body[start:end]
    assert "body=" not in repr(passage)  # a repr does not print the whole post


def test_a_result_without_its_posts_keeps_what_the_manifest_records():
    thread = parse_file(SAMPLE_FILE)
    result = IngestResult(threads=[thread], files=1, read={"a": {"sha256": "x"}}, read_at_ns=5)
    light = result.without_posts()
    assert light.posts == result.posts == len(thread.posts) > 0
    assert [(t.thread_id, t.title, t.source) for t in light.threads] == [
        (thread.thread_id, thread.title, thread.source)
    ]
    assert all(not t.posts for t in light.threads) and thread.posts  # the original is untouched
    assert (light.files, light.read, light.read_at_ns) == (1, {"a": {"sha256": "x"}}, 5)


def test_a_built_index_stores_each_passage_as_its_slice_of_the_stored_post(sample_service):
    """What the build wrote, read back from its SQLite store: every passage's text is its post's body at its
    offsets (the passages held the body and sliced it; the posts were let go before the vector index)."""
    db = sqlite3.connect(DataDir(sample_service.settings.data_dir).current_path() / DB_FILE)
    try:
        rows = db.execute(
            "SELECT x.text, p.body, x.start, x.end FROM passages x JOIN posts p ON p.post_id = x.post_id"
        ).fetchall()
    finally:
        db.close()
    assert len(rows) > 20
    assert all(text == body[start:end] for text, body, start, end in rows)
