"""The build pipeline: sources → posts → quotes → passages → vectors → a new live index.

A build adds to the live one when it can: only new posts, later than every post the live build holds, are then
searched for quotes, cut, embedded and written (see `incremental`); otherwise it is a complete build. With nothing
changed in the sources, there is no build at all.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..collector import give_back_freed_memory
from ..config import Settings
from ..errors import BuildFailed, IndexDamagedError, StorageError, reason
from ..ingest.zones import effective_zones
from ..models import BuildReport
from ..passages import Chunker, PassageTexts, make_passages
from ..quotes.explicit import outside_quotes
from ..quotes.resume import StateError
from ..vectors.cache import EmbeddingCache, embed_with_cache
from ..vectors.embedder import Embedder
from ..vectors.rows import RowFile
from ..vectors.tuning import build_vector_index
from .append import CannotAppend
from .bodies import Bodies
from .datadir import DB_FILE, FORMAT_VERSION, VECTORS_FILE, BuildLock, DataDir
from .reading import Reading, read_sources
from .sentences import SENTENCES_FILE, write_sentence_vectors
from .store import write_store
from .update import Increments, add_posts

log = logging.getLogger(__name__)

ROWS_FILE = "passage-vectors.f32"  # a full build's vectors as embedded, until the vector index holds them

Progress = Callable[[str, int, int], None]


def build_index(
    settings: Settings,
    sources: Sequence[str],
    embedder: Embedder,
    *,
    progress: Progress | None = None,
    started_by: str | None = None,
    fmt: str = "auto",
    full: bool = False,
) -> BuildReport:
    """Build a new index from `sources` and make it live (incremental when it can be, see `incremental`; none when
    the sources are unchanged). Raises BuildFailed if nothing parses.

    `fmt` is the input format of every file ("auto": each file's own, by content; see `ingest.FORMATS`). `full`:
    a complete build that takes nothing from the live one."""
    data = DataDir(settings.data_dir)
    try:
        data.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(data.root, exc.strerror or str(exc)) from None
    started = time.monotonic()
    report = lambda stage, done, total: progress(stage, done, total) if progress else None  # noqa: E731
    with BuildLock(data.root, started_by):
        data.prune()
        zones = effective_zones(settings.source_timezones, _recorded_zones(data))
        inc = Increments(data, settings, embedder.model_id, fmt, zones, full=full)
        if inc.unchanged(sources):
            return inc.up_to_date(started)
        build_id, tmp = data.new_build_dir()
        bodies: Bodies | None = None
        try:
            # read in a process of its own when the archive is large (index/reading.py), the bodies in a file
            job = Reading(
                list(sources),
                tmp,
                fmt,
                zones,
                max_file_bytes=settings.max_file_mb * 2**20,
                max_post_chars=settings.max_post_chars,
                found=inc.found,
                seen=inc.seen,
                parse_cache=inc.parse_cache(tmp),
            )
            result, bodies, known = read_sources(job, lambda done, total: report("parse", done, total))
            for w in result.warnings:
                log.warning(w)
            if not result.threads:
                raise BuildFailed("nothing to index: no file produced a post", result.errors)

            addition, added = inc.plan(result, known), None
            if addition is not None:
                try:
                    added = add_posts(
                        inc,
                        addition,
                        tmp,
                        report,
                        lambda: _chunker(settings, embedder)[0],
                        lambda texts: _embed(data, embedder, texts, report),
                    )
                except (CannotAppend, StateError) as exc:
                    inc.fall_back(str(exc), tmp)
            if added is not None:
                counts = addition.previous.manifest.get("counts", {})
                total, embedded = counts["passages"] + len(added.passages), added.embedded
                quotes = counts.get("quotes", 0) + len(added.quotes)
                previous = addition.previous.manifest
                manifest = _manifest(
                    build_id, started_by, sources, fmt, zones, result, total, quotes, previous.get("chunking")
                )
                manifest |= {"quote_mode": previous.get("quote_mode"), "vectors": added.vectors}
                sentences = _sentences(data, embedder, tmp, added.passages, report, addition.previous.path)
                report("state", 0, 1)
                manifest |= inc.recorded(result, tmp, added, addition)
                bodies.remove()  # every stage that reads a body is done
                report("state", 1, 1)
            else:
                posts = [p for t in result.threads for p in t.posts]
                quote_list = inc.detect(posts, tmp, lambda done, total: report("quotes", done, total))
                give_back_freed_memory()  # the batches' detectors are freed, and their pages are of no use to chunking
                report("chunk", 0, len(posts))  # loading the tokenizer and chunking: seconds, one step to show
                chunker, max_tokens = _chunker(settings, embedder)
                passages = make_passages(result.threads, chunker, quote_list, settings.quote_mode == "drop")
                report("chunk", len(posts), len(posts))
                total = len(passages)
                # a scratch file, closed and removed once the vector index holds its vectors or the build fails
                with _row_file(tmp / ROWS_FILE, total, embedder.dimension) as rows:
                    matrix, embedded = _embed(data, embedder, PassageTexts(passages), report, rows)
                    sentences = _sentences(data, embedder, tmp, passages, report)
                    outside = outside_quotes((p for t in result.threads for p in t.posts), quote_list)
                    _write_store(tmp, result.threads, passages, (quote_list, outside), report)
                    ids, quotes = np.array([p.passage_id for p in passages], dtype=np.int64), len(quote_list)
                    # the posts and passages are in the store now: let go of them before the vector index is made
                    del posts, passages, quote_list, outside
                    result = result.without_posts()
                    bodies.remove()  # every stage that reads a body is done
                    vector_index = _write_vectors(
                        tmp, ids, matrix, (embedder.dimension, settings.ann_threshold), report
                    )
                chunking = {"max_tokens": max_tokens, "overlap_sentences": settings.chunk_overlap_sentences}
                manifest = _manifest(build_id, started_by, sources, fmt, zones, result, total, quotes, chunking)
                manifest |= {
                    "quote_mode": settings.quote_mode,
                    "vectors": vector_index,  # exact or approximate (IVF), and its parameters (vectors/tuning.py)
                }
                report("state", 0, 1)  # what the next build compares against (the quote state is saved by now)
                manifest |= inc.recorded(result, tmp) | {"vector_base": total}
                report("state", 1, 1)
            manifest |= {"model": embedder.model_id, "dimension": embedder.dimension}
            manifest["sentences"] = sentences  # the sentence vectors highlights read (index/sentences.py)
            data.commit_build(build_id, tmp, manifest)
        except BaseException:
            if bodies is not None:
                bodies.close()
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return BuildReport(
        build_id=build_id,
        threads=len(result.threads),
        posts=result.posts,
        passages=total,
        embedded=embedded,
        cached=(len(added.passages) if added else total) - embedded,
        quotes=quotes,
        seconds=round(time.monotonic() - started, 2),
        errors=[str(e) for e in result.errors],
        kind="incremental" if added else "full",
        new_posts=len(addition.new) if added else result.posts,
        note="" if added else inc.note,
    )


def _manifest(build_id, started_by, sources, fmt, zones, result, passages: int, quotes: int, chunking) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "build_id": build_id,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "built_by": started_by,
        # a source that is not there is reported by ingest and not kept for the next rebuild
        "sources": [str(p) for p in (Path(s).expanduser().resolve() for s in sources) if p.exists()],
        "format": fmt,  # a rebuild from these sources reads them the same way
        "timezones": zones,  # ... and gives their forum dates the same zones
        "counts": {"threads": len(result.threads), "posts": result.posts, "passages": passages, "quotes": quotes},
        "chunking": chunking,
        "skipped": [str(e) for e in result.errors],
    }


def _chunker(settings: Settings, embedder: Embedder) -> tuple[Chunker, int]:
    """The chunker of this model (loaded now) and the passage size it cuts to."""
    max_tokens = min(settings.chunk_max_tokens, embedder.max_seq_length - 2)  # room for [CLS] and [SEP]
    if max_tokens < settings.chunk_max_tokens:
        log.warning(
            "chunk_max_tokens %d exceeds what %s reads (%d word pieces): using %d",
            settings.chunk_max_tokens,
            embedder.model_id,
            embedder.max_seq_length,
            max_tokens,
        )
    return Chunker(embedder.count_tokens, max_tokens, settings.chunk_overlap_sentences), max_tokens


def _row_file(path: Path, count: int, dimension: int) -> RowFile:
    """The scratch file a full build's passage vectors go to as they are embedded (vectors/rows.py)."""
    try:
        return RowFile(path, count, dimension)
    except OSError as exc:
        raise StorageError(path, f"cannot write the passage vectors ({reason(exc)})") from None


def _embed(
    data: DataDir, embedder: Embedder, texts: Sequence[str], report, into: RowFile | None = None
) -> tuple[np.ndarray | RowFile, int]:
    """Vectors of `texts` (in a matrix, or in the rows of `into`), embedding only those the cache lacks; the
    number embedded."""
    done = [0]

    def on_embed(n: int) -> None:
        done[0] += n
        report("embed", done[0], len(texts))

    report("embed", 0, len(texts))
    cache = EmbeddingCache(data.cache_path)
    try:
        matrix, embedded = embed_with_cache(embedder, cache, texts, on_embed, into=into)
    except OSError as exc:
        if into is None:
            raise
        raise StorageError(into.path, f"cannot write the passage vectors ({reason(exc)})") from None  # a full disk
    finally:
        cache.close()
    return matrix, embedded


def _sentences(data: DataDir, embedder: Embedder, tmp: Path, passages, report, carried: Path | None = None) -> dict:
    """The build's sentence vectors for highlights (index/sentences.py) of `passages`, added to those of the
    build at `carried` (an incremental build's parent) when it has them; what the manifest records."""
    target = tmp / SENTENCES_FILE
    report("sentences", 0, len(passages))
    # the model's ONNX export (seconds, once a model): sentences are embedded on it, and queries then run without
    # torch; made here, while the model is loaded and within a stage the progress shows
    embedder.export_query_encoder(data.root)
    try:
        if carried is not None and (carried / SENTENCES_FILE).is_file():
            shutil.copyfile(carried / SENTENCES_FILE, target)
        cache = EmbeddingCache(data.cache_path)
        try:
            written = write_sentence_vectors(target, passages, embedder, cache, lambda d, t: report("sentences", d, t))
        finally:
            cache.close()
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(target, f"cannot write the sentence vectors ({reason(exc)})") from None
    return written


def _recorded_zones(data: DataDir) -> object:
    """The source zones the live build was made with (its manifest's `timezones`), for a rebuild to keep."""
    try:
        return (data.read_manifest() or {}).get("timezones")
    except IndexDamagedError:  # the new build repairs it; only what it recorded is lost
        return None


def _write_store(tmp: Path, threads, passages, quotes: tuple, report) -> None:
    """The build's SQLite store (rows, FTS5, layout and postings) in its .tmp directory, a stage of progress
    ("write"). A full disk is a StorageError."""
    report("write", 0, 1)
    try:
        write_store(tmp / DB_FILE, threads, passages, *quotes)
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(tmp, f"cannot write the new index ({reason(exc)})") from None
    report("write", 1, 1)


def _write_vectors(tmp: Path, ids: np.ndarray, matrix: np.ndarray | RowFile, vectors: tuple[int, int], report) -> dict:
    """The build's vector index (`vectors`: dimension, ann_threshold) in its .tmp directory, a stage of progress
    ("vectors": the index, trained and tuned when approximate); what the manifest records of it. A full disk is a
    StorageError."""
    report("vectors", 0, 1)
    try:
        index, params = build_vector_index(ids, matrix, *vectors)
        index.save(tmp / VECTORS_FILE)
    except (OSError, RuntimeError) as exc:  # FAISS reports a failed write as RuntimeError
        raise StorageError(tmp, f"cannot write the new index ({reason(exc)})") from None
    report("vectors", 1, 1)
    return params
