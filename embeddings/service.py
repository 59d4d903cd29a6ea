"""SearchService: the one object the CLI and the bot call.

Thread-safe and synchronous: the bot calls it through ``asyncio.to_thread``.
A rebuild runs in the caller's thread while other threads keep searching the
previous build; when the new build is live the service switches to it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings
from .errors import IndexDamagedError, NotFoundError, RebuildInProgressError, ThreadbotError, UsageError
from .index.builder import build_index
from .index.datadir import DataDir, LoadedIndex
from .index.sources import present_sources, recorded_sources, sources_after_removal
from .index.store import stored_spans, stored_time
from .ingest import FORMATS
from .models import BuildReport, Filters, PostView, QuoteRelation, QuoteTrace, Result, Stats, ThreadSummary
from .names import BuildNames
from .search import pages
from .search.duplicates import with_copies
from .search.floor import is_good
from .search.highlight import highlight_results
from .search.ranking import allowed_passage_ids
from .search.readable import with_next, with_sentence_end, without_closing
from .search.request import MAX_LIMIT, MAX_QUERY_CHARS, checked_request  # noqa: F401  (re-exported)
from .search.rerank import Reranker, rerank_groups
from .vectors.ann import search_in_one_thread
from .vectors.cache import EmbeddingCache
from .vectors.embedder import Embedder

if TYPE_CHECKING:
    from .index.check import CheckReport

log = logging.getLogger(__name__)

CACHE_WAIT_SECONDS = 0.25  # how long a search waits for a cache another process is writing


class SearchService:
    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or Embedder(settings.model, settings.device, settings.batch_size)
        self.data = DataDir(settings.data_dir)
        search_in_one_thread()  # FAISS's threads within one query only contend (vectors/ann.py)
        self.embedder.use_model_cache(self.data.root)  # its ONNX export: queries are answered without torch
        self._index: LoadedIndex | None = None
        self._pointer: float | None = None
        self._load_lock = threading.Lock()
        self._rebuild_lock = threading.Lock()
        self._rebuild_status: tuple[str | None, float] | None = None
        self._cache: EmbeddingCache | None = None
        self._names = BuildNames()
        self.reranker = (  # loaded on the first search
            Reranker(settings.rerank_model, settings.rerank_candidates, settings.device)
            if settings.rerank_model
            else None
        )

    # --- the live index -----------------------------------------------------------------------
    def _current(self) -> LoadedIndex:
        pointer = self.data.pointer_mtime()
        index = self._index
        if index is not None and pointer == self._pointer:
            return index
        with self._load_lock:
            if self._index is None or self.data.pointer_mtime() != self._pointer:
                pointer = self.data.pointer_mtime()
                fresh = self.data.load(self.embedder.model_id)
                old, self._index, self._pointer = self._index, fresh, pointer
                if old is not None:
                    log.info("switched from build %s to %s", old.build_id, fresh.build_id)
            return self._index

    def warm_up(self) -> str:
        """Load the model and the live index now, so the first question is answered fast.

        Returns a one-line status; a missing or mismatched index is reported, not raised.
        """
        self.embedder.encode_query("warm up")
        try:
            stats = self.stats()
        except ThreadbotError as exc:  # no index, another model, a damaged build: each command says so
            return str(exc)
        return f"serving {stats.posts} posts of {stats.threads} threads (build {stats.build_id})"

    def _sentence_cache(self) -> EmbeddingCache | None:
        """The data directory's embedding cache, so a sentence is embedded once for all the searches."""
        if self._cache is None:
            try:  # best effort: a busy, read-only or damaged cache leaves highlights working, uncached
                self._cache = EmbeddingCache(self.data.cache_path, best_effort=True, timeout=CACHE_WAIT_SECONDS)
            except (sqlite3.Error, ThreadbotError) as exc:
                log.warning("embedding cache unavailable for highlights: %s", exc)
                return None
        return self._cache

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None
        if self._index is not None:
            self._index.close()
            self._index = None

    # --- search -------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        limit: int = 10,
        *,
        offset: int = 0,
        author: str | None = None,
        thread: str | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        mode: str | None = None,
        per_thread: int | None = None,
    ) -> list[Result]:
        """One page of posts for `query`, best first. `per_thread`: at most that many posts of one thread in the
        whole ranking (pages are cut from it), so one long thread does not fill every result."""
        query, mode = checked_request(
            query, limit, offset, mode or self.settings.search_mode, per_thread, after, before
        )
        index = self._current()
        thread_id = self._resolve(index, thread).thread_id if thread else None
        filters = Filters(author=author, thread_id=thread_id, after=after, before=before)
        allowed = allowed_passage_ids(index, filters)
        available = len(index.vectors) if allowed is None else len(allowed)
        if available == 0:
            return []
        qvec = self.embedder.encode_query(query) if mode != "lexical" else None
        floor = self.settings.relevance_floor
        fetch = max(offset + limit, self.reranker.candidates) if self.reranker else offset + limit
        groups, copies = pages.distinct_posts(index, query, qvec, mode, filters, allowed, fetch, per_thread)
        if self.reranker:  # the same re-ordered head whatever the page
            groups = rerank_groups(self.reranker, index, query, groups, lambda score: is_good(score, mode, floor))
        results = self._results(index, query, qvec, pages.page_hits(index, query, mode, groups, offset, limit), offset)
        for r in results:  # the floor marks the good matches; copies of a result's text are listed on it
            r.good = is_good(r.score, mode, floor)
            with_next(r, index.store)  # a stub with what follows it,
            with_sentence_end(r, index.store)  # to the end of its last sentence,
            without_closing(r)  # and the poster's say without their sign-off
        return with_copies(index, results, copies)

    def _results(self, index: LoadedIndex, query: str, qvec, hits, offset: int) -> list[Result]:
        posts = index.store.posts_by_ids([post_id for post_id, _ in hits])
        passages = index.store.passages_by_ids([pid for _, (pid, _) in hits])
        results = []
        for n, (post_id, (pid, score)) in enumerate(hits):
            post, passage = posts[post_id], passages[pid]
            results.append(
                Result(
                    rank=offset + n + 1,
                    score=round(score, 6),
                    thread_id=post["thread_id"],
                    thread_title=post["thread_title"],
                    post_id=post_id,
                    post_index=post["post_index"],
                    post_count=post["post_count"],
                    author=post["author"],
                    posted_at=stored_time(post["posted_at"]),
                    passage=passage["text"],
                    passage_start=passage["start"],
                    passage_end=passage["end"],
                    source=post["source"],
                    utc_offset=post["utc_offset"],
                    quoted_by=index.store.quoters_of(post_id, passage["start"], passage["end"]),
                    url=post["url"],
                )
            )
        self._highlight(index, query, qvec, results, [pid for _, (pid, _) in hits])
        return results

    def _highlight(self, index: LoadedIndex, query: str, qvec, results: list[Result], passage_ids) -> None:
        highlight_results(index, self.embedder, self._sentence_cache, query, qvec, results, passage_ids)

    # --- browsing -----------------------------------------------------------------------------
    def threads(self) -> list[ThreadSummary]:
        return self._current().store.threads()

    def resolve_thread(self, ref: str) -> ThreadSummary:
        return self._resolve(self._current(), ref)

    @staticmethod
    def _resolve(index: LoadedIndex, ref: str) -> ThreadSummary:
        """The thread `ref` (an id or an exact title) of this build: one request reads one build throughout."""
        ref = (ref or "").strip()
        summary = index.store.thread(ref)
        if summary is None:
            raise NotFoundError(f"no thread {ref!r}: `threadbot threads` or /threads lists them")
        return summary

    def complete_threads(self, prefix: str = "", limit: int = 25) -> list[ThreadSummary]:
        return self._current().store.threads_matching(prefix.strip(), limit)

    def authors(self, prefix: str = "", limit: int = 25) -> list[str]:
        return self._current().store.authors_matching(prefix.strip(), limit)

    def author_suggestions(self, typed: str = "", limit: int = 25) -> list[str]:
        """Authors for what a member typed, ignoring case and accents (`names.BuildNames`), best first."""
        return self._names.authors(self._current(), typed, limit)

    def thread_suggestions(self, typed: str = "", limit: int = 25) -> list[ThreadSummary]:
        """Threads whose title is closest to what a member typed, matched the same way."""
        return self._names.threads(self._current(), typed, limit)

    def thread_posts(self, thread_id: str) -> list[PostView]:
        index = self._current()
        summary = self._resolve(index, thread_id)
        return [self._post_view(index, r, summary) for r in index.store.posts_of_thread(summary.thread_id)]

    def post(self, thread_id: str, number: int) -> PostView:
        index = self._current()
        summary = self._resolve(index, thread_id)
        if not 1 <= number <= summary.post_count:
            raise NotFoundError(f"{summary.title!r} has posts 1 to {summary.post_count}, not {number}")
        return self._post_view(index, index.store.post_at(summary.thread_id, number - 1), summary)

    def _post_view(self, index: LoadedIndex, row, summary: ThreadSummary) -> PostView:
        return PostView(
            post_id=row["post_id"],
            thread_id=row["thread_id"],
            thread_title=summary.title,
            post_index=row["post_index"],
            post_count=summary.post_count,
            author=row["author"],
            posted_at=stored_time(row["posted_at"]),
            body=row["body"],
            source=row["source"],
            url=row["url"],
            quoted_spans=index.store.quoted_spans(row["post_id"]),
            outside_quotes=index.store.outside_quotes(row["post_id"]),
            utc_offset=row["utc_offset"],
        )

    def export(self, thread_id: str | None = None) -> Iterator[dict]:
        """Every post in the JSONL import format plus post_id, post_index and source; utc_offset and excluded when
        the post has them, so an export re-imports to the same passages and quotes."""
        index = self._current()
        if thread_id:
            thread_id = self._resolve(index, thread_id).thread_id
        for r in index.store.export_rows(thread_id):
            item = {
                "thread_id": r["thread_id"],
                "thread_title": r["title"],
                "post_id": r["post_id"],
                "post_index": r["post_index"],
                "author": r["author"],
                "posted_at": r["posted_at"],
                "body": r["body"],
                "source": r["source"],
            }
            if r["url"]:
                item["url"] = r["url"]
            if r["utc_offset"] is not None:
                item["utc_offset"] = r["utc_offset"]
            if r["excluded"]:
                item["excluded"] = stored_spans(r["excluded"])
            yield item

    # --- quotes -------------------------------------------------------------------------------
    def quotes(self, thread_id: str | None = None) -> list[QuoteRelation]:
        index = self._current()
        return index.store.quote_relations(self._resolve(index, thread_id).thread_id if thread_id else None)

    def quote(self, text: str, limit: int = 5) -> list[QuoteTrace]:
        from .quotes.trace import trace_quote

        text = (text or "").strip()
        if len(text.split()) < 3:
            raise UsageError("give at least a few words of the passage")
        index = self._current()
        traces = trace_quote(self, index, text, limit)
        occurrences = [o for t in traces for o in (t.original, *t.quoted_by)]
        posts = index.store.posts_by_ids([o.post_id for o in occurrences])
        for o in occurrences:  # the posters' zones, which the trace does not read
            o.utc_offset = posts[o.post_id]["utc_offset"]
        return traces

    # --- admin --------------------------------------------------------------------------------
    @property
    def rebuild_status(self) -> tuple[str | None, float] | None:
        return self._rebuild_status

    def effective_sources(self, sources: Sequence[str] | None = None, add: bool = False) -> list[str]:
        """Explicit sources; else configured ones; else those the live index was built from.

        With add=True, explicit sources are added to those of the live index.
        """
        previous: list[str] = []
        try:
            manifest = self.data.read_manifest()
        except IndexDamagedError as exc:  # a new build repairs it: only its sources are unknown
            log.warning("%s", exc)
            manifest = None
        if manifest and isinstance(manifest.get("sources"), list):
            previous = [s for s in manifest["sources"] if isinstance(s, str)]
        if sources:
            chosen = [*previous, *sources] if add else list(sources)
        else:
            chosen = list(self.settings.sources) or previous
        if not chosen:
            raise UsageError("no sources: give files or directories to index, or set `sources` in the config")
        resolved = list(dict.fromkeys(Path(s).expanduser().resolve() for s in chosen))
        # a file or folder inside another source is read with it: naming it again would report it as a duplicate
        kept = [p for p in resolved if not any(other != p and other in p.parents for other in resolved)]
        return [str(p) for p in kept]

    def effective_format(self, fmt: str | None = None, sources: Sequence[str] | None = None, add: bool = False) -> str:
        """`fmt`; else, when the live index's sources are read again (no sources given, or sources added to them),
        the format its build read every file as (`index --format`, kept in its manifest); else "auto"."""
        if fmt is not None or (sources and not add):
            return fmt or "auto"
        try:
            manifest = self.data.read_manifest() or {}
        except IndexDamagedError:  # effective_sources says so; a new build repairs it
            manifest = {}
        recorded = manifest.get("format")
        return recorded if isinstance(recorded, str) and recorded in FORMATS else "auto"

    def rebuild(
        self,
        sources: Sequence[str] | None = None,
        *,
        add: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
        started_by: str | None = None,
        fmt: str | None = None,
        full: bool = False,
        prune: bool = False,
    ) -> BuildReport:
        """A new index from the sources (see `effective_sources`); `fmt` forces one input format for every file
        (see `ingest.FORMATS`; None: see `effective_format`). Only new posts are added when the live index can be
        extended, nothing is done when no source changed (see `index.incremental`); `full`: a complete build.
        A source of the live index that is gone is a UsageError, unless `prune` drops it (`index.sources`)."""
        if not self._rebuild_lock.acquire(blocking=False):
            who, when = self._rebuild_status or (None, None)
            raise RebuildInProgressError(who, when)
        try:
            self._rebuild_status = (started_by, time.time())
            chosen = present_sources(self.effective_sources(sources, add), recorded_sources(self.data), prune)
            report = build_index(
                self.settings,
                chosen,
                self.embedder,
                progress=progress,
                started_by=started_by,
                fmt=self.effective_format(fmt, sources, add),
                full=full,
            )
            self._current()  # switch to the new build now rather than on the next request
            return report
        finally:
            self._rebuild_status = None
            self._rebuild_lock.release()

    def remove(
        self, sources: Sequence[str], *, progress: Callable[[str, int, int], None] | None = None, started_by=None
    ) -> BuildReport:
        """A new index without the threads read from `sources` (sources of the live index): a full build of the
        other sources, read as the live index read them."""
        remaining = sources_after_removal(sources, recorded_sources(self.data), self.settings.sources)
        return self.rebuild(remaining, progress=progress, started_by=started_by, fmt=self.effective_format())

    def check(self) -> CheckReport:
        """Verify the live build's files against each other and the embedding cache; reads only."""
        from .index.check import check_data_dir

        return check_data_dir(self.data, self.embedder.model_id)

    def stats(self) -> Stats:
        index = self._current()
        m = index.manifest
        counts = m.get("counts", {})
        return Stats(
            threads=counts.get("threads", 0),
            posts=counts.get("posts", 0),
            passages=counts.get("passages", 0),
            authors=index.store.author_count(),
            quotes=counts.get("quotes", 0),
            model=m.get("model", ""),
            dimension=m.get("dimension", 0),
            built_at=m.get("built_at", ""),
            build_id=m.get("build_id", ""),
            index_path=str(index.path),
            data_dir_bytes=self.data.size_bytes(),
            sources=m.get("sources", []),
        )
