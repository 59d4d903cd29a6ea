"""A build's first stage: its sources read into threads of posts whose bodies are in the build's bodies file
(`index/bodies.py`), over a large archive in a process of its own.

Reading an archive makes millions of short-lived objects (the email package's messages, each file's records, the
paragraphs of every body for the boilerplate pass) among the posts' fields, which live on. CPython hands an arena
of its allocator back only once every object in it is gone, so after reading, the build process would keep
hundreds of megabytes freed but held, for the rest of the build (600 MiB over 150,000 passages, growing with the
archive). Read in a child process, that memory goes back with the process: the build receives the posts' fields,
unpickled together (so packed closely), and the number of each body in the bodies file the child wrote. An archive
of less than SEPARATE_BYTES is read in the build's process: there is little to give back, and a process costs a
start.

Both ways do the same: `ingest`, then the parse cache made durable (`ParseCache.finish`), then the bodies written
out. The child sends its progress as lines on its standard output, its log records and its result (or the error
that stopped it) in a pickle; it ignores Ctrl-C, which the build's process handles by stopping it, and ends if the
build's process does (Linux).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..collector import give_back_freed_memory
from ..errors import BuildFailed, StorageError, ThreadbotError, reason
from ..ingest import Discovered, IngestResult, ingest
from ..ingest.reuse import ParseCache
from ..ingest.seen import Seen
from .bodies import BODIES_FILE, Bodies, packed, spill, unpacked

log = logging.getLogger(__name__)

SEPARATE_BYTES = 32 * 2**20  # sources of this size or more are read in a process of their own
JOB_FILE, RESULT_FILE = "reading.job", "reading.result"  # in the build's .tmp directory, removed once read


@dataclass
class Reading:
    """What to read, and how (`ingest`'s arguments), for a build whose .tmp directory is `tmp`."""

    sources: list[str]
    tmp: Path
    fmt: str
    zones: dict
    max_file_bytes: int | None
    max_post_chars: int | None
    found: Discovered | None = None
    seen: Seen | None = None
    parse_cache: tuple | None = None  # ParseCache's arguments: the previous build's folder, this build's, the salt


def read_sources(
    job: Reading, progress: Callable[[int, int], None] | None = None, separate: bool | None = None
) -> tuple[IngestResult, Bodies]:
    """The sources' threads (none when no file gave a post), their posts spilled to the bodies file in `job.tmp`
    (returned: the caller closes or removes it). `separate`: read in a process of its own (None: when the files
    found weigh SEPARATE_BYTES or more)."""
    if separate is None:  # an embedded interpreter may have no executable to start: read here
        separate = bool(sys.executable) and _weight(job.found) >= SEPARATE_BYTES
    return _in_child(job, progress) if separate else _read(job, progress)


def _weight(found: Discovered | None) -> int:
    total = 0
    for path in found.files if found else ():
        try:
            total += path.stat().st_size
        except OSError:
            pass  # reported when it is read
    return total


def _read(job: Reading, progress) -> tuple[IngestResult, Bodies]:
    """`read_sources` in this process."""
    cache = ParseCache(*job.parse_cache) if job.parse_cache else None
    try:
        result = ingest(
            job.sources,
            progress=progress,
            max_file_bytes=job.max_file_bytes,
            max_post_chars=job.max_post_chars,
            fmt=job.fmt,
            zones=job.zones,
            reuse=cache,
            seen=job.seen,
            found=job.found,
        )
    except BaseException:
        if cache is not None:
            cache.close()  # the build's .tmp directory, where it writes, is removed with the failed build
        raise
    if cache is not None:
        cache.finish()  # kept for the next build, with this one
    bodies = None
    try:
        bodies = Bodies(job.tmp / BODIES_FILE)
        result.threads = spill(result.threads, bodies)
    except BaseException as exc:
        if bodies is not None:
            bodies.close()
        if isinstance(exc, OSError):  # a full disk
            raise StorageError(job.tmp, f"cannot write the posts' bodies ({reason(exc)})") from None
        raise
    give_back_freed_memory()
    return result, bodies


def _in_child(job: Reading, progress) -> tuple[IngestResult, Bodies]:
    """`read_sources` in a child process (see the module's docstring)."""
    job_path, result_path = job.tmp / JOB_FILE, job.tmp / RESULT_FILE
    try:
        job_path.write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError as exc:
        raise StorageError(job.tmp, f"cannot start reading the sources ({reason(exc)})") from None
    package_root = str(Path(__file__).resolve().parents[2])  # the child imports this copy of `embeddings`
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    child = subprocess.Popen(
        [sys.executable, "-m", __name__, str(job_path), str(logging.getLogger("embeddings").getEffectiveLevel())],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        for line in child.stdout:
            done, _, total = line.partition(" ")
            if progress and done.isdigit() and total.strip().isdigit():
                progress(int(done), int(total))
        child.wait()
    finally:
        if child.poll() is None:  # the build was stopped (Ctrl-C, an error here): so is its reading
            child.kill()
            child.wait()
        child.stdout.close()
        job_path.unlink(missing_ok=True)
    try:
        with open(result_path, "rb") as fh:
            outcome = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError):
        signalled = f" (signal {-child.returncode})" if child.returncode < 0 else ""
        raise BuildFailed(f"reading the sources stopped: its process ended with code {child.returncode}"
                          f"{signalled}, without a result (out of memory?)") from None  # fmt: skip
    finally:
        result_path.unlink(missing_ok=True)
    for record in outcome["log"]:
        logging.getLogger(record.name).handle(record)
    if "error" in outcome:
        raise outcome["error"]
    result, offsets = outcome["result"], outcome["offsets"]
    bodies = Bodies.reopened(job.tmp / BODIES_FILE, offsets)
    result.threads = unpacked(result.threads, bodies)
    return result, bodies


class _Kept(logging.Handler):
    """The child's log records, sent to the build's process with its result."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args, record.exc_info, record.exc_text = record.getMessage(), None, None, None
        self.records.append(record)


def _child(job_path: str, level: str) -> int:
    """The reading process: read the job, write its outcome beside it; 0 when it has a result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the build's process, which stops this one
    _end_with_parent()
    kept = _Kept()
    root = logging.getLogger("embeddings")
    root.addHandler(kept)
    root.setLevel(int(level) if level.isdigit() else logging.INFO)
    root.propagate = False
    job: Reading = pickle.loads(Path(job_path).read_bytes())
    outcome: dict = {"log": kept.records}
    try:
        result, bodies = _read(job, lambda done, total: print(done, total, flush=True))
        bodies.close()
        result.threads = packed(result.threads)
        outcome["result"], outcome["offsets"] = result, bodies.offsets()
    except Exception as exc:  # noqa: BLE001 - sent back whole, raised there
        outcome["error"] = exc if isinstance(exc, ThreadbotError) else _unexpected(exc)
    with open(job.tmp / RESULT_FILE, "wb") as fh:
        pickle.dump(outcome, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return 0 if "result" in outcome else 1


def _unexpected(exc: Exception) -> Exception:
    """A bug's or the system's exception, as one that pickles, its traceback in its message."""
    text = "".join(traceback.format_exception(exc))
    if isinstance(exc, MemoryError):
        return MemoryError(f"reading the sources ran out of memory\n{text}")
    return RuntimeError(f"reading the sources failed in its process:\n{text}")


def _end_with_parent() -> None:
    """Have the system end this process when the build's process ends (Linux's PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(_child(*sys.argv[1:3]))
