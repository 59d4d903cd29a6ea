"""Turning source files into threads and posts.

`ingest(paths)` walks files and directories, picks a parser per file by
extension or content, and collects every error instead of stopping at the
first: the files that parse are indexed, the others are reported.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..errors import InputError
from ..models import Thread
from .jsonl import parse_jsonl_file
from .textfile import read_text
from .vbulletin import looks_like_vbulletin, parse_text

log = logging.getLogger(__name__)

JSONL_EXTENSIONS = {".jsonl", ".ndjson"}
TEXT_EXTENSIONS = {".txt", ".text", ""}


@dataclass
class IngestResult:
    threads: list[Thread] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def posts(self) -> int:
        return sum(len(t.posts) for t in self.threads)


def discover(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[InputError]]:
    """Expand directories recursively (hidden entries skipped); keep the order given."""
    files: list[Path] = []
    errors: list[InputError] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    candidate = Path(root) / name
                    if not name.startswith(".") and candidate.suffix.lower() in JSONL_EXTENSIONS | TEXT_EXTENSIONS:
                        files.append(candidate)
        elif path.is_file():
            files.append(path)
        else:
            errors.append(InputError(str(path), None, "no such file or directory"))
    return files, errors


def parse_path(path: Path, seen_post_ids: set[str], warnings: list[str]) -> list[Thread]:
    """Parse one file by extension, falling back to sniffing its content."""
    suffix = path.suffix.lower()
    if suffix in JSONL_EXTENSIONS:
        return parse_jsonl_file(path, seen_post_ids, warnings)
    text = read_text(path, warnings)
    if suffix not in TEXT_EXTENSIONS and text.lstrip().startswith("{"):
        from .jsonl import parse_jsonl_text

        return parse_jsonl_text(text, str(path), seen_post_ids)
    if suffix not in TEXT_EXTENSIONS and not looks_like_vbulletin(text):
        raise InputError(str(path), None, "unrecognised format (expected vBulletin archive text or JSON Lines)")
    thread = parse_text(text, str(path))
    for post in thread.posts:
        if post.post_id in seen_post_ids:
            raise InputError(str(path), post.line, f"post id {post.post_id!r} already seen (same thread twice?)")
    seen_post_ids.update(p.post_id for p in thread.posts)
    return [thread]


def ingest(paths: Iterable[str | os.PathLike], progress: Callable[[int, int], None] | None = None) -> IngestResult:
    files, errors = discover(paths)
    result = IngestResult(errors=list(errors))
    seen_threads: dict[str, str] = {}
    seen_post_ids: set[str] = set()
    for n, path in enumerate(files, start=1):
        try:
            threads = parse_path(path, seen_post_ids, result.warnings)
        except InputError as exc:
            result.errors.append(exc)
            log.debug("skipped %s: %s", path, exc)
            threads = []
        except OSError as exc:
            result.errors.append(InputError(str(path), None, f"cannot read: {exc.strerror or exc}"))
            threads = []
        for thread in threads:
            if thread.thread_id in seen_threads:
                result.errors.append(InputError(thread.source, None,
                                                f"thread {thread.thread_id!r} already read from {seen_threads[thread.thread_id]}"))
                continue
            seen_threads[thread.thread_id] = thread.source
            result.threads.append(thread)
        result.files = n
        if progress:
            progress(n, len(files))
    return result
