"""How quote-detection time grows with the archive (it should be roughly linear).

Usage: python benchmarks/quote_scaling.py [QUOTES_DEV_DIR]   (default ../shared/eval/quotes-dev)

The 50 quotes-dev threads are replicated 1x, 2x, 5x and 10x.  Copy c gets new thread/post ids, dates shifted
by c*30 days and every word rewritten with a copy-specific suffix, so copies keep their own in-thread quotes
but are not quotes of each other (otherwise each copy would just quote copy 0).  Detection runs over all
threads at once, as at index time.

Second table ("shared words"): the copies keep their words and authors (new thread/post ids, dates shifted
by c*30 days), so every shingle occurs in every copy and the index keeps only the first SHINGLE_CAP
occurrences of each.  Each copied post is its author re-posting their own post, which is not a quote, so the
right answer is copy 0's relations again inside every copy.  Printed: relations found, the share of
expected relations (copy 0's (quoting post, source author) pairs in every copy) found, the share whose
source is the very post in the same copy, and relations not expected (e.g. a copy quoting another copy).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from embeddings.ingest.vbulletin import parse_file  # noqa: E402
from embeddings.quotes.detector import detect_quotes  # noqa: E402

FACTORS = (1, 2, 5, 10)
_WORD = re.compile(r"(?<![:\w])(?!Image\b)[^\W_]+")  # every word but smilies (":roll:") and "Image"


def replicate(posts, copies: int):
    out = list(posts)
    for c in range(1, copies):
        tag = "xyz"[c % 3] + "".join("qwrtpsdfgh"[int(ch)] for ch in str(c))
        for p in posts:
            out.append(
                replace(
                    p,
                    post_id=f"{p.post_id}~{c}",
                    thread_id=f"{p.thread_id}~{c}",
                    posted_at=p.posted_at + timedelta(days=30 * c),
                    body=_WORD.sub(lambda m, tag=tag: m.group() + tag, p.body),
                )
            )
    return out


def replicate_shared(posts, copies: int):
    """Copies with the same words and authors (see the module docstring)."""
    return list(posts) + [
        replace(
            p,
            post_id=f"{p.post_id}~{c}",
            thread_id=f"{p.thread_id}~{c}",
            posted_at=p.posted_at + timedelta(days=30 * c),
        )
        for c in range(1, copies)
        for p in posts
    ]


def _keys(rels):
    """(thread, quoting post, source author) and (.., source post in the same copy) of each relation."""
    pairs, exact = set(), set()
    for r in rels:
        thread, _, copy = r.thread_id.partition("~")
        pairs.add((thread, copy, r.quoting_post_index, r.source_author))
        same = (r.source_thread_id or r.thread_id) == r.thread_id
        exact.add((thread, copy, r.quoting_post_index, r.source_author, r.source_post_index if same else None))
    return pairs, exact


def shared_words(posts) -> None:
    print("shared words (copies of the same threads by the same authors):")
    print(
        f"{'factor':>6} {'posts':>7} {'relations':>9} {'seconds':>8} {'ms/post':>8} {'pairs found':>11} "
        f"{'same post':>9} {'unexpected':>10}"
    )
    base_pairs, base_exact = _keys(detect_quotes(posts))
    for f in FACTORS:
        data = replicate_shared(posts, f)
        t0 = time.perf_counter()
        rels = detect_quotes(data)
        sec = time.perf_counter() - t0
        pairs, exact = _keys(rels)
        copies = [""] + [str(c) for c in range(1, f)]
        want_pairs = {(t, c, i, a) for c in copies for t, _, i, a in base_pairs}
        want_exact = {(t, c, i, a, j) for c in copies for t, _, i, a, j in base_exact}
        print(
            f"{f:>5}x {len(data):>7} {len(rels):>9} {sec:>8.2f} {1000 * sec / len(data):>8.3f} "
            f"{len(pairs & want_pairs) / len(want_pairs):>11.3f} {len(exact & want_exact) / len(want_exact):>9.3f} "
            f"{len(pairs - want_pairs):>10}"
        )


def main(argv: list[str]) -> int:
    corpus = Path(argv[1]) if len(argv) > 1 else ROOT.parent / "shared" / "eval" / "quotes-dev"
    threads_dir = corpus / "threads"
    if not threads_dir.is_dir():
        print(f"quotes-dev corpus not found at {corpus}; skipping the benchmark")
        return 0
    posts = [p for f in sorted(threads_dir.glob("*.txt")) for p in parse_file(f).posts]
    words = sum(len(p.body.split()) for p in posts)
    print(f"corpus: {corpus} ({len(posts)} posts, {words} words)")
    print(f"{'factor':>6} {'posts':>7} {'words':>9} {'relations':>9} {'seconds':>8} {'ms/post':>8} {'time ratio':>10}")
    base = None
    for f in FACTORS:
        data = replicate(posts, f)
        best = float("inf")
        for _ in range(3 if f <= 2 else 1):
            t0 = time.perf_counter()
            rels = detect_quotes(data)
            best = min(best, time.perf_counter() - t0)
        base = base or best
        print(
            f"{f:>5}x {len(data):>7} {words * f:>9} {len(rels):>9} {best:>8.2f} {1000 * best / len(data):>8.3f} "
            f"{best / base:>9.1f}x"
        )
    print()
    shared_words(posts)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
