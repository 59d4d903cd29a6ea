"""A full build's vectors in a scratch file: written by position as they are embedded or found in the cache, read
back in chunks and samples, and the vector index built from them the same as from the matrix in memory, for
every backend (a full disk while they are written: tests/test_incremental_failures.py)."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import embeddings.vectors.rows as rows_module
from embeddings.index.builder import ROWS_FILE
from embeddings.vectors.cache import EmbeddingCache, embed_with_cache
from embeddings.vectors.rows import RowFile
from embeddings.vectors.tuning import build_vector_index, exact_neighbours

from .test_incremental import _service, mail, warm_cache  # noqa: F401 (fixtures)
from .test_vector_backends import BACKENDS, DIM, IDS, VECTORS

# ruff: noqa: F811 (the fixtures imported from test_incremental)


def _filled(path, matrix: np.ndarray) -> RowFile:
    rows = RowFile(path, len(matrix), matrix.shape[1])
    for position in np.random.default_rng(5).permutation(len(matrix)).tolist():  # in no order, as embedded
        rows.put(position, matrix[position])
    return rows


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(0, 90),
    written=st.sets(st.integers(0, 89)),
    chunk=st.integers(1, 40),
    picks=st.lists(st.integers(0, 89), max_size=20),
)
def test_rows_read_back_as_written_in_any_chunks_and_samples(tmp_path_factory, count, written, chunk, picks):
    matrix = np.random.default_rng(count).standard_normal((count, 7)).astype(np.float32)
    expected = np.zeros_like(matrix)  # a row never written reads as zeros
    path = tmp_path_factory.mktemp("rows") / "v.f32"
    with RowFile(path, count, 7) as rows:
        for position in sorted(p for p in written if p < count):
            rows.put(position, matrix[position])
            expected[position] = matrix[position]
        assert len(rows) == count and path.stat().st_size == count * 7 * 4
        chunks = list(rows.chunks(chunk))
        assert [start for start, _ in chunks] == list(range(0, count, chunk))
        together = np.concatenate([part for _, part in chunks]) if chunks else np.zeros((0, 7), np.float32)
        assert np.array_equal(together, expected)
        chosen = [p for p in picks if p < count]
        assert np.array_equal(rows.take(np.array(chosen, dtype=np.int64)), expected[chosen].reshape(-1, 7))
    assert not path.exists()  # a scratch file: gone once closed


def test_a_row_of_the_wrong_size_or_place_is_refused(tmp_path):
    with RowFile(tmp_path / "v.f32", 3, 4) as rows:
        for position, vector in [(3, np.ones(4)), (-1, np.ones(4)), (0, np.ones(5))]:
            with pytest.raises(ValueError, match="this file holds 3"):
                rows.put(position, vector)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_an_index_built_from_rows_read_in_chunks_is_the_one_built_from_the_matrix(tmp_path, monkeypatch, backend):
    monkeypatch.setattr(rows_module, "CHUNK_ROWS", 97)  # many chunks, the last one short
    rows = _filled(tmp_path / "v.f32", VECTORS)
    assert [len(part) for _, part in rows.chunks()][-2:] == [97, len(VECTORS) % 97]
    from_rows, params_rows = build_vector_index(IDS, rows, DIM, BACKENDS[backend])
    from_matrix, params_matrix = build_vector_index(IDS, VECTORS, DIM, BACKENDS[backend])
    rows.close()
    assert params_rows == params_matrix and params_rows["kind"] == backend
    assert np.array_equal(from_rows.ids(), IDS)
    for query in VECTORS[::150]:
        assert from_rows.search(query, 10) == from_matrix.search(query, 10)


def test_exact_neighbours_merged_over_chunks_are_those_of_the_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(rows_module, "CHUNK_ROWS", 64)
    queries = VECTORS[3:40] + 0.1
    with _filled(tmp_path / "v.f32", VECTORS) as rows:
        assert len(list(rows.chunks())) == -(-len(VECTORS) // 64)
        chunked = exact_neighbours(rows, queries, 10)
    whole = exact_neighbours(VECTORS, queries, 10)
    scores = lambda found: np.take_along_axis(queries @ VECTORS.T, found, axis=1)  # noqa: E731
    assert np.allclose(scores(chunked), scores(whole), atol=1e-6)  # equal scores may come in either order
    assert (np.diff(scores(chunked), axis=1) <= 1e-6).all()


def test_vectors_found_embedded_or_repeated_all_reach_the_file(embedder, tmp_path):
    texts = ["a first passage about harvests", "a second one, about rain", "a first passage about harvests"]
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    try:
        embed_with_cache(embedder, cache, texts[1:2])  # one found in the cache, one embedded, one repeated
        rows = RowFile(tmp_path / "v.f32", len(texts), embedder.dimension)
        result, embedded = embed_with_cache(embedder, cache, texts, into=rows)
        assert result is rows and embedded == 1
        got = rows.read(0, len(texts))
        rows.close()
    finally:
        cache.close()
    reference = embedder.model.encode(texts, normalize_embeddings=True)
    assert np.abs(got - reference).max() < 1e-5 and np.array_equal(got[0], got[2])


def test_a_full_build_leaves_no_scratch_vectors_behind(tmp_path, embedder, mail, warm_cache):
    service = _service(tmp_path / "data", embedder, warm_cache)
    report = service.rebuild([str(mail / "a.txt")])
    build = service.data.root / "builds" / service.data.current_build()
    assert build.is_dir() and report.kind == "full" and report.passages > 0 and not (build / ROWS_FILE).exists()
    assert service.search("harvest", limit=1)  # its vectors reached the index
    service.close()


def test_a_disk_too_small_for_the_vectors_fails_before_any_is_written(tmp_path, monkeypatch):
    def no_room(fd, offset, size):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rows_module.os, "posix_fallocate", no_room)
    with pytest.raises(OSError, match="No space"):
        RowFile(tmp_path / "v.f32", 1000, 384)
    assert not (tmp_path / "v.f32").exists()
