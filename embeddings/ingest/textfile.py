"""Reading archive files: only regular files, never past a size cap; UTF-8 first, cp1252 as the fallback old forums need.

A source folder may hold anything: a FIFO named ``x.txt`` (opening it for reading would wait for a writer forever),
a link to ``/dev/zero`` (endless), a file of many gigabytes. So the file is checked with ``os.stat`` before it is
opened, opened with O_NONBLOCK, checked again on the open descriptor, and read with a limit.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from ..errors import InputError

log = logging.getLogger(__name__)

MB = 2**20
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def describe_size(n: int) -> str:
    """`700 MB`, `1.5 MB`, `2,048 bytes`."""
    if n >= 10 * MB:
        return f"{n / MB:.0f} MB"
    if n >= MB:
        return f"{n / MB:.1f} MB"
    return f"{n:,} bytes"


def _too_big(path: str | Path, size: int, max_bytes: int) -> InputError:
    cap = f"max_file_mb = {max_bytes // MB}" if max_bytes % MB == 0 else f"max_file_bytes = {max_bytes}"
    return InputError(str(path), None, f"{describe_size(size)}, over {cap}; skipped")


def _not_regular(path: str | Path) -> InputError:
    return InputError(str(path), None, "not a regular file, skipped")


def is_regular(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode)


def read_bytes(path: str | Path, max_bytes: int | None = None, *, head: int | None = None) -> bytes:
    """The content of the regular file at `path` (a link to one is fine).

    With `head`, only the first `head` bytes (for sniffing the format) and no size check. Raises InputError for
    something that is not a regular file, or a file over `max_bytes` (read no further than that), and OSError when
    the file cannot be read.
    """
    if not is_regular(os.stat(path)):
        raise _not_regular(path)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)  # the name may have been swapped for something else since the stat above
        if not is_regular(st):
            raise _not_regular(path)
        if head is None and max_bytes is not None and st.st_size > max_bytes:
            raise _too_big(path, st.st_size, max_bytes)
        limit = head if head is not None else (None if max_bytes is None else max_bytes + 1)
        with open(fd, "rb", closefd=False) as fh:
            data = fh.read() if limit is None else fh.read(limit)
    finally:
        os.close(fd)
    if head is None and max_bytes is not None and len(data) > max_bytes:  # it grew while being read
        raise _too_big(path, len(data), max_bytes)
    return data


def decode(data: bytes, path: str | Path, warnings: list[str] | None = None) -> str:
    """Text with a UTF-8 BOM dropped and line ends as "\\n"; bytes that are not UTF-8 are read as cp1252 (a warning)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"{path}:{line}: not valid UTF-8, read as cp1252"
        log.warning(message)
        if warnings is not None:
            warnings.append(message)
        text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: str | Path, warnings: list[str] | None = None, max_bytes: int | None = None) -> str:
    return decode(read_bytes(path, max_bytes), path, warnings)
