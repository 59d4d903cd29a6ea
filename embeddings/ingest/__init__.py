"""Turning source files into threads and posts.

`ingest(paths)` walks files and directories (see `discovery`), picks a reader per file by content, then extension
(see `formats`; `fmt` forces one): vBulletin archive text, JSON Lines, clipped vBulletin pages (`markdown`), mbox
files, and single mail messages or news articles (maildir, a Usenet spool); `.gz` files are read decompressed.
Mail and news messages of all files are threaded together once every file is read (see `mail_threads`). A file
under a source configured with a time zone has the dates it gives without one read in that zone (see `zones`).

Every problem is collected instead of stopping at the first: a bad record (a JSON line, a post, a message) is
skipped and reported as `file:line: problem`, a file that cannot be read at all as `file: problem`; everything
else is indexed. Every skipped record or file is in `IngestResult.errors` (so "some input skipped" is exactly
"errors is not empty"); what is read but altered (cp1252 fallback, a lone surrogate replaced, a message's date
taken from its envelope line) or left out on purpose (messages marked X-No-Archive; a `.txt` file found in a
folder that is no archive, such as a README: see `discovery`) is in `warnings`.

Only regular files are read (a link to one is fine): a FIFO, a device or a socket is reported and never opened
for a blocking read. A file over `max_file_bytes` is reported and not read; a post over `max_post_chars` is
reported and skipped. A file with the same bytes as one already read (a copy, or the same file named twice) is
read once, with a warning; duplicate posts across files are resolved one record at a time (see `records`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..collector import collector_paused
from ..errors import InputError
from ..models import Thread
from .boilerplate import leave_out_boilerplate, paragraphs
from .discovery import JSONL_EXTENSIONS, MAIL_EXTENSIONS, TEXT_EXTENSIONS, discover, not_an_archive
from .formats import (
    FORMATS,
    GZIP_MAGIC,
    MAIL_FORMATS,
    SINGLE_MESSAGE,
    SNIFF_BYTES,
    describe,
    forced_mismatch,
    gunzip,
    head_text,
    looks_like_jsonl,
    sniff_mail,
)
from .jsonl import read_rows
from .mail import Message, NoArchive, parse_message
from .mail_threads import mail_rows
from .markdown import looks_like_clipped, parse_markdown
from .mbox import RawMessage, looks_like_article, split_mbox
from .records import Row, assemble, rows_of_thread
from .seen import Seen, signature
from .textfile import decode, read_bytes
from .vbulletin import looks_like_vbulletin, parse_text
from .zones import localised, zone_for

if TYPE_CHECKING:
    from .reuse import ParseCache

__all__ = [
    "FORMATS",
    "Discovered",
    "IngestResult",
    "discover",
    "discovered",
    "ingest",
    "looks_like_jsonl",
    "parse_data",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 512 * 2**20  # settings.max_file_mb = 512
DEFAULT_MAX_POST_CHARS = 1_000_000
MARKDOWN_EXTENSIONS = {".md", ".markdown"}


@dataclass
class IngestResult:
    threads: list[Thread] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0
    read: dict[str, dict] = field(default_factory=dict)  # path -> its metadata before the read, and "sha256"
    read_at_ns: int = 0  # when reading began (wall clock): see `seen`
    post_count: int | None = None  # the posts read, once `without_posts` let them go

    @property
    def posts(self) -> int:
        return self.post_count if self.post_count is not None else sum(len(t.posts) for t in self.threads)

    def without_posts(self) -> IngestResult:
        """This result with its threads' posts let go, their number kept: a full build's posts, once in its store,
        are not held while its vector index (the build's largest allocation) is made."""
        return replace(self, threads=[replace(t, posts=[]) for t in self.threads], post_count=self.posts)


@dataclass(frozen=True)
class Discovered:
    """The files a build reads (`discovery.discover`), found once: the check for unchanged sources and the reading
    share them. `read_at_ns`: when the walk began (wall clock), before any file's metadata was taken (see `seen`)."""

    files: list[Path]
    errors: list[InputError]
    walked_text: set[Path]  # the .txt files found by walking directories (see `discover`)
    read_at_ns: int


def discovered(paths: Iterable[str | os.PathLike], fmt: str = "auto", seen: Seen | None = None) -> Discovered:
    """The files `paths` name, read as `fmt` (see `ingest`), with what a previous build recorded (`seen`)."""
    walked_text: set[Path] = set()
    read_at = time.time_ns()
    files, errors = discover(paths, forced=fmt != "auto", walked_text=walked_text, seen=seen)
    return Discovered(files, errors, walked_text, read_at)


@dataclass
class MailRead:
    """The mail and news messages of every file read, threaded once all are read (a thread spans files)."""

    messages: list[Message] = field(default_factory=list)
    not_archived: int = 0  # messages marked X-No-Archive: yes

    def read(self, raws: list[RawMessage], source: str, result_errors: list[InputError], warnings: list[str], *,
             in_mbox: bool) -> None:  # fmt: skip
        for raw in raws:
            try:
                self.messages.append(parse_message(raw, source, warnings, in_mbox=in_mbox))
            except NoArchive:
                self.not_archived += 1
            except InputError as exc:
                result_errors.append(exc)
            except (ValueError, TypeError, LookupError, AttributeError, RecursionError, AssertionError) as exc:
                where = f"message {raw.number}: " if in_mbox else ""  # the email package rejected its structure
                result_errors.append(InputError(source, raw.line, f"{where}unreadable ({type(exc).__name__}), skipped"))


def _read_mail(data: bytes, source: str, fmt: str, errors, warnings, mail: MailRead) -> None:
    if fmt in SINGLE_MESSAGE:
        mail.read([RawMessage(line=1, number=1, envelope=None, data=data)], source, errors, warnings, in_mbox=False)
        return
    raws, leading = split_mbox(data)
    if not raws and not data.strip():
        return  # an empty mailbox
    if not raws:
        raise InputError(source, None, forced_mismatch("mbox", head_text(data)))
    if leading:
        warnings.append(f"{source}: {leading} line(s) before the first message, not read")
    mail.read(raws, source, errors, warnings, in_mbox=True)


def _detected(data: bytes, head: str, suffix: str) -> str:
    """The reader for a file when none is forced: by content first, then by extension."""
    if suffix in JSONL_EXTENSIONS:
        return "jsonl"
    if head.lstrip().startswith("{"):  # the whole first record, which may be longer than the head
        text = head if len(data) <= SNIFF_BYTES else data.decode("utf-8", errors="replace")
        if looks_like_jsonl(text):
            return "jsonl"
    if suffix == ".json":
        return "jsonl" if not data.strip() else "json"
    mail = sniff_mail(head)
    if mail:
        return mail
    if suffix in MAIL_EXTENSIONS:
        return "news" if suffix == ".eml" else "mbox"
    if suffix in MARKDOWN_EXTENSIONS or looks_like_clipped(head):
        return "markdown"
    return "vbulletin"


def parse_data(
    data: bytes,
    path: Path,
    errors: list[InputError],
    warnings: list[str],
    fmt: str = "auto",
    mail: MailRead | None = None,
    max_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
) -> list[Row]:
    """One file's records, read as `fmt` ("auto": by content, then by extension). A bad record goes to `errors`;
    a file that cannot be read at all raises InputError. Mail and news messages go to `mail` (threaded later)."""
    source = str(path)
    if data.startswith(GZIP_MAGIC):
        data = gunzip(data, source, max_bytes)
        path = path.with_name(path.name[: -len(path.suffix)] if path.suffix.lower() == ".gz" else path.name)
    suffix = path.suffix.lower()
    head = head_text(data)
    kind = fmt if fmt != "auto" else _detected(data, head, suffix)
    if kind in MAIL_FORMATS:
        if fmt != "auto" and kind in SINGLE_MESSAGE and not looks_like_article(head):
            raise InputError(source, 1, forced_mismatch(kind, head))
        _read_mail(data, source, kind, errors, warnings, mail if mail is not None else MailRead())
        return []
    text = decode(data, source, warnings)
    if kind == "json":
        raise InputError(source, 1, "expected JSON Lines: one JSON object per line")
    if kind == "jsonl":  # line by line, even when the first lines are bad
        return read_rows(text, source, errors, warnings, sniffed=fmt == "auto" and suffix not in JSONL_EXTENSIONS)
    if fmt == "auto" and kind != "markdown" and suffix not in TEXT_EXTENSIONS and not looks_like_vbulletin(text):
        raise InputError(source, None, f"unrecognised format: {describe(head, suffix)}")
    try:
        if kind == "markdown":
            return rows_of_thread(parse_markdown(text, source, errors))
        return rows_of_thread(parse_text(text, source, errors))
    except InputError as exc:  # say what the file looked like, unless it looked like what it was read as
        looked_right = looks_like_clipped(head) if kind == "markdown" else looks_like_vbulletin(head)
        if exc.line is None and exc.message.startswith("no recognisable post") and not looked_right:
            raise InputError(source, None, describe(head, suffix)) from None
        raise


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def ingest(
    paths: Iterable[str | os.PathLike],
    progress: Callable[[int, int], None] | None = None,
    *,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    max_post_chars: int | None = DEFAULT_MAX_POST_CHARS,
    fmt: str = "auto",
    zones: Mapping[str, str] | None = None,
    reuse: ParseCache | None = None,
    seen: Seen | None = None,
    found: Discovered | None = None,
) -> IngestResult:
    """Read `paths` (files and directories) into threads; None for a cap means no limit. `fmt` is one of
    `FORMATS`: "auto" picks a reader per file by content, any other reads every file as that format. `zones`:
    resolved source path → time zone name, for the dates files under that path give without a zone (see
    `zones`). `reuse`: the parse of each file kept by the previous build (see `reuse`); `seen`: what the previous
    build recorded of the files it read: an unchanged file whose parse is kept is not read again. `found`: the
    files of `paths`, when the caller has looked for them already (`discovered`, with the same `fmt` and `seen`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    found = found or discovered(paths, fmt, seen)
    files, walked_text = found.files, found.walked_text
    mail = MailRead()
    result = IngestResult(errors=list(found.errors), read_at_ns=found.read_at_ns)
    rows: list[Row] = []
    first_with: dict[bytes, Path] = {}  # content digest → the first file read with that content
    if progress:
        progress(0, len(files))  # a big first file takes a while: say what is going on before it
    for n, path in enumerate(files, start=1):
        data, marks = None, (len(result.errors), len(result.warnings))

        def reread(path: Path = path) -> bytes:  # a file `seen` vouches for is read only if its parse is not kept
            nonlocal data
            data = read_bytes(path, max_file_bytes)
            return data

        try:
            st = os.stat(path)  # before the read: a write after it shows in the next build's check
            known = seen.digest(str(path), st) if seen and reuse else None
            if known is not None:
                digest, size = bytes.fromhex(known), st.st_size
            else:
                digest, size = hashlib.sha256(reread()).digest(), len(data)
            result.read[str(path)] = signature(st) | {"size": size, "sha256": digest.hex()}
            blank = data is not None and not data.strip()
            if blank:  # read again each time: a parse is all it could have, and it is told apart from copies
                result.read[str(path)]["blank"] = True
            earlier = first_with.get(digest)
            if earlier is not None:
                what = "named twice" if _same_file(earlier, path) else f"same content as {earlier}"
                result.warnings.append(f"{path}: {what}; read once")  # nothing is lost: not an error
            else:
                if not blank:  # empty files are all alike, and none of them is a copy of another
                    first_with[digest] = path
                parse = partial(reuse.parse_data, digest=digest, reread=reread) if reuse else parse_data
                read = parse(data, path, result.errors, result.warnings, fmt, mail, max_file_bytes)
                zone = zone_for(path, zones) if zones and read else None
                rows.extend(localised(read, zone[1], result.warnings) if zone else read)
        except InputError as exc:
            if str(path) in result.read:  # no parse to keep: the next build reads and sniffs it again
                result.read[str(path)]["failed"] = True
            what = not_an_archive(data) if data is not None and path in walked_text else None
            if what:  # a README or notes beside the archive: said, not reported as bad input
                del result.errors[marks[0] :], result.warnings[marks[1] :]
                first_with.pop(digest, None)  # a copy of a README is passed over too, not "read once"
                result.warnings.append(f"passed over {path}: not an archive ({what})")
            else:
                result.errors.append(exc)
            log.debug("skipped %s: %s", path, exc)
        except OSError as exc:
            result.errors.append(InputError(str(path), None, f"cannot read: {exc.strerror or exc}"))
        result.files = n
        if progress:
            progress(n, len(files))
    with collector_paused():  # what follows makes no cycles, and the collector would walk every message read
        rows.extend(mail_rows(mail.messages, result.errors, result.warnings))
        if mail.not_archived:
            result.warnings.append(f"{mail.not_archived} message(s) marked X-No-Archive were not indexed")
        result.threads = assemble(rows, result.errors, max_post_chars)  # JSON Lines and mail threads span files
        split = reuse.paragraphs if reuse else paragraphs
        result.warnings.extend(leave_out_boilerplate(result.threads, split).warnings())  # repeated paragraphs
    if reuse:
        reuse.forget_paragraphs()
    return result
