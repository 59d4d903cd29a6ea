"""Stable identifiers: the same archive always yields the same thread and post ids."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime


def _digest(*parts: str, length: int) -> str:
    h = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()
    return h[:length]


def slugify(text: str, max_len: int = 40) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "thread"


def thread_id_for(title: str, first_author: str, first_posted_at: datetime) -> str:
    """A readable id that survives moving or renaming the source file."""
    return f"{slugify(title)}-{_digest(title, first_author, first_posted_at.isoformat(), length=8)}"


def post_id_for(thread_id: str, author: str, posted_at: datetime, occurrence: int) -> str:
    """`occurrence` counts earlier posts of the thread with the same author and minute."""
    return _digest(thread_id, author, posted_at.isoformat(), str(occurrence), length=12)


def thread_id_for_root(title: str, root: str) -> str:
    """A mail thread's id: a slug of its title and a hash of the Message-ID its replies refer back to."""
    return f"{slugify(title)}-{_digest(root, length=8)}"
