"""Each source file's parse, kept with the build that read it, so the next build reads only what changed.

Parsing is most of what reading an archive costs (a mail message ≈ 2 ms: its headers, its MIME parts, its
footers). A build keeps, in its directory, what each file it read gave: its records or mail messages, the errors
and warnings of that file, and the paragraphs of each body (the boilerplate pass splits every body of the archive
into paragraphs on each build). The next build takes a file's entry back when the file's bytes, its path, the
format it is read as, the size cap and the reading code are the same (all of them are in the entry's name), and
keeps it too (entries are kept in packs: see `ParseCache`); any other file is parsed and gets a new entry. What follows the reading
of each file (threading mail across files, ids, duplicates, boilerplate) runs on everything each time, so a build
from entries gives what a build from scratch gives.

Entries are pickles read with an unpickler that builds only the few types an entry holds. One that cannot be read
(truncated, written by something else) is parsed again: an entry only ever holds work that can be redone.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from ..durable import fsync_path, link_or_copy
from ..errors import InputError
from . import MailRead, parse_data
from .boilerplate import Paragraph, paragraphs
from .mail import Message
from .records import Row

log = logging.getLogger(__name__)

PARSED_DIR = "parsed"
PACK_SUFFIX, INDEX_SUFFIX = ".pack", ".index.json"
SMALL_PACK = 8 * 2**20  # bytes: a pack smaller than this is copied into the next build's, not linked
_CODE = Path(__file__).resolve().parent
# what an entry's content depends on besides the file: this package's code, and the types it is made of
_CODE_FILES = (*sorted(_CODE.glob("*.py")), _CODE.parent / "models.py", _CODE.parent / "errors.py")


def code_digest(files: Iterable[Path]) -> str:
    """A digest of the contents of `files` (a missing one counts as empty)."""
    h = hashlib.sha256()
    for path in files:
        try:
            h.update(path.read_bytes())
        except OSError:
            pass
        h.update(b"\0")
    return h.hexdigest()[:16]


READER_CODE = code_digest(_CODE_FILES)


@dataclass
class FileParse:
    """What reading one file gave, apart from its bytes: an entry."""

    rows: list[Row] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    errors: list[tuple[str, int | None, str]] = field(default_factory=list)  # InputError(path, line, message)
    warnings: list[str] = field(default_factory=list)
    not_archived: int = 0
    paragraphs: list[list[tuple]] = field(default_factory=list)  # (Paragraph fields) of each row's, each message's body


_ALLOWED = {
    ("embeddings.ingest.reuse", "FileParse"),
    ("embeddings.ingest.records", "Row"),
    ("embeddings.ingest.mail", "Message"),
    ("datetime", "datetime"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
}
_TYPES = {"FileParse": FileParse, "Row": Row, "Message": Message}
_TYPES |= {"datetime": datetime, "timedelta": timedelta, "timezone": timezone}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a parse entry")
        return _TYPES[name]


class _Pack:
    """A pack of entries kept by an earlier build: `NNNN.pack` (the entries' pickles one after the other) and
    `NNNN.index.json` (each entry's name -> [offset, length] in the pack)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        index = json.loads(path.with_suffix(INDEX_SUFFIX).read_text(encoding="utf-8"))
        self.index: dict[str, tuple[int, int]] = {name: (int(at), int(n)) for name, (at, n) in index.items()}
        self.used: set[str] = set()
        self._fh = None

    @property
    def number(self) -> int:
        return int(self.path.stem)

    def read(self, name: str) -> bytes:
        at, n = self.index[name]
        if self._fh is None:
            self._fh = open(self.path, "rb")
        self._fh.seek(at)
        data = self._fh.read(n)
        if len(data) != n:
            raise EOFError(f"{self.path} ends before entry {name}")
        return data

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class ParseCache:
    """The entries of the build being made (`target`), taken from the previous build's (`previous`) where they
    match. `salt` holds what else the parse depends on (the format forced, the size cap).

    Entries are kept in packs, not a file each (an archive of single messages has tens of thousands of files):
    a build writes the entries it parses into one new pack, synced once, and keeps the previous build's packs it
    took entries from, linked when most of a pack is still used and it is not small, else by copying the entries
    used into its own pack (so packs neither pile up nor keep many entries no file gives any more)."""

    def __init__(self, previous: Path | None, target: Path, salt: str = ""):
        self.previous = previous
        self.target = target
        self.salt = f"{salt}\0{READER_CODE}"
        self._paragraphs: dict[str, list[tuple]] = {}
        self.reused = self.parsed = 0
        self._packs = self._read_packs(previous) if previous is not None else []
        self._where = {name: pack for pack in self._packs for name in pack.index}
        self._number = max((pack.number for pack in self._packs), default=-1) + 1
        self._out: BinaryIO | None = None
        self._out_index: dict[str, list[int]] = {}
        self._keeping = True  # False once a write failed: the build goes on, the next one parses those files again

    @staticmethod
    def _read_packs(folder: Path) -> list[_Pack]:
        packs = []
        for path in sorted(folder.glob(f"*{PACK_SUFFIX}")) if folder.is_dir() else ():
            try:
                packs.append(_Pack(path))
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                log.info("parsing again: the parses kept in %s cannot be read (%s)", path, exc)
        return packs

    def _name(self, path: Path, digest: bytes) -> str:
        key = f"{os.fsencode(path)!r}\0{digest.hex()}\0{self.salt}".encode()
        return hashlib.sha256(key).hexdigest()[:40]

    def parse_data(
        self, data: bytes | None, path: Path, errors: list[InputError], warnings: list[str], fmt: str,
        mail: MailRead, max_bytes: int | None, *, digest: bytes, reread: Callable[[], bytes],
    ) -> list:  # fmt: skip
        """`ingest.parse_data`, from the file's entry when there is one (see the module's docstring). `data` is
        None when the file was not read (its metadata says it is unchanged: `seen`): `reread` reads it when it has
        no entry that can be read."""
        name = self._name(path, digest)
        entry = self._load(name)
        keep = True
        if entry is None:
            if data is None:
                data = reread()
                keep = hashlib.sha256(data).digest() == digest  # changed since its metadata was taken: not kept
            marks = (len(errors), len(warnings), len(mail.messages), mail.not_archived)
            rows = parse_data(data, path, errors, warnings, fmt, mail, max_bytes)
            entry = FileParse(
                rows=list(rows),
                messages=mail.messages[marks[2] :],
                errors=[(e.path, e.line, e.message) for e in errors[marks[0] :]],
                warnings=warnings[marks[1] :],
                not_archived=mail.not_archived - marks[3],
            )
            # plain tuples: they unpickle without a call per paragraph (`paragraphs` makes them Paragraphs again)
            entry.paragraphs = [list(map(tuple, paragraphs(r.body))) for r in [*entry.rows, *entry.messages]]
            if keep:
                self._write(name, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
            self.parsed += 1
        else:
            errors.extend(InputError(*e) for e in entry.errors)
            warnings.extend(entry.warnings)
            mail.messages.extend(entry.messages)
            mail.not_archived += entry.not_archived
            self.reused += 1
        for record, paras in zip([*entry.rows, *entry.messages], entry.paragraphs):
            self._paragraphs[record.body] = paras
        return entry.rows

    def paragraphs(self, body: str) -> list[Paragraph]:
        """`boilerplate.paragraphs`, answered from the entries for the bodies they hold; an answer is given once
        (the boilerplate pass asks once a post, and holds what it is given: not held twice), a body asked again
        is split again."""
        found = self._paragraphs.pop(body, None)
        return list(map(Paragraph._make, found)) if found is not None else paragraphs(body)

    def forget_paragraphs(self) -> None:
        """Drop the paragraphs of every body read (the boilerplate pass has used them): a large archive's take
        hundreds of megabytes, and the build goes on for a long while."""
        self._paragraphs = {}

    def kept(self) -> list[str]:
        """The names of the entries this build keeps so far (its own pack's; `finish` adds those it takes over)."""
        return list(self._out_index)

    def _load(self, name: str) -> FileParse | None:
        pack = self._where.get(name)
        if pack is None:
            return None
        try:
            entry = _Unpickler(io.BytesIO(pack.read(name))).load()
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError, KeyError) as exc:
            log.info("parsing again: the parse kept in %s cannot be read (%s)", pack.path, exc)
            return None
        if not isinstance(entry, FileParse) or len(entry.paragraphs) != len(entry.rows) + len(entry.messages):
            return None
        pack.used.add(name)
        return entry

    def _write(self, name: str, blob: bytes) -> None:
        if not self._keeping or name in self._out_index:
            return
        try:
            if self._out is None:
                self.target.mkdir(parents=True, exist_ok=True)
                self._out = open(self._pack_path(self._number), "wb")
            at = self._out.tell()
            self._out.write(blob)
            self._out_index[name] = [at, len(blob)]
        except OSError as exc:
            self._stop_keeping(exc)

    def _stop_keeping(self, exc: OSError) -> None:
        log.info("could not keep the parses of this build (%s): the next one parses those files again", exc)
        self._keeping = False
        self._out_index.clear()
        if self._out is not None:
            self._out.close()
            self._out = None
        shutil.rmtree(self.target, ignore_errors=True)

    def _pack_path(self, number: int) -> Path:
        return self.target / f"{number:04d}{PACK_SUFFIX}"

    def close(self) -> None:
        """Close the files of a build that read no further (it failed or was stopped): nothing is kept."""
        self._close_packs()
        if self._out is not None:
            self._out.close()
            self._out = None

    def _close_packs(self) -> None:
        for pack in self._packs:
            pack.close()

    def finish(self) -> None:
        """Keep the previous build's entries this build used (linked or copied, see the class), write this build's
        pack's index, and make them durable with the build."""
        linked = []
        for pack in self._packs:
            if not pack.used:
                continue
            try:
                if len(pack.used) * 2 >= len(pack.index) and pack.path.stat().st_size >= SMALL_PACK:
                    linked.append(pack)
                    continue
                for name in sorted(pack.used):
                    self._write(name, pack.read(name))
            except (OSError, EOFError, KeyError) as exc:  # read before, so this is a disk gone bad: not kept
                log.info("could not copy the parses kept in %s (%s)", pack.path, exc)
        self._close_packs()
        if not self._keeping:
            return
        try:
            if self._out is not None:
                self._out.flush()
                os.fsync(self._out.fileno())
                self._out.close()
                self._out = None
                index = self._pack_path(self._number).with_suffix(INDEX_SUFFIX)
                index.write_text(json.dumps(self._out_index, separators=(",", ":")), encoding="utf-8")
                fsync_path(index)
            for pack in linked:
                self.target.mkdir(parents=True, exist_ok=True)
                for source in (pack.path, pack.path.with_suffix(INDEX_SUFFIX)):
                    link_or_copy(source, self.target / source.name)
            if self.target.is_dir():
                fsync_path(self.target)
        except OSError as exc:
            self._stop_keeping(exc)
