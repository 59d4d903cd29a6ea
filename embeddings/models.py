"""Plain dataclasses exchanged between the core, the CLI and the bot."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol


class Sliceable(Protocol):
    """A post's body as a passage keeps it: the text, or a build's handle on it (index/bodies.py)."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: int | slice, /) -> str: ...


@dataclass(frozen=True, slots=True)  # a build holds every post: no per-instance dict
class Post:
    """One post of an archived thread, as parsed from a source file."""

    post_id: str
    thread_id: str
    post_index: int  # 0-based position in its thread
    author: str
    posted_at: datetime
    body: str
    source: str  # the file it came from
    line: int  # 1-based line of the post's first line (author line / JSONL line)
    url: str | None = None
    # spans [start, end) of the body that are kept in it but not indexed: a list footer, a signature, a note such
    # as "[[alternative HTML version deleted]]"; sorted, not overlapping
    excluded: tuple[tuple[int, int], ...] = ()
    # the poster's zone, in minutes east of UTC, as the source wrote it (a mail's Date header, an ISO date's
    # offset); None when the source gives none (forum text) or only a server's clock (see ingest/mail.py)
    utc_offset: int | None = None

    @property
    def body_source(self) -> Sliceable:
        """What a passage of this post keeps to slice its text from: the body, or a build's handle on it (a post
        whose body is in a file while the build runs: `index/bodies.py`)."""
        return self.body


@dataclass
class Thread:
    thread_id: str
    title: str
    source: str
    posts: list[Post] = field(default_factory=list)


@dataclass(frozen=True, slots=True)  # a build holds one per passage: no per-instance dict
class Passage:
    """A slice of one post: ``post.body[start:end] == text``.

    It holds the post's body (`Post.body_source`: the same string the post holds, or a build's handle on it when
    the bodies are in a file) and slices its text when asked: a build keeps every passage until its store is
    written, and a copy of each one's text would double the archive's text in memory."""

    passage_id: int
    post_id: str
    start: int
    end: int
    body: Sliceable = field(repr=False)  # the post's body_source: its [start:end] is the passage's text

    @property
    def text(self) -> str:
        return self.body[self.start : self.end]


@dataclass(frozen=True, slots=True)
class QuoteRelation:
    """Post `quoting` reproduces, at [quoting_start, quoting_end) of its body,
    text first written by post `source` at [source_start, source_end)."""

    thread_id: str
    quoting_post_id: str
    quoting_post_index: int
    quoting_author: str
    quoting_posted_at: datetime
    source_post_id: str
    source_post_index: int
    source_author: str
    source_posted_at: datetime
    text: str
    quoting_start: int
    quoting_end: int
    source_start: int
    source_end: int
    source_thread_id: str | None = None  # the source post's thread (== thread_id for a quote within the thread)
    quoting_utc_offset: int | None = None  # the posters' zones (see Post.utc_offset)
    source_utc_offset: int | None = None


@dataclass(frozen=True)
class OutsideQuote:
    """Post `post_id` quotes, at [start, end) of its body, text no earlier post here was matched to: from a message
    that is not in the archive, or (`in_archive`) a quote of an earlier post of the thread by `attributed_to` too
    short or edited to match; the attribution line above it names `attributed_to` (None when it names nobody)."""

    post_id: str
    thread_id: str
    start: int
    end: int
    depth: int  # 1 for "> ", 2 for ">> ", ...
    attributed_to: str | None
    in_archive: bool = False  # an earlier post of the thread is by `attributed_to`: a quote too short to match


@dataclass(frozen=True)
class Filters:
    """Restrictions applied inside retrieval: author (any case), thread, posted_at in [after, before)."""

    author: str | None = None
    thread_id: str | None = None
    after: datetime | None = None
    before: datetime | None = None

    def is_empty(self) -> bool:
        return not (self.author or self.thread_id or self.after or self.before)


@dataclass(frozen=True)
class QuotedBy:
    post_id: str
    thread_id: str
    post_index: int
    author: str
    posted_at: datetime
    utc_offset: int | None = None  # the poster's zone (see Post.utc_offset)


@dataclass(frozen=True)
class Copy:
    """Another post holding the same text as a result (search/duplicates.py), shown with it instead of apart."""

    post_id: str
    thread_id: str
    thread_title: str
    post_index: int


