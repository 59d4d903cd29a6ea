"""`threadbot` — index archived forum threads and search them, from the shell or from Discord.

Every command is a translation: parse arguments, call SearchService, print text
or JSON. Domain errors (embeddings.errors) become one-line messages and exit codes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from embeddings import Settings, ThreadbotError, load_settings, to_jsonable

from . import render

log = logging.getLogger("threadbot")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="threadbot", description=__doc__.split("\n")[0].split(" — ")[1])
    p.add_argument("--data-dir", help="index directory (env THREADBOT_DATA_DIR; default ./data)")
    p.add_argument("--config", help="TOML config file (env THREADBOT_CONFIG; default ./threadbot.toml if present)")
    p.add_argument("--model", help="sentence-transformers model: a folder or a hub name (default: bundled MiniLM)")
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
    c.add_argument("query", help="the question; '-' reads one query per line from stdin")
    c.add_argument("--limit", "-n", type=int, default=5, help="number of posts (1-1000, default 5)")
    c.add_argument("--offset", type=int, default=0, help="skip this many results (paging)")
    c.add_argument("--mode", choices=("dense", "lexical", "hybrid"), help="ranking (default from config: hybrid)")
    _filters(c)
    c.add_argument("--json", action="store_true", help="JSON array of results")

    c = sub.add_parser("threads", help="list indexed threads")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("thread", help="show a thread's posts in order")
    c.add_argument("thread_id", help="thread id or exact title")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("post", help="show one post, its quoted passages marked")
    c.add_argument("thread_id", help="thread id or exact title")
    c.add_argument("number", type=int, help="post number, 1-based")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("export", help="every post as JSON Lines (re-importable)")
    c.add_argument("--thread", help="only this thread")
    c.add_argument("--output", "-o", help="write to this file instead of stdout")

    c = sub.add_parser("stats", help="counts, model and build of the index")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser(
        "eval", help="retrieval quality on labelled queries (JSONL: query, author, posted_at, must_contain)"
    )
    c.add_argument("queries")
    c.add_argument("--mode", choices=("dense", "lexical", "hybrid"))
    c.add_argument("--json", action="store_true")
    c.add_argument("--details", action="store_true", help="one line per query")

    c = sub.add_parser("eval-quotes", help="precision/recall of quote detection against truth files")
    c.add_argument("threads_dir")
    c.add_argument("truth_dir")
    c.add_argument("--json", action="store_true")
    c.add_argument("--details", action="store_true", help="list misses and false detections")

    c = sub.add_parser("quote", help="who wrote this passage first, and who quoted it")
    c.add_argument("text", help="the passage, or part of it (may be slightly misremembered)")
    c.add_argument("--limit", "-n", type=int, default=3)
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("quotes", help="every detected quote relation")
    c.add_argument("--thread", help="only this thread")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("run", help="start the Discord bot (token from DISCORD_TOKEN)")
    c.add_argument(
        "--sync",
        action="store_true",
        help="sync the commands to [bot] dev_guild_id at start (development; never global)",
    )
    c = sub.add_parser("sync", help="register slash commands with Discord (dev guild, or --global)")
    c.add_argument("--global", dest="global_", action="store_true", help="sync globally (takes up to an hour)")
    c = sub.add_parser("commands", help="print the slash-command payloads a sync would send")
    c.add_argument("--json", action="store_true", default=True)
    return p


def _filters(c: argparse.ArgumentParser) -> None:
    c.add_argument("--author", help="only posts by this author (any case)")
    c.add_argument("--thread", help="only this thread (id or exact title)")
    c.add_argument("--after", help="only posts at or after this date (YYYY-MM-DD[ HH:MM])")
    c.add_argument("--before", help="only posts before this date")


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _print_json(obj) -> None:
    print(json.dumps(to_jsonable(obj), ensure_ascii=False, indent=None if isinstance(obj, list) else 2))


def _settings(args) -> Settings:
    return load_settings(args.config, {"data_dir": args.data_dir, "model": args.model})


def _service(settings: Settings):
    from embeddings import SearchService

    return SearchService(settings)


def cmd_index(args, settings) -> int:
    from .progress import ProgressPrinter

    service = _service(settings)
    printer = ProgressPrinter(enabled=not args.quiet)
    try:
        report = service.rebuild(
            args.paths or None, add=not args.replace, progress=printer, started_by=f"cli (pid {os.getpid()})"
        )
    finally:
        printer.close()
    for error in report.errors:
        print(f"skipped: {error}", file=sys.stderr)
    if args.json:
        _print_json(report)
    else:
        print(
            f"indexed {report.threads} threads, {report.posts} posts, {report.passages} passages "
            f"({report.embedded} embedded, {report.cached} from cache), {report.quotes} quotes "
            f"in {report.seconds:.1f}s"
        )
    if report.errors:
        print(f"{len(report.errors)} file(s) could not be indexed (see above)", file=sys.stderr)
        return 1
    return 0


def _search_kwargs(args) -> dict:
    from embeddings import parse_user_date

    return {
        "limit": args.limit,
        "offset": args.offset,
        "mode": args.mode,
        "author": args.author,
        "thread": args.thread,
        "after": parse_user_date(args.after) if args.after else None,
        "before": parse_user_date(args.before) if args.before else None,
    }


def cmd_search(args, settings) -> int:
    service = _service(settings)
    kwargs = _search_kwargs(args)
    color = _color()
    if args.query != "-":
        results = service.search(args.query, **kwargs)
        _print_json(results) if args.json else print(render.format_results(results, color))
        return 0
    status = 0
    for line in sys.stdin:  # one answer line per input line, so answers line up with queries
        query = line.strip()
        try:
            results = service.search(query, **kwargs) if query else []
        except ThreadbotError as exc:
            print(f"threadbot: {query[:60]!r}: {exc}", file=sys.stderr)
            results, status = [], exc.exit_code
        if args.json:
            print(json.dumps(to_jsonable(results), ensure_ascii=False), flush=True)
        else:
            print(f"# {query}\n{render.format_results(results, color)}\n", flush=True)
    return status


def cmd_threads(args, settings) -> int:
    threads = _service(settings).threads()
    _print_json(threads) if args.json else print(render.format_threads(threads))
    return 0


def cmd_thread(args, settings) -> int:
    posts = _service(settings).thread_posts(args.thread_id)
    if args.json:
        _print_json(
            [
                {
                    k: v
                    for k, v in to_jsonable(p).items()
                    if k in ("post_id", "post_index", "author", "posted_at", "body", "quoted_spans")
                }
                for p in posts
            ]
        )
    else:
        print(render.format_thread(posts))
    return 0


def cmd_post(args, settings) -> int:
    post = _service(settings).post(args.thread_id, args.number)
    _print_json(post) if args.json else print(render.format_post(post))
    return 0


def cmd_export(args, settings) -> int:
    rows = _service(settings).export(args.thread)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if args.output:
            out.close()
    return 0


def cmd_stats(args, settings) -> int:
    stats = _service(settings).stats()
    _print_json(stats) if args.json else print(render.format_stats(stats))
    return 0


def cmd_eval(args, settings) -> int:
    from embeddings import evaluate, load_queries

    report = evaluate(_service(settings), load_queries(args.queries), mode=args.mode)
    if args.json:
        _print_json(report)
        return 0
    if args.details:
        for o in report.outcomes:
            print(f"{'rank ' + str(o.rank) if o.rank else 'miss  ':8} {'✓' if o.contains else '✗'}  {o.query}")
    print(
        f"{report.queries} queries, mode {report.mode}: hit@1 {report.hit_at_1:.3f}  hit@5 {report.hit_at_5:.3f}  "
        f"MRR@10 {report.mrr_at_10:.3f}  MAP {report.map:.3f}  nDCG@10 {report.ndcg_at_10:.3f}  "
        f"passage contains answer {report.passage_contains:.3f}"
    )
    return 0


def cmd_eval_quotes(args, settings) -> int:
    from embeddings import evaluate_quotes, format_quote_errors

    report = evaluate_quotes(args.threads_dir, args.truth_dir, min_words=settings.quote_min_words)
    if args.json:
        _print_json(report)
    else:
        print(format_quote_errors(report) + "\n" if args.details else "", end="")
        print(report.summary())
    return 0


def cmd_quote(args, settings) -> int:
    traces = _service(settings).quote(args.text, limit=args.limit)
    _print_json(traces) if args.json else print(render.format_traces(traces, _color()))
    return 0 if traces else 1


def cmd_quotes(args, settings) -> int:
    quotes = _service(settings).quotes(args.thread)
    _print_json(quotes) if args.json else print(render.format_quotes(quotes))
    return 0


def cmd_run(args, settings) -> int:
    from bot.runner import run_bot

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


def configure_logging(level: str | int) -> None:
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub", "faiss"):
        logging.getLogger(noisy).setLevel(max(logging.getLogger().level, logging.WARNING))
    # a text-only bot has no use for voice: drop discord.py's start-up warnings about missing voice libraries
    logging.getLogger("discord.client").addFilter(
        lambda record: "voice will NOT be supported" not in record.getMessage()
    )
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        level = {0: settings.log_level, 1: "INFO"}.get(args.verbose, "DEBUG")
        if args.command == "run" and not args.verbose:
            level = settings.bot.log_level
        configure_logging(level)
        return COMMANDS[args.command](args, settings)
    except ThreadbotError as exc:
        print(f"threadbot: {exc}", file=sys.stderr)
        for error in getattr(exc, "errors", []):
            print(f"  {error}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # e.g. `export -o` into a missing directory, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"threadbot: {where}{exc.strerror or exc}", file=sys.stderr)
        return 74  # EX_IOERR
    except KeyboardInterrupt:
        print("threadbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
