"""What the builder asks of incremental builds (see `incremental` for when a build is one, and why not).

`Increments` is made once per build: it knows the live build, says whether the sources are unchanged, hands
`ingest` the parse cache, plans the addition of new posts, runs it (`add_posts`), and gives the manifest what the
next build compares against. A plan that turns out not to fit (a store the previous build's manifest does not
describe, a vector index that must change kind, damaged saved state) raises `CannotAppend` or `StateError`: the
builder then makes a full build from the same parse, saying why.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import StorageError, ThreadbotError, reason
from ..ingest import Discovered, IngestResult, discovered
from ..ingest.reuse import PARSED_DIR
from ..ingest.seen import Seen
from ..models import BuildReport, Passage, Post, QuoteRelation
from ..passages import Chunker, PassageTexts, make_passages
from ..quotes.batched import detect_in_batches
from ..quotes.detector import QuoteDetector
from ..quotes.explicit import outside_quotes
from ..quotes.resume import STATE_DIR, detection_order, feed, resumed
from ..vectors.ann import load_vector_index
from .append import CannotAppend, append_store, append_vectors, copy_store, numbered
from .bodies import BODIES_FILE
from .datadir import DB_FILE, VECTORS_FILE, DataDir
from .digests import digests
from .incremental import (
    Addition,
    Previous,
    build_settings,
    file_records,
    plan_addition,
    previous_build,
    save_state,
    seen_files,
    unchanged,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
IVF_GROWTH = 2.0  # an approximate index is trained again (a full build) once it holds this many times its start


@dataclass
class Added:
    """What an incremental build added."""

    detector: QuoteDetector
    quotes: list[QuoteRelation]
    passages: list[Passage]
    embedded: int
    vectors: dict  # the manifest's record of the vector index


@dataclass
class Increments:
    """One build's dealings with the live build (see the module's docstring)."""

    data: DataDir
    settings: object
    model_id: str
    fmt: str
    zones: dict
    full: bool = False  # build from scratch, taking nothing from the live build
    previous: Previous | None = None
    fixed: dict = field(default_factory=dict)
    note: str = ""  # why this build is a full one
    digests: dict[str, str] = field(default_factory=dict)
    seen: Seen | None = None  # the live build's record of the files it read, when they read the same now
    found: Discovered | None = None  # the files of the sources, as `unchanged` found them

    def __post_init__(self) -> None:
        self.fixed = build_settings(self.settings, self.model_id, self.fmt, self.zones)
        self.previous, self.note = (None, "asked for a full build") if self.full else previous_build(self.data)
        self.seen = seen_files(self.previous, self.fixed)

    @property
    def max_file_bytes(self) -> int:
        return self.settings.max_file_mb * 2**20

    def unchanged(self, sources: Sequence[str]) -> bool:
        """Do `sources` read as the live build read them, and does the live build load? (A damaged one is
        rebuilt.) The files found are kept for the build to read (`found`)."""
        self.found = discovered(sources, self.fmt, self.seen)
        if self.previous is None or not unchanged(
            self.previous, self.found, self.max_file_bytes, self.fixed, self.seen
        ):
            return False
        if _vector_kind_differs(self.previous, self.settings):  # `ann_threshold` changed: the build says so
            return False
        try:
            self.data.load(self.model_id).close()
        except ThreadbotError as exc:  # nothing is taken from it
            self.fall_back(f"the live build does not load ({exc})")
            self.previous = None
            return False
        return True

    def up_to_date(self, started: float) -> BuildReport:
        m = self.previous.manifest
        counts = m.get("counts", {})
        return BuildReport(
            build_id=self.previous.build_id,
            threads=counts.get("threads", 0),
            posts=counts.get("posts", 0),
            passages=counts.get("passages", 0),
            embedded=0,
            cached=0,
            quotes=counts.get("quotes", 0),
            seconds=round(time.monotonic() - started, 2),
            errors=[str(e) for e in m.get("skipped", [])],
            kind="up to date",
            new_posts=0,
        )

    def parse_cache(self, tmp: Path) -> tuple[Path | None, Path, str]:
        """The arguments of this build's `ParseCache`: the live build's kept parses, this build's, the salt."""
        kept = self.previous.path / PARSED_DIR if self.previous else None
        return kept, tmp / PARSED_DIR, f"{self.fmt}\0{self.max_file_bytes}"

    def plan(self, result: IngestResult, known: dict[str, str] | None = None) -> Addition | None:
        """The addition to make, or None (a full build, `note` saying why). `known`: the posts' digests, when the
        reading step computed them (`digests.digests`)."""
        self.digests = known if known is not None else digests(result.threads)
        if self.previous is None:  # the first build, `full`, or a live build that cannot be read or loaded
            return None
        planned = plan_addition(self.previous, result.threads, self.fixed, self.digests)
        if isinstance(planned, str):
            self.fall_back(planned)
            return None
        return planned

    def fall_back(self, why: str, tmp: Path | None = None) -> None:
        """Make this a full build: say why, and clear what an incremental attempt left in `tmp`."""
        self.note = why
        log.info("full build: %s", why)
        if tmp is not None:
            for item in tmp.iterdir():
                if item.name not in (PARSED_DIR, BODIES_FILE):  # the parses kept, and the bodies still read
                    shutil.rmtree(item) if item.is_dir() else item.unlink()

    def detect(self, posts: Sequence[Post], tmp: Path, progress: Callable[[int, int], None]) -> list[QuoteRelation]:
        """Quote detection over every post (a full build), in batches whose state is saved in `tmp` as they go (see
        `quotes.batched`), for the next build to go on from."""
        min_words = self.settings.quote_min_words
        ordered = detection_order(posts)
        quotes, self._state_names = detect_in_batches(ordered, self.digests, tmp / STATE_DIR, min_words, progress)
        return quotes

    def recorded(self, result: IngestResult, tmp: Path, added: Added | None = None, addition=None) -> dict:
        """The manifest's record of what this build read and kept, for the next build to compare against."""
        if added is None:
            names = self._state_names
        else:
            names = save_state(tmp, added.detector, self.digests, addition)
        files, unread = file_records(result)
        base = addition.previous.manifest.get("vector_base") if addition else None
        return {
            "build_settings": self.fixed,
            "files": files,
            "unread": unread,
            "files_read_at_ns": result.read_at_ns,
            "quote_state": names,
            # how many vectors the vector index was made for (an approximate one is trained on them)
            "vector_base": base if isinstance(base, int) else None,
            "kind": "incremental" if addition else "full",
            **({"parent": addition.previous.build_id} if addition else {}),
        }


