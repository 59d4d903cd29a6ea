"""A digest of each post as the index stores it: what an incremental build compares the live build's posts by.

The reading step (`reading.read_sources`) computes them while the bodies are still strings in its process, before
they go to the bodies file: the build then neither reads every body back from that file nor hashes the archive
in its own process (over 46,647 posts, 0.7 s of an incremental build's 12).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..models import Post, Thread


def post_digest(post: Post, thread: Thread) -> str:
    """A digest of everything the index stores about a post (its thread's title and source included)."""
    h = hashlib.blake2b(digest_size=16)
    fields = (post.post_id, post.thread_id, post.post_index, post.author, post.posted_at, post.source, post.line)
    fields += (post.url, post.excluded, post.utc_offset, thread.title, thread.source)
    h.update(repr(fields).encode("utf-8", "surrogatepass"))
    h.update(post.body.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def digests(threads: Sequence[Thread]) -> dict[str, str]:
    """Post id → `post_digest`, for every post of `threads`."""
    return {p.post_id: post_digest(p, t) for t in threads for p in t.posts}
