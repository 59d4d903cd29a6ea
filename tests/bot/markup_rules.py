"""Discord's markdown, as far as it can make archived text act: what in a message would render as a masked
link, a mention (users, roles, channels, commands, timestamps, custom emoji, @everyone/@here), a heading, a list
or a block quote. Written from Discord's rules, independently of the bot's escaping.

The model, as Discord's parser reads a message left to right: a backslash before a character that is neither a
letter, a digit nor a blank makes it literal; a backtick span is literal up to the next backtick; at `<` a mention;
anywhere `@everyone` / `@here`, except inside a bare URL (an autolink shows its own address). Line starts (after
blanks, and after one block-quote prefix) decide headings (`#`..`###`, `-#`), lists (`-`, `*`, `+`, `1.`, `1)`)
and block quotes (`>`, `>>>`).

Masked links are judged without any notion of URLs: an unescaped `[` with, somewhere after it, an unescaped `](`
and a `)` is live, whatever lies between and whatever the target. A URL does not protect a `[` inside it: whether
Discord takes `https://[Click` for an address is Discord's business, so the checker assumes it may not.
"""

from __future__ import annotations

import re

# Where Discord's parser autolinks (simple-markdown's url rule, with steam: links): used only to know that a
# mention inside an address does not render as one.
AUTOLINK = re.compile(r"(?:https?|steam)://[^\s<]+[^<.,:;\"')\]\s]")
MENTION = re.compile(
    r"<(?:@[!&]?\d+"  # user, nickname, role
    r"|#\d+"  # channel
    r"|/[^\s:>]+(?: [^\s:>]+){0,2}:\d+"  # slash command, with sub-command and group
    r"|t:-?\d+(?::[tTdDfFsSR])?"  # timestamp
    r"|a?:\w+:\d+"  # custom emoji
    r"|id:\w+)>"  # server guide / browse / customize
)
EVERYONE = re.compile(r"@(?:everyone|here)")
_BLANK = r"[^\S\n\r\x85\u2028\u2029]"
QUOTE_PREFIX = re.compile(rf"^{_BLANK}*>(?:>>)?{_BLANK}")
LINE_MARKUP = re.compile(
    rf"^{_BLANK}*(?:(?P<heading>#{{1,3}}|-#)|(?P<list>[-*+]|\d{{1,9}}[.)])|(?P<quote>>(?:>>)?)){_BLANK}+\S"
)


BREAKS = re.compile("[\n\r\x85\u2028\u2029]")  # a line break to some client


def _line_problems(text: str, quotes_allowed: bool) -> list[str]:
    problems = []
    for line in BREAKS.split(text):
        rest = line
        if QUOTE_PREFIX.match(line):
            if not quotes_allowed:
                problems.append(f"block quote: {line!r}")
            rest = line[QUOTE_PREFIX.match(line).end() :]  # Discord does not nest quotes: look inside once
        m = LINE_MARKUP.match(rest)
        if m and (m.group("heading") or m.group("list")):
            problems.append(f"{'heading' if m.group('heading') else 'list'}: {line!r}")
    return problems


def live_markup(text: str, *, allowed: frozenset[str] | set[str] = frozenset(), quotes_allowed: bool = False):
    """What in `text` would render as a link, mention, heading, list or (unless `quotes_allowed`) block quote.
    `allowed`: exact constructs the bot writes itself (its own `<t:…>` timestamps)."""
    problems = _line_problems(text, quotes_allowed)
    opens, closes = [], []  # unescaped "[", unescaped "](" (outside code spans)
    pos, n, autolink_end = 0, len(text), 0
    while pos < n:
        ch = text[pos]
        if ch == "\\" and pos + 1 < n and not (text[pos + 1].isalnum() or text[pos + 1].isspace()):
            pos += 2
            continue
        if pos >= autolink_end and (m := AUTOLINK.match(text, pos)):
            autolink_end = m.end()
        if ch == "`" and pos >= autolink_end:  # in an address a backtick may be just a character: read on
            run = len(text[pos:]) - len(text[pos:].lstrip("`"))
            end = text.find("`" * run, pos + run)
            if end >= 0:
                pos = end + run
                continue
        if ch == "[":
            opens.append(pos)
        elif ch == "]" and text.startswith("(", pos + 1):
            closes.append(pos)
        elif ch == "<" and (m := MENTION.match(text, pos)) and m.group(0) not in allowed:
            problems.append(f"mention: {m.group(0)!r}")
        elif ch == "@" and pos >= autolink_end and (m := EVERYONE.match(text, pos)):
            problems.append(f"mention: {m.group(0)!r}")
        pos += 1
    last_paren = text.rfind(")")
    closes = [c for c in closes if last_paren > c + 1]
    if opens and closes and opens[0] < closes[-1]:
        problems.append(f"masked link: {text[opens[0] : closes[-1] + 80]!r}")
    return problems


