"""Quote detection: behaviour on the sample thread and on small synthetic threads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from embeddings.ingest.vbulletin import parse_file
from embeddings.models import Post
from embeddings.passages import own_spans
from embeddings.quotes.detector import detect_quotes
from embeddings.quotes.evaluate import evaluate_quotes
from embeddings.quotes.text import tokenize

SAMPLE = (
    Path(__file__).resolve().parent.parent / "samples" / "vbulletin" / "on-socialist-methods-and-stalin-era-purges.txt"
)
T0 = datetime(2020, 1, 1, 12, 0)

ALICE = (
    "The carburettor on my split screen keeps flooding whenever the engine gets properly hot "
    "on long motorway runs in the summer."
)
BOB = (
    "Have you checked the float height and the needle valve, because a sticking needle valve "
    "is the usual cause of that kind of flooding."
)
CAROL = "Replacing the fuel pump with a low pressure electric one solved exactly this problem for me last year."


def thread(*bodies_and_authors, thread_id="t1", start=T0):
    """Posts of one thread from (author, body) pairs, one hour apart."""
    return [
        Post(
            post_id=f"{thread_id}-{i}",
            thread_id=thread_id,
            post_index=i,
            author=a,
            posted_at=start + timedelta(hours=i),
            body=b,
            source=f"{thread_id}.txt",
            line=1 + 10 * i,
        )
        for i, (a, b) in enumerate(bodies_and_authors)
    ]


def pairs(relations):
    return sorted((r.quoting_post_index, r.source_author) for r in relations)


def check_offsets(posts, relations):
    by_id = {p.post_id: p for p in posts}
    for r in relations:
        quoting, source = by_id[r.quoting_post_id], by_id[r.source_post_id]
        assert quoting.body[r.quoting_start : r.quoting_end] == r.text
        q_words = [w for w, _, _ in tokenize(r.text)]
        s_words = [w for w, _, _ in tokenize(source.body[r.source_start : r.source_end])]
        shared = len(set(q_words) & set(s_words))
        assert shared >= 0.8 * len(set(q_words)), (r.text, source.body[r.source_start : r.source_end])


# -- the sample thread --------------------------------------------------------------------------------
def test_sample_thread_relations_are_exact():
    posts = parse_file(SAMPLE).posts
    rels = detect_quotes(posts)
    got = sorted((r.quoting_author, r.quoting_posted_at, r.source_author, r.source_posted_at) for r in rels)
    assert got == sorted(
        [
            ("Led Zeppelin", datetime(2009, 8, 15, 16, 35), "Andrei Kuznetsov", datetime(2009, 8, 15, 14, 32)),
            ("Led Zeppelin", datetime(2009, 8, 17, 14, 41), "Andrei Kuznetsov", datetime(2009, 8, 15, 14, 32)),
            ("Led Zeppelin", datetime(2009, 8, 17, 14, 41), "Andrei Kuznetsov", datetime(2009, 8, 17, 14, 32)),
            ("Die Neue Zeit", datetime(2009, 8, 18, 1, 50), "Andrei Kuznetsov", datetime(2009, 8, 16, 0, 31)),
        ]
    )
    check_offsets(posts, rels)
    first = next(r for r in rels if r.quoting_posted_at == datetime(2009, 8, 15, 16, 35))
    assert first.text.startswith("I don’t think people like Trotsky")
    assert first.text.endswith("disdain for evidence and logic).")
    assert all(r.source_thread_id == r.thread_id for r in rels)


# -- synthetic cases ----------------------------------------------------------------------------------
def test_post_quoting_several_posts():
    posts = thread(
        ("alice", ALICE), ("bob", BOB), ("carol", f"{ALICE}\n\nSounds like fuel.\n\n{BOB}\n\nAgreed with that.")
    )
    rels = [r for r in detect_quotes(posts) if r.quoting_post_index == 2]
    assert pairs(rels) == [(2, "alice"), (2, "bob")]
    assert [r.text for r in rels] == [ALICE, BOB]  # in body order
    check_offsets(posts, rels)


def test_chain_credits_original_words_to_first_author():
    own_b = "I had the same trouble and a new float fixed it within the hour."
    posts = thread(("alice", ALICE), ("bob", f"{ALICE}\n\n{own_b}"), ("carol", f"{ALICE}\n\n{own_b}\n\nThanks both."))
    rels = detect_quotes(posts)
    assert pairs(rels) == [(1, "alice"), (2, "alice"), (2, "bob")]
    c_from_a, c_from_b = sorted((r for r in rels if r.quoting_post_index == 2), key=lambda r: r.quoting_start)
    assert c_from_a.source_post_index == 0 and c_from_a.text == ALICE
    assert c_from_a.source_start == 0 and c_from_a.source_end == len(ALICE)
    assert c_from_b.source_post_index == 1 and c_from_b.text == own_b
    check_offsets(posts, rels)


def test_author_repeating_own_earlier_words():
    posts = thread(("alice", ALICE), ("bob", BOB), ("alice", f"{ALICE}\n\nStill happening, any more ideas?"))
    rels = detect_quotes(posts)
    assert pairs(rels) == [(2, "alice")]
    assert rels[0].source_post_index == 0


def test_double_post_is_not_a_quote():
    posts = thread(("alice", ALICE), ("alice", ALICE))
    assert detect_quotes(posts) == []


def test_text_quoted_by_many_posts_keeps_first_appearance_as_source():
    posts = thread(("alice", ALICE), *[(f"user{i}", f"{ALICE}\n\nReply number {i} here.") for i in range(5)])
    rels = detect_quotes(posts)
    assert pairs(rels) == [(i, "alice") for i in range(1, 6)]
    assert {r.source_post_index for r in rels} == {0}


def test_near_verbatim_quote_with_case_smilies_and_small_edits():
    edited = (
        "the carburettor on my SPLIT SCREEN keeps flooding :roll: whenever the engine gets really hot\n"
        "on long motorway runs in summer :)"
    )
    posts = thread(("alice", ALICE), ("bob", f"{edited}\n\nCheck the float first."))
    rels = detect_quotes(posts)
    assert pairs(rels) == [(1, "alice")]
    r = rels[0]
    assert r.quoting_start == 0 and r.text.startswith("the carburettor") and "in summer" in r.text
    assert r.source_start == 0 and ALICE[r.source_start : r.source_end].endswith("in the summer.")
    check_offsets(posts, rels)


def test_cross_thread_source():
    first = thread(("alice", ALICE), thread_id="ta")
    second = thread(
        ("bob", BOB),
        ("carol", f"{ALICE}\n\nSomeone asked this in another thread."),
        thread_id="tb",
        start=T0 + timedelta(days=1),
    )
    rels = detect_quotes(second + first)  # input order does not matter, time does
    assert pairs(rels) == [(1, "alice")]
    assert rels[0].thread_id == "tb" and rels[0].source_thread_id == "ta"


def test_same_thread_source_names_its_own_thread():
    rels = detect_quotes(thread(("alice", ALICE), ("bob", f"{ALICE}\n\nYes.")))
    assert rels[0].source_thread_id == rels[0].thread_id == "t1"


def test_marker_accepts_a_shorter_quote_and_names_the_source():
    long_post = f"{CAROL}\nCheck the fuel pressure.\n{BOB}"
    marked = thread(("alice", long_post), ("bob", "alice wrote:\n\nCheck the fuel pressure.\n\nWill do."))
    unmarked = thread(("alice", long_post), ("bob", "Check the fuel pressure.\n\nWill do."))
    assert pairs(detect_quotes(marked)) == [(1, "alice")]
    assert detect_quotes(unmarked) == []  # 4 words, no marker: too short
    quote_lines = thread(("alice", long_post), ("bob", "> Check the\n> fuel pressure.\n\nWill do."))
    assert pairs(detect_quotes(quote_lines)) == [(1, "alice")]


def test_below_min_words_not_reported():
    source = f"{CAROL}\nCheck the float height first.\n{BOB}"  # a 5-word line inside a longer post
    posts = thread(("alice", source), ("bob", "Check the float height first.\n\nDone that already."))
    assert detect_quotes(posts) == []
    assert pairs(detect_quotes(posts, min_words=4)) == [(1, "alice")]


def test_short_whole_post_reply_quote():
    posts = thread(
        ("alice", "Looking really good mate"), ("bob", "Looking really good mate\n\nThanks, nearly done now.")
    )
    assert pairs(detect_quotes(posts)) == [(1, "alice")]


def test_shared_phrase_inside_sentences_is_not_a_quote():
    posts = thread(
        ("alice", "Yesterday I went to the shop on the corner of the road to buy a new set of plugs."),
        ("bob", "My brother went to the shop on the corner of the road to buy milk, typical."),
    )
    assert detect_quotes(posts) == []


def test_own_spans_is_the_complement_of_quoted_spans():
    posts = thread(("alice", ALICE), ("bob", f"Well:\n{ALICE}\nTry this."))
    rels = detect_quotes(posts)
    body = posts[1].body
    assert own_spans(len(body), rels) == [(0, rels[0].quoting_start), (rels[0].quoting_end, len(body))]
    assert [body[s:e] for s, e in own_spans(len(body), rels)] == ["Well:\n", "\nTry this."]
    assert own_spans(10, []) == [(0, 10)]


# -- evaluation ---------------------------------------------------------------------------------------
def _archive(posts):
    lines = ["View Full Version : Test thread", ""]
    for author, when, body in posts:
        lines += [author, when.strftime("%d-%b-%Y, %H:%M"), body, ""]
    return "\n".join(lines)


def _eval_dirs(tmp_path):
    """A one-thread archive and its truth: one true positive, one false positive, one miss, two excluded."""
    posts = [
        ("alice", T0, ALICE),
        ("bob", T0 + timedelta(hours=1), BOB),
        ("carol", T0 + timedelta(hours=2), f"{ALICE}\n\nGood point."),  # tp
        ("dave", T0 + timedelta(hours=3), f"{BOB}\n\nAlso this."),  # fp: truth says no quote
        ("erin", T0 + timedelta(hours=4), "I read somewhere else that it is the pump."),  # fn
        ("fred", T0 + timedelta(hours=5), "Somebody elsewhere said so."),
    ]  # excluded: not in archive
    (tmp_path / "threads").mkdir()
    (tmp_path / "truth").mkdir()
    (tmp_path / "threads" / "x.txt").write_text(_archive(posts), encoding="utf-8")
    quotes = {
        2: [{"quoted_author": "Alice", "text": ALICE}],
        4: [{"quoted_author": "bob", "text": "pump"}],
        5: [{"quoted_author": "stranger", "text": "so"}, {"quoted_author": None, "text": "so"}],
    }
    truth = {
        "posts": [
            {"index": i, "author": a, "body": b, "quotes": quotes.get(i, [])} for i, (a, _, b) in enumerate(posts)
        ]
    }
    (tmp_path / "truth" / "x.json").write_text(json.dumps(truth), encoding="utf-8")
    return tmp_path / "threads", tmp_path / "truth"


def test_evaluate_quotes_counts_pairs(tmp_path):
    report = evaluate_quotes(*_eval_dirs(tmp_path))
    assert (report.tp, report.fp, report.fn, report.excluded) == (1, 1, 1, 2)
    assert report.precision == pytest.approx(0.5) and report.recall == pytest.approx(0.5)
    ev = report.per_thread[0]
    assert [(e.post_index, e.source_author) for e in ev.false_positives] == [(3, "bob")]
    assert [(e.post_index, e.source_author) for e in ev.misses] == [(4, "bob")]
    assert ev.problems == []


def test_eval_quotes_json_carries_the_scores(tmp_path, capsys):
    from threadbot.cli import main

    threads, truth = _eval_dirs(tmp_path)
    assert main(["eval-quotes", str(threads), str(truth), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["tp"], report["fp"], report["fn"]) == (1, 1, 1)
    assert report["precision"] == pytest.approx(0.5) and report["recall"] == pytest.approx(0.5)
    assert report["f1"] == pytest.approx(0.5)


# -- edits, reordering, stray words, many markers, re-posts ---------------------------------------------
CARB = "The carburettor on the 1600 twin port needs a full rebuild every ten years or it starts to flood badly."
DISAGREE = "I disagree, mine went twenty years without any trouble at all on the original jets."


def test_paragraphs_quoted_in_another_order_than_in_the_source():
    # Bob quotes Alice, then adds his own words; Carol quotes Bob's own words first, then Alice's; Dan quotes
    # Carol's copy of Bob's words: the source is Bob, not Carol
    posts = thread(("Alice", f"{CARB}\n\nAlso check the fuel pump."), ("Bob", f"{CARB}\n\n{DISAGREE}")) + thread(
        ("Carol", f"{DISAGREE}\n\n{CARB}"), ("Dan", DISAGREE), thread_id="t2", start=T0 + timedelta(days=30)
    )
    rels = detect_quotes(posts)
    got = sorted((r.quoting_author, r.source_author, r.text) for r in rels)
    assert got == [
        ("Bob", "Alice", CARB),
        ("Carol", "Alice", CARB),
        ("Carol", "Bob", DISAGREE),
        ("Dan", "Bob", DISAGREE),
    ]
    check_offsets(posts, rels)


def test_quote_does_not_swallow_a_stray_matching_word_of_the_quoters_own_text():
    src = "The nasty bus won't come after you, it is parked up for winter now\n\nHorrid and no point to it at all"
    rels = detect_quotes(thread(("A", src), ("B", src.split("\n\n")[0] + "\n\nI think someone lied to me")))
    assert [r.text for r in rels] == ["The nasty bus won't come after you, it is parked up for winter now"]


def test_many_quote_marker_lines_take_linear_time():
    import time

    for lines in (
        "\n".join(f"> line {i} of quoted stuff" for i in range(8000)),
        "\n".join(f"John wrote:\nline {i} of stuff" for i in range(8000)),
    ):
        posts = thread(("a", "hello world"), ("b", lines))
        t0 = time.perf_counter()
        assert detect_quotes(posts) == []
        assert time.perf_counter() - t0 < 3  # a scan of every word per marker takes 10 s or more


def test_repost_through_an_intermediate_copy_is_not_a_quote():
    # Alice's post is copied whole into another thread by Bob; Alice then re-posts the same words there
    # (author names differing in case): she does not quote herself (or Bob)
    posts = thread(("Alice", ALICE), thread_id="ta") + thread(
        ("Bob", ALICE), ("alice", ALICE), thread_id="tb", start=T0 + timedelta(days=1)
    )
    assert sorted((r.quoting_author, r.source_author) for r in detect_quotes(posts)) == [("Bob", "Alice")]
    posts = thread(("Alice", ALICE), ("ALICE", ALICE))
    assert detect_quotes(posts) == []


def test_quote_span_takes_in_wordless_text_that_belongs_to_it():
    sig = "\u2026.please leave the field as you find it\n:compress:\n:cheers:\n:compress:"
    src = f"I'll look into making some privy holes at the AGM.\n\n{sig}"
    q = f"{src}\n\nOr perhaps a little more fertile ....\n:D"
    posts = thread(("maddison", src), ("BJ1", q))
    rels = detect_quotes(posts)
    assert [r.text for r in rels] == [src]
    assert (rels[0].source_start, rels[0].source_end) == (0, len(src))
    check_offsets(posts, rels)
    # a smiley line the quoter added after the quote is the quoter's own
    posts = thread(("maddison", ALICE), ("BJ1", f"{ALICE}\n:D\n\nFair enough."))
    assert [r.text for r in detect_quotes(posts)] == [ALICE]
    # leading punctuation on the quote's first line
    posts = thread(("maddison", f"... {ALICE}"), ("BJ1", f"Hm.\n\n... {ALICE}\n\nFair enough."))
    assert [r.text for r in detect_quotes(posts)] == [f"... {ALICE}"]


def test_text_excluded_from_indexing_is_never_a_quote():
    """A mailing list's footer is in every message: it is excluded from passages, and never credited as a quote."""
    from dataclasses import replace

    footer = (
        "______________________________________________\n"
        "R-package-devel@r-project.org mailing list\n"
        "https://stat.ethz.ch/mailman/listinfo/r-package-devel"
    )

    def with_footer(posts):
        out = []
        for p in posts:
            body = f"{p.body}\n\n{footer}"
            out.append(replace(p, body=body, excluded=((len(p.body) + 2, len(body)),)))
        return out

    posts = with_footer(thread(("alice", CARB), thread_id="a")) + with_footer(
        thread(("bob", DISAGREE), thread_id="b", start=T0 + timedelta(days=1))
    )
    assert detect_quotes(posts) == []
    # a real quote next to the footer is still found
    quoting = with_footer(thread(("carol", f"{CARB}\n\nAgreed."), thread_id="c", start=T0 + timedelta(days=2)))
    rels = detect_quotes(posts + quoting)
    assert [(r.quoting_author, r.source_author, r.text) for r in rels] == [("carol", "alice", CARB)]


def test_a_short_stretch_shared_across_threads_is_no_quote_but_within_a_thread_it_is():
    line = "* checking package dependencies ... OK and then it stopped"  # 9 words: a log line both pasted
    posts = thread(("Alice", f"My log says:\n{line}\nAny idea?"), ("Bob", f"{line}\nSame here, odd.")) + thread(
        ("Carol", f"Mine too:\n{line}\nIs the builder down?"), thread_id="t2", start=T0 + timedelta(days=3)
    )
    got = sorted((r.quoting_author, r.source_author) for r in detect_quotes(posts))
    assert got == [("Bob", "Alice")]


def test_words_nobody_in_the_archive_wrote_are_credited_to_nobody(sample_service):
    for made_up in ("the cat sat on the mat of the bakery", "the ferry to the island leaves twice a day in winter"):
        assert sample_service.quote(made_up) == []
    assert sample_service.quote("Trotsky was something else, with his own program, network and assumptions")
