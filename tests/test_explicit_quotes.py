"""Explicit quotes of mail and news: ">" lines and attribution lines. Text quoted from a message that is not in the
archive is shown as "quoted from X (not in this archive)", never credited to whoever quoted it first, and is never
part of a passage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from embeddings.ingest import ingest
from embeddings.passages import Chunker, make_passages
from embeddings.quotes.detector import detect_quotes
from embeddings.quotes.explicit import attributed_name, outside_quotes, quote_lines

from .conftest import run_cli


@pytest.mark.parametrize(
    "line, name",
    [
        ("On 03/03/2019 4:11 p.m., Krishan Gupta wrote:", "Krishan Gupta"),
        ("On March 3, 2019 1:11:45 PM PST, Krishan Gupta <krishang at iiitd.ac.in> wrote:", "Krishan Gupta"),
        ("On Mon, Mar 4, 2019 at 3:12 PM Duncan Murdoch <murdoch.duncan at gmail.com> wrote:", "Duncan Murdoch"),
        ("On 4 Feb 2019, at 12:31, Gábor Csárdi <csardi.gabor at gmail.com> wrote:", "Gábor Csárdi"),
        ("On Tue, 5 Mar 2019, Dirk Eddelbuettel wrote:", "Dirk Eddelbuettel"),
        ("On 2019-03-04 10:01, Ben Bolker wrote:", "Ben Bolker"),
        ("u1452@penelope.sdsc.edu (Jeff Bytof - SIO) writes:", "Jeff Bytof - SIO"),
        ("In article <1993Apr5.1234@foo.com>, henry@zoo.toronto.edu (Henry Spencer) writes:", "Henry Spencer"),
        ("In article <1993Apr5.1234@foo.com> henry@zoo.toronto.edu writes:", "henry"),
        ('"Wang, Zhu" <wangz1 at uthscsa.edu> wrote:', "Wang, Zhu"),
        ("Am 04.03.2019 um 15:12 schrieb Uwe Ligges:", "Uwe Ligges"),
        ("Le 04/03/2019 à 15:12, Uwe Ligges a écrit :", "Uwe Ligges"),
        ("Dirk Eddelbuettel wrote the following:", "Dirk Eddelbuettel"),
        ("wrote:", None),
        ("On 03/03/2019 4:11 p.m., <x at y.org> wrote:", "x"),
    ],
)
def test_the_name_an_attribution_line_gives(line, name):
    assert attributed_name(line) == name


NESTED = """Hi,

On Tue, 5 Mar 2019, Duncan
Murdoch wrote:
> Ben Bolker writes:
>> the package fails on Solaris
>> badly.
>
> Yes it does, see the log.

I agree.
> another point here
"""


def test_quoted_runs_take_the_name_from_the_attribution_one_level_up():
    found = quote_lines(NESTED)
    runs = [(NESTED[q.start : q.end], q.depth, q.attributed_to) for q in found.quoted]
    assert runs == [
        (">> the package fails on Solaris\n>> badly.", 2, "Ben Bolker"),
        (">\n> Yes it does, see the log.", 1, "Duncan Murdoch"),
        ("> another point here", 1, "Duncan Murdoch"),  # later runs of the same reply keep the attribution
    ]
    assert [NESTED[s:e] for s, e in found.attributions] == [
        "On Tue, 5 Mar 2019, Duncan\nMurdoch wrote:",  # wrapped over two lines
        "> Ben Bolker writes:",
    ]


def test_a_line_ending_in_wrote_is_no_attribution_unless_a_quote_follows():
    body = "As the manual wrote:\n\nnothing quoted here."
    assert quote_lines(body).attributions == ()


bodies = st.lists(
    st.one_of(
        st.sampled_from(["> quoted words here", ">> deeper quoted text", ">", "", "On Monday, Ann Smith wrote:"]),
        st.text(alphabet=st.sampled_from("ab >:\t,wrote"), max_size=30),
    ),
    max_size=12,
).map("\n".join)


@given(bodies)
def test_explicit_spans_are_exact_sorted_and_within_the_body(body):
    found = quote_lines(body)
    spans = found.spans()
    assert spans == sorted(spans)
    assert all(0 <= s < e <= len(body) for s, e in spans)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    for q in found.quoted:
        assert all(line.lstrip(" \t").startswith(">") for line in body[q.start : q.end].split("\n"))


MBOX = """From ben at example.org  Mon Mar  4 10:00:00 2019
From: ben at example.org (Ben Bolker)
Date: Mon, 4 Mar 2019 10:00:00 -0500
Subject: [R-pkg-devel] Solaris failures
Message-ID: <b1@example.org>

On Sun, 3 Mar 2019 at 09:00, Duncan Murdoch wrote:
> The package fails on Solaris because the compiler there rejects
> variable length arrays in C++ code, which gcc accepts quietly.

So the fix is to allocate the buffer with std::vector instead of a VLA.

From ann at example.org  Mon Mar  4 12:00:00 2019
From: ann at example.org (Ann Smith)
Date: Mon, 4 Mar 2019 12:00:00 -0500
Subject: Re: [R-pkg-devel] Solaris failures
Message-ID: <a1@example.org>
In-Reply-To: <b1@example.org>
References: <b1@example.org>

