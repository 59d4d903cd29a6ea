"""Threads of mail and news: references (ghosts too), subjects within a time window, titles; and properties of the
mbox splitter and the threading on generated archives."""

from __future__ import annotations

import random
import tempfile
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embeddings.ingest import ingest
from embeddings.ingest.mail_threads import strip_prefixes
from embeddings.ingest.mbox import HEADER_LINE

from .test_ingest_mail import message, posts, write

START = datetime(2020, 3, 1, 12, 0)


def mail(n: int, subject: str, *, refs: str = "", reply_to: str = "", days: float = 0, body: str = "") -> str:
    when = START + timedelta(days=days)
    extra = (f"References: {refs}\n" if refs else "") + (f"In-Reply-To: {reply_to}\n" if reply_to else "")
    return message(
        f"m{n}@x",
        date=format_datetime(when.replace(tzinfo=None)) + " +0000",
        subject=subject,
        body=body or f"Message {n}.",
        envelope=f"From someone  {when:%a %b %d %H:%M:%S %Y}",
        extra=extra,
    )


def threads_of(result) -> list[list[str]]:
    return [[p.post_id for p in t.posts] for t in result.threads]


@pytest.mark.parametrize(
    ("subject", "title"),
    [
        ("Re: [R-pkg-devel] AW: Fwd: CRAN check", "CRAN check"),
        ("RE: RE:  spaced   out ", "spaced out"),
        ("SV: [list.name] Re[2]: Topic", "Topic"),
        ("Fw: Re: [Errno 13] on /var", "[Errno 13] on /var"),
        ("Research: re-use", "Research: re-use"),
    ],
)
def test_subject_prefixes_and_list_tags_are_stripped(subject, title):
    assert strip_prefixes(subject) == title


def test_references_make_one_thread_titled_by_its_first_subject(tmp_path):
    text = mail(1, "[R-pkg-devel] Build fails") + mail(2, "Re: [R-pkg-devel] Build fails", refs="<m1@x>", days=1)
    text += mail(3, "Re: something else entirely", refs="<m1@x> <m2@x>", days=2)
    text += mail(4, "New question", days=3)
    result = ingest([write(tmp_path / "a.mbox", text)])
    assert threads_of(result) == [["m1@x", "m2@x", "m3@x"], ["m4@x"]]
    assert [t.title for t in result.threads] == ["Build fails", "New question"]


def test_replies_to_a_message_not_in_the_archive_share_its_ghost(tmp_path):
    text = mail(1, "Re: Old topic", reply_to="<gone@x>") + mail(2, "Re: Old topic", refs="<gone@x>", days=1)
    text += mail(3, "Re: Old topic", refs="<gone@x> <m1@x>", days=2)
    result = ingest([write(tmp_path / "a.mbox", text)])
    assert threads_of(result) == [["m1@x", "m2@x", "m3@x"]]


def test_a_reply_by_subject_only_joins_a_recent_thread(tmp_path):
    text = mail(1, "[R-pkg-devel] Vignettes") + mail(2, "Re: [R-pkg-devel] vignettes", days=29)
    text += mail(3, "Re: Vignettes", days=29 + 31)  # 31 days after the thread's last message
    text += mail(4, "[R-pkg-devel] Vignettes", days=61)  # the same subject, not a reply: a new thread
    result = ingest([write(tmp_path / "a.mbox", text)])
    assert threads_of(result) == [["m1@x", "m2@x"], ["m3@x"], ["m4@x"]]


def test_a_thread_spans_the_files_of_an_archive(tmp_path):
    write(tmp_path / "2019q4.txt", mail(1, "Year end"))
    write(tmp_path / "2020q1.txt", mail(2, "Re: Year end", refs="<m1@x>", days=40))
    result = ingest([tmp_path])
    assert threads_of(result) == [["m1@x", "m2@x"]]
    assert {p.source for p in result.threads[0].posts} == {str(tmp_path / "2019q4.txt"), str(tmp_path / "2020q1.txt")}


def test_thread_ids_survive_reading_the_files_in_another_order(tmp_path):
    write(tmp_path / "b.mbox", mail(2, "Re: Topic", refs="<m1@x>", days=1))
    write(tmp_path / "a.mbox", mail(1, "Topic"))
    one = ingest([tmp_path / "a.mbox", tmp_path / "b.mbox"])
    other = ingest([tmp_path / "b.mbox", tmp_path / "a.mbox"])
    assert [t.thread_id for t in one.threads] == [t.thread_id for t in other.threads]
    assert threads_of(one) == threads_of(other) == [["m1@x", "m2@x"]]


# --- properties -------------------------------------------------------------------------------------------------

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
body_line = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=30),
    st.sampled_from(["From the docs", "From me to you", "From:", "", "-- ", "From x  Tue Jan  1 11:39:38 2019"]),
).filter(lambda s: s.strip() == s and not s.startswith(">") and not HEADER_LINE.match(s))


@FAST
@given(bodies=st.lists(st.lists(body_line, min_size=1, max_size=6), min_size=1, max_size=5))
def test_bodies_read_back_exactly_whatever_from_lines_they_hold(bodies):
    texts = ["\n".join(lines).strip("\n") or "x" for lines in bodies]
    archive = "".join(mail(n, f"Subject {n}", body=t, days=n) for n, t in enumerate(texts))
    with tempfile.TemporaryDirectory() as d:
        result = ingest([write(Path(d) / "a.mbox", archive)])
    assert not result.errors
    assert [p.body for p in sorted(posts(result), key=lambda p: p.posted_at)] == texts


@FAST
@given(
    parents=st.lists(st.integers(min_value=-1, max_value=30), min_size=1, max_size=12),
    seed=st.integers(0, 2**16),
    files=st.integers(1, 3),
)
def test_threads_are_the_reference_trees_whatever_the_order_read(parents, seed, files):
    parent = {n: (p if 0 <= p < n else None) for n, p in enumerate(parents)}  # a forest: parents come first

    def root(n):
        return n if parent[n] is None else root(parent[n])

    def chain(n):
        return [] if parent[n] is None else [*chain(parent[n]), parent[n]]

    texts = [
        mail(n, f"Topic {root(n)}" if parent[n] is None else f"Re: Topic {root(n)}", days=n,
             refs=" ".join(f"<m{a}@x>" for a in chain(n)))
        for n in parent
    ]  # fmt: skip
    random.Random(seed).shuffle(texts)
    with tempfile.TemporaryDirectory() as d:
        paths = [write(Path(d) / f"{k}.mbox", "".join(texts[k::files])) for k in range(files)]
        result = ingest(paths)
    assert not result.errors
    expected = {}
    for n in parent:
        expected.setdefault(root(n), []).append(f"m{n}@x")
    assert sorted(threads_of(result)) == sorted(expected.values())
    assert {t.title for t in result.threads} == {f"Topic {r}" for r in expected}
