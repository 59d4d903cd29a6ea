"""Turning source files into threads and posts.

`ingest(paths)` walks files and directories, picks a parser per file by
extension or content, and collects every error instead of stopping at the
first: the files that parse are indexed, the others are reported.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..models import Thread
from .jsonl import Row, assemble, read_rows
from .textfile import read_text
from .vbulletin import looks_like_vbulletin, parse_text

log = logging.getLogger(__name__)

JSONL_EXTENSIONS = {".jsonl", ".ndjson"}
WALKED_EXTENSIONS = JSONL_EXTENSIONS | {".txt", ".text"}  # .json is read when named, or when it is JSON Lines
TEXT_EXTENSIONS = {".txt", ".text"}
SNIFF_BYTES = 64 * 1024


@dataclass
class IngestResult:
    threads: list[Thread] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def posts(self) -> int:
        return sum(len(t.posts) for t in self.threads)


def looks_like_jsonl(text: str) -> bool:
    """The first non-blank line is a whole JSON object (a pretty-printed .json document is not JSON Lines)."""
    for line in text.lstrip("\ufeff").split("\n", 50)[:50]:
        if line.strip():
            if not line.lstrip().startswith("{"):
                return False
            try:
                return isinstance(json.loads(line), dict)
            except ValueError:
                return False
    return False


def _sniff(path: Path) -> str | None:
    """ "jsonl", "vbulletin" or None (not an archive), from the start of the file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        return None
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if looks_like_jsonl(text):
        return "jsonl"
    return "vbulletin" if looks_like_vbulletin(text.replace("\r\n", "\n")) else None


def discover(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[InputError]]:
    """Expand directories recursively (hidden entries skipped); keep the order given.

    Inside directories, files with a known extension are taken, and files without one when their content
    looks like an archive; anything else (images, READMEs, ...) is passed over. A file named explicitly is
    always read.
    """
    files: list[Path] = []
    errors: list[InputError] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    candidate = Path(root) / name
                    if name.startswith("."):
                        continue
                    suffix = candidate.suffix.lower()
                    if suffix in WALKED_EXTENSIONS or (suffix in ("", ".json") and _sniff(candidate)):
                        files.append(candidate)
        elif path.is_file():
            files.append(path)
        else:
            errors.append(InputError(str(path), None, "no such file or directory"))
    return files, errors


def parse_path(path: Path, seen_post_ids: set[str], warnings: list[str]) -> tuple[list[Thread], list[Row]]:
    """One file → (vBulletin threads, JSON Lines rows), by content first, then by extension."""
    text = read_text(path, warnings)
    suffix = path.suffix.lower()
    if looks_like_jsonl(text) or (suffix in JSONL_EXTENSIONS | {".json"} and not text.strip()):
        return [], read_rows(text, str(path), seen_post_ids)
    if suffix in JSONL_EXTENSIONS | {".json"}:
        raise InputError(str(path), 1, "expected JSON Lines: one JSON object per line")
    if suffix not in TEXT_EXTENSIONS and not looks_like_vbulletin(text):
        raise InputError(str(path), None, "unrecognised format (expected vBulletin archive text or JSON Lines)")
    thread = parse_text(text, str(path))
    for post in thread.posts:
        if post.post_id in seen_post_ids:
            raise InputError(str(path), post.line, f"post id {post.post_id!r} already seen (same thread twice?)")
    seen_post_ids.update(p.post_id for p in thread.posts)
    return [thread], []


def ingest(paths: Iterable[str | os.PathLike], progress: Callable[[int, int], None] | None = None) -> IngestResult:
    files, errors = discover(paths)
    result = IngestResult(errors=list(errors))
    seen_post_ids: set[str] = set()
    threads: list[Thread] = []
    rows: list[Row] = []
    for n, path in enumerate(files, start=1):
        try:
            found, found_rows = parse_path(path, seen_post_ids, result.warnings)
            threads.extend(found)
            rows.extend(found_rows)
        except InputError as exc:
            result.errors.append(exc)
            log.debug("skipped %s: %s", path, exc)
        except OSError as exc:
            result.errors.append(InputError(str(path), None, f"cannot read: {exc.strerror or exc}"))
        result.files = n
        if progress:
            progress(n, len(files))
    try:
        threads.extend(assemble(rows, seen_post_ids))  # JSON Lines threads may span files
    except InputError as exc:
        result.errors.append(exc)
    seen_threads: dict[str, str] = {}
    for thread in threads:
        if thread.thread_id in seen_threads:
            result.errors.append(
                InputError(
                    thread.source,
                    None,
                    f"thread {thread.thread_id!r} already read from {seen_threads[thread.thread_id]}",
                )
            )
            continue
        seen_threads[thread.thread_id] = thread.source
        result.threads.append(thread)
    return result
