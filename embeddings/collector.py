"""Pausing Python's cyclic garbage collector around work that makes millions of objects and no cycles.

A collection pass walks every tracked object of its generation, and passes over the oldest one come more often
the more objects a process makes: over a large archive's build (every post, its words, its passages held),
they cost as much as the work itself. Work that leaves no cyclic garbage (threading, boilerplate, quote
detection) runs with the collector paused; parsing mail does leave cycles (the email package's objects) and
runs with it on.

`give_back_freed_memory` hands the pages of what was freed back to the system (glibc's `malloc_trim`): a build
frees the archive's bodies once they are in a file, and glibc would otherwise keep their pages for reuse.
"""

from __future__ import annotations

import ctypes
import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def give_back_freed_memory() -> None:
    """Return the free pages of the C heap to the system, where the C library can (glibc); else nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS; Windows has no CDLL(None)): nothing
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim
