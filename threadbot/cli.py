"""`threadbot` — index archived forum threads and search them, from the shell or from Discord.

Every command is a translation: parse arguments, call SearchService, print text
or JSON. Domain errors (embeddings.errors) become one-line messages and exit codes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence

from embeddings import Settings, ThreadbotError, UsageError, load_settings, to_jsonable
from embeddings.config import check_device

from . import render
from .arguments import build_parser
from .progress import configure_logging

log = logging.getLogger("threadbot")


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
    fmt = service.effective_format(args.format, paths or None, add=not args.replace)
    if args.format is None and fmt != "auto":
        _warn(f"threadbot: reading every file as {fmt}, as the current index was read (--format auto: by content)")
    printer = ProgressPrinter(enabled=not args.quiet)
    try:
        report = service.rebuild(
            paths or None,
            add=not args.replace,
            progress=printer,
            started_by=f"cli (pid {os.getpid()})",
            fmt=fmt,
            full=args.full or args.replace,
            prune=args.prune,
        )
    finally:
        printer.close()
    return _built(args, report, missing)


def _built(args, report, missing=()) -> int:
    """Print a build's report; the exit status (1 when input was skipped or a PATH is missing)."""
    for error in report.errors:
        _warn(f"skipped: {error}")
    _print_json(report) if args.json else print(render.format_build(report))
    if report.errors:
        _warn(f"{len(report.errors)} record(s) or file(s) skipped, not indexed (see above)")
    return 1 if report.errors or missing else 0


def cmd_remove(args, settings) -> int:
    from .progress import ProgressPrinter

    service = _service(settings, embeds=True)
    printer = ProgressPrinter(enabled=not args.quiet)
    try:
        report = service.remove(args.sources, progress=printer, started_by=f"cli (pid {os.getpid()})")
    finally:
        printer.close()
    return _built(args, report)


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
        "per_thread": args.per_thread,
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
        _print_json(results) if args.json else print(render.format_results(results, color, args.explain))
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
            print(f"# {render.safe(query)}\n{render.format_results(results, color, args.explain)}\n", flush=True)
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


def cmd_check(args, settings) -> int:
    report = _service(settings).check()
    _print_json(report) if args.json else print(render.format_check(report))
    return report.exit_code


def cmd_run(args, settings) -> int:
    from bot.runner import run_bot

    check_device(settings.device)
    return run_bot(settings, args.sync)


def cmd_sync(args, settings) -> int:
    from bot.runner import sync_commands

    return sync_commands(settings, args.global_)


def cmd_commands(args, settings) -> int:
    from bot.runner import command_payloads

    payloads = command_payloads(settings)
    if args.json:
        print(json.dumps(payloads, indent=2))
    else:
        print(render.format_commands(payloads))
    return 0


COMMANDS = {
    "index": cmd_index,
    "remove": cmd_remove,
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
    "check": cmd_check,
    "run": cmd_run,
    "sync": cmd_sync,
    "commands": cmd_commands,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
