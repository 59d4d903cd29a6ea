"""Boilerplate found by repetition: disclaimers, other lists' footers and signature blocks shared across threads
are left out of passages and quote detection; real paragraphs, however often quoted, stay."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embeddings.ingest import ingest
from embeddings.ingest.boilerplate import MIN_WORDS, leave_out_boilerplate, merge_spans, paragraphs
from embeddings.ingest.mailbody import excluded_spans
from embeddings.models import Post, Thread
from embeddings.passages import Chunker, make_passages
from embeddings.quotes.detector import detect_quotes

from .test_ingest_mail import message, write

T0 = datetime(2021, 3, 1, 9, 0)
DISCLAIMER = (
    "This e-mail and any attachments are confidential and may be privileged. If you are not the\n"
    "intended recipient, please notify the sender immediately and delete this message."
)
QUESTIONS = [
    "My package fails to build its vignette on the Debian check machine with a pandoc error\n"
    "that I cannot reproduce on my own computer, even with the same version of R.",
    "Is there a way to skip the long running examples on CRAN but keep them running on my\n"
    "continuous integration service, without wrapping every one of them in dontrun?",
    "After the latest release of the compiler my C++ code warns about a deprecated header\n"
    "and I would like to know which replacement is accepted by all the check flavours.",
]
ADDRESS = "Jane Roe, Senior Analyst\nInstitute of Applied Numbers, Room 4.12\nMain Street 1, 12345 Sometown"


def post(thread_id: str, index: int, author: str, body: str) -> Post:
    """A post as ingest makes it: the spans `mailbody` finds by form already in `excluded`."""
    return Post(
        post_id=f"{thread_id}-{index}",
        thread_id=thread_id,
        post_index=index,
        author=author,
        posted_at=T0 + timedelta(days=int(thread_id[1:]), hours=index),
        body=body,
        source="list.mbox",
        line=1,
        excluded=excluded_spans(body),
    )


def threads_of(*posts: Post) -> list[Thread]:
    out: dict[str, Thread] = {}
    for p in posts:
        out.setdefault(p.thread_id, Thread(p.thread_id, f"title {p.thread_id}", p.source)).posts.append(p)
    return list(out.values())


def quoted(text: str, depth: int = 1) -> str:
    return "\n".join(">" * depth + " " + line for line in text.split("\n"))


def left_out(p: Post) -> list[str]:
    return [p.body[s:e] for s, e in p.excluded]


def flat(text: str) -> str:
    return " ".join(text.replace(">", " ").split())


def disclaimer_threads() -> list[Thread]:
    """Three people of one company ask in three threads, each mail ending with the company's disclaimer; an
    answer in the first thread quotes the whole question, the disclaimer re-wrapped by the answerer's client."""
    asked = [post(f"t{i}", 0, author, f"Hello,\n\n{QUESTIONS[i]}\n\nThanks,\n{author}\n\n{DISCLAIMER}")
             for i, author in enumerate(["Ann Smith", "Bob Jones", "Cy Young"])]  # fmt: skip
    rewrapped = DISCLAIMER.replace("\n", " ").replace("privileged. ", "privileged.\n")
    answer = post("t0", 1, "Dee Helper", f"Ann wrote:\n{quoted(QUESTIONS[0])}\n>\n{quoted(rewrapped)}\n\n"
                                          "Use the pandoc that the check machine has, and state it in SystemRequirements.")  # fmt: skip
    return threads_of(asked[0], answer, asked[1], asked[2])


def test_a_disclaimer_of_three_authors_in_three_threads_is_left_out_with_its_quoted_copy():
    threads = disclaimer_threads()
    bodies = [p.body for t in threads for p in t.posts]
    found = leave_out_boilerplate(threads)
    posts = [p for t in threads for p in t.posts]
    assert [p.body for p in posts] == bodies
    assert (found.paragraphs, found.posts) == (1, 4)
    assert found.warnings() == ["boilerplate: 1 repeated paragraph(s) left out of 4 post(s)"]
    for p in posts:
        assert [flat(text) for text in left_out(p)] == [flat(DISCLAIMER)]
    answer = threads[0].posts[1]
    assert left_out(answer)[0].startswith("> This e-mail") and left_out(answer)[0].endswith("this message.")
    assert "check machine" not in "".join(left_out(answer))


