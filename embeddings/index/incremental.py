"""Incremental builds: what a new build may take from the live one, and when it must start from scratch.

A build records in its manifest what it was made from: every file it read (path, metadata, SHA-256: `ingest.seen`),
the files it could not read, and the settings and code its output depends on (`build_settings`). The next build:

- is **up to date**, and does nothing, when the sources name the same files with the same bytes, the same files
  cannot be read, and nothing else differs;
- is **incremental** when, after reading every source (each file's parse is kept: `ingest.reuse`), every post the
  live build holds is there unchanged, in the same order, and every other post comes after them in the order quote
  detection reads posts (by date): a mailing list's new month, a forum's new posts. Quote detection then goes on
  from the saved state (`quotes.resume`), and the store and the vector index are the live build's plus the new
  posts (`append`);
- is **full** otherwise (a post changed or gone, a new post older than the newest indexed one, another setting,
  another threadbot), and says why.

Either way the result is what a full build of the same sources gives: the same posts, passages, quotes and search
results (only passage ids differ: an incremental build numbers new passages after the existing ones).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..durable import link_or_copy
from ..errors import InputError, ThreadbotError
from ..ingest import Discovered, IngestResult
from ..ingest.reuse import code_digest
from ..ingest.seen import Seen
from ..ingest.textfile import read_bytes
from ..models import Post, Thread
from ..quotes.detector import QuoteDetector
from ..quotes.resume import STATE_DIR, SavedState, StateError, detection_order, write_segment
from ..quotes.state_merge import compact
from .datadir import DB_FILE, FORMAT_VERSION, DataDir
from .sql import POST_AS_STORED

log = logging.getLogger(__name__)

_PACKAGE = Path(__file__).resolve().parent.parent
# the code a build's output depends on: reading, quote detection, passages, the index files
BUILD_CODE = code_digest(
    sorted(
        p
        for folder in ("ingest", "quotes", "passages", "index", "vectors")
        for p in (_PACKAGE / folder).glob("*.py")
        if p.name not in ("embedder.py", "onnx_encoder.py", "onnx_export.py", "check.py")
    )
    + [_PACKAGE / "models.py"]
)


def build_settings(settings, model_id: str, fmt: str, zones: dict) -> dict:
    """Everything besides the sources' bytes that a build's output depends on, as the manifest records it."""
    return {
        "format_version": FORMAT_VERSION,
        "code": BUILD_CODE,
        "model": model_id,
        "format": fmt,
        "timezones": dict(zones),
        "chunk_max_tokens": settings.chunk_max_tokens,
        "chunk_overlap_sentences": settings.chunk_overlap_sentences,
        "quote_mode": settings.quote_mode,
        "quote_min_words": settings.quote_min_words,
        "max_file_mb": settings.max_file_mb,
        "max_post_chars": settings.max_post_chars,
    }


@dataclass
class Previous:
    """The live build, as a new build sees it."""

    path: Path
    manifest: dict

    @property
    def build_id(self) -> str:
        return str(self.manifest.get("build_id"))


def previous_build(data: DataDir) -> tuple[Previous | None, str]:
    """The live build, or None when there is none or it cannot be read (a full build repairs it), and why not."""
    try:
        path = data.current_path()
        manifest = data.read_manifest(path) if path else None
    except (ThreadbotError, OSError) as exc:  # damaged: the full build repairs it
        log.info("the live build cannot be read (%s): building from scratch", exc)
        return None, f"the live build cannot be read ({exc})"
    return (Previous(path, manifest), "") if path and manifest else (None, "")


def file_records(result: IngestResult) -> tuple[list[dict], list[str]]:
    """(each file read: its path, metadata before the read and sha256; the files that could not be read) for the
    manifest."""
    files = [{"path": path, **record} for path, record in result.read.items()]
    unread = sorted({e.path for e in result.errors if e.line is None and e.path not in result.read})
    return files, unread


READING = ("format_version", "code", "format", "max_file_mb")  # the settings what a file reads as depends on


def seen_files(previous: Previous | None, fixed: dict) -> Seen | None:
    """What `previous` recorded of the files it read, when it read them as this build will (see `ingest.seen`)."""
    if previous is None:
        return None
    recorded = previous.manifest.get("build_settings")
    if not isinstance(recorded, dict) or any(recorded.get(k) != fixed.get(k) for k in READING):
        return None
    return Seen.from_manifest(previous.manifest)


def unchanged(previous: Previous, found: Discovered, max_file_bytes: int, fixed: dict, seen: Seen | None) -> bool:
    """Would a build of the files `found` read exactly what the live build read, with the same settings? Files
    whose metadata `seen` vouches for are not read again, and the check stops at the first difference (a new file
    is not read here: the build reads it)."""
    recorded, was_unread = previous.manifest.get("files"), previous.manifest.get("unread")
    if previous.manifest.get("build_settings") != fixed or not isinstance(recorded, list):
        return False
    kept = [(f.get("path"), f.get("size"), f.get("sha256")) for f in recorded if isinstance(f, dict)]
    unread, i = {e.path for e in found.errors}, 0
    for path in found.files:
        name = str(path)
        if i >= len(kept) or kept[i][0] != name:  # not read last time: a new file, or one that could not be read
            if name not in (was_unread or ()) or _readable(path, max_file_bytes):
                return False
            unread.add(name)
            continue
        try:
            if not (seen and seen.digest(name, os.stat(path)) == kept[i][2]):
                data = read_bytes(path, max_file_bytes)
                if len(data) != kept[i][1] or hashlib.sha256(data).hexdigest() != kept[i][2]:
                    return False
        except (InputError, OSError):
            return False
        i += 1
    return i == len(kept) and sorted(unread) == was_unread


def _readable(path: Path, max_file_bytes: int) -> bool:
    try:
        read_bytes(path, max_file_bytes)
    except (InputError, OSError):
        return False
    return True


@dataclass
class Addition:
    """An incremental build's plan: the posts to add to the previous build."""

    previous: Previous
    state: SavedState
    new: list[Post]  # in the order quote detection reads them
    threads: list[Thread]  # the threads the new posts are in, each holding only those
    posts_by_id: dict[str, Post]
    thread_posts: list[Post]  # every post of those threads, old and new, in detection order


