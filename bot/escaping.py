"""One escaping pass over archived or typed text, and which bare URLs it leaves as written.

Everything archived or typed by a member is escaped in one pass over the final text, after it was cut and its
highlights were chosen (bot/text.py), and only then does the bot's own markup (bold, block quotes, pointers) go
around it: markdown, masked links, headings, lists and block quotes at line starts are neutralised, and no mention
of any kind (user, role, channel, command, timestamp, custom emoji, @everyone/@here) renders or pings (the client
also uses ``AllowedMentions.none()``).
"""

from __future__ import annotations

import re

ZWSP = "\u200b"  # invisible; inside a mention's opening it stops Discord from parsing the mention
# Where a highlight opens and closes while its passage is escaped: private-use characters, never in the input.
OPEN, CLOSE = "\ue000", "\ue001"
_MARK = f"[{OPEN}{CLOSE}]"
# A bare URL exempt from escaping: a scheme, a plausible host (dotted, or localhost), an optional port and path; it
# shows its own address, so its characters are kept as written. Only what could close or open a masked link (and
# the backslash) is escaped inside it too, in case Discord does not take it for a URL: a backslash there shows in
# the link's target, which is the price of never letting a `[…](…)` go live.
_HOST = r"(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+|localhost(?![A-Za-z0-9-])"
URL = re.compile(
    rf"(?:https?|steam)://(?:{_HOST})(?::\d+)?"
    rf"(?:[/?#](?:[^\s<{OPEN}{CLOSE}]*[^<.,:;\"'\]\s{OPEN}{CLOSE}])?)?"
)
_IN_URL = str.maketrans({"\\": "\\\\", "[": "\\[", "]": "\\]"})
_MENTION = re.compile(
    rf"(?P<angle><)(?={_MARK}*(?:[@#/:]|[at]:|id:))"  # <@id> <@!id> <@&id> <#id> </cmd:id> <t:…> <:emoji:id> <id:…>
    rf"|(?P<at>@)(?={_MARK}*(?:everyone|here))"
)
_BREAK = "\r\x85\u2028\u2029"  # besides "\n", what a client might take for a line break
_LINE_START = rf"(?:^|(?<=[{_BREAK}]))(?:[^\S\n{_BREAK}]|{_MARK})*"  # and the blanks after it
_MARKDOWN = re.compile(
    # at a line start: headings, "-# " subtext, lists ("- ", "+ ", "1. ", "1) "), block quotes
    rf"(?P<lead>{_LINE_START})(?:(?P<block>[#>+-])|(?P<number>\d{{1,9}})(?P<dot>[.)])(?={_MARK}*(?:\s|$)))"
    r"|(?P<char>[\\*_~|`\[\]])",  # emphasis, spoilers, code, masked links, the escape character itself
    re.MULTILINE,
)


def _markdown(text: str, line_start: bool) -> str:
    def sub(m: re.Match) -> str:
        if m.group("char"):
            return "\\" + m.group("char")
        if m.start() == 0 and not line_start:  # text right after a URL is not at a line start
            return m.group(0)
        if m.group("block"):
            return m.group("lead") + "\\" + m.group("block")
        return m.group("lead") + m.group("number") + "\\" + m.group("dot")

    return _MARKDOWN.sub(sub, text)


def _text(text: str, line_start: bool) -> str:
    """Escape `text`, which holds no URL: markdown, then mentions."""
    return _MENTION.sub(lambda m: m.group(0) + ZWSP, _markdown(text, line_start))


def escape(text: str, *, cut_url_at: int | None = None) -> str:
    """Archived or typed text → text that renders literally.

    Markdown characters get a backslash, outside bare URLs (those are kept as written: they show their own
    address; only `\\`, `[` and `]` are escaped in them); the `@` of `@everyone`/`@here` and the `<` of mention-like
    markup get an invisible ZWSP after them, outside URLs. Line-start markup is escaped at the start of `text` too,
    so the result is inert wherever it is placed.

    `cut_url_at`: `text[cut_url_at:]` is the beginning of a URL that was cut short; it is written as text, with
    its `://` escaped, so that it shows as written and links nowhere (a truncated address is not the archive's)."""
    if cut_url_at is not None:
        head = escape(text[:cut_url_at]) if cut_url_at else ""
        return head + _text(text[cut_url_at:], not cut_url_at).replace("://", r":\/\/")
    out, pos = [], 0
    for url in URL.finditer(text):
        out.append(_text(text[pos : url.start()], pos == 0))
        out.append(url.group(0).translate(_IN_URL))
        pos = url.end()
    out.append(_text(text[pos:], pos == 0))
    return "".join(out)


def url_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Where the bare URLs of `text` (or of `text[start:end]`) are, as escape() sees them."""
    return [m.span() for m in URL.finditer(text, start, len(text) if end is None else end)]


def ends_in_url(text: str) -> bool:
    """Whether `text` ends with a bare URL: anything written right after it would join its address."""
    words = text.rsplit(None, 1)
    return bool(words) and any(m.end() == len(words[-1]) for m in URL.finditer(words[-1]))


def unmarked(text: str) -> str:
    """`text` without the private highlight markers (same length, so offsets into it stay valid)."""
    return text.replace(OPEN, "\ufffd").replace(CLOSE, "\ufffd")
