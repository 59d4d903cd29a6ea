"""Pausing Python's cyclic garbage collector around work that makes millions of objects and no cycles.

A collection pass walks every tracked object of its generation, and passes over the oldest one come more often
the more objects a process makes: over a large archive's build (every post, its words, its passages held),
they cost as much as the work itself. Work that leaves no cyclic garbage (threading, boilerplate, quote
detection) runs with the collector paused; parsing mail does leave cycles (the email package's objects) and
runs with it on.
"""

from __future__ import annotations

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