def plan_addition(previous: Previous, threads: Sequence[Thread], fixed: dict, known: dict[str, str]) -> Addition | str:
    """The plan of an incremental build on `previous` for the posts of `threads` (`known`: their digests), or
    why there can be none."""
    manifest = previous.manifest
    recorded = manifest.get("build_settings")
    if recorded != fixed:
        if not isinstance(recorded, dict):
            return f"build {previous.build_id} recorded no settings to compare"
        changed = sorted(k for k in fixed.keys() | recorded.keys() if fixed.get(k) != recorded.get(k))
        what = {"code": "threadbot's build code", "model": "the model", "format_version": "the index format"}
        return "changed since the last build: " + ", ".join(what.get(k, k) for k in changed)
    try:
        state = SavedState(previous.path / STATE_DIR, manifest.get("quote_state") or [])
    except StateError as exc:
        return str(exc)
    if len(state) != manifest.get("counts", {}).get("posts"):
        return f"the saved quote state holds {len(state)} posts, the manifest counts another number"
    ordered = detection_order([p for t in threads for p in t.posts])
    why = _differs(ordered, state, known)
    if why == _CHANGED:
        return what_changed(previous, state, known, threads)
    if why:
        return why
    new = ordered[len(state) :]
    new_ids = {p.post_id for p in new}
    grown = [Thread(t.thread_id, t.title, t.source, [p for p in t.posts if p.post_id in new_ids]) for t in threads]
    posts_by_id = {p.post_id: p for p in ordered}
    grown = [t for t in grown if t.posts]
    in_grown = {t.thread_id for t in grown}
    return Addition(previous, state, new, grown, posts_by_id, [p for p in ordered if p.thread_id in in_grown])


