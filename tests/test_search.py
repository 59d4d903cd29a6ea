"""SearchService on the sample thread: attributed results, quotes credited to their source."""

from __future__ import annotations

from datetime import datetime

import pytest

from embeddings.errors import NotFoundError, UsageError
from embeddings.ingest.vbulletin import parse_file
from embeddings.search.evaluate import evaluate, load_queries

from .conftest import SAMPLE_FILE, SEED_QUERIES


def test_results_are_attributed_one_per_post_best_first(sample_service):
    results = sample_service.search("Who brought up the Dewey Commission inquiry into the Moscow trials?", 5)
    assert len(results) == 5
    assert [r.rank for r in results] == [1, 2, 3, 4, 5]
    assert len({r.post_id for r in results}) == 5
    assert results == sorted(results, key=lambda r: -r.score)
    top = results[0]
    assert (top.author, top.posted_at) == ("Ismail", datetime(2009, 8, 17, 11, 46))
    assert top.thread_title == "On Socialist Methods & Stalin-Era Purges"
    assert (top.post_index, top.post_count) == (6, 11)
    body = parse_file(SAMPLE_FILE).posts[6].body
    assert body[top.passage_start : top.passage_end] == top.passage and "Dewey" in top.passage
    assert top.highlights and all(0 <= s < e <= len(top.passage) for s, e in top.highlights)


def test_rare_name_returns_the_post_containing_it(sample_service):
    top = sample_service.search("Ryutin platform", 3)[0]
    assert "Ryutin platform" in top.passage and top.author == "Ismail"


def test_limit_reaches_every_post_and_paging_is_consistent(sample_service):
    everything = sample_service.search("Stalin", 1000)
    assert len(everything) == 11  # one result per post, all of them
    page2 = sample_service.search("Stalin", 3, offset=3)
    assert [r.post_id for r in page2] == [r.post_id for r in everything[3:6]]
    assert [r.rank for r in page2] == [4, 5, 6]


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"query": "  "}, "empty"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "limit": 1001}, "limit"),
        ({"query": "x", "mode": "magic"}, "mode"),
        ({"query": "x", "after": datetime(2010, 1, 1), "before": datetime(2009, 1, 1)}, "after"),
    ],
)
def test_bad_requests_are_usage_errors(sample_service, kwargs, error):
    with pytest.raises(UsageError, match=error):
        sample_service.search(**kwargs)


def test_unknown_thread_is_not_found(sample_service):
    with pytest.raises(NotFoundError):
        sample_service.search("Stalin", thread="no such thread")


def test_seed_queries_meet_the_bar(sample_service):
    report = evaluate(sample_service, load_queries(SEED_QUERIES))
    assert report.queries == 12
    assert report.hit_at_1 >= 0.8 and report.mrr_at_10 >= 0.85


def test_quoted_text_is_credited_to_its_source(sample_service):
    # Led Zeppelin's post 9 consists mostly of two passages quoted from Andrei Kuznetsov
    results = sample_service.search("Trotsky's view that Russia could not advance without western Europe", 11)
    texts = [r.passage for r in results]
    top = results[0]
    assert top.author == "Andrei Kuznetsov" and top.posted_at == datetime(2009, 8, 15, 14, 32)
    assert "western Europe" in top.passage
    assert [q.author for q in top.quoted_by] == ["Led Zeppelin"]
    assert top.quoted_by[0].posted_at == datetime(2009, 8, 17, 14, 41)
    # no two results show the same text: the quoting post does not repeat the quoted passage
    assert not any("could not advance without western Europe" in t for t in texts[1:])


def test_post_view_marks_quoted_spans(sample_service):
    post = sample_service.post("On Socialist Methods & Stalin-Era Purges", 10)  # Die Neue Zeit
    assert post.author == "Die Neue Zeit"
    [span] = post.quoted_spans
    assert (span.source_author, span.source_posted_at) == ("Andrei Kuznetsov", datetime(2009, 8, 16, 0, 31))
    assert post.body[span.start : span.end].startswith("It is worth pointing out that Stalin himself was NOT")
    with pytest.raises(NotFoundError, match="posts 1 to 11"):
        sample_service.post(post.thread_id, 12)


