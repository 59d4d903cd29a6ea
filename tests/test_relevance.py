"""No filler: the relevance floor marks the good matches, and copies of one text collapse into one result."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.config import ConfigError, load_settings
from embeddings.search.duplicates import NEAR_IDENTICAL, collapse, words
from embeddings.search.floor import RELEVANCE_FLOOR
from tests.conftest import COPIES, run_cli

QUESTION = "Were the purges aimed at real counter-revolutionary networks?"
OFF_TOPIC = "how do I bake sourdough bread at home"  # the sample thread is about Stalin-era purges
LOAN = "will the bank make me repay my personal loan if my company terminates me"


# --- the floor ----------------------------------------------------------------------------------
def test_the_good_matches_are_the_leading_results_at_or_above_the_floor(sample_service):
    results = sample_service.search(QUESTION, 11)
    good = [r.good for r in results]
    assert good == [r.score >= RELEVANCE_FLOOR for r in results]
    assert 0 < sum(good) < len(results)  # some of the thread answers it, the rest only mentions the purges
    assert good == sorted(good, reverse=True)  # good ones first: "only 5 good matches" are the first five


def test_a_question_the_archive_does_not_answer_has_no_good_match(sample_service):
    results = sample_service.search(OFF_TOPIC, 11)
    assert len(results) == 11 and not any(r.good for r in results)


def test_a_name_query_with_a_low_cosine_is_still_a_good_match(sample_service):
    top = sample_service.search("Ryutin platform", 3)[0]
    assert "Ryutin" in top.passage and top.good  # the lift of its rare words carries it over the floor


def test_lexical_scores_have_no_floor_and_a_floor_of_zero_turns_it_off(sample_service, unfloored_sample):
    assert all(r.good for r in sample_service.search(OFF_TOPIC, 11, mode="lexical"))
    assert all(r.good for r in unfloored_sample.search(OFF_TOPIC, 11))
    assert [r.post_id for r in unfloored_sample.search(OFF_TOPIC, 11)] == [
        r.post_id for r in sample_service.search(OFF_TOPIC, 11)
    ]  # the floor marks results, it never reorders or drops them


def test_the_floor_is_a_setting_with_the_calibrated_default():
    assert load_settings(environ={}).relevance_floor == RELEVANCE_FLOOR
    assert load_settings(environ={"THREADBOT_RELEVANCE_FLOOR": "0.5"}).relevance_floor == 0.5
    with pytest.raises(ConfigError, match="relevance_floor must be between 0 and 1"):
        load_settings(environ={"THREADBOT_RELEVANCE_FLOOR": "1.5"})


# --- copies -------------------------------------------------------------------------------------
def test_copies_in_duplicated_threads_are_one_result_naming_the_others(copies_service):
    rows = [json.loads(line) for line in COPIES.read_text(encoding="utf-8").splitlines()]
    results = copies_service.search(LOAN, 10)
    # 10 posts, 4 texts: the loan question and its answer three times each, the car question and answer twice
    assert len(results) == 4 and len({words(r.passage) for r in results}) == 4
    answer = next(r for r in results if r.passage.startswith("Fact : If your company terminates you"))
    copies = [r for r in rows if r["body"] == rows[1]["body"]]
    assert {answer.thread_id, *(c.thread_id for c in answer.also_in)} == {r["thread_id"] for r in copies}
    assert len(answer.also_in) == 2 and all(c.post_index == 1 for c in answer.also_in)
    assert {c.thread_title for c in answer.also_in} == {"PERSONAL LOAN AND WORK TERMINATION"}
    assert [r.rank for r in results] == [1, 2, 3, 4]


def test_pages_of_collapsed_results_agree(copies_service):
    whole = copies_service.search(LOAN, 4)
    pages = [copies_service.search(LOAN, 1, offset=n) for n in range(4)]
    assert [p[0].post_id for p in pages] == [r.post_id for r in whole]
    assert [p[0].rank for p in pages] == [1, 2, 3, 4]
    assert copies_service.search(LOAN, 2, offset=3)[0].post_id == whole[3].post_id  # past the end: what is left


def test_the_cli_says_where_the_good_matches_end_and_json_carries_the_flags(data_dir, capsys):
    code, out, _ = run_cli(capsys, "--data-dir", data_dir, "search", QUESTION, "--limit", "11", "--json")
    results = json.loads(out)
    assert code == 0 and all(isinstance(r["good"], bool) and r["also_in"] == [] for r in results)
    good = sum(r["good"] for r in results)
    assert 0 < good < 11
    code, text, _ = run_cli(capsys, "--data-dir", data_dir, "search", QUESTION, "--limit", "11")
    before, after = text.split(f"Only {good} good matches; weaker matches:\n\n")
    assert before.count("\n\n") == good and after.startswith(f"{good + 1}. ")
    code, text, _ = run_cli(capsys, "--data-dir", data_dir, "search", QUESTION, "--offset", "8", "-n", "2")
    assert text.startswith("Weaker matches (below the relevance floor):\n\n9. ")
    code, text, _ = run_cli(capsys, "--data-dir", data_dir, "search", OFF_TOPIC, "-n", "2")
    assert text.startswith("No good matches; the closest posts are weaker matches:\n\n1. ")


def test_the_cli_lists_where_else_a_text_was_posted(copies_service, capsys):
    data = copies_service.settings.data_dir
    code, text, _ = run_cli(capsys, "--data-dir", data, "search", LOAN, "-n", "4")
    assert code == 0 and text.count("also in: PERSONAL LOAN AND WORK TERMINATION (post 2)") == 1
    assert "also in: what's the cheapest brand new car (post 2)" in text


# --- collapse(), on any input -----------------------------------------------------------------------
TEXT = st.text(alphabet=string.ascii_letters + " .,;!\n\t", max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, max_size=25))
def test_every_text_is_kept_or_a_copy_of_an_earlier_kept_one(texts):
    kept = collapse(texts)
    firsts = [i for i, _ in kept]
    assert firsts == sorted(firsts)
    assert sorted(firsts + [j for _, later in kept for j in later]) == list(range(len(texts)))
    assert all(i < j for i, later in kept for j in later)
    assert len({words(texts[i]) for i in firsts}) == len(firsts)  # no two kept texts are equal as words


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, max_size=25), st.integers(0, 25))
def test_collapsing_a_prefix_gives_the_prefix_of_the_collapse(texts, cut):
    """Pages are cut from one collapse: a longer list never changes what a shorter one kept."""
    short = collapse(texts[:cut])
    assert [i for i, _ in short] == [i for i, _ in collapse(texts)][: len(short)]


@given(st.lists(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8), min_size=1, max_size=40))
def test_case_spacing_and_punctuation_do_not_make_two_texts(tokens):
    plain = " ".join(tokens)
    shouted = "  ".join(t.upper() + ("," if n % 3 else "") for n, t in enumerate(tokens)) + "!"
    assert collapse([plain, shouted, "an entirely different text"]) == [(0, [1]), (2, [])]


def test_one_word_changed_in_a_long_text_collapses_and_a_shared_signature_does_not():
    body = " ".join(f"word{n}" for n in range(120))
    edited = body.replace("word60", "changed")
    signature = " ".join(f"sig{n}" for n in range(60))
    one = "I asked the embassy and they said a week. " + signature
    other = "Try the ministry on Tuesday instead, it is quicker. " + signature
    assert collapse([body, edited]) == [(0, [1])]  # 3 of 118 shingles differ: Jaccard 0.95
    assert collapse([one, other]) == [(0, []), (1, [])]  # the SemEval kind: most words shared, still two replies
    assert NEAR_IDENTICAL == 0.9


def test_the_same_words_by_two_members_are_two_answers_but_one_members_copies_are_one():
    thanks = ["Thanks, that worked.", "thanks -- that worked", "Thanks, that worked."]
    assert collapse(thanks, ["Ann Lee", "Bob", "ann  LEE"]) == [(0, [2]), (1, [])]
