"""Posts → passages: sentence boundaries, sizes measured with the model's tokenizer, exact offsets."""

from __future__ import annotations

from embeddings.ingest.vbulletin import parse_file
from embeddings.passages.chunking import Chunker
from embeddings.passages.sentences import sentence_spans

from .conftest import SAMPLE_FILE


def test_sentence_spans_keep_abbreviations_together():
    text = "The cops in the U.S. presume guilt. Then i.e. nothing happens!\nNew line here"
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["The cops in the U.S. presume guilt.", "Then i.e. nothing happens!", "New line here"]


def test_every_passage_of_the_sample_is_an_exact_slice_within_budget(embedder):
    chunker = Chunker(embedder.count_tokens, max_tokens=200, overlap_sentences=1)
    posts = parse_file(SAMPLE_FILE).posts
    total = 0
    for post in posts:
        chunks = chunker.chunk(post.body)
        assert chunks, post.author
        for c in chunks:
            assert post.body[c.start : c.end] == c.text
            assert c.text == c.text.strip()
            assert embedder.count_tokens([c.text])[0] <= 200 + 8  # join whitespace can add a token or two
        # every word of the post is in some passage
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        assert all(i in covered for i, ch in enumerate(post.body) if not ch.isspace())
        total += len(chunks)
    assert total > len(posts)  # the long posts were split


def test_consecutive_passages_overlap_by_a_sentence(embedder):
    body = " ".join(f"Sentence number {i} talks about topic {i} at some length." for i in range(60))
    chunks = Chunker(embedder.count_tokens, max_tokens=60, overlap_sentences=1).chunk(body)
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end  # the next passage starts inside the previous one
        assert body[b.start : a.end].startswith("Sentence number")


def test_a_sentence_longer_than_the_budget_is_split_at_words(embedder):
    body = "word " * 700
    chunks = Chunker(embedder.count_tokens, max_tokens=100).chunk(body.strip())
    assert len(chunks) >= 7
    assert all(embedder.count_tokens([c.text])[0] <= 100 for c in chunks)
    assert all(body[c.start : c.end] == c.text for c in chunks)


def test_regions_exclude_text(embedder):
    body = "Mine first. Quoted words that are not mine. Mine again."
    chunker = Chunker(embedder.count_tokens, max_tokens=100)
    chunks = chunker.chunk(body, regions=[(0, 11), (44, len(body))])
    assert [c.text for c in chunks] == ["Mine first.", "Mine again."]


def test_a_single_word_longer_than_the_budget_is_cut(embedder):
    url = "http://example.com/" + "/".join(f"segment{i}x{i * 7}" for i in range(300))
    body = f"See {url} for details."
    chunks = Chunker(embedder.count_tokens, max_tokens=100).chunk(body)
    assert len(chunks) > 3
    assert all(embedder.count_tokens([c.text])[0] <= 100 + 8 for c in chunks)  # slice joins can add a piece
    assert all(body[c.start : c.end] == c.text for c in chunks)
    assert "".join(body[c.start : c.end] for c in chunks).replace(" ", "") == body.replace(" ", "")


def test_passages_without_words_are_not_indexed():
    from embeddings.passages import has_words

    assert not has_words("….") and not has_words(":compress: :cheers: :compress:") and not has_words("!!! ?")
    assert has_words("ok") and has_words("See :cheers: you there") and has_words("1976")
