"""Generic JSON Lines import: one post per line.

Required fields: thread_id, thread_title, author, posted_at (ISO 8601), body.
Optional: post_id (kept as given; duplicates are an error), url, source
(the file an exported post originally came from), post_index (ignored on
import: order is posted_at, then file order).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from ..models import Post, Thread
from .dates import parse_iso
from .ids import post_id_for
from .textfile import read_text

REQUIRED = ("thread_id", "thread_title", "author", "posted_at", "body")


def parse_jsonl_text(text: str, source: str, seen_post_ids: set[str] | None = None) -> list[Thread]:
    seen_post_ids = set() if seen_post_ids is None else seen_post_ids
    rows: dict[str, list[tuple[object, int, dict]]] = {}
    titles: dict[str, str] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(source, lineno, f"bad JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise InputError(source, lineno, "expected a JSON object (one post per line)")
        missing = [k for k in REQUIRED if obj.get(k) in (None, "")]
        if missing and not (missing == ["body"] and obj.get("body") == ""):
            raise InputError(source, lineno, f"missing field(s): {', '.join(missing)}")
        for key in REQUIRED:
            if key != "posted_at" and not isinstance(obj[key], (str, int)):
                raise InputError(source, lineno, f"field {key!r} must be a string")
        try:
            when = parse_iso(str(obj["posted_at"]))
        except ValueError:
            raise InputError(source, lineno, f"posted_at {obj['posted_at']!r} is not an ISO 8601 date") from None
        if obj.get("post_id") not in (None, ""):
            pid = str(obj["post_id"])
            if pid in seen_post_ids:
                raise InputError(source, lineno, f"duplicate post_id {pid!r}")
            seen_post_ids.add(pid)
        tid = str(obj["thread_id"])
        titles.setdefault(tid, str(obj["thread_title"]))
        rows.setdefault(tid, []).append((when, lineno, obj))

    threads = []
    for tid, items in rows.items():
        items.sort(key=lambda item: (item[0], item[1]))
        origin = str(items[0][2].get("source") or source)
        thread = Thread(thread_id=tid, title=titles[tid], source=origin)
        occurrences: dict[tuple[str, object], int] = {}
        for index, (when, lineno, obj) in enumerate(items):
            author = str(obj["author"]).strip()
            pid = obj.get("post_id")
            if pid in (None, ""):
                key = (author, when)
                occurrences[key] = occurrences.get(key, 0) + 1
                pid = post_id_for(tid, author, when, occurrences[key] - 1)
                if pid in seen_post_ids:
                    raise InputError(source, lineno, f"post collides with an earlier post id {pid!r}")
                seen_post_ids.add(pid)
            thread.posts.append(
                Post(
                    post_id=str(pid),
                    thread_id=tid,
                    post_index=index,
                    author=author,
                    posted_at=when,
                    body=str(obj["body"]).replace("\r\n", "\n"),
                    source=str(obj.get("source") or source),
                    line=lineno,
                    url=obj.get("url") or None,
                )
            )
        threads.append(thread)
    return threads


def parse_jsonl_file(path: str | Path, seen_post_ids: set[str] | None = None,
                     warnings: list[str] | None = None) -> list[Thread]:
    return parse_jsonl_text(read_text(path, warnings), str(path), seen_post_ids)