On Mon, 4 Mar 2019 at 10:00, Ben Bolker wrote:
> On Sun, 3 Mar 2019 at 09:00, Duncan Murdoch wrote:
>> The package fails on Solaris because the compiler there rejects
>> variable length arrays in C++ code, which gcc accepts quietly.
>
> So the fix is to allocate the buffer with std::vector instead of a VLA.

Thanks, that worked for my package as well after rebuilding it.
"""


@pytest.fixture
def outside_mbox(tmp_path):
    path = tmp_path / "list.mbox"
    path.write_text(MBOX)
    return path


def test_text_from_outside_the_archive_is_credited_to_nobody_here(outside_mbox):
    posts = [p for t in ingest([outside_mbox]).threads for p in t.posts]
    ben, ann = posts
    relations = detect_quotes(posts)
    # Ann quotes Ben's own words: credited to Ben; what Ben quoted from Duncan is not Ben's, nor Ann's
    assert [(r.quoting_author, r.source_author) for r in relations] == [("Ann Smith", "Ben Bolker")]
    assert "std::vector" in relations[0].text and "Solaris" not in relations[0].text
    outside = outside_quotes(posts, relations)
    assert [(o.post_id, o.depth, o.attributed_to) for o in outside] == [
        (ben.post_id, 1, "Duncan Murdoch"),
        (ann.post_id, 2, "Duncan Murdoch"),
    ]
    for o in outside:
        body = ben.body if o.post_id == ben.post_id else ann.body
        assert body[o.start : o.end].startswith("The package fails on Solaris")
        assert body[o.start : o.end].endswith("which gcc accepts quietly.")


def test_passages_hold_only_the_posters_own_words(outside_mbox):
    threads = ingest([outside_mbox]).threads
    posts = [p for t in threads for p in t.posts]
    passages = make_passages(threads, Chunker(lambda ts: [len(t.split()) for t in ts], 60), detect_quotes(posts), True)
    text = "\n".join(p.text for p in passages)
    assert "std::vector" in text and "worked for my package" in text
    assert "Solaris" not in text and "wrote:" not in text and ">" not in text


def test_the_cli_shows_an_outside_quote_with_the_name_from_its_attribution(outside_mbox, tmp_path, capsys):
    data = tmp_path / "mail-data"
    assert run_cli(capsys, "--data-dir", data, "index", "-q", outside_mbox)[0] == 0
    thread_id = json.loads(run_cli(capsys, "--data-dir", data, "threads", "--json")[1])[0]["thread_id"]
    code, shown, _ = run_cli(capsys, "--data-dir", data, "post", thread_id, "2")
    assert code == 0
    assert "[quoted from Duncan Murdoch (not in this archive)]" in shown
    assert "[quoting Ben Bolker" in shown
    assert ">> The package" not in shown  # the quote's own ">" marks are not shown twice


def test_a_console_session_after_prompts_is_the_posters_own_text():
    body = "Try this:\n> x <- foo(1)\n> print(Sys.getenv('R_HOME'))\n[1] 2\n> sudo dnf install glibc-headers\n"
    assert quote_lines(body).quoted == ()
    quoted = quote_lines("On Monday, Ann wrote:\n> I think the build fails on Solaris\n").quoted
    assert [q.attributed_to for q in quoted] == ["Ann"]


def test_attribution_names_match_archive_authors_despite_lost_letters_case_and_accents():
    from embeddings.quotes.explicit import same_name

    assert same_name("G?bor Cs?rdi", "Gábor Csárdi")
    assert same_name("gabor csardi", "Gábor Csárdi")
    assert not same_name("G?bor Cs?rdi", "Gabor Csardi Jr")
    assert not same_name("Ann", "Anne")


def test_a_short_quote_of_an_earlier_poster_of_the_thread_is_not_claimed_to_be_outside():
    from datetime import datetime

    from embeddings.models import Post

    def post(i, author, body):
        return Post(f"p{i}", "t", i, author, datetime(2019, 3, 4, 10 + i), body, "x.mbox", 1)

    posts = [
        post(0, "Gábor Csárdi", "Use pak."),
        post(1, "Ben Bolker", "On Mon, Gábor wrote:\n> Use pak.\n\nWhy would that help here?"),
        post(2, "Ann Smith", "On Mon, G?bor Cs?rdi wrote:\n> Use pak for the whole thing.\n\nIt did."),
        post(3, "Ann Smith", "On Sun, Duncan Murdoch wrote:\n> Solaris has no such compiler at all.\n\nOK."),
    ]
    outside = outside_quotes(posts, detect_quotes(posts))
    assert [(o.post_id, o.attributed_to, o.in_archive) for o in outside] == [
        ("p2", "G?bor Cs?rdi", True),  # Gábor posted earlier in the thread: a quote of him, too short to match
        ("p3", "Duncan Murdoch", False),
    ]


def test_the_cli_shows_no_stray_quote_marks_around_quotes(outside_mbox, tmp_path, capsys):
    data = tmp_path / "mail-data"
    assert run_cli(capsys, "--data-dir", data, "index", "-q", outside_mbox)[0] == 0
    thread_id = json.loads(run_cli(capsys, "--data-dir", data, "threads", "--json")[1])[0]["thread_id"]
    shown = run_cli(capsys, "--data-dir", data, "post", thread_id, "2")[1]
    assert not [line for line in shown.split("\n") if line.strip() in (">", "> >")]
