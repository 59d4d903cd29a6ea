"""threadbot's core: archived threads in, attributed verbatim passages out. Never imports discord.

The pipeline, one subpackage a stage::

    ingest/    source files -> threads and posts (one reader per format)
    quotes/    which spans of a post reproduce an earlier post, and who wrote them first
    passages/  posts -> passages with exact offsets, cut on sentence boundaries
    vectors/   passages -> vectors (sentence-transformers, an embedding cache, FAISS)
    index/     one build on disk: the SQLite store, the vectors, the data directory, the builder
    search/    ranking, highlights and retrieval evaluation

:class:`SearchService` ties them together; the CLI and the bot call only what this module exports. The names
are loaded on first use, so ``import embeddings`` costs nothing until a name is needed (FAISS, numpy and the
model are imported only by what uses them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name -> the module that defines it
_EXPORTS = {
    "BotSettings": "config",
    "Settings": "config",
    "load_settings": "config",
    "BuildFailed": "errors",
    "ConfigError": "errors",
    "IndexMismatchError": "errors",
    "InputError": "errors",
    "NoIndexError": "errors",
    "NotFoundError": "errors",
    "RebuildInProgressError": "errors",
    "ThreadbotError": "errors",
    "UsageError": "errors",
    "parse_user_date": "ingest.dates",
    "BuildReport": "models",
    "Filters": "models",
    "OutsideQuote": "models",
    "PostView": "models",
    "QuotedBy": "models",
    "QuotedSpan": "models",
    "QuoteOccurrence": "models",
    "QuoteRelation": "models",
    "QuoteTrace": "models",
    "Result": "models",
    "Stats": "models",
    "ThreadSummary": "models",
    "local_time": "models",
    "to_jsonable": "models",
    "QuoteEvalReport": "quotes.evaluate",
    "outside_label": "quotes.segments",
    "post_segments": "quotes.segments",
    "segment_text": "quotes.segments",
    "evaluate_quotes": "quotes.evaluate",
    "format_quote_errors": "quotes.evaluate",
    "EvalReport": "search.evaluate",
    "evaluate": "search.evaluate",
    "load_queries": "search.evaluate",
    "CheckReport": "index.check",
    "IndexDamagedError": "errors",
    "StorageError": "errors",
    "fold_name": "names",
    "MAX_LIMIT": "service",
    "MAX_QUERY_CHARS": "service",
    "SearchService": "service",
}

__all__ = [
    "BotSettings",
    "BuildFailed",
    "BuildReport",
    "CheckReport",
    "ConfigError",
    "EvalReport",
    "Filters",
    "IndexDamagedError",
    "IndexMismatchError",
    "InputError",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "NoIndexError",
    "NotFoundError",
    "OutsideQuote",
    "PostView",
    "QuoteEvalReport",
    "QuoteOccurrence",
    "QuoteRelation",
    "QuoteTrace",
    "QuotedBy",
    "QuotedSpan",
    "RebuildInProgressError",
    "StorageError",
    "Result",
    "SearchService",
    "Settings",
    "Stats",
    "ThreadSummary",
    "ThreadbotError",
    "UsageError",
    "evaluate",
    "evaluate_quotes",
    "fold_name",
    "format_quote_errors",
    "load_queries",
    "load_settings",
    "local_time",
    "outside_label",
    "parse_user_date",
    "post_segments",
    "segment_text",
    "to_jsonable",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from .config import BotSettings, Settings, load_settings
    from .errors import (
        BuildFailed,
        ConfigError,
        IndexDamagedError,
        IndexMismatchError,
        InputError,
        NoIndexError,
        NotFoundError,
        RebuildInProgressError,
        StorageError,
        ThreadbotError,
        UsageError,
    )
    from .index.check import CheckReport
    from .ingest.dates import parse_user_date
    from .models import (
        BuildReport,
        Filters,
        OutsideQuote,
        PostView,
        QuotedBy,
        QuotedSpan,
        QuoteOccurrence,
        QuoteRelation,
        QuoteTrace,
        Result,
        Stats,
        ThreadSummary,
        local_time,
        to_jsonable,
    )
    from .names import fold_name
    from .quotes.evaluate import QuoteEvalReport, evaluate_quotes, format_quote_errors
    from .quotes.segments import outside_label, post_segments, segment_text
    from .search.evaluate import EvalReport, evaluate, load_queries
    from .service import MAX_LIMIT, MAX_QUERY_CHARS, SearchService