def test_quotes_listing_is_exactly_the_four_relations(sample_service):
    pairs = [
        (q.quoting_author, q.quoting_posted_at.isoformat(), q.source_author, q.source_posted_at.isoformat())
        for q in sample_service.quotes()
    ]
    assert sorted(pairs) == sorted(
        [
            ("Led Zeppelin", "2009-08-15T16:35:00", "Andrei Kuznetsov", "2009-08-15T14:32:00"),
            ("Led Zeppelin", "2009-08-17T14:41:00", "Andrei Kuznetsov", "2009-08-15T14:32:00"),
            ("Led Zeppelin", "2009-08-17T14:41:00", "Andrei Kuznetsov", "2009-08-17T14:32:00"),
            ("Die Neue Zeit", "2009-08-18T01:50:00", "Andrei Kuznetsov", "2009-08-16T00:31:00"),
        ]
    )
    posts = {p.post_id: p for p in parse_file(SAMPLE_FILE).posts}
    for q in sample_service.quotes():
        assert posts[q.quoting_post_id].body[q.quoting_start : q.quoting_end] == q.text


def test_quote_trace_finds_original_and_quoters_from_misremembered_text(sample_service):
    # misremembered: words dropped and changed relative to Andrei Kuznetsov's original
    traces = sample_service.quote(
        "I dont think people like Trotsky or Bukharin were secret Nazi spymasters and foreign serving saboteurs"
    )
    top = traces[0]
    assert top.original.author == "Andrei Kuznetsov"
    assert top.original.posted_at == datetime(2009, 8, 15, 14, 32)
    assert "secret Nazi spy masters" in top.original.text and top.original.text in top.context
    assert [(q.author, q.posted_at) for q in top.quoted_by] == [("Led Zeppelin", datetime(2009, 8, 15, 16, 35))]
    assert "secret Nazi spy masters" in top.quoted_by[0].text


def test_quote_trace_lists_quoters_in_date_order(sample_service):
    traces = sample_service.quote(
        "Oh, Bukharin, Trotsky, Zinoviev, and other capitalist roaders were certainly connected"
    )
    top = traces[0]
    assert (top.original.author, top.original.posted_at) == ("Andrei Kuznetsov", datetime(2009, 8, 17, 14, 32))
    assert [q.author for q in top.quoted_by] == ["Led Zeppelin"]


def test_quote_trace_needs_a_few_words(sample_service):
    with pytest.raises(UsageError):
        sample_service.quote("Stalin")


def test_threads_and_autocomplete(sample_service):
    [t] = sample_service.threads()
    assert (t.post_count, t.first_posted_at, t.last_posted_at) == (
        11,
        datetime(2009, 8, 15, 14, 32),
        datetime(2009, 9, 26, 9, 22),
    )
    assert sample_service.complete_threads("stalin-era")[0].thread_id == t.thread_id
    assert sample_service.authors("zep") == ["Led Zeppelin"]
    assert sample_service.authors("")[0] == "Andrei Kuznetsov"  # most posts first
    assert len(sample_service.authors("", limit=3)) == 3


def test_warm_up_reports_what_is_served(sample_service, fresh_service):
    assert sample_service.warm_up().startswith("serving 11 posts of 1 threads")
    assert "threadbot index" in fresh_service().warm_up()  # no index yet: said, not raised


def test_quote_trace_widening_is_bounded_on_an_endless_sentence():
    from embeddings.quotes.trace import MAX_WIDEN, to_sentences

    body = "word " * 40000  # 200,000 characters, no sentence boundary
    start, end = to_sentences(body, 100000, 100050)
    assert 100000 - MAX_WIDEN <= start <= 100000 and 100050 <= end <= 100050 + MAX_WIDEN
