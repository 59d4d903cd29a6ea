"""An index that scales, on the sample thread with the real model, FAISS and SQLite: the approximate vector index
above `ann_threshold` (recorded in the manifest), passages numbered in date order, filters as stored id sets,
keyword ranking from stored postings equal to FTS5's own, the same answers from an index made before these
existed, and the paging cap."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime

import pytest

from embeddings.config import load_settings
from embeddings.errors import ConfigError, UsageError
from embeddings.index.datadir import DB_FILE, DataDir
from embeddings.models import Filters
from embeddings.search import pages
from embeddings.search.ranking import term_coverage
from embeddings.search.terms import fts_query, query_terms
from embeddings.service import SearchService
from embeddings.vectors.ann import IVFIndex

from .conftest import SAMPLE_DIR, SEED_QUERIES, make_settings

QUESTIONS = [
    "Who brought up the Dewey Commission inquiry into the Moscow trials?",
    "Stalin purges",
    "what did Trotsky think about the party",
    "Ryutin platform",
    "running runs ran the purges of the party's cadres",  # two words, one porter stem
    "socialist_methods stalin_era",  # FTS5 reads each as a two-word phrase
    "Zoë naïve café",  # diacritics removed by the tokenizer
    "the of and",  # stopwords only: kept
    "xyzzy plugh",  # in no passage
] + [json.loads(line)["query"] for line in SEED_QUERIES.read_text().splitlines() if line.strip()]
FILTERS = [
    Filters(),
    Filters(author="led zeppelin"),
    Filters(after=datetime(2009, 8, 16), before=datetime(2009, 8, 18)),
    Filters(author="Andrei Kuznetsov", after=datetime(2009, 8, 15, 16, 45)),
]


@pytest.fixture(scope="module")
def index(sample_service):
    return sample_service._current()


def test_below_the_threshold_the_index_is_exact_and_recorded(index):
    assert index.manifest["vectors"] == {"kind": "exact", "threshold": 100_000}
    assert index.vectors.kind == "exact"


def test_above_the_threshold_the_index_is_approximate_and_recorded(fresh_service, sample_service):
    service = fresh_service(ann_threshold=64)  # the sample's 114 passages are above it
    service.rebuild([str(SAMPLE_DIR)])
    index = service._current()
    recorded = index.manifest["vectors"]
    assert recorded["kind"] == "ivf" and recorded["threshold"] == 64 and recorded["codes"] == "SQ8"
    assert 1 <= recorded["nprobe"] <= recorded["nlist"] and recorded["recall_at_10"] >= recorded["recall_target"]
    assert isinstance(index.vectors, IVFIndex) and index.vectors.nprobe == recorded["nprobe"]  # saved in the file
    assert service.check().ok
    assert "Ryutin platform" in service.search("Ryutin platform", 3, mode="hybrid")[0].passage
    for mode in ("dense", "hybrid"):
        filtered = service.search("Stalin", 100, author="Led Zeppelin", mode=mode)
        assert sorted(r.post_index for r in filtered) == [1, 3, 8]  # a small subset: every allowed post
    found = 0
    for question in QUESTIONS:  # the approximate dense top 5 against the exact one
        exact = {r.post_id for r in sample_service.search(question, 5, mode="dense")}
        found += len(exact & {r.post_id for r in service.search(question, 5, mode="dense")})
    assert found >= 0.9 * 5 * len(QUESTIONS)


@pytest.mark.parametrize("value", [10, "lots", 3_000_000_000])
def test_a_bad_ann_threshold_is_a_config_error(tmp_path, value):
    with pytest.raises(ConfigError, match="ann_threshold"):
        load_settings(overrides={"data_dir": str(tmp_path), "ann_threshold": value}, environ={})


def test_ann_threshold_is_read_from_the_config_file(tmp_path):
    (tmp_path / "t.toml").write_text("ann_threshold = 250000\n")
    assert load_settings(tmp_path / "t.toml", environ={}).ann_threshold == 250_000


def test_passages_are_numbered_in_date_order_and_a_date_window_is_a_range(index):
    passages = index.store.passages_by_ids(index.vectors.ids().tolist())
    posts = index.store.posts_by_ids([p["post_id"] for p in passages.values()])
    dates = [posts[passages[i]["post_id"]]["posted_at"] for i in sorted(passages)]
    assert dates == sorted(dates)
    window = index.layout.allowed(Filters(after=datetime(2009, 8, 16), before=datetime(2009, 8, 18)))
    assert window.is_range and len(window) > 0


@pytest.mark.parametrize("filters", FILTERS[1:] + [Filters(author="LED ZEPPELIN"), Filters(author="nobody")])
def test_filters_allow_what_the_sql_filters_allow(index, filters):
    assert index.layout.allowed(filters).to_array().tolist() == sorted(
        index.store.passage_ids_allowed(filters).tolist()
    )


def test_every_author_and_thread_set_equals_the_sql_filter(index):
    for author in index.store.authors_matching("", 100):
        for name in (author, author.upper(), f"  {author.lower()} "):
            expected = sorted(index.store.passage_ids_allowed(Filters(author=name)).tolist())
            assert index.layout.allowed(Filters(author=name)).to_array().tolist() == expected, name
    for thread in index.store.threads():
        expected = sorted(index.store.passage_ids_allowed(Filters(thread_id=thread.thread_id)).tolist())
        assert index.layout.allowed(Filters(thread_id=thread.thread_id)).to_array().tolist() == expected


@pytest.mark.parametrize("filters", FILTERS)
def test_keyword_ranking_equals_fts5(index, filters):
    allowed = index.layout.allowed(filters)
    for question in QUESTIONS:
        fts5 = index.store.keyword_ranking(fts_query(question), filters, 400)
        assert index.lexicon.rank(question, 400, allowed) == fts5, question  # same ids, order and scores
        assert index.lexicon.rank(question, 3, allowed) == fts5[:3]


def test_term_coverage_equals_the_fts5_counts(index):
    legacy = type(index)(index.path, index.manifest, index.store, index.vectors)  # no layout, no lexicon
    candidates = index.vectors.ids().tolist()
    for question in QUESTIONS:
        assert term_coverage(index, question, candidates) == term_coverage(legacy, question, candidates), question


def test_an_index_made_before_layouts_answers_the_same(sample_service, tmp_path, embedder):
    data = DataDir(sample_service.settings.data_dir)
    copy = tmp_path / "old"
    shutil.copytree(data.root, copy, ignore=shutil.ignore_patterns("*.lock"))
    db = sqlite3.connect(DataDir(copy).current_path() / DB_FILE)
    for table in ("passage_sets", "passage_columns", "postings"):
        db.execute(f"DROP TABLE {table}")
    db.commit()
    db.close()
    old = SearchService(make_settings(copy), embedder)
    try:
        assert old._current().lexicon is None and old._current().layout is None
        for mode in ("lexical", "hybrid", "dense"):
            for f in FILTERS:
                kwargs = {"author": f.author, "after": f.after, "before": f.before, "mode": mode}
                for question in QUESTIONS[:6]:
                    new = [(r.post_id, r.score) for r in sample_service.search(question, 8, **kwargs)]
                    assert [(r.post_id, r.score) for r in old.search(question, 8, **kwargs)] == new
    finally:
        old.close()


def test_an_offset_at_the_cap_is_refused(sample_service):
    with pytest.raises(UsageError, match=f"between 0 and {pages.MAX_RESULTS - 1}"):
        sample_service.search("Stalin", 5, offset=pages.MAX_RESULTS)
    assert sample_service.search("Stalin", 5, offset=pages.MAX_RESULTS - 1) == []  # 11 posts: past the end


def test_results_stop_at_the_cap_and_deep_pages_rank_at_most_max_depth(sample_service, monkeypatch):
    whole = [r.post_id for r in sample_service.search("Stalin and Trotsky", 11, mode="dense")]
    assert len(whole) == 11
    depths = []
    rank = pages.rank_passages
    monkeypatch.setattr(pages, "rank_passages", lambda *a, **kw: depths.append(a[3]) or rank(*a, **kw))
    monkeypatch.setattr(pages, "MAX_RESULTS", 6)
    monkeypatch.setattr(pages, "SEARCH_DEPTH", 2)
    monkeypatch.setattr(pages, "MAX_DEPTH", 32)
    capped = sample_service.search("Stalin and Trotsky", 10, mode="dense")
    assert [r.post_id for r in capped] == whole[:6]
    last = sample_service.search("Stalin and Trotsky", 5, offset=4, mode="dense")
    assert [(r.post_id, r.rank) for r in last] == [(whole[4], 5), (whole[5], 6)]  # cut at the 6th post
    with pytest.raises(UsageError, match="between 0 and 5"):
        sample_service.search("Stalin and Trotsky", 5, offset=6, mode="dense")
    assert depths and max(depths) <= 32 and depths[0] == 2  # widened x4 from 2, never past MAX_DEPTH


def test_a_question_reads_at_most_max_postings(index, monkeypatch):
    """Past the bound, the commonest terms are left out: the ranking is FTS5's for the rarest terms that fit."""
    from embeddings.index import lexicon

    question = "stalin trotsky party purges the platform"
    words = query_terms(question)
    df = {w: index.store.term_frequency(f'"{w}"') for w in words}
    budget = sorted(df.values())[2] + sorted(df.values())[0] + sorted(df.values())[1]  # the three rarest
    monkeypatch.setattr(lexicon, "MAX_POSTINGS", budget)
    kept = [w for w in words if w in sorted(words, key=lambda w: (df[w], w))[:3]]
    assert index.lexicon.rank(question, 400) == index.store.keyword_ranking(fts_query(" ".join(kept)), Filters(), 400)
    assert len(index.lexicon.terms(question)) == 3
    monkeypatch.setattr(lexicon, "MAX_POSTINGS", 10**9)
    assert index.lexicon.rank(question, 400) == index.store.keyword_ranking(fts_query(question), Filters(), 400)


def test_the_query_tokenizer_answers_terms_it_knew_when_its_memory_fills(monkeypatch):
    """Past KEEP remembered terms it starts afresh, and a question mixing known and new terms still gets every
    term's tokens (it used to drop the known ones while adding the new: a KeyError at a million passages)."""
    from embeddings.index.lexicon import QueryTokenizer

    monkeypatch.setattr(QueryTokenizer, "KEEP", 3)
    tokenizer = QueryTokenizer()
    assert tokenizer.tokens(["a", "b", "c", "d"]) == [("a",), ("b",), ("c",), ("d",)]
    assert tokenizer.tokens(["a", "running", "e"]) == [("a",), ("run",), ("e",)]
    assert tokenizer.tokens(["b", "a"]) == [("b",), ("a",)]