def _differs(ordered: Sequence[Post], state: SavedState, known: dict[str, str]) -> str | None:
    """Why the first posts of `ordered` are not the posts `state` holds, unchanged and in order; None if they are."""
    for i, (post_id, digest) in enumerate(zip(state.post_ids, state.digests)):
        post = ordered[i] if i < len(ordered) else None
        if post is not None and post.post_id == post_id and known.get(post_id) == digest:
            continue
        if post_id not in known:
            return f"post {post_id} is no longer in the sources"
        indexed = set(state.post_ids)
        if post is not None and post.post_id not in indexed:
            newest = max(p.posted_at for p in ordered if p.post_id in indexed)
            return (
                f"new post {post.post_id} ({post.source}:{post.line}) of {post.posted_at} is not later than the newest"
                f" indexed post ({newest})"
            )
        if known.get(post_id) != digest:
            return _CHANGED
        return "the indexed posts are read in another order"
    return None


_CHANGED = "changed"  # _differs found an indexed post changed: `what_changed` says how


def what_changed(previous: Previous, state: SavedState, known: dict[str, str], threads: Sequence[Thread]) -> str:
    """Why a full build: which indexed posts read differently now, and what differs in the first (its fields
    against the previous build's store). Boilerplate is found across the whole archive (`ingest.boilerplate`), so
    new posts can make a paragraph of earlier ones boilerplate: then only their left-out text differs."""
    changed = [p for p, d in zip(state.post_ids, state.digests) if p in known and known[p] != d]
    thread, post = next((t, p) for t in threads for p in t.posts if p.post_id == changed[0])
    fields = _changed_fields(previous.path / DB_FILE, post, thread.title)
    where = f"{post.source}:{post.line}"
    n = len(changed)
    if fields == ["left-out text"]:
        return (
            f"the boilerplate found across the archive now leaves other text out of {n} indexed "
            f"post{'' if n == 1 else 's'} (the first: {where})"
        )
    what = f", its {' and '.join(fields)}" if fields else ""
    return f"{n} indexed post{' has' if n == 1 else 's have'} changed (the first: {where}{what})"


def _changed_fields(db_path: Path, post: Post, title: str | None) -> list[str]:
    """What of `post` differs from the row the previous build's store holds for it ([] when it cannot tell)."""
    try:
        db = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)  # the data dir may be relative
        try:
            row = db.execute(POST_AS_STORED, (post.post_id,)).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return []
    if row is None:
        return []
    body, author, posted_at, excluded, stored_title = row
    fields = []
    if body != post.body:
        fields.append("text")
    if author != post.author:
        fields.append("author")
    if posted_at != post.posted_at.isoformat(timespec="seconds"):
        fields.append("date")
    if stored_title != title:
        fields.append("thread title")
    if (json.loads(excluded) if excluded else []) != [list(span) for span in post.excluded]:
        fields.append("left-out text")
    return fields


def save_state(tmp: Path, detector: QuoteDetector, known: dict[str, str], addition: Addition) -> list[str] | None:
    """Save an incremental build's quote state in the new build `tmp`: the previous build's segments (linked) and
    one for the posts it added. Their names, or None when the state cannot be saved. (A full build saves its
    state as it detects: `quotes.batched`.)"""
    root = tmp / STATE_DIR
    names = list(addition.state.names)
    try:
        root.mkdir()
        for name in names:
            _link_tree(addition.previous.path / STATE_DIR / name, root / name)
        name = f"{int(names[-1]) + 1:04d}"
        digests = [known[p.post_id] for p in addition.new]
        write_segment(root / name, detector, len(addition.state), addition.state.vocab_size, digests)
        names = compact(root, [*names, name])  # a linked segment it merges is unlinked here, kept in the parent
    except (OSError, StateError, ValueError) as exc:
        log.warning("the quote detector's state is not kept (%s): the next build will be a full one", exc)
        shutil.rmtree(root, ignore_errors=True)
        return None
    return names


def _link_tree(source: Path, target: Path) -> None:
    target.mkdir()
    for item in source.iterdir():
        link_or_copy(item, target / item.name)
