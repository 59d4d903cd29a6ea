"""Domain errors raised by the retrieval core and translated at each edge.

The CLI maps them to exit codes and one-line messages; the bot maps them to
short ephemeral replies. Anything that is *not* a ThreadbotError is a bug.
"""

from __future__ import annotations

from collections.abc import Sequence


class ThreadbotError(Exception):
    """Base class of every error a user can cause or fix."""

    exit_code = 1

    def __reduce__(self):  # pickled as made, whatever its __init__ takes: a build's reading process sends them back
        return _remade, (type(self), str(self), self.__dict__)


def _remade(cls: type[ThreadbotError], text: str, state: dict) -> ThreadbotError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, text)
    exc.__dict__.update(state)
    return exc


class InputError(ThreadbotError):
    """Bad input in a source file: names the file and the 1-based line."""

    exit_code = 65  # EX_DATAERR

    def __init__(self, path: str, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class UsageError(ThreadbotError):
    """A request the service cannot satisfy as asked (empty query, bad date, ...)."""

    exit_code = 2


class NotFoundError(ThreadbotError):
    """An unknown thread, post or author."""

    exit_code = 3


class NoIndexError(ThreadbotError):
    """There is no index yet in the data directory."""

    exit_code = 4


class IndexMismatchError(ThreadbotError):
    """The index on disk was built with another model or format than configured."""

    exit_code = 5


class IndexDamagedError(ThreadbotError):
    """A file of the live index is missing, truncated or not what it should be."""

    exit_code = 6

    def __init__(self, problem: str):
        super().__init__(
            f"the index is damaged: {problem}. `threadbot check` lists what is wrong; "
            "`threadbot index --replace PATH...` (or `threadbot index` with `sources` configured) "
            "builds a new one"
        )
        self.problem = problem


class StorageError(ThreadbotError):
    """A file of the data directory could not be written (disk full, read-only, permissions)."""

    exit_code = 74  # EX_IOERR

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class ConfigError(ThreadbotError):
    """The configuration file or an environment setting is invalid."""

    exit_code = 78  # EX_CONFIG


class RebuildInProgressError(ThreadbotError):
    """A rebuild was requested while another one is running."""

    exit_code = 75  # EX_TEMPFAIL

    def __init__(self, started_by: str | None, started_at: float | None):
        self.started_by = started_by
        self.started_at = started_at
        who = f" (started by {started_by})" if started_by else ""
        super().__init__(f"a rebuild is already running{who}")


class BuildFailed(ThreadbotError):
    """Nothing could be indexed; the previous index is untouched."""

    exit_code = 65  # EX_DATAERR: no file produced a post

    def __init__(self, message: str, errors: Sequence[InputError] = ()):
        super().__init__(message)
        self.errors = list(errors)


def reason(exc: BaseException) -> str:
    """A short reason for a failed read or write: the OS's words, else the first line of the message (FAISS
    reports a C++ exception as a RuntimeError of several lines), else the error's type."""
    text = getattr(exc, "strerror", None) or next((line for line in str(exc).splitlines() if line.strip()), "")
    return text.strip()[:200] or type(exc).__name__
