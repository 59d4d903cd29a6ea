"""vBulletin archive pages as a browser clipper saves them: Markdown.

A clipped page has a heading `# <title> [Archive] - <site> [<host>]`, a breadcrumb line of links, a `[PDA](...)`
line and `View Full Version : [<title>](<url>)`, then the posts as on the text page (an author line, a date line,
the body; a blank line may sit between author and date). The clipper escapes Markdown's punctuation (`\\>`, `\\*`,
`\\_`, `\\[`, `1\\.`, ...): the escapes are undone, so a stored body is the text the post says (offsets are into that
text). The page is then read as archive text (`vbulletin`), line numbers kept.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..errors import InputError
from ..models import Thread
from .dates import DateFormatError, parse_archive_date
from .vbulletin import MAX_AUTHOR_LEN, parse_text

_HEADING = re.compile(r"#{1,6}\s+(?P<title>.*?)\s*(?:\[Archive\].*)?$")
_ARCHIVE_HEADING = re.compile(r"#{1,6}\s+.*\[Archive\]")
_VIEW_FULL = re.compile(r"\s*View Full Version\s*:\s*")
_LINK = re.compile(r"\[(?P<text>(?:\\.|[^\]\\])*)\]\((?P<url>[^()\s]*(?:\([^()\s]*\))?[^()\s]*)\)")
_ONLY_LINK = re.compile(r"\s*\[(?:\\.|[^\]\\])*\]\([^)]*\)\s*$")
_PDA = re.compile(r"\s*\[PDA\]\([^)]*\)\s*$", re.I)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash before ASCII punctuation
HEAD_LINES = 40


def unescape(text: str) -> str:
    """Markdown backslash escapes undone: `\\[Errno 13\\]` → `[Errno 13]`, `my\\_app` → `my_app`."""
    return _ESCAPE.sub(r"\1", text)


def _title_of_link(text: str) -> str:
    link = _LINK.fullmatch(text.strip())
    return unescape(link["text"] if link else text).strip()


def looks_like_clipped(text: str) -> bool:
    """A clipped archive page: an "[Archive]" heading, or "View Full Version : [title](url)", near the top."""
    for line in text[:20000].split("\n")[:HEAD_LINES]:
        if _ARCHIVE_HEADING.match(line):
            return True
        m = _VIEW_FULL.match(line)
        if m and _LINK.match(line, m.end()):
            return True
    return False


def _is_head_link(line: str) -> bool:
    """A breadcrumb line ("[Site](url) > [Forum](url) > Title"), a lone link, or the "[PDA](url)" line."""
    if _PDA.match(line):
        return True
    return line.lstrip().startswith("[") and "](" in line and (" > " in line or _ONLY_LINK.match(line) is not None)


def _is_date(line: str) -> bool:
    try:
        return parse_archive_date(line) is not None
    except DateFormatError:
        return True


def _page_lines(lines: list[str]) -> tuple[list[str], dict[int, int]]:
    """The page as archive text lines (as many as the page has), and {line moved → its line on the page}."""
    out = list(lines)
    title = None
    head_end = 0
    for i, line in enumerate(lines[:HEAD_LINES]):
        m = _VIEW_FULL.match(line)
        if m:
            title = _title_of_link(line[m.end() :])
            out[i] = f"View Full Version : {title}"
            head_end = i + 1
            break
    if not head_end:  # no "View Full Version" line: the head is the heading, breadcrumb and PDA lines on top
        while head_end < min(len(lines), HEAD_LINES) and (
            not lines[head_end].strip() or _HEADING.match(lines[head_end]) or _is_head_link(lines[head_end])
        ):
            head_end += 1
    for i in range(head_end):
        line = lines[i]
        heading = _HEADING.match(line)
        if heading:
            out[i] = ""
            if title is None:
                title = unescape(heading["title"])
                out[i] = f"View Full Version : {title}"
        elif _is_head_link(line):
            out[i] = ""
    for i in range(head_end, len(out)):
        out[i] = unescape(lines[i])
    moved: dict[int, int] = {}
    for i in range(max(head_end, 2), len(out)):  # author, a blank line, the date: the author moved down to the date
        author = out[i - 2].strip()
        if (
            not out[i - 1].strip()
            and author
            and len(author) <= MAX_AUTHOR_LEN
            and (i < 3 or not out[i - 3].strip())
            and out[i].strip()[:1].isdigit()
            and not _is_date(author)
            and _is_date(out[i])
        ):
            out[i - 1], out[i - 2] = out[i - 2], ""
            moved[i] = i - 1  # the author line, 1-based: where it was moved (i), where it is on the page (i - 1)
    return out, moved


def parse_markdown(text: str, source: str, errors: list[InputError] | None = None) -> Thread:
    """The thread of one clipped page; InputError when no post is found (see `vbulletin.parse_text`)."""
    lines, moved = _page_lines(text.split("\n"))
    thread = parse_text("\n".join(lines), source, errors)
    if moved:
        thread.posts = [replace(p, line=moved[p.line]) if p.line in moved else p for p in thread.posts]
    return thread
