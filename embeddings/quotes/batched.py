"""Quote detection over a whole archive in memory bounded by a batch of posts, not by the archive.

A detector holds, for every post it has read, its words, where each came from and its shingles: over an archive
of 50,000 posts, gigabytes. `detect_in_batches` feeds the posts in batches of about BATCH_CHARS characters of
text; after each batch, what it added is saved as a segment of the build's quote state (`resume.write_segment`),
and the next batch goes on from the saved segments (`resume.resumed`: the shingles its posts look up are read from
them, an earlier post's words and origins when an alignment needs them). The quotes found are those one detector
fed every post finds, for the reason an incremental build's are (see `resume`), and the segments are the state the
next incremental build goes on from; `state_merge.compact` keeps them few.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from ..collector import collector_paused
from ..errors import StorageError, reason
from ..models import Post, QuoteRelation
from .detector import QuoteDetector
from .order import feed
from .resume import SavedState, StateError, resumed, write_segment
from .state_merge import compact

log = logging.getLogger(__name__)

# characters of post text a batch reads (about 50,000 words). A batch's detector holds the saved occurrences of its
# shingles, more of them the larger the archive before it: over 23,000 Usenet and list posts, batches of 1,000,000
# characters peaked 103 MB higher than these, in the same time and with the same quotes
BATCH_CHARS = 300_000


def detect_in_batches(
    ordered: Sequence[Post],
    digests: Mapping[str, str],
    root: Path,
    min_words: int,
    progress: Callable[[int, int], None] | None = None,
    batch_chars: int = BATCH_CHARS,
) -> tuple[list[QuoteRelation], list[str] | None]:
    """The quotes of `ordered` (in detection order), and the names of the segments saved in `root` (each post's
    digest from `digests` alongside it). None for the names when the state cannot be saved (a vocabulary too large
    for it): the detection is then made in memory, as one detector. A segment that cannot be written (a full disk)
    is a StorageError: the build cannot go on in bounded memory."""
    posts_by_id = {p.post_id: p for p in ordered}
    root.mkdir(parents=True, exist_ok=True)
    try:
        with collector_paused():  # a detector's structures hold no cycles (see `resume._Posts`)
            return _detect(ordered, posts_by_id, digests, root, min_words, progress, batch_chars)
    except _CannotBatch as exc:
        why = str(exc)  # the batch's detector and state are let go with the exception, before detecting again
    return _in_memory(ordered, min_words, progress, why, root)


class _CannotBatch(Exception):
    """The state cannot hold what the posts need (a vocabulary past 2**BITS words), or a segment just written
    does not read back as written: the detection is made again in memory."""


def _detect(ordered, posts_by_id, digests, root: Path, min_words: int, progress, batch_chars: int):
    """`detect_in_batches`, its loop."""
    relations: list[QuoteRelation] = []
    names: list[str] = []
    state: SavedState | None = None
    vocab: dict[str, int] | None = None
    done, total = 0, len(ordered)
    for batch in _batches(ordered, batch_chars):
        try:
            detector = resumed(state, posts_by_id, batch, min_words, vocab) if state else QuoteDetector(min_words)
            relations += feed(detector, batch, _shifted(progress, done, total))
            name = f"{int(names[-1]) + 1:04d}" if names else "0000"
            first_word = state.vocab_size if state else 0
            write_segment(root / name, detector, done, first_word, [digests[p.post_id] for p in batch])
            names = compact(root, [*names, name])
            state = SavedState(root, names)
        except OSError as exc:
            raise StorageError(root, f"cannot save the quote state ({reason(exc)})") from None
        except (StateError, ValueError) as exc:
            raise _CannotBatch(str(exc)) from None
        vocab, done = detector.vocab, done + len(batch)
        del detector  # before the next batch's: one batch's detector at a time
    if progress and not total:
        progress(0, 0)
    return relations, names


def _batches(ordered: Sequence[Post], batch_chars: int) -> Iterator[Sequence[Post]]:
    start, size = 0, 0
    for i, post in enumerate(ordered):
        size += len(post.body)
        if size >= batch_chars:
            yield ordered[start : i + 1]
            start, size = i + 1, 0
    if start < len(ordered):
        yield ordered[start:]


def _shifted(progress, done: int, total: int):
    if progress is None:
        return None
    return lambda n, _: progress(done + n, total)


def _in_memory(ordered, min_words, progress, why: str, root: Path) -> tuple[list[QuoteRelation], None]:
    shutil.rmtree(root, ignore_errors=True)  # the segments saved so far are of no use without the rest
    log.warning("quote detection in one pass, its state not kept (%s): the next build will be a full one", why)
    return feed(QuoteDetector(min_words), ordered, progress), None
