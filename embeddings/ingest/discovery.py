"""Which files a list of paths names: directories walked recursively, each file taken or passed over.

In directories, files with a known extension are taken (`WALKED_EXTENSIONS`), and files without one, `.json`,
`.md` and `.gz` files when their content looks like an archive (`SNIFFED_EXTENSIONS`); so are all the files of a
maildir's cur/ and new/ folders (its tmp/ holds messages still being delivered, and is passed over). Anything
else (images, READMEs, ...) is passed over. With a format forced, a file of a sniffed kind is taken when it is
text at all. A file named explicitly is always read. Only regular files are taken: anything else that would have
been is reported.

A `.txt` file says nothing about its content: one found in a directory (`walked_text`) whose content is no
archive (`not_an_archive`: a README, a SOURCE.txt beside the archive) and that no reader can take is passed over
with a warning rather than reported as bad input; one that looks like an archive is reported as any other.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError
from .formats import GZIP_MAGIC, SNIFF_BYTES, gunzip_head, head_text, sniff
from .seen import Seen
from .textfile import is_regular, read_bytes

JSONL_EXTENSIONS = {".jsonl", ".ndjson"}
TEXT_EXTENSIONS = {".txt", ".text"}
MAIL_EXTENSIONS = {".mbox", ".mbx", ".eml"}
WALKED_EXTENSIONS = JSONL_EXTENSIONS | TEXT_EXTENSIONS | MAIL_EXTENSIONS  # .json is read when it is JSON Lines
SNIFFED_EXTENSIONS = {"", ".json", ".md", ".markdown", ".gz"}
MAILDIR_FOLDERS = ("cur", "new")


def stat_problem(path: Path, exc: OSError | ValueError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "broken link (its target does not exist)" if os.path.islink(path) else "no such file or directory"
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return f"cannot read: {exc}"  # e.g. a NUL in the name


def file_head(path: Path) -> bytes | None:
    """The first bytes of a file's content (decompressed when it is gzip), None when it cannot be read."""
    try:
        head = read_bytes(path, head=SNIFF_BYTES)
    except (OSError, InputError):
        return None
    return gunzip_head(head) if head.startswith(GZIP_MAGIC) else head


def _is_archive(path: Path, forced: bool) -> bool:
    head = file_head(path)
    if not head or b"\x00" in head:
        return False
    return forced or sniff(head_text(head)) is not None


def _sniffed(path: Path, st: os.stat_result, forced: bool, seen: Seen | None) -> bool:
    return (seen is not None and seen.taken(str(path), st)) or _is_archive(path, forced)


def not_an_archive(data: bytes) -> str | None:
    """What a file's content is when its start is no archive of any format (see `sniff`); None when it is one."""
    head = data[:SNIFF_BYTES]
    if head.startswith(GZIP_MAGIC):
        head = gunzip_head(head)
    if b"\x00" in head:
        return "binary data"
    if not head.strip():
        return "empty"
    return None if sniff(head_text(head)) else "plain text with no post"


def _is_maildir(folder: Path) -> bool:
    return all(os.path.isdir(folder / name) for name in MAILDIR_FOLDERS)


def _walk(
    top: Path,
    files: list[Path],
    errors: list[InputError],
    walked: set[tuple[int, int]],
    forced: bool,
    walked_text: set[Path] | None,
    seen: Seen | None,
) -> None:
    """Files of `top` and its subdirectories, depth first, names sorted, hidden entries skipped.

    Links to directories are followed, each directory walked once (a link back to a parent ends there). A file
    the previous build read, unchanged since (`seen`), is taken without sniffing its content again.
    """
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in walked:
                continue
            walked.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                names = sorted(entry.name for entry in it)
        except OSError as exc:
            errors.append(InputError(str(folder), None, f"cannot read directory: {exc.strerror or exc}"))
            continue
        maildir = _is_maildir(folder)
        messages = folder.name in MAILDIR_FOLDERS and _is_maildir(folder.parent)
        subfolders = []
        for name in names:
            if name.startswith(".") or (maildir and name == "tmp"):
                continue
            candidate = folder / name
            suffix = candidate.suffix.lower()
            taken = messages or suffix in WALKED_EXTENSIONS
            wanted = taken or suffix in SNIFFED_EXTENSIONS
            try:
                st = os.stat(candidate)
            except (OSError, ValueError) as exc:
                if wanted:
                    errors.append(InputError(str(candidate), None, stat_problem(candidate, exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                subfolders.append(candidate)
            elif not is_regular(st):
                if wanted:
                    errors.append(InputError(str(candidate), None, "not a regular file, skipped"))
            elif taken or (suffix in SNIFFED_EXTENSIONS and _sniffed(candidate, st, forced, seen)):
                files.append(candidate)
                if walked_text is not None and suffix in TEXT_EXTENSIONS and not messages:
                    walked_text.add(candidate)
        stack.extend(reversed(subfolders))


def discover(
    paths: Iterable[str | os.PathLike],
    forced: bool = False,
    walked_text: set[Path] | None = None,
    seen: Seen | None = None,
) -> tuple[list[Path], list[InputError]]:
    """The files `paths` name, directories expanded (see the module's docstring), in the order given.

    The `.txt` and `.text` files found in directories are added to `walked_text` when it is given. `seen`: what
    a previous build read with the same reading settings (see `seen`), whose unchanged files need no sniffing."""
    files: list[Path] = []
    errors: list[InputError] = []
    walked: set[tuple[int, int]] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            st = os.stat(path)
        except (OSError, ValueError) as exc:
            errors.append(InputError(str(path), None, stat_problem(path, exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk(path, files, errors, walked, forced, walked_text, seen)
        elif is_regular(st):
            files.append(path)
        else:
            errors.append(InputError(str(path), None, "not a regular file, skipped"))
    return files, errors
