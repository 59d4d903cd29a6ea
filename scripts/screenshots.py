"""Pictures of the bot's real replies for the README: /ask, /post and /quote at desktop and phone width.

Usage: .venv/bin/python scripts/screenshots.py [--data-dir DIR] [--out docs/images]

The replies are the bot's own payloads: a real ThreadBot on the bundled sample's index, driven through the tests'
offline Discord stand-in (tests/bot/bot_harness.py: real discord.py, recorded network). Each payload is drawn as
the Discord client draws it (scripts/discord_html.py) and photographed with headless Chromium
(`apt-get install chromium`). Not part of CI: run it after changing what the bot sends, and commit the pictures.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "bot"), str(ROOT), str(ROOT / "scripts")]

import discord_html  # noqa: E402
from bot_harness import User, start_discord, stop_discord  # noqa: E402

from embeddings.config import Settings  # noqa: E402
from embeddings.service import SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402

SAMPLE = ROOT / "samples" / "vbulletin"
WIDTHS = {"desktop": 900, "phone": 390}
QUESTION = "Who brought up the Dewey Commission inquiry into the Moscow trials?"
QUOTED = "Trotsky was something else, with his own program, network and assumptions"
SCALE = 2  # device pixels per CSS pixel: sharp on high-density screens


async def replies(service: SearchService) -> dict[str, list[dict]]:
    """name -> the messages a member sees, each as Discord holds it."""
    member = User(name="member")
    d = await start_discord(service)
    try:
        ask = await d.command("ask", user=member, question=QUESTION)
        shots = {"ask": [ask.message]}
        [thread] = service.threads()
        post = await d.command("post", user=member, thread=thread.thread_id, number=7)
        shots["post"] = [post.message]
        quote = await d.command("quote", user=member, text=QUOTED)
        shots["quote"] = [quote.message]
        shared = await d.select(ask.message, "Share to the channel…", "r0", member)
        shots["share"] = [shared.message]
    finally:
        await stop_discord(d)
    return shots


def photograph(html: str, width: int, out: Path, chromium: str) -> None:
    """Chromium's picture of `html` at `width`, as tall as the page: a first run reads the drawn height."""
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    measure = (
        "<script>addEventListener('load', () => document.body.dataset.height = document.body.scrollHeight)</script>"
    )
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html.replace("</body>", measure + "</body>"), encoding="utf-8")
        dom = subprocess.run(
            [*command, f"--window-size={width},800", "--dump-dom", page.as_uri()],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        height = int(re.search(r'data-height="(\d+)"', dom).group(1)) + 16
        shot = [f"--force-device-scale-factor={SCALE}", f"--window-size={width},{height}", f"--screenshot={out}"]
        subprocess.run([*command, *shot, page.as_uri()], check=True, capture_output=True, timeout=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data", help="an index of the sample (built if absent)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chromium:
        print("needs Chromium: apt-get install chromium", file=sys.stderr)
        return 2
    settings = Settings(data_dir=args.data_dir, sources=(str(SAMPLE),))
    service = SearchService(settings, Embedder(settings.model))
    service.rebuild()  # "up to date" at once when the sample is already indexed there
    shots = asyncio.run(replies(service))
    service.close()
    args.out.mkdir(parents=True, exist_ok=True)
    mentions = {str(User().id): "member"}
    for name, messages in shots.items():
        for device, width in WIDTHS.items():
            drawn = [discord_html.message(m, mentions) for m in messages]
            out = args.out / f"{name}-{device}.png"
            photograph(discord_html.page(drawn, width), width, out, chromium)
            print(out.relative_to(ROOT) if out.is_relative_to(ROOT) else out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
