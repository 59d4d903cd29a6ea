"""vBulletin "View Full Version" archive pages saved as text.

Layout: a title line ``View Full Version : <title>``, then for each post an
author line, a date line (``15th August 2009, 14:32`` or ``01-May-2012, 15:54``)
and the body, which runs to the next author+date pair. Blank lines inside a body
belong to it: a blank line alone never separates posts.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from ..errors import InputError
from ..models import Post, Thread
from .dates import DateFormatError, parse_archive_date
from .ids import post_id_for, thread_id_for
from .textfile import read_text

# Only the prefix is matched; the title is the rest of the line, stripped (a regex for the whole line with a lazy
# title and trailing `\s*$` takes quadratic time on a long line of spaces).
TITLE_PREFIX = re.compile(r"\s*View Full Version\s*:")
FOOTER = re.compile(r"^\s*(Powered by vBulletin|vBulletin\S*\s+v?\d|Copyright ©?\s*\d{4}.*Jelsoft)", re.I)
MAX_AUTHOR_LEN = 80

# (index of the author line, author, date or None when the date line cannot be read, the problem then)
Header = tuple[int, str, datetime | None, InputError | None]


def _title(line: str) -> str | None:
    m = TITLE_PREFIX.match(line)
    return (line[m.end() :].strip() or None) if m else None


def looks_like_vbulletin(text: str) -> bool:
    if any(_title(line) for line in text[:5000].split("\n")[:50]):
        return True
    lines = text.split("\n", 400)[:400]
    for a, b in zip(lines, lines[1:]):
        try:
            if a.strip() and parse_archive_date(b):
                return True
        except DateFormatError:
            return True
    return False


def _is_author_line(line: str) -> bool:
    s = line.strip()
    return bool(s) and len(s) <= MAX_AUTHOR_LEN and not s.startswith(">")


def parse_text(text: str, source: str, errors: list[InputError] | None = None) -> Thread:
    """The thread of one archive page. Raises InputError when no post can be found.

    A post whose date line is shaped like a date but is not one (`31st Febtember 2012, 10:00`) raises InputError
    naming that line; with `errors`, that post alone is skipped and reported there, and the others are kept.
    """
    lines = text.split("\n")
    title = None
    title_line = 0
    for i, line in enumerate(lines[:50]):
        found = _title(line)
        if found is not None:
            title, title_line = found, i + 1
            break

    headers = _find_headers(lines, title_line, source, after_blank=True)
    if len(headers) < 2:  # maybe an archive without blank lines between posts
        loose = _find_headers(lines, title_line, source, after_blank=False)
        if len(loose) > len(headers):
            headers = loose

    if not headers:
        raise InputError(
            source,
            None,
            "no recognisable post (expected an author line followed by a date line such as '15th August 2009, 14:32')",
        )
    bad = [problem for _, _, _, problem in headers if problem is not None]
    good = [h for h in headers if h[3] is None]
    if bad and errors is None:
        raise bad[0]
    if errors is not None:
        errors.extend(InputError(e.path, e.line, f"{e.message}; post skipped") for e in bad)
    if not good:
        raise InputError(source, None, "no post with a readable date")

    id_title = title
    if title is None:
        first = next((s.strip() for s in lines[: headers[0][0]] if s.strip() and s.strip() != "Log in"), None)
        id_title = first or ""  # never the file name: ids must survive renaming the file
        title = first or Path(source).stem

    first_author, first_date = good[0][1], good[0][2]
    thread_id = thread_id_for(id_title, first_author, first_date)
    thread = Thread(thread_id=thread_id, title=title, source=source)
    seen: dict[tuple[str, object], int] = {}
    ends = {h[0]: (headers[k + 1][0] if k + 1 < len(headers) else len(lines)) for k, h in enumerate(headers)}
    for n, (i, author, when, _) in enumerate(good):
        end = ends[i]
        body_lines = lines[i + 2 : end]
        if end == len(lines):
            body_lines = _strip_footer(body_lines)
        body = "\n".join(body_lines).strip("\n").rstrip()
        key = (author, when)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        thread.posts.append(
            Post(
                post_id=post_id_for(thread_id, author, when, occurrence),
                thread_id=thread_id,
                post_index=n,
                author=author,
                posted_at=when,
                body=body,
                source=source,
                line=i + 1,
            )
        )
    return thread


def _find_headers(lines: list[str], start: int, source: str, after_blank: bool) -> list[Header]:
    """Each post header: an author line followed by a date line (or by a line shaped like a date that is not one).

    With after_blank, the author line must follow a blank line (or the title block), as on every archive page
    seen so far; this keeps a body line followed by a date-looking line from starting a post.
    """
    headers: list[Header] = []
    for i in range(start, len(lines) - 1):
        nxt = lines[i + 1].strip()
        if not nxt or not nxt[0].isdigit() or not _is_author_line(lines[i]):
            continue
        if after_blank and i > start and lines[i - 1].strip():
            continue
        if headers and headers[-1][0] == i - 1:
            continue  # a date line right after a header's date: not a new post
        try:
            when = parse_archive_date(nxt)
        except DateFormatError as exc:
            headers.append((i, lines[i].strip(), None, InputError(source, i + 2, str(exc))))
            continue
        if when is not None:
            headers.append((i, lines[i].strip(), when, None))
    return headers


def _strip_footer(body_lines: list[str]) -> list[str]:
    for k in range(len(body_lines) - 1, max(-1, len(body_lines) - 6), -1):
        if FOOTER.match(body_lines[k]):
            return body_lines[:k]
    return body_lines


def parse_file(path: str | Path, warnings: list[str] | None = None) -> Thread:
    return parse_text(read_text(path, warnings), str(path))