@dataclass
class Result:
    """One search hit: a post and the passage of it that matched best."""

    rank: int
    score: float
    thread_id: str
    thread_title: str
    post_id: str
    post_index: int
    post_count: int
    author: str
    posted_at: datetime
    passage: str
    passage_start: int
    passage_end: int
    source: str = ""
    utc_offset: int | None = None  # the poster's zone (see Post.utc_offset)
    # (start, end) offsets *within passage* of the sentence(s) answering the query
    highlights: list[tuple[int, int]] = field(default_factory=list)
    quoted_by: list[QuotedBy] = field(default_factory=list)
    url: str | None = None  # the post's address in the archive, when it has one
    good: bool = True  # a good match: its score is at or above the relevance floor (search/floor.py)
    also_in: list[Copy] = field(default_factory=list)  # later results with the same text, collapsed into this one
    # the poster's sentence goes on past the passage (into a quote, or past the display budget): shown with "…"
    ends_mid_sentence: bool = False


@dataclass
class ThreadSummary:
    thread_id: str
    title: str
    source: str
    post_count: int
    first_posted_at: datetime
    last_posted_at: datetime


@dataclass
class QuotedSpan:
    """A span of a post's body that quotes an earlier post."""

    start: int
    end: int
    source_post_id: str
    source_thread_id: str
    source_post_index: int
    source_author: str
    source_posted_at: datetime
    source_utc_offset: int | None = None  # the quoted poster's zone (see Post.utc_offset)


@dataclass
class PostView:
    """A whole post with its place in the thread and its quoted spans."""

    post_id: str
    thread_id: str
    thread_title: str
    post_index: int
    post_count: int
    author: str
    posted_at: datetime
    body: str
    source: str
    url: str | None = None
    quoted_spans: list[QuotedSpan] = field(default_factory=list)
    utc_offset: int | None = None  # the poster's zone (see Post.utc_offset)
    outside_quotes: list[OutsideQuote] = field(default_factory=list)  # quoted from messages not in the archive


@dataclass
class Stats:
    threads: int
    posts: int
    passages: int
    authors: int
    quotes: int
    model: str
    dimension: int
    built_at: str
    build_id: str
    index_path: str
    data_dir_bytes: int
    sources: list[str] = field(default_factory=list)


@dataclass
class BuildReport:
    build_id: str
    threads: int
    posts: int
    passages: int
    embedded: int  # passages actually sent through the model (cache misses)
    cached: int  # passages whose vectors came from the cache
    quotes: int
    seconds: float
    errors: list[str] = field(default_factory=list)  # "file:line: message" for skipped input
    kind: str = "full"  # "full", "incremental" (new posts added to the previous build) or "up to date" (no build)
    new_posts: int = 0  # posts an incremental build added (a full build: every post)
    note: str = ""  # why a build was a full one, when an earlier build was there to add to


@dataclass
class QuoteOccurrence:
    """Where a post reproduces a passage: the post and the span of its body."""

    post_id: str
    thread_id: str
    thread_title: str
    post_index: int
    author: str
    posted_at: datetime
    text: str
    start: int
    end: int
    utc_offset: int | None = None  # the poster's zone (see Post.utc_offset)


@dataclass
class QuoteTrace:
    """Answer to "who wrote this first?": the original and every later quote of it, in date order."""

    score: float  # 0..1, how closely the asked text matches the original
    original: QuoteOccurrence
    context: str  # the original passage with some surrounding text
    context_start: int  # offset of `context` in the original post's body
    quoted_by: list[QuoteOccurrence] = field(default_factory=list)
    context_cut: bool = False  # the post goes on after `context`


def local_time(posted_at: datetime, utc_offset: int | None) -> datetime:
    """`posted_at` (UTC; naive means UTC) as an aware datetime on the poster's clock, `utc_offset` minutes east of
    UTC; in UTC when the offset is unknown, or when it is no zone (a day or more) or would move the date out of
    the calendar."""
    when = posted_at.replace(tzinfo=UTC) if posted_at.tzinfo is None else posted_at
    if utc_offset is None:
        return when.astimezone(UTC)
    try:
        return when.astimezone(timezone(timedelta(minutes=utc_offset)))
    except (OverflowError, ValueError, TypeError):
        return when.astimezone(UTC)


def to_jsonable(obj):
    """Dataclasses → dicts with datetimes as ISO 8601 strings, recursively; an object's own `to_json` wins."""
    if callable(getattr(obj, "to_json", None)):
        return obj.to_json()
    if hasattr(obj, "__dataclass_fields__"):
        obj = asdict(obj)
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat(timespec="minutes") if obj.second == 0 and not obj.microsecond else obj.isoformat()
    return obj
