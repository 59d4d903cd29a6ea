"""Each source file's parse, kept with the build that read it, so the next build reads only what changed.

Parsing is most of what reading an archive costs (a mail message ≈ 2 ms: its headers, its MIME parts, its
footers). A build keeps, in its directory, what each file it read gave: its records or mail messages, the errors
and warnings of that file, and the paragraphs of each body (the boilerplate pass splits every body of the archive
into paragraphs on each build). The next build takes a file's entry back when the file's bytes, its path, the
format it is read as, the size cap and the reading code are the same (all of them are in the entry's name), and
links the entry into its own directory; any other file is parsed and gets a new entry. What follows the reading
of each file (threading mail across files, ids, duplicates, boilerplate) runs on everything each time, so a build
from entries gives what a build from scratch gives.

Entries are pickles read with an unpickler that builds only the few types an entry holds. One that cannot be read
(truncated, written by something else) is parsed again: an entry only ever holds work that can be redone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..errors import InputError
from . import MailRead, parse_data
from .boilerplate import Paragraph, paragraphs
from .mail import Message
from .records import Row

log = logging.getLogger(__name__)

PARSED_DIR = "parsed"
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


class ParseCache:
    """The entries of the build being made (`target`), taken from the previous build's (`previous`) where they
    match. `salt` holds what else the parse depends on (the format forced, the size cap)."""

    def __init__(self, previous: Path | None, target: Path, salt: str = ""):
        self.previous = previous
        self.target = target
        self.salt = f"{salt}\0{READER_CODE}"
        self._paragraphs: dict[str, list[tuple]] = {}
        self.reused = self.parsed = 0

    def _name(self, path: Path, digest: bytes) -> str:
        key = f"{os.fsencode(path)!r}\0{digest.hex()}\0{self.salt}".encode()
        return hashlib.sha256(key).hexdigest()[:40] + ".pickle"

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
                self._store(name, entry)
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
        """`boilerplate.paragraphs`, answered from the entries for the bodies they hold."""
        found = self._paragraphs.get(body)
        return list(map(Paragraph._make, found)) if found is not None else paragraphs(body)

    def _load(self, name: str) -> FileParse | None:
        if self.previous is None:
            return None
        source = self.previous / name
        try:
            with open(source, "rb") as fh:
                entry = _Unpickler(fh).load()
        except FileNotFoundError:
            return None
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError, KeyError) as exc:
            log.info("parsing again: the parse kept in %s cannot be read (%s)", source, exc)
            return None
        if not isinstance(entry, FileParse) or len(entry.paragraphs) != len(entry.rows) + len(entry.messages):
            return None
        try:
            self.target.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, self.target / name)
            except OSError:  # a file system without hard links
                shutil.copyfile(source, self.target / name)
        except OSError as exc:  # the build goes on; only the next one parses this file again
            log.info("could not keep the parse of %s: %s", name, exc)
        return entry

    def _store(self, name: str, entry: FileParse) -> None:
        try:
            self.target.mkdir(parents=True, exist_ok=True)
            part = self.target / f"{name}.part"
            with open(part, "wb") as fh:
                pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(part, self.target / name)
        except OSError as exc:  # the build goes on; only the next one parses this file again
            log.info("could not keep the parse of %s: %s", name, exc)

    def finish(self) -> None:
        """Make the entries' directory durable with the build."""
        if self.target.is_dir():
            fd = os.open(self.target, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
