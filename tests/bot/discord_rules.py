"""Discord's rules for command payloads and messages, checked independently of the bot's own code."""

from __future__ import annotations

import regex

NAME = regex.compile(r"^[-_\p{L}\p{N}]{1,32}$")
OPTION_TYPES_WITH_OPTIONS = (1, 2)  # sub-command, sub-command group


class RuleBroken(AssertionError):
    pass


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise RuleBroken(what)


def check_name(name: str, where: str) -> None:
    _need(isinstance(name, str) and NAME.match(name) is not None, f"{where}: bad name {name!r}")
    _need(name == name.lower(), f"{where}: name {name!r} must be lowercase")


def check_description(text: str, where: str) -> None:
    _need(isinstance(text, str) and 1 <= len(text) <= 100, f"{where}: description must be 1-100 chars: {text!r}")


def check_options(options: list[dict], where: str) -> None:
    _need(len(options) <= 25, f"{where}: {len(options)} options (max 25)")
    seen_optional = False
    names = set()
    for opt in options:
        w = f"{where} option {opt.get('name')!r}"
        check_name(opt["name"], w)
        check_description(opt["description"], w)
        _need(opt["name"] not in names, f"{w}: duplicate")
        names.add(opt["name"])
        if opt.get("required"):
            _need(not seen_optional, f"{w}: required option after an optional one")
        else:
            seen_optional = True
        choices = opt.get("choices") or []
        _need(len(choices) <= 25, f"{w}: more than 25 choices")
        _need(not (choices and opt.get("autocomplete")), f"{w}: choices and autocomplete together")
        for c in choices:
            _need(1 <= len(c["name"]) <= 100, f"{w}: choice name length")
        if opt["type"] in OPTION_TYPES_WITH_OPTIONS:
            check_options(opt.get("options") or [], w)


def check_command(payload: dict) -> None:
    where = f"/{payload.get('name')}"
    check_name(payload["name"], where)
    if payload.get("type", 1) == 1:
        check_description(payload["description"], where)
    check_options(payload.get("options") or [], where)


def embed_chars(embed: dict) -> int:
    n = len(embed.get("title") or "") + len(embed.get("description") or "")
    n += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    n += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])
    return n


def check_message(payload: dict) -> None:
    """A message payload (content/embeds) against Discord's limits."""
    content = payload.get("content") or ""
    _need(len(content) <= 2000, f"content has {len(content)} chars (max 2000)")
    embeds = payload.get("embeds") or []
    _need(len(embeds) <= 10, f"{len(embeds)} embeds (max 10)")
    for i, e in enumerate(embeds):
        _need(len(e.get("title") or "") <= 256, f"embed {i} title > 256")
        _need(len(e.get("description") or "") <= 4096, f"embed {i} description > 4096")
        _need(len((e.get("author") or {}).get("name") or "") <= 256, f"embed {i} author > 256")
        _need(len((e.get("footer") or {}).get("text") or "") <= 2048, f"embed {i} footer > 2048")
        fields = e.get("fields") or []
        _need(len(fields) <= 25, f"embed {i} has {len(fields)} fields")
        for f in fields:
            _need(1 <= len(f["name"]) <= 256, f"embed {i} field name length {len(f['name'])}")
            _need(1 <= len(f["value"]) <= 1024, f"embed {i} field value length {len(f['value'])}")
        for where, url in (("url", e.get("url")), ("author url", (e.get("author") or {}).get("url"))):
            if url is not None:
                _need(isinstance(url, str) and url.startswith(("http://", "https://")), f"embed {i} {where} {url!r}")
                _need(len(url) <= 2048, f"embed {i} {where} longer than 2048")
    total = sum(embed_chars(e) for e in embeds)
    _need(total <= 6000, f"embeds total {total} chars (max 6000)")
    check_components(payload.get("components") or [])


def check_components(rows: list[dict]) -> None:
    """Message components: at most 5 action rows; a row holds up to 5 buttons or one select menu; labels and
    values within Discord's lengths; a menu has 1-25 options; custom ids unique in the message."""
    _need(len(rows) <= 5, f"{len(rows)} action rows (max 5)")
    ids = []
    for r, row in enumerate(rows):
        _need(row.get("type") == 1, f"row {r} is not an action row")
        items = row.get("components") or []
        _need(1 <= len(items) <= 5, f"row {r} has {len(items)} components")
        menus = [c for c in items if c["type"] == 3]
        _need(not menus or len(items) == 1, f"row {r}: a select menu shares its row")
        for c in items:
            ids.append(c.get("custom_id"))
            _need(ids[-1] is not None and 1 <= len(ids[-1]) <= 100, f"row {r}: custom_id length")
            if c["type"] == 2:
                _need(c.get("label") or c.get("emoji"), f"row {r}: a button with neither label nor emoji")
                _need(len(c.get("label") or "") <= 80, f"row {r}: button label over 80")
            else:
                options = c.get("options") or []
                _need(1 <= len(options) <= 25, f"row {r}: a menu with {len(options)} options")
                _need(len(c.get("placeholder") or "") <= 150, f"row {r}: placeholder over 150")
                values = [o["value"] for o in options]
                _need(len(set(values)) == len(values), f"row {r}: repeated option values")
                for o in options:
                    _need(1 <= len(o["label"]) <= 100, f"row {r}: option label length {len(o['label'])}")
                    _need(1 <= len(o["value"]) <= 100, f"row {r}: option value length")
                    _need(len(o.get("description") or "") <= 100, f"row {r}: option description over 100")
    _need(len(set(ids)) == len(ids), "repeated custom ids")


def check_all_sent(sent) -> int:
    """Check every message-bearing request the bot made; returns how many were checked."""
    n = 0
    for s in sent:
        data = s.data
        if isinstance(data, dict) and ("embeds" in data or "content" in data):
            check_message(data)
            n += 1
    return n