def embed_texts(embed: dict) -> list[tuple[str, str]]:
    """(where, text) of the parts of an embed that Discord renders as markdown (author names and footers are
    plain text)."""
    parts = [("title", embed.get("title") or ""), ("description", embed.get("description") or "")]
    for i, f in enumerate(embed.get("fields") or []):
        parts += [(f"field {i} name", f["name"]), (f"field {i} value", f["value"])]
    return [(where, text) for where, text in parts if text]


# The bot's own thread line, a card description's second line: "-# [title](target)" or "-# title". The target is
# an http(s) address in which nothing could end the link, open a hover title or escape.
THREAD_LINE = re.compile(r"-# (?:\[(?P<label>.*)\]\((?P<target>https?://[^\s()<>\[\]\\\"`]+)\)|(?P<plain>.*))\Z")


def _bare_brackets(text: str) -> bool:
    """Whether `text` holds a `[` or `]` that no backslash escapes: in a link's text it could close or nest one."""
    pos = 0
    while pos < len(text):
        if text[pos] == "\\" and pos + 1 < len(text):
            pos += 2
            continue
        if text[pos] in "[]":
            return True
        pos += 1
    return False


def thread_line_problems(line: str, *, allowed=frozenset()) -> list[str]:
    """What is wrong with `line` as the bot's thread line: not of its form, or a title that is live itself (any
    markup live_markup finds, a bare bracket in a link's text, an address a link's text would show)."""
    m = THREAD_LINE.match(line)
    if not m:
        return [f"not a thread line: {line!r}"]
    title = m.group("plain") if m.group("label") is None else m.group("label")
    problems = live_markup(title, allowed=allowed)
    if m.group("label") is not None and _bare_brackets(title):
        problems.append(f"bracket in link text: {title!r}")
    if m.group("label") is not None and AUTOLINK.search(title):
        problems.append(f"address in link text: {title!r}")
    return [f"thread line: {p}" for p in problems]


def _own_thread_line(text: str, allowed) -> tuple[str, list[str]]:
    """A description without its thread line (the line after a byline that starts "**" — archived text is escaped,
    so an unescaped "**" at its start is the bot's), and the line's problems; unchanged when it has none."""
    lines = text.split("\n")
    if len(lines) < 2 or not lines[0].startswith("**") or not lines[1].startswith("-# "):
        return text, []
    return "\n".join([lines[0], "", *lines[2:]]), thread_line_problems(lines[1], allowed=allowed)


def message_problems(
    payload: dict, *, allowed=frozenset(), quotes_in=("description",), thread_line: bool = True
) -> list[str]:
    """live_markup over a message's content and every embed's markdown parts; block quotes are allowed in the
    parts named in `quotes_in` (where the bot quotes passages). `thread_line`: a description's second line may be
    the bot's thread line (:func:`thread_line_problems` checks it); nothing else may be a subtext line or link."""
    problems = [f"content: {p}" for p in live_markup(payload.get("content") or "", allowed=allowed)]
    for i, e in enumerate(payload.get("embeds") or []):
        for where, text in embed_texts(e):
            if where == "description" and thread_line:
                text, found = _own_thread_line(text, allowed)
                problems += [f"embed {i} {where}: {p}" for p in found]
            quotes = any(where.startswith(q) for q in quotes_in)
            problems += [f"embed {i} {where}: {p}" for p in live_markup(text, allowed=allowed, quotes_allowed=quotes)]
    return problems
