"""Fixtures for the bot's tests: the real SearchService on small real indexes, an offline Discord."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from bot_harness import Discord, start_discord, stop_discord

from embeddings.config import BotSettings, Settings
from embeddings.service import SearchService

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "samples" / "vbulletin"

LONG_POST_CHARS = 30_000
SPECIAL_THREAD = "special-content"
ROLL_CALL = 30


def special_posts() -> list[dict]:
    """A thread the sample cannot provide: a 30,000-character post, mentions and markdown."""
    words = (
        "The assembly debated the cooperative grain levy again and the delegates from the northern "
        "districts asked for the figures of every harvest since the reform was first proposed. "
    ).split()
    body, i = [], 0
    while sum(len(w) + 1 for w in body) < LONG_POST_CHARS:
        body.append(words[i % len(words)])
        i += 1
        if i % 180 == 0:
            body[-1] += "\n\n"
    long_body = " ".join(body).replace("\n\n ", "\n\n")[: LONG_POST_CHARS - 10].rstrip()
    long_body += " " + "e" * (LONG_POST_CHARS - len(long_body) - 2) + "."
    start = datetime(2011, 3, 1, 9, 0)
    return [
        {
            "thread_id": SPECIAL_THREAD,
            "thread_title": "Grain levy **minutes** & @everyone notes",
            "author": "Archivist_One",
            "posted_at": start.isoformat(),
            "body": long_body,
        },
        {
            "thread_id": SPECIAL_THREAD,
            "thread_title": "Grain levy **minutes** & @everyone notes",
            "author": "Mention Tester",
            "posted_at": (start + timedelta(hours=2)).isoformat(),
            "body": (
                "@everyone look at this: the orchard collective voted **unanimously** for __pear__ trees, "
                "not ~~apples~~.\n> this line looks like a quote\n# not a heading\n"
                "Ping <@123456789012345678> and <@&234567890123456789> and @here about the `orchard` vote."
            ),
        },
    ] + [  # more authors than autocomplete may offer
        {
            "thread_id": "roll-call",
            "thread_title": "Roll call",
            "author": f"Member {n:02d}",
            "posted_at": (start + timedelta(days=1, minutes=n)).isoformat(),
            "body": f"Member {n:02d} reporting for the roll call of the orchard cooperative.",
        }
        for n in range(1, ROLL_CALL + 1)
    ]


LONG_THREAD_ID = "forum/politics/" + "a-very-long-thread-slug-" * 16 + "end"  # ~400 characters
LONG_THREAD_TITLE = (
    "The orchard cooperative and its grain levy: minutes, motions, amendments and replies " * 5
).strip()  # ~400 characters
LONG_THREAD_POSTS = 12


def long_thread_posts() -> list[dict]:
    """One thread whose id and title are ~400 characters each, with enough posts for a full 10-result page."""
    start = datetime(2012, 5, 1, 8, 0)
    topics = ["pear trees", "the grain levy", "the harvest figures", "the northern districts", "the reform"]
    return [
        {
            "thread_id": LONG_THREAD_ID,
            "thread_title": LONG_THREAD_TITLE,
            "author": ("Delegate " + "with-a-very-long-name-" * 14) if n % 3 == 0 else f"Delegate {n}",
            "posted_at": (start + timedelta(hours=n)).isoformat(),
            "body": " ".join(
                f"Post {n}: the orchard cooperative argued about {topics[(n + k) % 5]} and asked "
                f"the assembly to vote again on the levy before the autumn harvest."
                for k in range(14)
            ),
        }
        for n in range(LONG_THREAD_POSTS)
    ]


def make_settings(data_dir: Path, sources: list[str], **bot) -> Settings:
    return Settings(data_dir=data_dir, sources=tuple(sources), bot=BotSettings(**bot))


# `sample_service`, `embedder` and `shared_cache` come from tests/conftest.py: the real SearchService on
# the bundled sample thread, the real model, and the session's embedding cache.


def _warm(data_dir: Path, shared_cache: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    if shared_cache.exists():
        shutil.copy(shared_cache, data_dir / shared_cache.name)


def _jsonl_service(posts, name: str, embedder, shared_cache, tmp_path_factory) -> SearchService:
    """A real SearchService on a real index of `posts`, written to a JSON Lines source."""
    root = tmp_path_factory.mktemp(f"{name}-index")
    src = root / f"{name}.jsonl"
    src.write_text("\n".join(json.dumps(p) for p in posts) + "\n", encoding="utf-8")
    _warm(root / "data", shared_cache)
    service = SearchService(make_settings(root / "data", [str(src)]), embedder)
    service.rebuild()
    return service


@pytest.fixture(scope="session")
def special_service(sample_service, embedder, shared_cache, tmp_path_factory) -> SearchService:
    """The real SearchService on a real index of `special_posts()`."""
    service = _jsonl_service(special_posts(), "special", embedder, shared_cache, tmp_path_factory)
    yield service
    service.close()


@pytest.fixture(scope="session")
def long_names_service(sample_service, embedder, shared_cache, tmp_path_factory) -> SearchService:
    """The real SearchService on a real index of `long_thread_posts()`."""
    service = _jsonl_service(long_thread_posts(), "long-names", embedder, shared_cache, tmp_path_factory)
    yield service
    service.close()


@pytest.fixture(scope="session")
def _rebuild_template(sample_service, embedder, shared_cache, tmp_path_factory) -> Path:
    """A built index of the sample (with its embedding cache) to copy for each rebuild test."""
    root = tmp_path_factory.mktemp("rebuild-template")
    shutil.copytree(SAMPLE_DIR, root / "src")
    _warm(root / "data", shared_cache)
    service = SearchService(make_settings(root / "data", [str(root / "src")]), embedder)
    service.rebuild()
    service.close()
    return root


@pytest.fixture
def rebuild_service(_rebuild_template, embedder, tmp_path) -> SearchService:
    """A fresh real SearchService with its own data directory and configured sources, for tests that rebuild."""
    shutil.copytree(_rebuild_template / "src", tmp_path / "src")
    shutil.copytree(_rebuild_template / "data", tmp_path / "data", symlinks=True)
    service = SearchService(make_settings(tmp_path / "data", [str(tmp_path / "src")]), embedder)
    yield service
    service.close()


@pytest.fixture
async def make_discord():
    started: list[Discord] = []

    async def factory(service, **bot_settings) -> Discord:
        d = await start_discord(service, **bot_settings)
        started.append(d)
        return d

    yield factory
    for d in started:
        await stop_discord(d)


@pytest.fixture
async def discord_sample(make_discord, sample_service) -> Discord:
    return await make_discord(sample_service)