def test_a_paragraph_quoted_by_many_people_in_one_thread_or_a_split_discussion_is_not_boilerplate():
    original = post("t0", 0, "Ann Smith", f"{QUESTIONS[0]}\n\nAny idea?")
    replies = [post("t0", i, f"Helper {i}", f"{quoted(QUESTIONS[0])}\n\nReply number {i}: first check which pandoc version that machine reports.")
               for i in range(1, 6)]  # fmt: skip
    # the same discussion split over three threads (a changed subject): the question quoted in each
    split = [post(f"t{i}", 0, f"Other {i}", f"On Monday Ann wrote:\n{quoted(QUESTIONS[0])}\n\nThis is the part {i} of the same discussion, under a new subject.")
             for i in (1, 2)]  # fmt: skip
    threads = threads_of(original, *replies, *split)
    found = leave_out_boilerplate(threads)
    assert found.posts == 0 and found.warnings() == []
    assert all(not p.excluded for t in threads for p in t.posts)


def test_one_persons_signature_block_is_left_out_but_a_question_they_ask_again_is_kept():
    signed = [post(f"t{i}", 0, "Jane Roe", f"{QUESTIONS[i]}\n\nBest,\nJane\n\n{ADDRESS}") for i in range(3)]
    asked = "How do I make the package build on the ARM machines when a dependency has no binary for them?"
    again = [post(f"t{i}", 1, "Sam Asker", f"{asked}\n\nIn thread {i} I also tried the option number {i}.")
             for i in range(3, 6)]  # fmt: skip
    answers = [post(f"t{i}", 0, "Bo Answer", f"Try the other flag, it works for case {i} too.") for i in range(3, 6)]
    threads = threads_of(*signed, *answers, *again)
    leave_out_boilerplate(threads)
    for p in threads[0].posts + threads[1].posts + threads[2].posts:
        assert left_out(p) == [ADDRESS]
    for t in threads[3:]:
        assert all(not p.excluded for p in t.posts)


def test_a_text_posted_again_whole_is_not_boilerplate():
    faq = "\n\n".join(f"Answer {n}: " + " ".join(f"word{n}x{k}" for k in range(60)) for n in range(5))
    posted = [post(f"t{i}", 0, f"Poster {i}", f"Here is the FAQ again, copy {i} of it.\n\n{faq}") for i in range(3)]
    notice = "The meeting moves to the large hall on the ground floor, starting at ten in the morning."
    crossposted = [post(f"t{i}", 0, f"Org {i}", notice) for i in range(3, 6)]
    threads = threads_of(*posted, *crossposted)
    assert leave_out_boilerplate(threads).posts == 0


def test_short_paragraphs_are_not_counted():
    bodies = [f"{QUESTIONS[i % 3]} (case {i})\n\nThanks for any help,\nBest regards" for i in range(6)]
    threads = threads_of(*(post(f"t{i}", 0, f"Person {i}", b) for i, b in enumerate(bodies)))
    assert leave_out_boilerplate(threads).posts == 0


def test_passages_and_quote_relations_no_longer_contain_the_disclaimer(embedder):
    threads = disclaimer_threads()
    chunker = Chunker(embedder.count_tokens, max_tokens=60)
    posts = lambda: [p for t in threads for p in t.posts]  # noqa: E731
    before = detect_quotes(posts())
    # a disclaimer in posts of several threads, unmarked, is no quote of one of them (quotes/detector.py) ...
    assert not any("intended recipient" in r.text and r.source_thread_id != r.thread_id for r in before)
    # ... but it is in their passages until the boilerplate pass leaves it out
    assert any("intended recipient" in p.text for p in make_passages(threads, chunker, [], drop_quoted=False))
    leave_out_boilerplate(threads)
    after = detect_quotes(posts())
    assert not any("intended recipient" in r.text for r in after)
    assert [r.thread_id for r in after if r.source_thread_id != r.thread_id] == []
    assert any("pandoc error" in r.text for r in after)  # the answer's quote of the question itself stays
    passages = make_passages(threads, chunker, after, drop_quoted=False)
    assert not any("intended recipient" in p.text or "confidential" in p.text for p in passages)
    assert any("pandoc error" in p.text for p in passages)


