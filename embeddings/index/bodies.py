"""A build's post bodies in a scratch file instead of in memory.

Every stage of a build after parsing reads the posts' bodies (quote detection, chunking, the store), and the
passages are slices of them: held as strings, the archive's whole text stays in memory for the whole build, and
the bodies are most of what a parsed post holds. `spill` writes them to a file of the build's directory, once,
after parsing, and gives back posts whose `body` reads its text from there when asked (`SpilledPost`); the
passages cut from one keep a handle on its body (`BodyRef`), not the text. Each stage reads a post's body many
times in a row (quote detection, chunking) or its passages one after the other (embedding, the store), so the
bodies read last are kept decoded (`Bodies`, bounded by characters) and most reads never reach the file.
"""

from __future__ import annotations

import os
from array import array
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from ..models import Post, Thread

BODIES_FILE = "bodies.scratch"  # removed before the build is made live
# characters of the bodies read last kept decoded (1 to 4 bytes each in memory); a larger body is kept alone
CACHE_CHARS = 4_000_000


class Bodies:
    """Texts appended to a file (`add`), each read back by its number (`text`) once `flush` has written them. One
    thread uses it: a build's stages run one after the other."""

    def __init__(self, path: Path, cache_chars: int = CACHE_CHARS):
        self.path = path
        self._fh = open(path, "w+b")  # closed by `close`: by the build when done with it, or when it fails
        self._starts = array("q", [0])  # byte offset of text i is _starts[i], of its end _starts[i + 1]
        self._cache: OrderedDict[int, str] = OrderedDict()
        self._cache_chars, self._cached = cache_chars, 0

    @classmethod
    def reopened(cls, path: Path, offsets: array, cache_chars: int = CACHE_CHARS) -> Bodies:
        """The bodies another process wrote to `path` (`offsets`: its `offsets()`), to read."""
        self = cls.__new__(cls)
        self.path = path
        self._fh = open(path, "rb")  # closed by `close`, as a file this process wrote
        self._starts = offsets
        self._cache, self._cache_chars, self._cached = OrderedDict(), cache_chars, 0
        return self

    def offsets(self) -> array:
        """Where each text is in the file: what `reopened` needs to read them."""
        return self._starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    def add(self, text: str) -> int:
        data = text.encode("utf-8", "surrogatepass")  # a lone surrogate a source held comes back as it was
        self._fh.write(data)
        self._starts.append(self._starts[-1] + len(data))
        return len(self._starts) - 2

    def flush(self) -> None:
        self._fh.flush()

    def text(self, i: int) -> str:
        found = self._cache.get(i)
        if found is not None:
            self._cache.move_to_end(i)
            return found
        start, end = self._starts[i], self._starts[i + 1]
        data = os.pread(self._fh.fileno(), end - start, start) if end > start else b""
        if len(data) != end - start:
            raise OSError(f"{self.path} is shorter than the bodies written to it")
        text = data.decode("utf-8", "surrogatepass")
        self._cache[i] = text
        self._cached += len(text)
        while self._cached > self._cache_chars and len(self._cache) > 1:
            self._cached -= len(self._cache.popitem(last=False)[1])
        return text

    def close(self) -> None:
        self._cache.clear()
        self._fh.close()

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


class BodyRef:
    """One spilled body: what a passage keeps to slice its text from (``ref[start:end]``, as of a string)."""

    __slots__ = ("_bodies", "_number", "_length")

    def __init__(self, bodies: Bodies, number: int, length: int):
        self._bodies, self._number, self._length = bodies, number, length

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, key: int | slice) -> str:
        return self._bodies.text(self._number)[key]

    def __str__(self) -> str:
        return self._bodies.text(self._number)


class SpilledPost(Post):
    """A post whose body is in a `Bodies` file: `body` reads it (the same text), `body_source` is its handle."""

    __slots__ = ("_ref",)

    @property
    def body(self) -> str:  # type: ignore[override]
        ref = self._ref
        return ref if isinstance(ref, str) else str(ref)

    @body.setter
    def body(self, text: str) -> None:  # a post made again from this one (`dataclasses.replace`) holds its text
        object.__setattr__(self, "_ref", text)

    @property
    def body_source(self) -> str | BodyRef:
        return self._ref


def spill_post(post: Post, bodies: Bodies) -> SpilledPost:
    out = object.__new__(SpilledPost)
    for name in Post.__slots__:  # every field but the body, the same objects
        if name != "body":
            object.__setattr__(out, name, getattr(post, name))
    text = post.body
    object.__setattr__(out, "_ref", BodyRef(bodies, bodies.add(text), len(text)))
    return out


# a spilled post as plain values (`packed`): its fields but the body, then its body's number and length
_FIELDS = tuple(name for name in Post.__slots__ if name != "body")


def packed(threads: list[Thread]) -> list[tuple]:
    """Threads of spilled posts as plain tuples, for another process to make them again on the same bodies file
    (`unpacked`): a tuple pickles in a fraction of the time and space a dataclass takes."""
    out = []
    for t in threads:
        posts = []
        for p in t.posts:
            ref = p.body_source
            body = (ref._number, ref._length) if isinstance(ref, BodyRef) else (ref,)  # a text made again here
            posts.append((*(getattr(p, name) for name in _FIELDS), *body))
        out.append((t.thread_id, t.title, t.source, posts))
    return out


def unpacked(threads: list[tuple], bodies: Bodies) -> list[Thread]:
    """The threads `packed` gave, their posts' bodies read from `bodies`."""
    out = []
    fields = len(_FIELDS)
    setters = [getattr(Post, name).__set__ for name in _FIELDS]  # the slots' own: half what __setattr__ costs
    for thread_id, title, source, posts in threads:
        made = []
        for values in posts:
            post = object.__new__(SpilledPost)
            for set_field, value in zip(setters, values):
                set_field(post, value)
            body = values[fields:]
            ref = BodyRef(bodies, *body) if len(body) == 2 else body[0]
            object.__setattr__(post, "_ref", ref)
            made.append(post)
        out.append(Thread(thread_id, title, source, made))
    return out


def spill(threads: list[Thread], bodies: Bodies) -> list[Thread]:
    """`threads` with every post's body in `bodies` (new threads of spilled posts; `threads` is left as it was)."""
    out = [replace(t, posts=[spill_post(p, bodies) for p in t.posts]) for t in threads]
    bodies.flush()
    return out
