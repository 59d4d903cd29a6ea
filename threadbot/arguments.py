"""The command line's arguments: one subparser per command, values checked as they are parsed (exit 2)."""

from __future__ import annotations

import argparse

DESCRIPTION = "index archived forum threads and search them, from the shell or from Discord"

MAX_LIMIT = 1000  # embeddings.MAX_LIMIT, which a test checks: importing it here would load the whole core
FORMATS = ("auto", "vbulletin", "jsonl", "mbox", "maildir", "news", "markdown")  # embeddings.ingest.FORMATS


def _nonempty(value: str) -> str:
    """An argument that must not be empty (an empty --thread would silently mean every thread)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def _text(value: str) -> str:
    """Text looked up in the index (a query, an author, a thread), which holds only UTF-8 text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 reach argv as lone surrogates
        raise argparse.ArgumentTypeError(f"not UTF-8 text: {value!r}") from None
    return value


def _name(value: str) -> str:
    return _text(_nonempty(value))


def _count(low: int, high: int | None = None):
    """An integer argument in [low, high]: argparse reports anything else as a usage error (exit 2)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if high is not None and not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, not {number}")
        if number < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {number}")
        return number

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="threadbot", description=DESCRIPTION)
    p.add_argument("--data-dir", type=_nonempty, help="index directory (env THREADBOT_DATA_DIR; default ./data)")
    p.add_argument(
        "--config", type=_nonempty, help="TOML config file (env THREADBOT_CONFIG; default ./threadbot.toml if present)"
    )
    p.add_argument(
        "--model", type=_nonempty, help="sentence-transformers model: a folder or a hub name (default: bundled MiniLM)"
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("index", help="ingest files/directories and build or update the index")
    c.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or directories (default: configured sources, else the current index's sources)",
    )
    c.add_argument("--replace", action="store_true", help="index only PATHs, dropping earlier sources (a full build)")
    c.add_argument("--full", action="store_true", help="rebuild everything, even when the index could be extended")
    c.add_argument("--prune", action="store_true", help="drop the sources that are gone, and their threads")
    c.add_argument(
        "--format",
        choices=FORMATS,
        help="read every file as this format (default: as the current index was read when its sources are read "
        "again, else auto: each file by its content)",
    )
    c.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    c.add_argument("--json", action="store_true", help="print the build report as JSON")

    c = sub.add_parser("remove", help="remove sources and their threads from the index")
    c.add_argument("sources", nargs="+", metavar="SOURCE", type=_nonempty, help="sources of the index (`stats`)")
    c.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    c.add_argument("--json", action="store_true", help="print the build report as JSON")

    c = sub.add_parser("search", help="the posts most relevant to a question")
    c.add_argument("query", type=_text, help="the question; '-' reads one query per line from stdin")
    c.add_argument("--limit", "-n", type=_count(1, MAX_LIMIT), default=5, help="number of posts (1-1000, default 5)")
    c.add_argument("--offset", type=_count(0), default=0, help="skip this many results (paging)")
    c.add_argument("--mode", choices=("dense", "lexical", "hybrid"), help="ranking (default from config: hybrid)")
    c.add_argument(
        "--per-thread", type=_count(1, MAX_LIMIT), help="at most N posts of one thread (default: no limit)", metavar="N"
    )
    _filters(c)
    c.add_argument("--explain", action="store_true", help="show each result's score and its place in the post")
    c.add_argument("--json", action="store_true", help="JSON array of results")

    c = sub.add_parser("threads", help="list indexed threads")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("thread", help="show a thread's posts in order")
    c.add_argument("thread_id", type=_name, help="thread id or exact title")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("post", help="show one post, its quoted passages marked")
    c.add_argument("thread_id", type=_name, help="thread id or exact title")
    c.add_argument("number", type=_count(1), help="post number, 1-based")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("export", help="every post as JSON Lines (re-importable)")
    c.add_argument("--thread", type=_name, help="only this thread")
    c.add_argument("--output", "-o", type=_nonempty, help="write to this file instead of stdout")

    c = sub.add_parser("stats", help="counts, model and build of the index")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser(
        "eval", help="retrieval quality on labelled queries (JSONL: query, author, posted_at, must_contain)"
    )
    c.add_argument("queries", type=_nonempty)
    c.add_argument("--mode", choices=("dense", "lexical", "hybrid"))
    c.add_argument("--json", action="store_true")
    c.add_argument("--details", action="store_true", help="one line per query")

    c = sub.add_parser("eval-quotes", help="precision/recall of quote detection against truth files")
    c.add_argument("threads_dir", type=_nonempty)
    c.add_argument("truth_dir", type=_nonempty)
    c.add_argument("--json", action="store_true")
    c.add_argument("--details", action="store_true", help="list misses and false detections")

    c = sub.add_parser("quote", help="who wrote this passage first, and who quoted it")
    c.add_argument("text", type=_text, help="the passage, or part of it (may be slightly misremembered)")
    c.add_argument("--limit", "-n", type=_count(1, MAX_LIMIT), default=3, help="candidate originals (1-1000)")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("quotes", help="every detected quote relation")
    c.add_argument("--thread", type=_name, help="only this thread")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("run", help="start the Discord bot (token from DISCORD_TOKEN)")
    sync_help = "sync the commands to [bot] dev_guild_id at start (development; never global)"
    c.add_argument("--sync", action="store_true", help=sync_help)
    c = sub.add_parser("sync", help="register slash commands with Discord (dev guild, or --global)")
    c.add_argument("--global", dest="global_", action="store_true", help="sync globally (takes up to an hour)")
    c = sub.add_parser("check", help="verify the live index and the embedding cache; say how to repair")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("commands", help="list the slash commands a sync would register (--json: the payloads)")
    c.add_argument("--json", action="store_true", help="the JSON payloads a sync would send")
    return p


def _filters(c: argparse.ArgumentParser) -> None:
    c.add_argument("--author", type=_name, help="only posts by this author (any case)")
    c.add_argument("--thread", type=_name, help="only this thread (id or exact title)")
    c.add_argument("--after", help="only posts at or after this date (YYYY-MM-DD[ HH:MM])")
    c.add_argument("--before", help="only posts before this date")
