"""The build pipeline: sources → posts → quotes → passages → vectors → a new live index."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..config import Settings
from ..errors import BuildFailed, StorageError, reason
from ..ingest import ingest
from ..models import BuildReport
from ..passages import Chunker, make_passages
from ..quotes.detector import detect_quotes
from ..quotes.explicit import outside_quotes
from ..vectors.ann import VectorIndex
from ..vectors.cache import EmbeddingCache, embed_with_cache
from ..vectors.embedder import Embedder
from .datadir import DB_FILE, FORMAT_VERSION, VECTORS_FILE, BuildLock, DataDir
from .store import write_store

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def build_index(
    settings: Settings,
    sources: Sequence[str],
    embedder: Embedder,
    *,
    progress: Progress | None = None,
    started_by: str | None = None,
    fmt: str = "auto",
) -> BuildReport:
    """Build a complete new index from `sources` and make it live. Raises BuildFailed if nothing parses.

    `fmt` is the input format of every file ("auto": each file's own, by content; see `ingest.FORMATS`)."""
    data = DataDir(settings.data_dir)
    try:
        data.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(data.root, exc.strerror or str(exc)) from None
    started = time.monotonic()
    report = lambda stage, done, total: progress(stage, done, total) if progress else None  # noqa: E731
    with BuildLock(data.root, started_by):
        data.prune()
        build_id, tmp = data.new_build_dir()
        try:
            result = ingest(
                sources,
                progress=lambda done, total: report("parse", done, total),
                max_file_bytes=settings.max_file_mb * 2**20,
                max_post_chars=settings.max_post_chars,
                fmt=fmt,
            )
            for w in result.warnings:
                log.warning(w)
            if not result.threads:
                raise BuildFailed("nothing to index: no file produced a post", result.errors)

            posts = [p for t in result.threads for p in t.posts]
            quotes = detect_quotes(
                posts, min_words=settings.quote_min_words, progress=lambda done, total: report("quotes", done, total)
            )
            report("chunk", 0, len(posts))  # loading the tokenizer and chunking: seconds, one step to show
            max_tokens = min(settings.chunk_max_tokens, embedder.max_seq_length - 2)  # room for [CLS] and [SEP]
            if max_tokens < settings.chunk_max_tokens:
                log.warning(
                    "chunk_max_tokens %d exceeds what %s reads (%d word pieces): using %d",
                    settings.chunk_max_tokens,
                    embedder.model_id,
                    embedder.max_seq_length,
                    max_tokens,
                )
            chunker = Chunker(embedder.count_tokens, max_tokens, settings.chunk_overlap_sentences)
            passages = make_passages(result.threads, chunker, quotes, drop_quoted=settings.quote_mode == "drop")
            report("chunk", len(posts), len(posts))

            total = len(passages)
            done = [0]

            def on_embed(n: int) -> None:
                done[0] += n
                report("embed", done[0], total)

            report("embed", 0, total)
            cache = EmbeddingCache(data.cache_path)
            try:
                matrix, embedded = embed_with_cache(embedder, cache, [p.text for p in passages], on_embed)
            finally:
                cache.close()
            embedder.export_query_encoder(data.root)  # while the model is loaded: queries then run without torch

            report("write", 0, 1)
            outside = outside_quotes((p for t in result.threads for p in t.posts), quotes)
            _write_files(tmp, result.threads, passages, (quotes, outside), matrix, embedder.dimension)
            manifest = {
                "format_version": FORMAT_VERSION,
                "build_id": build_id,
                "model": embedder.model_id,
                "dimension": embedder.dimension,
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "built_by": started_by,
                # a source that is not there is reported by ingest and not kept for the next rebuild
                "sources": [str(p) for p in (Path(s).expanduser().resolve() for s in sources) if p.exists()],
                "format": fmt,  # a rebuild from these sources reads them the same way
                "counts": {
                    "threads": len(result.threads),
                    "posts": result.posts,
                    "passages": total,
                    "quotes": len(quotes),
                },
                "chunking": {"max_tokens": max_tokens, "overlap_sentences": settings.chunk_overlap_sentences},
                "quote_mode": settings.quote_mode,
                "skipped": [str(e) for e in result.errors],
            }
            data.commit_build(build_id, tmp, manifest)
            report("write", 1, 1)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return BuildReport(
        build_id=build_id,
        threads=len(result.threads),
        posts=result.posts,
        passages=total,
        embedded=embedded,
        cached=total - embedded,
        quotes=len(quotes),
        seconds=round(time.monotonic() - started, 2),
        errors=[str(e) for e in result.errors],
    )


def _write_files(tmp: Path, threads, passages, quotes: tuple, matrix: np.ndarray, dimension: int) -> None:
    """The build's SQLite store and vector index, in its .tmp directory; a full disk is a StorageError."""
    try:
        write_store(tmp / DB_FILE, threads, passages, *quotes)
        vectors = VectorIndex(dimension)
        if passages:
            vectors.add(np.array([p.passage_id for p in passages], dtype=np.int64), matrix)
        vectors.save(tmp / VECTORS_FILE)
    except (OSError, sqlite3.Error, RuntimeError) as exc:  # FAISS reports a failed write as RuntimeError
        raise StorageError(tmp, f"cannot write the new index ({reason(exc)})") from None