def add_posts(
    inc: Increments,
    addition: Addition,
    tmp: Path,
    report: Progress,
    chunker: Callable[[], Chunker],
    embed: Callable[[Sequence[str]], tuple[np.ndarray, int]],
) -> Added:
    """The incremental build of `addition` in `tmp`: quotes of the new posts only, their passages and vectors,
    added to copies of the previous build's store and vector index."""
    previous, settings = addition.previous, inc.settings
    counts = previous.manifest.get("counts", {})
    try:
        vectors = load_vector_index(previous.path / VECTORS_FILE, mmap=False)
    except (RuntimeError, OSError) as exc:
        raise CannotAppend(f"the previous build's vectors cannot be read ({exc})") from None
    if len(vectors) != counts.get("passages"):
        raise CannotAppend(f"the previous build holds {len(vectors)} vectors, its manifest another number")
    with _writing(tmp):
        highest = copy_store(previous.path / DB_FILE, tmp / DB_FILE, counts.get("passages"))

    detector = resumed(addition.state, addition.posts_by_id, addition.new, settings.quote_min_words)
    quotes = feed(detector, addition.new, lambda done, total: report("quotes", done, total))

    report("chunk", 0, len(addition.new))
    passages: list[Passage] = []
    if addition.new:
        passages = make_passages(addition.threads, chunker(), quotes, drop_quoted=settings.quote_mode == "drop")
    report("chunk", len(addition.new), len(addition.new))
    _vector_kind_holds(previous, len(vectors) + len(passages), settings)
    matrix, embedded = embed(PassageTexts(passages)) if passages else (np.zeros((0, vectors.dimension)), 0)

    report("write", 0, 1)
    passages = numbered(passages, highest + 1)
    # outside quotes look at the earlier posts of a post's thread: read whole threads, keep the new posts' ones
    new_ids = {p.post_id for p in addition.new}
    outside = [o for o in outside_quotes(addition.thread_posts, quotes) if o.post_id in new_ids]
    with _writing(tmp):
        append_store(tmp / DB_FILE, addition.threads, passages, quotes, outside, addition.thread_posts)
        report("write", 1, 1)
        report("vectors", 0, 1)
        ids = np.array([p.passage_id for p in passages], dtype=np.int64)
        append_vectors(vectors, ids, matrix, tmp / VECTORS_FILE)
        report("vectors", 1, 1)
    record = dict(previous.manifest.get("vectors") or vectors.params())
    return Added(detector, quotes, passages, embedded, record)


# SQLite's primary result codes of a failed write (a full disk, an I/O error, a file it cannot open or write)
_WRITE_FAILED = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY}


@contextmanager
def _writing(tmp: Path) -> Iterator[None]:
    """A failed write into the new build is a StorageError, as in a full build (the live one keeps serving); a
    previous build's store that SQLite cannot read is CannotAppend (a full build repairs it)."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF not in _WRITE_FAILED:
            raise CannotAppend(f"the previous build's store cannot be extended ({reason(exc)})") from None
        raise StorageError(tmp, f"cannot write the new index ({reason(exc)})") from None
    except (OSError, RuntimeError) as exc:  # FAISS reports a failed write as RuntimeError
        raise StorageError(tmp, f"cannot write the new index ({reason(exc)})") from None


def _vector_kind_differs(previous: Previous, settings, total: int | None = None) -> str | None:
    """Why a full build would make another kind of vector index (`ann_threshold`) for `total` vectors (default:
    the previous build's); None when it would not."""
    kind = (previous.manifest.get("vectors") or {}).get("kind", "exact")
    threshold = getattr(settings, "ann_threshold", None)
    total = previous.manifest.get("counts", {}).get("passages", 0) if total is None else total
    if threshold is not None and (total >= threshold) != (kind != "exact"):
        return f"at {total} passages the vector index becomes {'approximate' if kind == 'exact' else 'exact'}"
    return None


def _vector_kind_holds(previous: Previous, total: int, settings) -> None:
    """CannotAppend when a full build would make another kind of vector index for `total` vectors."""
    if (why := _vector_kind_differs(previous, settings, total)) is not None:
        raise CannotAppend(why)
    record = previous.manifest.get("vectors") or {}
    kind = record.get("kind", "exact")
    trained = previous.manifest.get("vector_base")
    if kind != "exact" and isinstance(trained, int) and total > IVF_GROWTH * trained:
        raise CannotAppend(f"the approximate vector index has grown to {total} passages from {trained}: trained again")
