"""Filters inside retrieval, with the real model, FAISS and SQLite.

Filters are applied in the search itself (a FAISS id selector for dense, SQL conditions for the FTS5 side),
so a filter returns the best posts of its subset however rare the subset is. The large corpus below has
3,001 posts but only nine distinct bodies: the embedding cache is keyed by text, so it embeds nine texts,
which is what keeps a "one post among thousands" test fast. The subject is the selector, not the model.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from embeddings.search.evaluate import evaluate, load_queries
from embeddings.service import SearchService

from .conftest import SEED_QUERIES, make_settings

MODES = ("dense", "lexical", "hybrid")
THREAD_ID = "on-socialist-methods-stalin-era-purges-39925461"

# the sample thread's posts: (post_index, author, posted_at)
SAMPLE_POSTS = [
    (0, "Andrei Kuznetsov", datetime(2009, 8, 15, 14, 32)),
    (1, "Led Zeppelin", datetime(2009, 8, 15, 16, 35)),
    (2, "Andrei Kuznetsov", datetime(2009, 8, 15, 16, 45)),
    (3, "Led Zeppelin", datetime(2009, 8, 15, 16, 56)),
    (4, "Andrei Kuznetsov", datetime(2009, 8, 16, 0, 31)),
    (5, "Revy", datetime(2009, 8, 16, 14, 28)),
    (6, "Ismail", datetime(2009, 8, 17, 11, 46)),
    (7, "Andrei Kuznetsov", datetime(2009, 8, 17, 14, 32)),
    (8, "Led Zeppelin", datetime(2009, 8, 17, 14, 41)),
    (9, "Die Neue Zeit", datetime(2009, 8, 18, 1, 50)),
    (10, "pranabjyoti", datetime(2009, 9, 26, 9, 22)),
]


def indexes(results) -> list[int]:
    return sorted(r.post_index for r in results)


# --- the sample thread ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["Led Zeppelin", "led zeppelin", "LED ZEPPELIN", "  Led zeppelin "])
def test_author_filter_is_case_insensitive(sample_service, mode, name):
    results = sample_service.search("Trotsky and Stalin", 1000, author=name, mode=mode)
    assert {r.author for r in results} == {"Led Zeppelin"}
    if mode != "lexical":  # dense ranks every post of the subset; lexical only those sharing a term
        assert indexes(results) == [1, 3, 8]


@pytest.mark.parametrize("mode", MODES)
def test_unknown_author_gives_nothing(sample_service, mode):
    assert sample_service.search("Trotsky and Stalin", 10, author="Nobody At All", mode=mode) == []


@pytest.mark.parametrize("mode", MODES)
def test_thread_filter_by_id_or_title(sample_service, mode):
    by_id = sample_service.search("Stalin", 1000, thread=THREAD_ID, mode=mode)
    by_title = sample_service.search("Stalin", 1000, thread="on socialist methods & stalin-era purges", mode=mode)
    assert by_id and {r.thread_id for r in by_id} == {THREAD_ID}
    assert [r.post_id for r in by_id] == [r.post_id for r in by_title]


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_after_is_inclusive_and_before_exclusive(sample_service, mode):
    edge = datetime(2009, 8, 17, 11, 46)  # Ismail's post
    after = sample_service.search("Stalin", 1000, after=edge, mode=mode)
    assert indexes(after) == [i for i, _, t in SAMPLE_POSTS if t >= edge]
    before = sample_service.search("Stalin", 1000, before=edge, mode=mode)
    assert indexes(before) == [i for i, _, t in SAMPLE_POSTS if t < edge]
    assert all(r.posted_at < edge for r in before) and all(r.posted_at >= edge for r in after)


@pytest.mark.parametrize("mode", MODES)
def test_date_window(sample_service, mode):
    results = sample_service.search(
        "Trotsky", 1000, after=datetime(2009, 8, 16), before=datetime(2009, 8, 17), mode=mode
    )
    assert set(indexes(results)) <= {4, 5}
    if mode != "lexical":
        assert indexes(results) == [4, 5]


@pytest.mark.parametrize("mode", MODES)
def test_combined_filters(sample_service, mode):
    results = sample_service.search(
        "Stalin's policies",
        1000,
        author="andrei kuznetsov",
        thread=THREAD_ID,
        after=datetime(2009, 8, 15, 16, 0),
        before=datetime(2009, 8, 17, 12, 0),
        mode=mode,
    )
    assert set(indexes(results)) <= {2, 4}
    assert all(r.author == "Andrei Kuznetsov" for r in results)
    if mode != "lexical":
        assert indexes(results) == [2, 4]


def test_filtered_results_are_the_best_of_the_subset(sample_service):
    """A filter restricts the ranking; it does not reorder it."""
    query = "the purges terrorized middle management"
    everything = sample_service.search(query, 1000, mode="dense")
    subset = sample_service.search(query, 1000, mode="dense", author="andrei kuznetsov")
    assert [r.post_id for r in subset] == [r.post_id for r in everything if r.author == "Andrei Kuznetsov"]


# --- one post among thousands ---------------------------------------------------------------------------

BODIES = [
    "The carburettor floods when the engine is hot, so check the float height and the needle valve.",
    "Our allotment grows early potatoes, broad beans and far too many courgettes every summer.",
    "The night train from Vienna to Venice was late again but the sleeper cabin was comfortable.",
    "My sourdough starter doubled overnight after I fed it with rye flour and warm water.",
    "The chess club meets on Tuesdays and the Sicilian defence is everyone's favourite opening.",
    "Replace the timing belt every sixty thousand miles or the valves will hit the pistons.",
    "The choir rehearses the Brahms requiem on Thursday evenings in the village hall.",
    "We saw puffins and gannets from the ferry on the way to the outer islands.",
]
NEEDLE_BODY = "I cleaned the carburettor of my old moped last spring and it has run fine ever since."
NEEDLE_AUTHOR = "Zoë Ünal"
NEEDLE_AT = datetime(2016, 3, 3, 3, 33)  # every other post is at 02:00, 08:00, 14:00 or 20:00
NEEDLE_THREAD = "t-needle"
QUERY = "carburettor floods when the engine is hot"
START = datetime(2015, 1, 1, 8, 0)
N = 3000


@pytest.fixture(scope="module")
def big_service(tmp_path_factory, embedder):
    """3,001 posts in 301 threads; one of them, by its own author and at its own minute, is the needle."""
    root = tmp_path_factory.mktemp("many-posts")
    rows = [
        {
            "thread_id": f"t{i // 10:03d}",
            "thread_title": f"Thread {i // 10}",
            "author": f"member{i % 47:02d}",
            "posted_at": (START + timedelta(hours=6 * i)).isoformat(),
            "body": BODIES[i % len(BODIES)],
        }
        for i in range(N)
    ]
    rows.append(
        {
            "thread_id": NEEDLE_THREAD,
            "thread_title": "Moped",
            "author": NEEDLE_AUTHOR,
            "posted_at": NEEDLE_AT.isoformat(),
            "body": NEEDLE_BODY,
            "post_id": "needle",
        }
    )
    source = root / "posts.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    # identical bodies would otherwise be detected as quotes of each other and dropped from the passages
    service = SearchService(make_settings(root / "data", quote_mode="keep"), embedder)
    report = service.rebuild([str(source)])
    assert report.posts == N + 1 and report.embedded <= len(BODIES) + 1
    yield service
    service.close()


@pytest.mark.parametrize("mode", MODES)
def test_unfiltered_the_needle_is_buried(big_service, mode):
    top = big_service.search(QUERY, 40, mode=mode)
    assert len(top) == 40 and all(r.post_id != "needle" for r in top)
    assert all(r.passage == BODIES[0] for r in top)  # 375 posts, by 47 members, match the query better


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("author", [NEEDLE_AUTHOR, "zoë ünal", "ZOË ÜNAL"])
def test_author_filter_finds_one_post_among_thousands(big_service, mode, author):
    results = big_service.search(QUERY, 10, author=author, mode=mode)
    assert [r.post_id for r in results] == ["needle"]
    assert results[0].rank == 1 and results[0].author == NEEDLE_AUTHOR


@pytest.mark.parametrize("mode", MODES)
def test_thread_filter_finds_one_post_among_thousands(big_service, mode):
    assert [r.post_id for r in big_service.search(QUERY, 10, thread=NEEDLE_THREAD, mode=mode)] == ["needle"]
    assert [r.post_id for r in big_service.search(QUERY, 10, thread="moped", mode=mode)] == ["needle"]


@pytest.mark.parametrize("mode", MODES)
def test_date_window_finds_one_post_among_thousands(big_service, mode):
    results = big_service.search(
        QUERY, 10, after=NEEDLE_AT - timedelta(minutes=3), before=NEEDLE_AT + timedelta(minutes=3), mode=mode
    )
    assert [r.post_id for r in results] == ["needle"]
    assert (
        big_service.search(
            QUERY, 10, after=NEEDLE_AT + timedelta(seconds=1), before=NEEDLE_AT + timedelta(minutes=3), mode=mode
        )
        == []
    )


@pytest.mark.parametrize("mode", MODES)
def test_combined_filters_among_thousands(big_service, mode):
    results = big_service.search(
        QUERY,
        10,
        author="zoë ünal",
        thread=NEEDLE_THREAD,
        after=NEEDLE_AT,
        before=NEEDLE_AT + timedelta(minutes=1),
        mode=mode,
    )
    assert [r.post_id for r in results] == ["needle"]
    assert big_service.search(QUERY, 10, author="member01", thread=NEEDLE_THREAD, mode=mode) == []


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_a_large_subset_is_ranked_within_itself(big_service, mode):
    """member00 wrote 64 posts (every 47th): the filtered ranking is theirs, best first, every one of them."""
    results = big_service.search(QUERY, 1000, author="MEMBER00", mode=mode)
    assert {r.author for r in results} == {"member00"} and results[0].passage == BODIES[0]
    # every one of their posts is there, copies of one text as one result listing the others
    assert len(results) == len({r.passage for r in results}) == len(BODIES)
    assert sum(1 + len(r.also_in) for r in results) == len(range(0, N, 47))
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


# --- ranking quality ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_rare_name_comes_first(sample_service, mode):
    top = sample_service.search("Ryutin platform", 5, mode=mode)[0]
    assert "Ryutin platform" in top.passage
    assert (top.author, top.posted_at) == ("Ismail", datetime(2009, 8, 17, 11, 46))


def test_hybrid_is_at_least_as_good_as_either_side_on_the_seed_queries(sample_service):
    queries = load_queries(SEED_QUERIES)
    mrr = {mode: evaluate(sample_service, queries, mode=mode).mrr_at_10 for mode in MODES}
    assert mrr["hybrid"] >= max(mrr["dense"], mrr["lexical"]), mrr
    assert mrr["hybrid"] >= 0.85
