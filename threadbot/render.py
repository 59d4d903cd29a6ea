"""The CLI's output: human-readable terminal text, JSON text, and files replaced only on success.

Archived text is untrusted: every string from an index, a source file or a user goes through `safe`
before it reaches a terminal, so a post cannot move the cursor, retitle the window or reorder a line.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import sys
import textwrap
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from embeddings import OutsideQuote, local_time, outside_label, post_segments, segment_text, to_jsonable
from embeddings.search.readable import continues_sentence, stops_mid_sentence

if TYPE_CHECKING:
    from embeddings import BuildReport, EvalReport, PostView, QuoteRelation, QuoteTrace, Result, Stats, ThreadSummary

BOLD, RESET = "\033[1m", "\033[0m"

# Unicode bidirectional controls: they reorder what a terminal shows ("Trojan Source")
BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
# lone surrogates: a file name that is not UTF-8; they cannot be written to a UTF-8 stream
SURROGATES = range(0xD800, 0xE000)
# C0 controls but newline and tab, DEL, C1 controls -> \xNN; bidi controls and surrogates -> \uNNNN
_SAFE = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c not in (0x09, 0x0A)}
_SAFE |= {c: f"\\u{c:04x}" for c in (*BIDI_CONTROLS, *SURROGATES)}
# JSON escapes C0 itself; these are the others a terminal acts on, written as JSON escapes of the same value
_JSON_SAFE = {c: f"\\u{c:04x}" for c in (0x7F, *range(0x80, 0xA0), *BIDI_CONTROLS, *SURROGATES)}


def safe(text) -> str:
    """`text` with every control character but newline and tab shown as an escape (ESC as `\\x1b`).

    Also bidi controls and lone surrogates (`\\u202e`), so the result is printable on any UTF-8 terminal.
    """
    return str(text).translate(_SAFE)


def json_text(obj, indent: int | None = None) -> str:
    """JSON of `obj` whose values round-trip exactly, with no raw control or bidi character in the text."""
    return json.dumps(to_jsonable(obj), ensure_ascii=False, indent=indent).translate(_JSON_SAFE)


@contextlib.contextmanager
def replacing(path: str) -> Iterator[TextIO]:
    """A text file that becomes `path` only if the block succeeds; on any failure `path` is left as it was."""
    target = os.path.realpath(path)  # a symlink is written through, as open() would
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    if os.path.exists(target) and not os.path.isfile(target):  # /dev/null, /dev/stdout, a FIFO: write to it
        with open(target, "w", encoding="utf-8") as out:
            yield out
        return
    name = os.path.basename(target)[:200]  # room for the suffix within the 255 bytes a name may have
    tmp = os.path.join(os.path.dirname(target), f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        out = open(tmp, "x", encoding="utf-8")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        with out:
            yield out
        with contextlib.suppress(OSError):
            shutil.copymode(target, tmp)  # keep the permissions of the file being replaced
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _width() -> int:
    return min(100, shutil.get_terminal_size((100, 20)).columns)


FORUM_TIME = "forum time"


def _date(dt, utc_offset: int | None = None) -> str:
    """A post's date, as the bot shows it: on the poster's clock with its offset when the zone is known ("3 Mar
    2021, 09:12 -0500"); else the archive's clock as written, marked as the forum's ("15 Aug 2009, 14:32 forum
    time"), since no zone says which instant it was."""
    if utc_offset is None:
        return dt.strftime(f"%d %b %Y, %H:%M {FORUM_TIME}").lstrip("0")
    return local_time(dt, utc_offset).strftime("%d %b %Y, %H:%M %z").lstrip("0")


def _emphasise(passage: str, spans, color: bool) -> str:
    if not color or not spans:
        return safe(passage)
    out, pos = [], 0
    for s, e in spans:
        out += [safe(passage[pos:s]), BOLD, safe(passage[s:e]), RESET]
        pos = e
    out.append(safe(passage[pos:]))
    return "".join(out)


def _quote_block(text: str) -> str:
    """`text` (already made safe) wrapped and indented behind a bar."""
    width = _width() - 4
    lines = []
    for para in text.split("\n"):
        lines += textwrap.wrap(para, width) or [""]
    return "\n".join("  │ " + line for line in lines)


def format_result(r: Result, color: bool, explain: bool = False) -> str:
    """One result: who, when, where, the thread's id (for `threadbot post`), the passage; with `explain`, its score
    and where the passage lies in the post too."""
    head = f"{r.rank}. {safe(r.author)} — {_date(r.posted_at, r.utc_offset)} — {safe(r.thread_title)} "
    detail = f" · score {r.score:.4f} · chars {r.passage_start}–{r.passage_end}" if explain else ""
    lines = [
        head + f"(post {r.post_index + 1} of {r.post_count})",
        f"   {safe(r.thread_id)}{detail}",
        _quote_block(
            ("… " if continues_sentence(r) else "")
            + _emphasise(r.passage, r.highlights, color)
            + (" …" if stops_mid_sentence(r) else "")
        ),
    ]
    if r.also_in:  # the same text in other posts, shown once (search/duplicates.py)
        lines.append("   also in: " + ", ".join(f"{safe(c.thread_title)} (post {c.post_index + 1})" for c in r.also_in))
    if r.quoted_by:
        lines.append(
            "   quoted by: " + ", ".join(f"{safe(q.author)} ({_date(q.posted_at, q.utc_offset)})" for q in r.quoted_by)
        )
    return "\n".join(lines)


def format_results(results: list[Result], color: bool, explain: bool = False) -> str:
    """The results, best first; where the good matches end (search/floor.py) a line says so, as the bot does."""
    if not results:
        return "No matching posts."
    parts = [format_result(r, color, explain) for r in results]
    weak = next((n for n, r in enumerate(results) if not r.good), None)
    if weak is not None:
        parts.insert(weak, weaker_line(results[weak].rank - 1, weak == 0))
    return "\n\n".join(parts)


def weaker_line(good: int, first: bool) -> str:
    """The line above the first weaker match: `good` results before it were good matches; `first`: it is the first
    result shown."""
    if good == 0:
        return "No good matches; the closest posts are weaker matches:"
    if first:  # a later page of results, past the good ones
        return "Weaker matches (below the relevance floor):"
    return f"Only {good} good match{'' if good == 1 else 'es'}; weaker matches:"


def format_threads(threads: list[ThreadSummary]) -> str:
    if not threads:
        return "No threads indexed."
    rows = [
        f"{safe(t.thread_id)}\n  {safe(t.title)} — {t.post_count} posts, {t.first_posted_at:%d %b %Y} → "
        f"{t.last_posted_at:%d %b %Y}\n  {safe(t.source)}"
        for t in threads
    ]
    return "\n".join(rows)


def format_post(p: PostView) -> str:
    """A post with quoted spans marked as someone else's words."""
    when = _date(p.posted_at, p.utc_offset)
    head = f"#{p.post_index + 1} of {p.post_count} · {safe(p.author)} · {when} · {safe(p.post_id)}"
    parts = []
    for segment in post_segments(p):
        text, q = segment_text(p.body, segment), segment.quote
        if q is None:
            parts.append(safe(text.strip("\n")))
        elif isinstance(q, OutsideQuote):
            parts.append(f"[{safe(outside_label(q))}]\n" + _quote_block(safe(text)))
        else:
            parts.append(
                f"[quoting {safe(q.source_author)}, {_date(q.source_posted_at, q.source_utc_offset)}]\n"
                + _quote_block(safe(text))
            )
    return head + "\n" + "\n".join(x for x in parts if x) + "\n"


def format_thread(posts: list[PostView]) -> str:
    if not posts:
        return ""
    title = safe(posts[0].thread_title)
    return f"{title}\n{'=' * min(_width(), len(title))}\n\n" + "\n".join(format_post(p) for p in posts)


def format_build(r: BuildReport) -> str:
    if r.kind == "up to date":
        return (
            f"up to date: no source changed since build {r.build_id} ({r.threads} threads, {r.posts} posts, "
            f"{r.passages} passages, {r.quotes} quotes)"
        )
    counts = (
        f"{r.threads} threads, {r.posts} posts, {r.passages} passages ({r.embedded} embedded, {r.cached} from cache), "
        f"{r.quotes} quotes in {r.seconds:.1f}s"
    )
    if r.kind == "incremental" and not r.new_posts:  # files changed (a copy, a file without posts), posts did not
        return f"no new posts: the sources' files changed, the posts they hold are all indexed; now {counts}"
    if r.kind == "incremental":
        return f"added {r.new_posts} post{'' if r.new_posts == 1 else 's'} to the index: now {counts}"
    return f"indexed {counts}" + (f"\nfull build: {safe(r.note)}" if r.note else "")


def format_eval(r: EvalReport, details: bool = False) -> str:
    lines = [
        f"{'rank ' + str(o.rank) if o.rank else 'miss  ':8} {'✓' if o.contains else '✗'}  {safe(o.query)}"
        for o in (r.outcomes if details else [])
    ]
    lines.append(
        f"{r.queries} queries, mode {r.mode}: hit@1 {r.hit_at_1:.3f}  hit@5 {r.hit_at_5:.3f}  "
        f"MRR@10 {r.mrr_at_10:.3f}  MAP {r.map:.3f}  nDCG@10 {r.ndcg_at_10:.3f}  "
        f"passage contains answer {r.passage_contains:.3f}"
    )
    return "\n".join(lines)


def format_stats(s: Stats) -> str:
    size = s.data_dir_bytes / 1e6
    return "\n".join(
        [
            f"threads   {s.threads}",
            f"posts     {s.posts}",
            f"passages  {s.passages}",
            f"authors   {s.authors}",
            f"quotes    {s.quotes}",
            f"model     {safe(s.model)} ({s.dimension} dimensions)",
            f"built     {safe(s.built_at)} (build {safe(s.build_id)})",
            f"index     {safe(s.index_path)}",
            f"data dir  {size:.1f} MB",
            "sources   " + ("\n          ".join(safe(x) for x in s.sources) or "-"),
        ]
    )


def format_quotes(quotes: list[QuoteRelation]) -> str:
    if not quotes:
        return "No quotes detected."
    out = []
    for q in quotes:
        quoting = _date(q.quoting_posted_at, q.quoting_utc_offset)
        source = _date(q.source_posted_at, q.source_utc_offset)
        out.append(
            f"{safe(q.quoting_author)} ({quoting}, post {q.quoting_post_index + 1}) quotes "
            f"{safe(q.source_author)} ({source}, post {q.source_post_index + 1})"
            + (f" of thread {safe(q.source_thread_id)}" if q.source_thread_id not in (None, q.thread_id) else "")
            + "\n"
            + _quote_block(safe(q.text))
        )
    return "\n\n".join(out)


def format_traces(traces: list[QuoteTrace], color: bool = False) -> str:
    if not traces:
        return "No post contains that passage."
    out = []
    for t in traces:
        o = t.original
        at = o.start - t.context_start
        mark_on, mark_off = (BOLD, RESET) if color else (">>> ", " <<<")
        end = at + len(o.text)
        context = safe(t.context[:at]) + mark_on + safe(t.context[at:end]) + mark_off + safe(t.context[end:])
        lines = [
            f"First written by {safe(o.author)}, {_date(o.posted_at, o.utc_offset)} — {safe(o.thread_title)}"
            f" (post {o.post_index + 1})  [match {t.score:.2f}]",
            _quote_block(("… " if t.context_start > 0 else "") + context.strip() + (" …" if t.context_cut else "")),
        ]
        if t.quoted_by:
            lines.append("Quoted by:")
            lines += [
                f"  - {safe(q.author)}, {_date(q.posted_at, q.utc_offset)} — {safe(q.thread_title)}"
                f" (post {q.post_index + 1})"
                for q in t.quoted_by
            ]
        else:
            lines.append("Not quoted by any later post.")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def discard_stdout() -> None:
    """Point stdout at /dev/null, so what is still buffered for the closed pipe is dropped silently at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a file (tests capture it)
        pass


def format_check(report) -> str:
    """`threadbot check`: what was verified, then each problem and the command that repairs it."""
    lines = [f"data directory {safe(report.data_dir)}" + (f", live build {report.build_id}" if report.build_id else "")]
    lines += [f"  ok       {safe(item)}" for item in report.checked]
    lines += [f"  PROBLEM  {safe(item)}" for item in report.problems]
    if report.ok:
        lines.append("everything checked is sound")
    else:
        lines += ["to repair:"] + [f"  {safe(fix)}" for fix in report.fixes]
    return "\n".join(lines)


def format_commands(payloads: list[dict]) -> str:
    """The slash commands a sync would register, one a line (`--json` gives the payloads)."""
    return "\n".join(f"/{p['name']:<10} {p.get('description', '')}" for p in payloads)