def test_ingest_leaves_a_disclaimer_out_and_says_so(tmp_path: Path):
    mails = [message(f"m{i}@x.org", sender=f"{name} <{name.split()[0].lower()}@corp.example>", subject=f"Topic {i}",
                     date=f"Tue, {i + 2} Mar 2021 10:00:00 +0000", body=f"{QUESTIONS[i]}\n\n{DISCLAIMER}",
                     envelope=f"From x@corp.example  Tue Mar  {i + 2} 10:00:00 2021")
             for i, name in enumerate(["Ann Smith", "Bob Jones", "Cy Young"])]  # fmt: skip
    result = ingest([write(tmp_path / "list.mbox", "".join(mails))])
    assert result.errors == []
    assert "boilerplate: 1 repeated paragraph(s) left out of 3 post(s)" in result.warnings
    for t in result.threads:
        assert [flat(text) for text in left_out(t.posts[0])] == [flat(DISCLAIMER)]


# --- properties ---------------------------------------------------------------------------------------------------

_PREFIX = re.compile(r"(?:[ \t\u00a0?]*[>|])*[ \t\u00a0]*")


def reference_paragraphs(body: str) -> list[tuple[int, int, bool, str]]:
    """The definition, line by line: (start, end, quoted, text without prefixes) of each run of non-blank lines
    at one quote depth."""
    out, run, pos = [], [], 0
    for line in body.split("\n"):
        prefix = _PREFIX.match(line).group()
        depth, text = prefix.count(">") + prefix.count("|"), line[len(prefix) :]
        if run and (not text.strip() or depth != run[0][2]):
            out.append((run[0][0], run[-1][1], run[0][2] > 0, " ".join(r[3] for r in run)))
            run = []
        if text.strip():
            run.append((pos, pos + len(line), depth, text))
        pos += len(line) + 1
    if run:
        out.append((run[0][0], run[-1][1], run[0][2] > 0, " ".join(r[3] for r in run)))
    return out


lines = st.text(st.sampled_from("ab >|?\t\u00a0-*é_"), max_size=12)
bodies = st.lists(lines, max_size=12).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(bodies)
def test_paragraphs_follow_the_line_by_line_definition(body):
    got = paragraphs(body)
    want = reference_paragraphs(body)
    assert [(p.start, p.end, p.quoted) for p in got] == [w[:3] for w in want]
    for p, (_, _, _, text) in zip(got, want):
        words = [w for w in text.split() if re.search(r"[^\W_]", w)]
        assert p.words == len(words) or (p.words == len(text.split()) < MIN_WORDS)
        assert (p.key is not None) == (len(words) >= MIN_WORDS)


POOL = [DISCLAIMER, ADDRESS, QUESTIONS[0], "short one", "-- \nSig Name"]
piece = st.one_of(
    st.sampled_from(POOL),
    st.builds(quoted, st.sampled_from(POOL), st.integers(1, 2)),
    st.text(st.sampled_from("ab >\n|-_ "), max_size=40),
)
archive = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["A", "B", "C", "D"]), st.lists(piece, min_size=1, max_size=5)),
    min_size=1,
    max_size=14,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(archive, st.sampled_from(["\n\n", "\n", "\n>\n"]))
def test_excluded_spans_stay_sorted_disjoint_inside_the_body_and_bodies_unchanged(records, joint):
    made = [post(f"t{t}", i, author, joint.join(pieces)) for i, (t, author, pieces) in enumerate(records)]
    threads = threads_of(*made)
    before = {p.post_id: (p.body, p.excluded) for p in made}
    found = leave_out_boilerplate(threads)
    after = [p for t in threads for p in t.posts]
    assert sorted(p.post_id for p in after) == sorted(before)
    changed = 0
    for p in after:
        body, excluded = before[p.post_id]
        assert p.body == body
        assert all(0 <= s < e <= len(body) for s, e in p.excluded)
        assert all(a[1] < b[0] for a, b in zip(p.excluded, p.excluded[1:]))
        assert all(any(s <= s0 and e0 <= e for s, e in p.excluded) for s0, e0 in excluded)  # nothing dropped
        changed += p.excluded != excluded
    assert changed == found.posts


def test_merge_spans_joins_overlapping_touching_and_whitespace_apart_spans():
    body = "aaaa  bbbb\ncccc dddd"
    assert merge_spans([(11, 15), (0, 4), (6, 10), (2, 5)], body) == ((0, 15),)
    assert merge_spans([(0, 4), (16, 20)], body) == ((0, 4), (16, 20))
