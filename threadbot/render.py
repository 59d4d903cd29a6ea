"""Human-readable terminal output for the CLI."""

from __future__ import annotations

import shutil
import textwrap

from embeddings import PostView, QuoteRelation, QuoteTrace, Result, Stats, ThreadSummary

BOLD, RESET = "\033[1m", "\033[0m"


def _width() -> int:
    return min(100, shutil.get_terminal_size((100, 20)).columns)


def _date(dt) -> str:
    return dt.strftime("%d %b %Y, %H:%M")


def _emphasise(passage: str, spans, color: bool) -> str:
    if not color or not spans:
        return passage
    out, pos = [], 0
    for s, e in spans:
        out += [passage[pos:s], BOLD, passage[s:e], RESET]
        pos = e
    out.append(passage[pos:])
    return "".join(out)


def _quote_block(text: str) -> str:
    width = _width() - 4
    lines = []
    for para in text.split("\n"):
        lines += textwrap.wrap(para, width) or [""]
    return "\n".join("  │ " + line for line in lines)


def format_result(r: Result, color: bool) -> str:
    head = f"{r.rank}. {r.author} — {_date(r.posted_at)} — {r.thread_title} (post {r.post_index + 1} of {r.post_count})"
    lines = [
        head,
        f"   score {r.score:.4f} · {r.thread_id} · chars {r.passage_start}–{r.passage_end}",
        _quote_block(_emphasise(r.passage, r.highlights, color)),
    ]
    if r.quoted_by:
        lines.append("   quoted by: " + ", ".join(f"{q.author} ({_date(q.posted_at)})" for q in r.quoted_by))
    return "\n".join(lines)


def format_results(results: list[Result], color: bool) -> str:
    if not results:
        return "No matching posts."
    return "\n\n".join(format_result(r, color) for r in results)


def format_threads(threads: list[ThreadSummary]) -> str:
    if not threads:
        return "No threads indexed."
    rows = [
        f"{t.thread_id}\n  {t.title} — {t.post_count} posts, {_date(t.first_posted_at)} → "
        f"{_date(t.last_posted_at)}\n  {t.source}"
        for t in threads
    ]
    return "\n".join(rows)


def format_post(p: PostView) -> str:
    """A post with quoted spans marked as someone else's words."""
    head = f"#{p.post_index + 1} of {p.post_count} · {p.author} · {_date(p.posted_at)} · {p.post_id}"
    parts, pos = [], 0
    for q in p.quoted_spans:
        if q.start < pos:
            continue
        if q.start > pos:
            parts.append(p.body[pos : q.start].strip("\n"))
        parts.append(
            f"[quoting {q.source_author}, {_date(q.source_posted_at)}]\n" + _quote_block(p.body[q.start : q.end])
        )
        pos = q.end
    parts.append(p.body[pos:].strip("\n"))
    return head + "\n" + "\n".join(x for x in parts if x) + "\n"


def format_thread(posts: list[PostView]) -> str:
    if not posts:
        return ""
    return f"{posts[0].thread_title}\n{'=' * min(_width(), len(posts[0].thread_title))}\n\n" + "\n".join(
        format_post(p) for p in posts
    )


def format_stats(s: Stats) -> str:
    size = s.data_dir_bytes / 1e6
    return "\n".join(
        [
            f"threads   {s.threads}",
            f"posts     {s.posts}",
            f"passages  {s.passages}",
            f"authors   {s.authors}",
            f"quotes    {s.quotes}",
            f"model     {s.model} ({s.dimension} dimensions)",
            f"built     {s.built_at} (build {s.build_id})",
            f"index     {s.index_path}",
            f"data dir  {size:.1f} MB",
            "sources   " + ("\n          ".join(s.sources) or "-"),
        ]
    )


def format_quotes(quotes: list[QuoteRelation]) -> str:
    if not quotes:
        return "No quotes detected."
    out = []
    for q in quotes:
        out.append(
            f"{q.quoting_author} ({_date(q.quoting_posted_at)}, post {q.quoting_post_index + 1}) quotes "
            f"{q.source_author} ({_date(q.source_posted_at)}, post {q.source_post_index + 1})"
            + (f" of thread {q.source_thread_id}" if q.source_thread_id not in (None, q.thread_id) else "")
            + "\n"
            + _quote_block(q.text)
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
        context = t.context[:at] + mark_on + t.context[at : at + len(o.text)] + mark_off + t.context[at + len(o.text) :]
        lines = [
            f"First written by {o.author}, {_date(o.posted_at)} — {o.thread_title} (post {o.post_index + 1})"
            f"  [match {t.score:.2f}]",
            _quote_block(("… " if t.context_start > 0 else "") + context.strip()),
        ]
        if t.quoted_by:
            lines.append("Quoted by:")
            lines += [
                f"  - {q.author}, {_date(q.posted_at)} — {q.thread_title} (post {q.post_index + 1})"
                for q in t.quoted_by
            ]
        else:
            lines.append("Not quoted by any later post.")
        out.append("\n".join(lines))
    return "\n\n".join(out)
