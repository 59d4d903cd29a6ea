"""A build's first stage: its sources read into threads of posts whose bodies are in the build's bodies file
(`index/bodies.py`), over a large archive in a process of its own.

Reading an archive makes millions of short-lived objects (the email package's messages, each file's records, the
paragraphs of every body for the boilerplate pass) among the posts' fields, which live on. CPython hands an arena
of its allocator back only once every object in it is gone, so after reading, the build process would keep
hundreds of megabytes freed but held, for the rest of the build (600 MiB over 150,000 passages, growing with the
archive). Read in a child process, that memory goes back with the process: the build receives the posts' fields,
unpickled together (so packed closely), the number of each body in the bodies file the child wrote, and each
post's digest (`digests`), taken while the bodies were strings. An archive of less than SEPARATE_BYTES is read in
the build's process: there is little to give back, and a process costs a start.

Both ways do the same: `ingest`, then the parse cache made durable (`ParseCache.finish`), then the bodies written
out. The child sends its progress and its log records as they come, as lines on its standard output, and its
result (or the error that stopped it) in a pickle written whole or not at all. It runs in a session of its own, so
a terminal's Ctrl-C reaches the build's process alone, which stops it; and it ends when the build's process does.
What it writes on its standard error (a crash's last words) is kept in a file: its last line says why a child that
left no result stopped.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
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
from .digests import digests

log = logging.getLogger(__name__)

SEPARATE_BYTES = 32 * 2**20  # sources of this size or more are read in a process of their own
# in the build's .tmp directory, removed once read: the job, the outcome, the child's standard error
JOB_FILE, RESULT_FILE, ERRORS_FILE = "reading.job", "reading.result", "reading.stderr"


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
) -> tuple[IngestResult, Bodies, dict[str, str]]:
    """The sources' threads (none when no file gave a post), their posts spilled to the bodies file in `job.tmp`
    (returned: the caller closes or removes it), and each post's digest (`digests.digests`, taken before the
    spill). `separate`: read in a process of its own (None: when the files found weigh SEPARATE_BYTES or more)."""
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


def _read(job: Reading, progress) -> tuple[IngestResult, Bodies, dict[str, str]]:
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
    known = digests(result.threads)  # the bodies are strings here: none is read back from the file
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
    return result, bodies, known


def _in_child(job: Reading, progress) -> tuple[IngestResult, Bodies, dict[str, str]]:
    """`read_sources` in a child process (see the module's docstring)."""
    job_path, result_path, errors_path = (job.tmp / name for name in (JOB_FILE, RESULT_FILE, ERRORS_FILE))
    try:
        job_path.write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        errors = open(errors_path, "wb")  # noqa: SIM115 - the child's standard error, closed once it has ended
    except OSError as exc:
        raise StorageError(job.tmp, f"cannot start reading the sources ({reason(exc)})") from None
    try:
        with errors:
            child = _start(job_path, errors)
        try:
            _follow(child, progress)
        finally:
            if child.poll() is None:  # the build was stopped (Ctrl-C, an error here): so is its reading
                child.kill()
            child.wait()
            child.stdout.close()
        outcome = _outcome(result_path, child.returncode, errors_path)
    finally:
        for path in (job_path, result_path, errors_path):
            path.unlink(missing_ok=True)
    if "error" in outcome:
        raise outcome["error"]
    result, offsets = outcome["result"], outcome["offsets"]
    bodies = Bodies.reopened(job.tmp / BODIES_FILE, offsets)
    result.threads = unpacked(result.threads, bodies)
    return result, bodies, outcome["digests"]


MARK = "\x1ethreadbot "  # starts each line the child sends (record separator: no library prints it)

# The child starts with Ctrl-C ignored, before anything else, and imports this copy of `embeddings` (the path
# after the arguments), without the working directory first on its path (-P) or PYTHONPATH changed for it.
_BOOT = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); import sys; root = sys.argv.pop(); "
    "root in sys.path and sys.path.remove(root); sys.path.insert(0, root); "
    "from embeddings.index.reading import _child; "
    "sys.exit(_child(*sys.argv[1:]))"
)


def _start(job_path: Path, errors) -> subprocess.Popen:
    level = min(logging.getLogger("embeddings").getEffectiveLevel(), logging.getLogger().getEffectiveLevel())
    package_root = str(Path(__file__).resolve().parents[2])
    return subprocess.Popen(
        [sys.executable, "-P", "-c", _BOOT, str(job_path), str(level), str(os.getpid()), package_root],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=errors,
        encoding="utf-8",
        errors="replace",  # a library's stray bytes are passed over like the rest of what it prints
        start_new_session=True,  # a terminal's Ctrl-C goes to the build's process alone, which stops this one
    )


