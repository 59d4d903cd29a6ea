"""Core data classes → Discord embeds, within Discord's limits; one module per kind of answer.

Everything archived (passages, post bodies, titles, authors in descriptions and fields) is escaped once, after it
is cut, so it renders as written (see bot/escaping.py); footers are plain text in Discord and are not. Every card
leads with who wrote it and when, the thread as a small second line (bot/render/cards.py). Every post's date is
shown one way (:func:`bot.text.when`).
"""

from ..text import MESSAGE_EMBED_CHARS_MAX, archive_date, cut_words, plain, render_passage, when
from .cards import byline, thread_line
from .post import post_body_blocks, post_choice, post_pages, thread_pages
from .quote import occurrence_choice, quote_embed
from .reindex import STAGES, progress_text, report_embed
from .results import (
    EXCERPT_CHARS,
    quoted_by_line,
    result_choice,
    result_embed,
    results_embeds,
    results_header,
    share_card,
)
from .stats import (
    human_bytes,
    source_names,
    stats_details_embed,
    stats_embed,
    thread_choice,
    threads_pages,
    without_host_paths,
)

__all__ = [
    "EXCERPT_CHARS",
    "MESSAGE_EMBED_CHARS_MAX",
    "STAGES",
    "archive_date",
    "byline",
    "cut_words",
    "human_bytes",
    "occurrence_choice",
    "plain",
    "post_body_blocks",
    "post_choice",
    "post_pages",
    "progress_text",
    "quote_embed",
    "quoted_by_line",
    "render_passage",
    "report_embed",
    "result_choice",
    "result_embed",
    "results_embeds",
    "results_header",
    "thread_line",
    "share_card",
    "source_names",
    "stats_details_embed",
    "stats_embed",
    "thread_choice",
    "thread_pages",
    "threads_pages",
    "when",
    "without_host_paths",
]
