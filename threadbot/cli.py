"""`threadbot` — index archived forum threads and search them, from the shell or from Discord.

Every command is a translation: parse arguments, call SearchService, print text
or JSON. Domain errors (embeddings.errors) become one-line messages and exit codes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence

from embeddings import Settings, ThreadbotError, UsageError, load_settings, to_jsonable
from embeddings.config import check_device

from . import render
from .progress import configure_logging

log = logging.getLogger("threadbot")
MAX_LIMIT = 1000  # embeddings.MAX_LIMIT, which a test checks: importing it here would load the whole core


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="threadbot", description=__doc__.split("\n")[0].split(" — ")[1])
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
    c.add_argument("--replace", action="store_true", help="index only PATHs, dropping earlier sources")
    c.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    c.add_argument("--json", action="store_true", help="print the build report as JSON")

    c = sub.add_parser("search", help="the posts most relevant to a question")
    c.add_argument("query", type=_text, help="the question; '-' reads one query per line from stdin")
    c.add_argument("--limit", "-n", type=_count(1, MAX_LIMIT), default=5, help="number of posts (1-1000, default 5)")
    c.add_argument("--offset", type=_count(0), default=0, help="skip this many results (paging)")
    c.add_argument("--mode", choices=("dense", "lexical", "hybrid"), help="ranking (default from config: hybrid)")
    _filters(c)
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
    c = sub.add_parser("commands", help="print the slash-command payloads a sync would send")
    c.add_argument("--json", action="store_true", default=True)
    return p


def _filters(c: argparse.ArgumentParser) -> None:
    c.add_argument("--author", type=_name, help="only posts by this author (any case)")
    c.add_argument("--thread", type=_name, help="only this thread (id or exact title)")
    c.add_argument("--after", help="only posts at or after this date (YYYY-MM-DD[ HH:MM])")
    c.add_argument("--before", help="only posts before this date")


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _print_json(obj) -> None:
    print(render.json_text(obj, indent=None if isinstance(obj, list) else 2))


def _warn(message: str) -> None:
    """A line on stderr; messages quote file names and archive text, so they are made safe too."""
    if sys.stderr is not None:  # None: stderr was closed (print would fall back to stdout)
        with contextlib.suppress(OSError):
            print(render.safe(message), file=sys.stderr)


def _settings(args) -> Settings:
    return load_settings(args.config, {"data_dir": args.data_dir, "model": args.model})


def _service(settings: Settings, embeds: bool = False):
    """The service; `embeds`: the command loads the model, so the configured device must exist."""
    from embeddings import SearchService

    if embeds:
        check_device(settings.device)
    return SearchService(settings)


def cmd_index(args, settings) -> int:
    from .progress import ProgressPrinter

    # a mistyped PATH would be kept as a source and break every later rebuild: report it, index the rest
    missing = [p for p in args.paths if not os.path.exists(os.path.expanduser(p))]
    for path in missing:
        _warn(f"threadbot: {path}: no such file or directory")
    paths = [p for p in args.paths if p not in missing]
    if missing and not paths:
        _warn("threadbot: nothing indexed: none of the given paths exists")
        return 65  # EX_DATAERR
    service = _service(settings, embeds=True)
    printer = ProgressPrinter(enabled=not args.quiet)
    try:
        report = service.rebuild(
            paths or None, add=not args.replace, progress=printer, started_by=f"cli (pid {os.getpid()})"
        )
    finally:
        printer.close()
    for error in report.errors:
        _warn(f"skipped: {error}")
    _print_json(report) if args.json else print(render.format_build(report))
    if report.errors:
        _warn(f"{len(report.errors)} file(s) could not be indexed (see above)")
    return 1 if report.errors or missing else 0


def _user_date(value: str | None, option: str):
    from embeddings import parse_user_date

    if value is None:
        return None
    try:
        return parse_user_date(value)
    except (OverflowError, ValueError):  # a date at the edge of the calendar, shifted out of it by its offset
        raise UsageError(f"{option}: cannot read the date {value!r}: use YYYY-MM-DD, e.g. 2009-08-16") from None


def _search_kwargs(args) -> dict:
    return {
        "limit": args.limit,
        "offset": args.offset,
        "mode": args.mode,
        "author": args.author,
        "thread": args.thread,
        "after": _user_date(args.after, "--after"),
        "before": _user_date(args.before, "--before"),
    }


def cmd_search(args, settings) -> int:
    service = _service(settings, embeds=True)
    kwargs = _search_kwargs(args)
    color = _color()
    if args.query != "-":
        results = service.search(args.query, **kwargs)
        _print_json(results) if args.json else print(render.format_results(results, color))
        return 0
    status = 0
    # one answer line per input line, so answers line up with queries; bytes that are not UTF-8 become U+FFFD
    for line in getattr(sys.stdin, "buffer", sys.stdin) or ():  # None: stdin was closed
        query = (line.decode("utf-8", "replace") if isinstance(line, bytes) else line).strip()
        try:
            results = service.search(query, **kwargs) if query else []
        except ThreadbotError as exc:
            _warn(f"threadbot: {query[:60]!r}: {exc}")
            results, status = [], exc.exit_code
        if args.json:
            print(render.json_text(results), flush=True)
        else:
            print(f"# {render.safe(query)}\n{render.format_results(results, color)}\n", flush=True)
    return status


def cmd_threads(args, settings) -> int:
    threads = _service(settings).threads()
    _print_json(threads) if args.json else print(render.format_threads(threads))
    return 0


def cmd_thread(args, settings) -> int:
    posts = _service(settings).thread_posts(args.thread_id)
    if args.json:
        keys = ("post_id", "post_index", "author", "posted_at", "body", "quoted_spans")
        _print_json([{k: v for k, v in to_jsonable(p).items() if k in keys} for p in posts])
    else:
        print(render.format_thread(posts))
    return 0


def cmd_post(args, settings) -> int:
    post = _service(settings).post(args.thread_id, args.number)
    _print_json(post) if args.json else print(render.format_post(post))
    return 0


def cmd_export(args, settings) -> int:
    rows = _service(settings).export(args.thread)
    if not args.output:
        for row in rows:
            sys.stdout.write(render.json_text(row) + "\n")
        return 0
    with render.replacing(args.output) as out:  # a failed export leaves FILE as it was
        for row in rows:
            out.write(render.json_text(row) + "\n")
    return 0


def cmd_stats(args, settings) -> int:
    stats = _service(settings).stats()
    _print_json(stats) if args.json else print(render.format_stats(stats))
    return 0


def cmd_eval(args, settings) -> int:
    from embeddings import evaluate, load_queries

    report = evaluate(_service(settings, embeds=True), load_queries(args.queries), mode=args.mode)
    _print_json(report) if args.json else print(render.format_eval(report, args.details))
    return 0


def cmd_eval_quotes(args, settings) -> int:
    from embeddings import evaluate_quotes, format_quote_errors

    report = evaluate_quotes(args.threads_dir, args.truth_dir, min_words=settings.quote_min_words)
    if args.json:
        _print_json(report)
    else:
        print(render.safe(format_quote_errors(report)) + "\n" if args.details else "", end="")
        print(report.summary())
    return 0


def cmd_quote(args, settings) -> int:
    traces = _service(settings, embeds=True).quote(args.text, limit=args.limit)
    _print_json(traces) if args.json else print(render.format_traces(traces, _color()))
    return 0 if traces else 1


def cmd_quotes(args, settings) -> int:
    quotes = _service(settings).quotes(args.thread)
    _print_json(quotes) if args.json else print(render.format_quotes(quotes))
    return 0


def cmd_run(args, settings) -> int:
    from bot.runner import run_bot

    check_device(settings.device)
    return run_bot(settings, args.sync)


def cmd_sync(args, settings) -> int:
    from bot.runner import sync_commands

    return sync_commands(settings, args.global_)


def cmd_commands(args, settings) -> int:
    from bot.runner import command_payloads

    print(json.dumps(command_payloads(settings), indent=2))
    return 0


COMMANDS = {
    "index": cmd_index,
    "search": cmd_search,
    "threads": cmd_threads,
    "thread": cmd_thread,
    "post": cmd_post,
    "export": cmd_export,
    "stats": cmd_stats,
    "eval": cmd_eval,
    "eval-quotes": cmd_eval_quotes,
    "quote": cmd_quote,
    "quotes": cmd_quotes,
    "run": cmd_run,
    "sync": cmd_sync,
    "commands": cmd_commands,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        level = {0: settings.log_level, 1: "INFO"}.get(args.verbose, "DEBUG")
        if args.command == "run" and not args.verbose:
            level = settings.bot.log_level
        configure_logging(level)
        status = COMMANDS[args.command](args, settings)
        if sys.stdout is not None:  # None: stdout was closed, and print() wrote nothing
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's flush at exit
        return status
    except ThreadbotError as exc:
        _warn(f"threadbot: {exc}")
        for error in getattr(exc, "errors", []):
            _warn(f"  {error}")
        return exc.exit_code
    except BrokenPipeError:  # `threadbot export | head`: the reader has all it wants
        render.discard_stdout()
        return 0
    except OSError as exc:  # e.g. `export -o` into a missing directory, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        _warn(f"threadbot: {where}{exc.strerror or exc}")
        return 74  # EX_IOERR
    except KeyboardInterrupt:
        _warn("threadbot: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
