"""Draw a Discord message payload (content, embeds, buttons, select menus) as the Discord client draws it, in
HTML: dark theme, the client's spacing and colours, its markdown (bold, italics, block quotes, `-# ` subtext lines,
masked links, escapes, timestamps shown in one viewer's zone). Used by `scripts/screenshots.py`; not part of the bot.

Only what the bot sends is drawn; anything else in a payload is ignored.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

VIEWER_ZONE = ZoneInfo("America/New_York")  # the reader whose client draws Discord timestamps
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # "now" for relative timestamps

CSS = """
body { margin: 0; background: #313338; color: #dbdee1; font: 16px/1.375 "Noto Sans", "Helvetica Neue", sans-serif; }
.msg { display: flex; padding: 8px 16px 8px 16px; }
.avatar { width: 40px; height: 40px; border-radius: 50%; background: #5865f2; flex: none; margin-right: 16px;
  color: #fff; font-weight: 600; display: flex; align-items: center; justify-content: center; font-size: 15px; }
.main { min-width: 0; flex: 1; }
.head { margin-bottom: 2px; }
.name { color: #f2f3f5; font-weight: 500; }
.tag { background: #5865f2; color: #fff; font-size: 10px; font-weight: 600; border-radius: 3px; padding: 1px 4px;
  margin-left: 4px; vertical-align: 2px; }
.time { color: #949ba4; font-size: 12px; margin-left: 6px; }
.content { white-space: pre-wrap; word-wrap: break-word; }
.embed { display: grid; background: #2b2d31; border-left: 4px solid #5865f2; border-radius: 4px; max-width: 516px;
  padding: 8px 16px 16px 12px; margin-top: 8px; box-sizing: border-box; }
.embed-author { font-size: 14px; font-weight: 600; color: #f2f3f5; margin-top: 8px; }
.embed-author a { color: #f2f3f5; }
.embed-title { font-weight: 600; color: #f2f3f5; margin-top: 8px; }
.embed-desc { font-size: 14px; margin-top: 8px; white-space: pre-wrap; word-wrap: break-word; }
.field { margin-top: 8px; font-size: 14px; }
.field-name { font-weight: 600; color: #f2f3f5; margin-bottom: 2px; }
.field-value { white-space: pre-wrap; }
.footer { font-size: 12px; color: #dbdee1; margin-top: 8px; }
.subtext { font-size: 12px; line-height: 1.33; color: #949ba4; display: block; }
.subtext a { color: #00a8fc; }
blockquote { display: flex; margin: 0; }
blockquote::before { content: ""; width: 4px; border-radius: 4px; background: #4e5058; flex: none; }
blockquote div { padding: 0 8px 0 12px; white-space: pre-wrap; min-width: 0; }
a { color: #00a8fc; text-decoration: none; }
code { background: #2b2d31; border-radius: 4px; padding: 0 3px; font-size: 85%; font-family: monospace; }
.ts { background: rgba(78, 80, 88, .48); border-radius: 3px; padding: 0 2px; }
.row { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.button { height: 32px; padding: 2px 16px; border-radius: 3px; font-size: 14px; font-weight: 500; color: #fff;
  display: flex; align-items: center; gap: 4px; box-sizing: border-box; }
.s1 { background: #5865f2; } .s2 { background: #4e5058; } .s3 { background: #248046; } .s4 { background: #da373c; }
.s5 { background: #4e5058; }
.disabled { opacity: .5; }
.select { width: 100%; max-width: 400px; height: 40px; background: #1e1f22; border-radius: 4px; color: #949ba4;
  display: flex; align-items: center; justify-content: space-between; padding: 0 12px; box-sizing: border-box;
  font-size: 15px; }
.ephemeral { font-size: 12px; color: #949ba4; margin-top: 6px; }
.ephemeral a { color: #00a8fc; }
"""

_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_MENTION = re.compile(r"<@!?(\d+)>")
_LINK = re.compile(r"\[([^\[\]]+)\]\((https?://[^\s)]+)\)")
_ESCAPE = re.compile(r"\\([\\*_~`>|\[\]()#:<-])")


def timestamp(unix: int, style: str | None) -> str:
    """What the client shows for <t:unix:style> to a reader in VIEWER_ZONE."""
    when = datetime.fromtimestamp(unix, UTC).astimezone(VIEWER_ZONE)
    clock = when.strftime("%-I:%M %p")
    formats = {
        "t": clock,
        "T": when.strftime("%-I:%M:%S %p"),
        "d": when.strftime("%m/%d/%Y"),
        "D": when.strftime("%B %-d, %Y"),
        "F": when.strftime("%A, %B %-d, %Y ") + clock,
    }
    if style == "R":
        years = (NOW - when).days // 365
        return f"{years} years ago" if years > 1 else when.strftime("%B %-d, %Y")
    return formats.get(style or "f", when.strftime("%B %-d, %Y ") + clock)


def _emphasis(text: str) -> str:
    """Text (its escapes already held as placeholders) → HTML with Discord's emphasis and inline code."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"__(.+?)__", r"<u>\1</u>", out)
    out = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)", r"<em>\1</em>", out)
    out = re.sub(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)", r"<em>\1</em>", out)
    return re.sub(r"~~(.+?)~~", r"<s>\1</s>", out)


def inline(text: str, mentions: dict[str, str] | None = None) -> str:
    """Discord's inline markdown of one line (escaped characters stay literal)."""
    escaped: list[str] = []

    def hold(piece: str) -> str:
        escaped.append(piece)
        return f"\x00{len(escaped) - 1}\x00"

    def restore(text: str) -> str:
        return re.sub("\x00(\\d+)\x00", lambda m: escaped[int(m.group(1))], text)

    text = _ESCAPE.sub(lambda m: hold(html.escape(m.group(1))), text)
    text = _TIMESTAMP.sub(lambda m: hold(f'<span class="ts">{timestamp(int(m.group(1)), m.group(2))}</span>'), text)
    # a link's text is drawn with the escapes held above, so they are restored in it before it is held itself
    text = _LINK.sub(lambda m: hold(f'<a href="{html.escape(m.group(2))}">{restore(_emphasis(m.group(1)))}</a>'), text)
    names = mentions or {}
    text = _MENTION.sub(lambda m: hold(f'<a class="ts">@{html.escape(names.get(m.group(1), "member"))}</a>'), text)
    return restore(_emphasis(text))


def markdown(text: str, mentions: dict[str, str] | None = None) -> str:
    """Lines of Discord markdown: runs of "> " lines as one block quote, ">>> " quoting the rest, a "-# " line as
    subtext (small and muted)."""
    out: list[str] = []
    quote: list[str] = []
    lines = text.split("\n")

    def flush() -> None:
        if quote:
            out.append("<blockquote><div>" + "\n".join(quote) + "</div></blockquote>")
            quote.clear()

    for n, line in enumerate(lines):
        if line.startswith(">>> "):
            flush()
            rest = [line[4:], *lines[n + 1 :]]
            out.append("<blockquote><div>" + "\n".join(inline(x, mentions) for x in rest) + "</div></blockquote>")
            return "".join(out)
        if line.startswith("> ") or line == ">":
            quote.append(inline(line[2:], mentions))
            continue
        flush()
        if line.startswith("-# "):
            out.append(f'<span class="subtext">{inline(line[3:], mentions)}</span>')
            continue
        out.append(inline(line, mentions) + "\n")
    flush()
    return "".join(out).rstrip("\n")


def embed(data: dict, mentions: dict[str, str]) -> str:
    colour = data.get("color")
    style = f' style="border-left-color: #{colour:06x}"' if isinstance(colour, int) else ""
    parts = [f'<div class="embed"{style}>']
    author = data.get("author")
    if author:
        name = html.escape(author.get("name", ""))
        url = author.get("url")
        parts.append(f'<div class="embed-author">{f"<a href={html.escape(url)!r}>{name}</a>" if url else name}</div>')
    if data.get("title"):
        parts.append(f'<div class="embed-title">{inline(data["title"])}</div>')
    if data.get("description"):
        parts.append(f'<div class="embed-desc">{markdown(data["description"], mentions)}</div>')
    for field in data.get("fields", []):
        parts.append(
            f'<div class="field"><div class="field-name">{inline(field["name"])}</div>'
            f'<div class="field-value">{markdown(field["value"], mentions)}</div></div>'
        )
    if data.get("footer", {}).get("text"):
        parts.append(f'<div class="footer">{html.escape(data["footer"]["text"])}</div>')
    return "".join(parts) + "</div>"


def component(data: dict) -> str:
    disabled = " disabled" if data.get("disabled") else ""
    if data["type"] == 2:
        emoji = (data.get("emoji") or {}).get("name", "")
        label = html.escape(data.get("label") or "")
        return f'<div class="button s{data.get("style", 2)}{disabled}">{html.escape(emoji)}{label}</div>'
    if data["type"] == 3:
        return f'<div class="select{disabled}">{html.escape(data.get("placeholder") or "")}<span>⌄</span></div>'
    return ""


def message(payload: dict, mentions: dict[str, str] | None = None, when: str = "Today at 10:00 AM") -> str:
    """One message as the client draws it (ephemeral ones with "Only you can see this")."""
    mentions = mentions or {}
    author = payload.get("author") or {"username": "threadbot", "bot": True}
    name = html.escape(author.get("global_name") or author.get("username") or "threadbot")
    parts = [
        '<div class="msg">',
        f'<div class="avatar">{name[:1].upper()}</div><div class="main">',
        f'<div class="head"><span class="name">{name}</span>'
        + ('<span class="tag">APP</span>' if author.get("bot") else "")
        + f'<span class="time">{html.escape(when)}</span></div>',
    ]
    if payload.get("content"):
        parts.append(f'<div class="content">{markdown(payload["content"], mentions)}</div>')
    parts += [embed(e, mentions) for e in payload.get("embeds") or []]
    for row in payload.get("components") or []:
        parts.append('<div class="row">' + "".join(component(c) for c in row.get("components", [])) + "</div>")
    if (payload.get("flags") or 0) & 64:
        parts.append('<div class="ephemeral">👁 Only you can see this · <a>Dismiss message</a></div>')
    return "".join(parts) + "</div></div>"


def page(messages: list[str], width: int) -> str:
    """A whole HTML page of `messages` at a client width of `width` pixels."""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{CSS}'
        f"body {{ width: {width}px; }}</style></head><body>" + "".join(messages) + "</body></html>"
    )
