"""What batched quote detection (a full build's) holds as the archive grows: RSS by batch, at the end, and its peak.

Usage: .venv/bin/python benchmarks/quote_memory.py [--files N] [--corpus DIR] [--code DIR]

Reads the first N quarters of the mailing list (--corpus, default ../shared/corpora/r-package-devel-mbox; all of
them by default) in this process, then detects their quotes as a full build does (`quotes.batched`, its state saved
in a scratch directory) and prints the anonymous RSS every 5 batches, its growth over the detection, the peak
(VmHWM, Linux), the time, the number of quotes and a digest of them (equal digests: the same quotes). --code DIR
runs another checkout's `embeddings` (a `git worktree` of an earlier commit) to compare. The posts are read before
the detection starts, so the growth is the detector's: what it keeps between batches and the heap it leaves
fragmented. The figures are this process's only: run it alone.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpora" / "r-package-devel-mbox"


def status(*keys: str) -> dict[str, int]:
    """Fields of this process's /proc status, in MiB (not `scale.rss`: importing scale imports this checkout's
    embeddings, and --code runs another's)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {key: int(fields[key].split()[0]) // 1024 for key in keys}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=0, help="the first N quarters (default: all)")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--code", type=Path, default=ROOT, help="the checkout whose embeddings package runs")
    args = ap.parse_args()
    files = sorted(args.corpus.glob("[0-9]*q[0-9].txt"))  # the quarters, not SOURCE.txt
    if not files or not Path("/proc/self/status").exists():
        print(f"skipped: needs the corpus ({args.corpus}) and Linux's /proc")
        return 0
    sys.path.insert(0, str(args.code.resolve()))
    from embeddings.ingest import ingest
    from embeddings.quotes import batched
    from embeddings.quotes.order import detection_order

    files = files[: args.files] if args.files else files
    posts = [p for thread in ingest(files).threads for p in thread.posts]
    ordered = detection_order(posts)
    digests = {p.post_id: hashlib.sha256(p.body.encode()).hexdigest() for p in posts}
    saved, batches = batched.write_segment, [0]

    def counted(*a, **kw):  # after each batch: the detector that read it is still held
        batches[0] += 1
        if batches[0] % 5 == 0:
            print(f"  batch {batches[0]:4d}: {status('RssAnon', 'RssFile', 'VmHWM')} MiB", flush=True)
        return saved(*a, **kw)

    batched.write_segment = counted
    root = Path(tempfile.mkdtemp(prefix="threadbot-quote-memory-"))
    try:
        start, t = status("RssAnon")["RssAnon"], time.perf_counter()
        relations, _ = batched.detect_in_batches(ordered, digests, root / "quotes", 6)
        seconds = time.perf_counter() - t
    finally:
        shutil.rmtree(root, ignore_errors=True)
    spans = [
        (r.quoting_post_id, r.source_post_id, r.quoting_start, r.quoting_end, r.source_start, r.source_end)
        for r in relations
    ]
    digest = hashlib.sha256(repr(spans).encode()).hexdigest()[:12]
    end = status("RssAnon", "VmHWM")
    print(f"code {args.code}: {len(files)} files, {len(posts):,} posts, {batches[0]} batches, {seconds:.1f} s")
    print(f"  {len(relations):,} quotes (digest {digest})")
    print(
        f"  anonymous RSS {start} MiB before detection, {end['RssAnon']} after (+{end['RssAnon'] - start});"
        f" peak RSS {end['VmHWM']} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
