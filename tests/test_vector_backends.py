"""One contract for every vector backend (exact, IVF), with real FAISS on small clustered data: the same API,
ids round trip, filters honoured, save and load (memory-mapped or not) give the same answers."""

from __future__ import annotations

import faiss
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import embeddings.vectors.allowed as allowed_module
from embeddings.vectors.allowed import Allowed
from embeddings.vectors.ann import IVFIndex, VectorIndex, load_vector_index
from embeddings.vectors.tuning import RECALL_TARGET, build_vector_index, exact_neighbours, recall_at

DIM, CLUSTERS, N = 32, 40, 1500
BACKENDS = {"exact": 10**9, "ivf": 64}  # ann_threshold that gives each backend for N vectors


def _clustered(n: int, seed: int) -> np.ndarray:
    """n points around the same CLUSTERS centres, whatever the seed."""
    centres = np.random.default_rng(0).standard_normal((CLUSTERS, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(0, CLUSTERS, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


VECTORS = _clustered(N, 1)
IDS = np.cumsum(np.random.default_rng(2).integers(1, 4, N)).astype(np.int64)  # ascending, with gaps


@pytest.fixture(scope="module", params=list(BACKENDS))
def backend(request):
    index, params = build_vector_index(IDS, VECTORS, DIM, BACKENDS[request.param])
    return request.param, index, params


def _brute_force(query: np.ndarray, ids: np.ndarray, k: int) -> list[int]:
    rows = np.searchsorted(IDS, ids)
    scores = VECTORS[rows] @ query
    return ids[np.argsort(-scores, kind="stable")[:k]].tolist()


def test_the_backend_is_the_one_the_threshold_chooses(backend):
    kind, index, params = backend
    assert index.kind == kind == params["kind"]
    assert isinstance(index, IVFIndex) == (kind == "ivf")
    if kind == "ivf":
        assert 1 <= params["nprobe"] <= params["nlist"] and params["recall_at_10"] >= RECALL_TARGET


def test_ids_round_trip(backend):
    _, index, _ = backend
    assert len(index) == N and index.dimension == DIM
    assert np.array_equal(index.ids(), IDS)


def test_an_indexed_vector_finds_itself_best_first(backend):
    _, index, _ = backend
    for row in range(0, N, 97):
        hits = index.search(VECTORS[row], 10)
        assert hits[0][0] == IDS[row]
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        assert all(isinstance(i, int) and isinstance(s, float) for i, s in hits)


def test_filters_are_honoured(backend):
    _, index, _ = backend
    query = VECTORS[5]
    small = IDS[::37]
    large = IDS[IDS % 10 != 3]
    cases = [
        Allowed.span(IDS[100], IDS[400]),
        Allowed.of(small),
        Allowed.of(large),
        small,  # a plain array of ids
        Allowed.of(np.concatenate([small, [-5, 10**9]])),  # ids the index does not hold are ignored
    ]
    for allowed in cases:
        wanted = allowed if isinstance(allowed, Allowed) else Allowed.of(allowed)
        hits = index.search(query, 50, allowed)
        assert hits and all(wanted.contains(np.array([i]))[0] for i, _ in hits)
    everything_small = index.search(query, 1000, Allowed.of(small))
    assert sorted(i for i, _ in everything_small) == small.tolist()  # a small subset is ranked whole
    assert index.search(query, 10, Allowed.of([])) == [] and index.search(query, 10, Allowed.span(5, 5)) == []


def test_a_filtered_ranking_is_the_best_of_the_subset(backend):
    kind, index, _ = backend
    query = _clustered(1, 9)[0]
    for allowed in (IDS[::7], IDS[200:260], IDS[[3, 50, 700, 1200, 1400]]):  # the last: decoded and ranked alone
        found = [i for i, _ in index.search(query, 10, Allowed.of(allowed))]
        expected = _brute_force(query, allowed, 10)
        if kind == "exact":
            assert found == expected
        else:  # 8-bit codes may swap near-ties
            assert len(set(found) & set(expected)) >= min(9, len(expected))


def test_save_and_load_give_the_same_answers(backend, tmp_path):
    kind, index, params = backend
    index.save(tmp_path / "v.faiss")
    query = VECTORS[11]
    for mmap in (True, False):
        loaded = load_vector_index(tmp_path / "v.faiss", mmap=mmap)
        assert loaded.kind == kind and loaded.params() == index.params() and np.array_equal(loaded.ids(), IDS)
        for allowed in (None, Allowed.span(IDS[10], IDS[900]), Allowed.of(IDS[::5])):
            assert loaded.search(query, 20, allowed) == index.search(query, 20, allowed)
    mapped = load_vector_index(tmp_path / "v.faiss")
    with pytest.raises(ValueError, match="read-only"):
        mapped.add(np.array([IDS[-1] + 1]), VECTORS[:1])
    writable = load_vector_index(tmp_path / "v.faiss", mmap=False)
    writable.add(np.array([IDS[-1] + 1]), VECTORS[:1])
    assert len(writable) == N + 1 and writable.search(VECTORS[0], 2)[0][1] == pytest.approx(1.0, abs=0.01)


def test_ids_must_come_in_order(backend, tmp_path):
    _, index, _ = backend
    index.save(tmp_path / "v.faiss")
    writable = load_vector_index(tmp_path / "v.faiss", mmap=False)
    for bad in ([IDS[-1]], [IDS[-1] + 5, IDS[-1] + 2]):
        with pytest.raises(ValueError, match="ascending"):
            writable.add(np.array(bad), VECTORS[: len(bad)])
    with pytest.raises(ValueError, match="dimension"):
        writable.add(np.array([IDS[-1] + 1]), np.zeros((1, DIM + 1), dtype=np.float32))


def test_the_tuned_ivf_reaches_its_recall_on_other_queries():
    index, params = build_vector_index(IDS, VECTORS, DIM, 64)
    queries = _clustered(200, 3)
    truth = exact_neighbours(VECTORS, queries, 10)
    found = np.array([[np.searchsorted(IDS, i) for i, _ in index.search(q, 10)] for q in queries])
    assert recall_at(found, truth) >= 0.95, params


def test_an_empty_index_finds_nothing(tmp_path):
    index, params = build_vector_index(np.zeros(0, dtype=np.int64), np.zeros((0, DIM), np.float32), DIM, 64)
    assert params["kind"] == "exact" and index.search(VECTORS[0], 5) == []
    index.save(tmp_path / "v.faiss")
    assert load_vector_index(tmp_path / "v.faiss").search(VECTORS[0], 5, Allowed.span(1, 9)) == []


def test_an_index_written_by_an_older_threadbot_loads_as_exact(tmp_path):
    old = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))  # what builds wrote before backends
    old.add_with_ids(VECTORS, IDS)
    faiss.write_index(old, str(tmp_path / "old.faiss"))
    loaded = load_vector_index(tmp_path / "old.faiss")
    assert type(loaded) is VectorIndex and np.array_equal(loaded.ids(), IDS)
    expected = [(int(i), float(s)) for s, i in zip(*old.search(VECTORS[3:4], 5)) for s, i in zip(s, i)]
    assert [i for i, _ in loaded.search(VECTORS[3], 5)] == [i for i, _ in expected]


def test_allowed_sets_combine():
    span, ids = Allowed.span(10, 20), Allowed.of([25, 3, 15, 12, 15])
    assert (span & ids).ids.tolist() == [12, 15] and (ids & span).ids.tolist() == [12, 15]
    assert len(span & Allowed.span(15, 40)) == 5 and len(Allowed.span(30, 20)) == 0
    assert (ids & Allowed.of([15, 25, 99])).ids.tolist() == [15, 25]
    assert ids.contains(np.array([3, 4, 25])).tolist() == [True, False, True]


@settings(max_examples=60, deadline=None)
@given(
    allowed=st.lists(st.integers(0, 20_000), max_size=400),
    asked=st.lists(st.integers(-5, 25_000), max_size=300),
    start=st.integers(0, 50),
    gaps=st.booleans(),
    bitmap=st.booleans(),
)
def test_allowed_membership_and_positions_are_exact_whatever_their_size(allowed, asked, start, gaps, bitmap):
    """Below MASK_FROM ids by binary search, from it by a bitmap (either way here, whatever the size); an
    index's ids consecutive or not: the same answers as plain set membership."""
    chosen, wanted = Allowed.of(allowed), set(allowed)
    asked = np.array(asked, dtype=np.int64)
    mask_from = allowed_module.MASK_FROM
    allowed_module.MASK_FROM = 0 if bitmap else 10**9
    try:
        assert chosen.contains(asked).tolist() == [int(a) in wanted for a in asked]
    finally:
        allowed_module.MASK_FROM = mask_from
    step = 2 if gaps else 1
    index_ids = np.arange(start, start + 12_000 * step, step, dtype=np.int64)
    positions = chosen.positions_in(index_ids)
    assert index_ids[positions].tolist() == sorted(wanted & set(index_ids.tolist()))
