"""threadbot's core: archived threads in, attributed verbatim passages out. Never imports discord.

The pipeline, one subpackage a stage::

    ingest/    source files -> threads and posts (one reader per format)
    quotes/    which spans of a post reproduce an earlier post, and who wrote them first
    passages/  posts -> passages with exact offsets, cut on sentence boundaries
    vectors/   passages -> vectors (sentence-transformers, an embedding cache, FAISS)
    index/     one build on disk: the SQLite store, the vectors, the data directory, the builder
    search/    ranking, highlights and retrieval evaluation

:class:`SearchService` ties them together; the CLI and the bot call only what this module exports.
"""

from .config import BotSettings, Settings, load_settings
from .errors import (
    BuildFailed,
    ConfigError,
    IndexMismatchError,
    InputError,
    NoIndexError,
    NotFoundError,
    RebuildInProgressError,
    ThreadbotError,
    UsageError,
)
from .ingest.dates import parse_user_date
from .models import (
    BuildReport,
    PostView,
    QuotedBy,
    QuotedSpan,
    QuoteOccurrence,
    QuoteRelation,
    QuoteTrace,
    Result,
    Stats,
    ThreadSummary,
    to_jsonable,
)
from .quotes.evaluate import QuoteEvalReport, evaluate_quotes, format_quote_errors
from .search.evaluate import EvalReport, evaluate, load_queries
from .service import MAX_LIMIT, MAX_QUERY_CHARS, SearchService

__all__ = [
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "BotSettings",
    "BuildFailed",
    "BuildReport",
    "ConfigError",
    "EvalReport",
    "IndexMismatchError",
    "InputError",
    "NoIndexError",
    "NotFoundError",
    "PostView",
    "QuoteEvalReport",
    "QuoteOccurrence",
    "QuoteRelation",
    "QuoteTrace",
    "QuotedBy",
    "QuotedSpan",
    "RebuildInProgressError",
    "Result",
    "SearchService",
    "Settings",
    "Stats",
    "ThreadSummary",
    "ThreadbotError",
    "UsageError",
    "evaluate",
    "evaluate_quotes",
    "format_quote_errors",
    "load_queries",
    "load_settings",
    "parse_user_date",
    "to_jsonable",
]
