"""What the previous build recorded of each file it read, so that a file whose metadata says it is unchanged is
neither sniffed nor read nor hashed again.

A build records, for every file it read, the file's metadata as it was just before the read (size, modification
and change times, inode: `signature`) and the SHA-256 of what it read. The next build trusts that digest for a
file whose metadata is the same, as rsync's quick check and git's index do; any other file is read and hashed.
Two things make the check safe:

- the change time (`st_ctime_ns`) is set by the kernel on every write and cannot be set back by a program, so a
  file rewritten with the same size and its modification time put back (`touch -r`, `rsync -t`) still differs;
- a file modified or changed less than `RACY_NS` before the previous build began reading is never trusted
  ("racily clean" in git's words): a write in the same timestamp tick as the read would leave the metadata as it
  was recorded;
- a file the previous build could not parse, or that was empty, is always read again (its error is reported
  again, exactly as a full build reports it).

`threadbot index --full` reads and hashes every file whatever its metadata.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

RACY_NS = 2_000_000_000  # 2 s: the coarsest timestamps a file system in use keeps (FAT)


def signature(st: os.stat_result) -> dict:
    """The metadata a build records of a file it reads (taken before the read)."""
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "ino": st.st_ino}


@dataclass(frozen=True)
class Seen:
    """The files the previous build read (`records`: path → its manifest record, `signature` and `sha256`) and
    when it began reading them (`read_at_ns`, wall-clock nanoseconds)."""

    records: Mapping[str, dict]
    read_at_ns: int

    @classmethod
    def from_manifest(cls, manifest: Mapping) -> Seen | None:
        """The previous build's record, or None when its manifest has none this code can trust."""
        files, read_at = manifest.get("files"), manifest.get("files_read_at_ns")
        if not isinstance(files, list) or not isinstance(read_at, int):
            return None
        records = {f["path"]: f for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)}
        return cls(records, read_at)

    def digest(self, path: str, st: os.stat_result) -> str | None:
        """The SHA-256 the previous build read for `path`, when `st` says the file has not changed since; else None."""
        record = self.records.get(path)
        if record is None or max(st.st_mtime_ns, st.st_ctime_ns) >= self.read_at_ns - RACY_NS:
            return None
        sha = record.get("sha256")
        if (
            not isinstance(sha, str)
            or record.get("blank")
            or record.get("failed")
            or any(record.get(k) != v for k, v in signature(st).items())
        ):
            return None
        return sha

    def taken(self, path: str, st: os.stat_result) -> bool:
        """Was `path` read and parsed by the previous build, unchanged since? (Directory walks then take it
        without sniffing its content again. A file that could not be parsed, perhaps named on the command line
        rather than found by a walk, is sniffed again.)"""
        return self.digest(path, st) is not None