def _follow(child: subprocess.Popen, progress) -> None:
    """Pass on the child's progress, and its log records as they come (so none is lost if it dies). Only lines
    that start with MARK are the child's own: anything else a library printed is passed over, and so is a line
    of its own that does not read (cut short by the child's death)."""
    for line in child.stdout:
        if not line.startswith(MARK):
            continue
        kind, _, rest = line[len(MARK) :].rstrip("\n").partition(" ")
        done, _, total = rest.partition(" ")
        if kind == "progress" and progress and done.isdigit() and total.isdigit():
            progress(int(done), int(total))
        elif kind == "log":
            try:
                record = logging.makeLogRecord(json.loads(rest))
                logger = logging.getLogger(str(record.name))
                if logger.isEnabledFor(int(record.levelno)):
                    logger.handle(record)
            except (ValueError, TypeError):
                log.debug("a line from the reading process that does not read: %r", line[:200])


def _outcome(result_path: Path, code: int, errors_path: Path) -> dict:
    """What the ended child sent: its result, or the error that stopped it."""
    try:
        stderr = errors_path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        stderr = ""
    if stderr:
        log.debug("the reading process wrote on its standard error:\n%s", stderr)
    try:
        with open(result_path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError):
        pass
    how = f"with code {code}" + (f" (signal {-code})" if code < 0 else "")
    # killed outright, it is most often the system out of memory; what it wrote before is then no reason
    last = stderr.splitlines()[-1] if stderr and code != -signal.SIGKILL else "out of memory?"
    raise BuildFailed(f"reading the sources stopped: its process ended {how}, without a result ({last})")


class _Sent(logging.Handler):
    """The child's log records, sent to the build's process as lines on standard output."""

    FIELDS = (
        *("name", "levelno", "levelname", "pathname", "filename", "module", "lineno", "funcName"),
        *("created", "msecs", "relativeCreated", "process", "processName", "thread", "threadName"),
    )

    def __init__(self, send: Callable[[str], None]) -> None:
        super().__init__()
        self.send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {name: getattr(record, name) for name in self.FIELDS}
            fields["msg"] = record.getMessage()
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            fields["exc_text"] = record.exc_text
            self.send(f"{MARK}log {json.dumps(fields, default=str)}")
        except Exception:  # noqa: BLE001 - logging's own way: report on standard error, go on
            self.handleError(record)


def _child(job_path: str, level: str, parent: str) -> int:
    """The reading process: read the job, write its outcome beside it; 0 when it has a result."""
    _end_with_parent(int(parent))

    def send(line: str) -> None:
        print(line, flush=True)

    root = logging.getLogger()
    root.addHandler(_Sent(send))
    root.setLevel(int(level))
    tmp = Path(job_path).parent
    outcome: dict
    try:
        job: Reading = pickle.loads(Path(job_path).read_bytes())
        result, bodies, known = _read(job, lambda done, total: send(f"{MARK}progress {done} {total}"))
        bodies.close()
        result.threads = packed(result.threads)
        outcome = {"result": result, "offsets": bodies.offsets(), "digests": known}
    except Exception as exc:  # noqa: BLE001 - sent back whole, raised there
        outcome = {"error": _sendable(exc, tmp, "read the sources")}
    try:
        _write(tmp / RESULT_FILE, outcome)
    except Exception as exc:  # noqa: BLE001 - a full disk, a record that does not pickle: say so instead
        outcome = {"error": _sendable(exc, tmp, "send what was read to the build")}
        _write(tmp / RESULT_FILE, outcome)
    return 0 if "result" in outcome else 1


def _write(path: Path, outcome: dict) -> None:
    """The outcome under a name of its own, then renamed: the build reads all of it or none."""
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "wb") as fh:
            pickle.dump(outcome, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _sendable(exc: Exception, tmp: Path, doing: str) -> Exception:
    """The exception to raise in the build: threadbot's own as it is; the system's and a bug's as ones that
    pickle, a bug's with its traceback in its message. `doing`: what failed, for the system's."""
    if isinstance(exc, ThreadbotError):
        return exc
    if isinstance(exc, OSError):  # a file that cannot be read, the build's disk full or failing
        return StorageError(Path(exc.filename) if exc.filename else tmp, f"cannot {doing} ({reason(exc)})")
    text = "".join(traceback.format_exception(exc))
    if isinstance(exc, MemoryError):
        return MemoryError(f"reading the sources ran out of memory\n{text}")
    return RuntimeError(f"reading the sources failed in its process:\n{text}")


def _end_with_parent(parent: int) -> None:
    """End this process when the build's process ends: at once on Linux (PR_SET_PDEATHSIG), elsewhere within a
    second; and now, if it already has (before this process could ask)."""
    if not _death_signal_set():
        _watch_parent(parent)
    if os.getppid() != parent:
        os._exit(1)


def _death_signal_set() -> bool:
    """Ask the system to kill this process when its parent ends (Linux's PR_SET_PDEATHSIG); whether it agreed
    (not elsewhere, nor where a sandbox refuses prctl)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None).prctl(1, int(signal.SIGKILL)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
