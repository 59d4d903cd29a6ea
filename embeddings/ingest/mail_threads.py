"""Mail and news messages of every file read → threads, as records (`Row`), in the manner of public-inbox's
SearchThread and of JWZ's threading.

- Copies: a Message-ID read again (two overlapping archives, an article cross-posted to two groups of a spool) is
  one post; the later copy is reported with where the first one is.
- References: a message, the ids it references (References, then In-Reply-To) and their own references form one
  thread, also when a referenced message is not in the archive (a "ghost": the thread is still the one of its
  earliest referenced id).
- Subjects: a thread whose first message replies by subject only ("Re: ..." without references, or with
  references to messages not in the archive) joins the latest thread with the same normalised subject (reply and
  forward prefixes such as Re:, AW:, SV:, Fwd:, list tags such as "[R-pkg-devel]" and spacing left out) whose last
  message is at most `SUBJECT_WINDOW` older.
- Titles: the thread's first subject without those prefixes. Ids: a slug of the title and a hash of the root id.
- Names: an address shown without a name gets the name most often shown with it elsewhere in the archive.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from ..errors import InputError
from .ids import thread_id_for_root
from .mail import Message
from .records import Row

SUBJECT_WINDOW = timedelta(days=30)
_REPLY = r"re|aw|sv|antw|odp|r[eé]f"
_PREFIX = re.compile(rf"\s*(?:(?:{_REPLY}|fwd?|wg|tr)\s*(?:\[\d+\]|\(\d+\))?\s*:|\[[\w.+-]{{1,40}}\])\s*", re.I)
_REPLY_PREFIX = re.compile(rf"\s*(?:\[[\w.+-]{{1,40}}\]\s*)*(?:{_REPLY})\s*(?:\[\d+\]|\(\d+\))?\s*:", re.I)
NO_SUBJECT = "(no subject)"


def strip_prefixes(subject: str) -> str:
    """`Re: [R-pkg-devel] AW: Fwd: Title` → `Title`."""
    text = " ".join(subject.split())
    while True:
        m = _PREFIX.match(text)
        if not m or not m.end():
            return text
        text = text[m.end() :]


def subject_key(subject: str) -> str:
    return strip_prefixes(subject).casefold()


def is_reply_subject(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(subject))


SHOWN_COPIES = 3  # exact copies listed one by one; more are counted (two overlapping archives share hundreds)


def _copies(messages: list[Message], errors: list[InputError], warnings: list[str]) -> list[Message]:
    """The first message of each Message-ID; each later one is reported: an exact copy (overlapping archives,
    nothing lost) as a warning, the first SHOWN_COPIES by name and the rest counted; a different message
    reusing the id (skipped) as an error."""
    first: dict[str, Message] = {}
    kept, copies = [], []
    for m in messages:
        earlier = first.setdefault(m.post_id, m)
        if earlier is m:
            kept.append(m)
            continue
        where = f"{earlier.source}:{earlier.line}"
        ident = f"<{m.post_id}>" if not m.post_id.startswith("content-") else f"content id {m.post_id}"
        if (earlier.body, earlier.posted_at) == (m.body, m.posted_at):
            copies.append(
                str(InputError(m.source, m.line, f"message {m.number}: a copy of {ident} from {where}, read once"))
            )
            continue
        text = f"message {m.number}: {ident} is also the Message-ID of {where}, which is kept (their text differs)"
        errors.append(InputError(m.source, m.line, text))
    warnings.extend(copies[:SHOWN_COPIES])
    if len(copies) > SHOWN_COPIES:
        warnings.append(f"{len(copies) - SHOWN_COPIES} more message(s) were exact copies of messages already read")
    return kept


def _names(messages: list[Message]) -> list[Message]:
    """Messages whose author is an address's user part, renamed after the name that address is shown with most."""
    shown: dict[str, Counter] = {}
    for m in messages:
        if m.named and m.address:
            shown.setdefault(m.address, Counter())[m.author] += 1
    return [
        replace(m, author=shown[m.address].most_common(1)[0][0], named=True)
        if not m.named and m.address in shown
        else m
        for m in messages
    ]


class _Groups:
    """Union-find over Message-IDs."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = self.parent.setdefault(x, x)
        while root != self.parent[root]:
            root = self.parent[root]
        while x != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _by_references(messages: list[Message]) -> list[list[Message]]:
    groups = _Groups()
    for m in messages:
        groups.find(m.post_id)
        for ref in m.references:
            groups.union(m.post_id, ref)
    threads: dict[str, list[Message]] = {}
    for m in messages:
        threads.setdefault(groups.find(m.post_id), []).append(m)
    return list(threads.values())


def _ordered(thread: list[Message], order: dict[int, int]) -> list[Message]:
    return sorted(thread, key=lambda m: (m.posted_at, order[id(m)]))


def _root(thread: list[Message]) -> str:
    """The id a thread grows from: the oldest reference of its first message, or that message's own id."""
    first = thread[0]
    return first.references[0] if first.references else first.post_id


def thread_messages(messages: list[Message]) -> list[tuple[str, list[Message]]]:
    """(root id, messages in date order) of each thread, threads in the order of their first message."""
    order = {id(m): n for n, m in enumerate(messages)}
    known = {m.post_id for m in messages}
    threads = [_ordered(t, order) for t in _by_references(messages)]
    threads.sort(key=lambda t: (t[0].posted_at, order[id(t[0])]))
    latest: dict[str, list] = {}  # subject key → [the thread that last had it, the date of its last message]
    merged: list[list[Message]] = []
    for thread in threads:
        first = thread[0]
        key = subject_key(first.subject)
        by_subject = is_reply_subject(first.subject) and (
            not first.references or not any(r in known for r in first.references)
        )
        target = latest.get(key) if key else None
        if by_subject and target and first.posted_at - target[1] <= SUBJECT_WINDOW:
            target[0].extend(thread)
            target[1] = max(target[1], thread[-1].posted_at)
            continue
        merged.append(thread)
        if key:
            latest[key] = [thread, thread[-1].posted_at]
    out = []
    for thread in merged:
        thread = _ordered(thread, order)
        out.append((_root(thread), thread))
    out.sort(key=lambda item: order[id(min(item[1], key=lambda m: order[id(m)]))])
    return out


def mail_rows(messages: list[Message], errors: list[InputError], warnings: list[str]) -> list[Row]:
    """The records of every message read, threaded; copies reported (see `_copies`)."""
    messages = _names(_copies(messages, errors, warnings))
    rows = []
    for root, thread in thread_messages(messages):
        title = strip_prefixes(thread[0].subject) or NO_SUBJECT
        thread_id = thread_id_for_root(title, root)
        for m in thread:
            rows.append(
                Row(
                    thread_id=thread_id,
                    thread_title=title,
                    author=m.author,
                    posted_at=m.posted_at,
                    body=m.body,
                    source=m.source,
                    line=m.line,
                    post_id=m.post_id,
                    post_index=None,
                    origin=None,
                    url=None,
                    excluded=m.excluded,
                    utc_offset=m.utc_offset,
                )
            )
    return rows
