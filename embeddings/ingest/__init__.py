"""Turning source files into threads and posts.

`ingest(paths)` walks files and directories, picks a reader per file by extension or content, and collects every
problem instead of stopping at the first: a bad record (a JSON line, a vBulletin post) is skipped and reported as
`file:line: problem`, a file that cannot be read at all as `file: problem`; everything else is indexed. Every
skipped record or file is in `IngestResult.errors` (so "some input skipped" is exactly "errors is not empty");
what is read but altered (cp1252 fallback, a lone surrogate replaced) is in `warnings`.

Only regular files are read (a link to one is fine): a FIFO, a device or a socket is reported and never opened
for a blocking read. A file over `max_file_bytes` is reported and not read; a post over `max_post_chars` is
reported and skipped. A file with the same bytes as one already read (a copy, or the same file named twice) is
reported and read once; duplicate posts across files are resolved one record at a time (see `records`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..models import Thread
from .jsonl import read_rows
from .records import Row, assemble, rows_of_thread
from .textfile import decode, is_regular, read_bytes
from .vbulletin import looks_like_vbulletin, parse_text

log = logging.getLogger(__name__)

JSONL_EXTENSIONS = {".jsonl", ".ndjson"}
WALKED_EXTENSIONS = JSONL_EXTENSIONS | {".txt", ".text"}  # .json is read when named, or when it is JSON Lines
TEXT_EXTENSIONS = {".txt", ".text"}
SNIFFED_EXTENSIONS = {"", ".json"}  # taken from a directory when their content looks like an archive
SNIFF_BYTES = 64 * 1024
SNIFF_LINES = 5
DEFAULT_MAX_FILE_BYTES = 512 * 2**20  # settings.max_file_mb = 512
DEFAULT_MAX_POST_CHARS = 1_000_000


@dataclass
class IngestResult:
    threads: list[Thread] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def posts(self) -> int:
        return sum(len(t.posts) for t in self.threads)


def _is_object_line(line: str) -> bool:
    if len(line) > SNIFF_BYTES:  # too long to parse just to sniff: a record for the reader to judge
        return line.lstrip().startswith("{")
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _first_lines(text: str) -> list[str]:
    lines = text.lstrip("\ufeff").split("\n", 200)[:200]
    return [line for line in lines if line.strip()][:SNIFF_LINES]


def looks_like_jsonl(text: str) -> bool:
    """The first non-blank line starts a JSON object, and it or one of the next few lines (unindented) is a whole
    one: a bad first record does not hide a JSON Lines file, and a pretty-printed .json document is not one."""
    lines = _first_lines(text)
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    return _is_object_line(lines[0]) or any(line.startswith("{") and _is_object_line(line) for line in lines[1:])


def _sniff(path: Path) -> str | None:
    """ "jsonl", "vbulletin" or None (not an archive), from the start of the file."""
    try:
        head = read_bytes(path, head=SNIFF_BYTES)
    except (OSError, InputError):
        return None
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if looks_like_jsonl(text):
        return "jsonl"
    return "vbulletin" if looks_like_vbulletin(text.replace("\r\n", "\n")) else None


def _stat_problem(path: Path, exc: OSError | ValueError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "broken link (its target does not exist)" if os.path.islink(path) else "no such file or directory"
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return f"cannot read: {exc}"  # e.g. a NUL in the name


def _walk(top: Path, files: list[Path], errors: list[InputError], walked: set[tuple[int, int]]) -> None:
    """Files of `top` and its subdirectories, depth first, names sorted, hidden entries skipped.

    Links to directories are followed, each directory walked once (a link back to a parent ends there).
    """
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in walked:
                continue
            walked.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                names = sorted(entry.name for entry in it)
        except OSError as exc:
            errors.append(InputError(str(folder), None, f"cannot read directory: {exc.strerror or exc}"))
            continue
        subfolders = []
        for name in names:
            if name.startswith("."):
                continue
            candidate = folder / name
            suffix = candidate.suffix.lower()
            wanted = suffix in WALKED_EXTENSIONS or suffix in SNIFFED_EXTENSIONS
            try:
                st = os.stat(candidate)
            except (OSError, ValueError) as exc:
                if wanted:
                    errors.append(InputError(str(candidate), None, _stat_problem(candidate, exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                subfolders.append(candidate)
            elif not is_regular(st):
                if wanted:
                    errors.append(InputError(str(candidate), None, "not a regular file, skipped"))
            elif suffix in WALKED_EXTENSIONS or (suffix in SNIFFED_EXTENSIONS and _sniff(candidate)):
                files.append(candidate)
        stack.extend(reversed(subfolders))


def discover(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[InputError]]:
    """Expand directories recursively (hidden entries skipped); keep the order given.

    Inside directories, files with a known extension are taken, and files without one when their content
    looks like an archive; anything else (images, READMEs, ...) is passed over. A file named explicitly is
    always read. Only regular files are taken: anything else that would have been is reported.
    """
    files: list[Path] = []
    errors: list[InputError] = []
    walked: set[tuple[int, int]] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            st = os.stat(path)
        except (OSError, ValueError) as exc:
            errors.append(InputError(str(path), None, _stat_problem(path, exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk(path, files, errors, walked)
        elif is_regular(st):
            files.append(path)
        else:
            errors.append(InputError(str(path), None, "not a regular file, skipped"))
    return files, errors


def parse_data(data: bytes, path: Path, errors: list[InputError], warnings: list[str]) -> list[Row]:
    """One file's content → its records, by content first, then by extension. A bad record goes to `errors`;
    a file that cannot be read at all raises InputError."""
    text = decode(data, path, warnings)
    suffix = path.suffix.lower()
    if suffix in JSONL_EXTENSIONS:  # line by line, even when the first lines are bad
        return read_rows(text, str(path), errors, warnings, sniffed=False)
    if looks_like_jsonl(text) or (suffix == ".json" and not text.strip()):
        return read_rows(text, str(path), errors, warnings)
    if suffix == ".json":
        raise InputError(str(path), 1, "expected JSON Lines: one JSON object per line")
    if suffix not in TEXT_EXTENSIONS and not looks_like_vbulletin(text):
        raise InputError(str(path), None, "unrecognised format (expected vBulletin archive text or JSON Lines)")
    return rows_of_thread(parse_text(text, str(path), errors))


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
) -> IngestResult:
    """Read `paths` (files and directories) into threads; None for a cap means no limit."""
    files, errors = discover(paths)
    result = IngestResult(errors=list(errors))
    rows: list[Row] = []
    first_with: dict[bytes, Path] = {}  # content digest → the first file read with that content
    for n, path in enumerate(files, start=1):
        try:
            data = read_bytes(path, max_file_bytes)
            digest = hashlib.sha256(data).digest()
            earlier = first_with.get(digest)
            if earlier is not None:
                what = "named twice" if _same_file(earlier, path) else f"same content as {earlier}"
                raise InputError(str(path), None, f"{what}; read once, skipped here")
            if data.strip():  # empty files are all alike, and none of them is a copy of another
                first_with[digest] = path
            rows.extend(parse_data(data, path, result.errors, result.warnings))
        except InputError as exc:
            result.errors.append(exc)
            log.debug("skipped %s: %s", path, exc)
        except OSError as exc:
            result.errors.append(InputError(str(path), None, f"cannot read: {exc.strerror or exc}"))
        result.files = n
        if progress:
            progress(n, len(files))
    result.threads = assemble(rows, result.errors, max_post_chars)  # JSON Lines threads may span files
    return result
