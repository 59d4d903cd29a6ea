"""How a build feeds passages to the model: tokenized once, sorted by length, batched by a word-piece budget.

Plain `SentenceTransformer.encode` sorts its input by characters and calls the model on a fixed number of texts.
Here each window of SORT_WINDOW texts is tokenized once with the model's own preprocessing, sorted by its exact
word-piece count and cut into batches of about the same padded size: a call holds up to `batch_size` passages of
the model's full length, and proportionally more short ones (up to MAX_BATCH_FACTOR times as many), so neither
short passages run in small, inefficient calls nor long ones in oversized ones, and almost nothing is padding.
Vectors come back in the caller's order and equal plain `encode`'s (the same inputs reach the same model).

Only one window's token ids are held at a time, so memory does not grow with the number of texts.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

SORT_WINDOW = 512  # texts tokenized and sorted together: their tokenizer output is some 16 MB at most
MAX_BATCH_FACTOR = 2  # short passages: at most this many times batch_size to one call


def token_budget(batch_size: int, max_length: int) -> int:
    """Word pieces (padding included) of one model call: `batch_size` passages of the model's full length."""
    return batch_size * max_length


def length_sorted_batches(lengths: Sequence[int], batch_size: int, max_length: int) -> list[np.ndarray]:
    """Positions into `lengths`, longest first, in batches whose count times their longest length stays within
    `token_budget` (a batch holds at least one text and at most MAX_BATCH_FACTOR * batch_size)."""
    if not len(lengths):
        return []
    sizes = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-sizes, kind="stable")  # equal lengths keep their order
    budget, cap = token_budget(batch_size, max_length), max(1, MAX_BATCH_FACTOR * batch_size)
    batches, i = [], 0
    while i < len(order):
        longest = max(1, int(sizes[order[i]]))
        n = min(cap, max(1, budget // longest))
        batches.append(order[i : i + n])
        i += n
    return batches


def windows(count: int) -> Iterator[range]:
    """Positions 0..count-1 in runs of SORT_WINDOW, each tokenized and sorted on its own."""
    for start in range(0, count, SORT_WINDOW):
        yield range(start, min(start + SORT_WINDOW, count))


MAX_CALLS_AT_ONCE = 8  # model calls running at once on a CPU, each on threads of its own


def cpu_plan(cores: int | None = None) -> tuple[int, int]:
    """(model calls run at once, torch threads each) for a build on a CPU.

    A transformer's matrix products over one batch split poorly across threads (each product is a few
    milliseconds; the threads wait on each other at every one of the hundreds per call), so a core per call beats
    every core on one call: on the 2-core machine of docs/scaling.md two calls at once on one thread each gave
    1.28x plain encode's speed where one call at a time on both threads gave 1.12x (same rounds). Torch lets the
    interpreter lock go inside each operation, so the calls run side by side in threads of one process, on one
    loaded model. Past MAX_CALLS_AT_ONCE cores, each call gets as many threads as shares the cores out evenly
    (12 cores: 6 calls of 2 threads)."""
    cores = physical_cores() if cores is None else max(1, cores)
    threads = -(-cores // MAX_CALLS_AT_ONCE)
    return cores // threads, threads


@functools.cache
def physical_cores() -> int:
    """Physical cores this process may run on: hyperthread siblings count once, a cgroup CPU quota (a container
    limited to fewer CPUs than the machine has) caps the figure."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores = _cores_of(allowed) or len(allowed)
    quota = _cgroup_cpus()
    return max(1, min(cores, quota) if quota else cores)


def _cores_of(cpus: set[int]) -> int:
    """Distinct (package, core) pairs among `cpus`, from Linux's topology files; 0 where they are not there."""
    pairs = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            pairs.add(((topology / "physical_package_id").read_text(), (topology / "core_id").read_text()))
        except OSError:
            return 0
    return len(pairs)


def _cgroup_cpus() -> int:
    """The CPUs a cgroup v2 quota allows ("200000 100000" in cpu.max: 2), rounded up; 0 when unlimited."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return 0
    if quota == "max":
        return 0
    return max(1, -(-int(quota) // int(period)))
