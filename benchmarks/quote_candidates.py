"""How /quote's candidates separate the true source from the rest: the figures behind `SIMILAR_MIN`
(bot/cogs/quote.py; docs/quotes.md, "/quote in Discord").

Builds an index of the sample thread and the test corpora in a temporary data directory, draws detected quote
relations at random, asks `quote` (as many candidates as /quote asks for) for 7 and 14 consecutive words of each
quoted text, whole, with the middle word left out and with two words left out, and prints how often the best
candidate is the true source and how the other candidates' scores fall against each threshold.

    .venv/bin/python benchmarks/quote_candidates.py [--relations 45] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.cogs.quote import MAX_TRACES, SIMILAR_MIN  # noqa: E402
from embeddings.config import load_settings  # noqa: E402
from embeddings.service import SearchService  # noqa: E402

CORPORA = ["samples/vbulletin", "tests/data/vbulletin-clipped", "tests/data/pipermail", "tests/data/20news-sci.space"]
THRESHOLDS = (0.7, 0.75, 0.8, 0.85)


def asks(words: list[str], n: int, rng: random.Random) -> list[str]:
    start = rng.randrange(0, len(words) - n + 1)
    piece = words[start : start + n]
    return [" ".join(v) for v in (piece, piece[: n // 2] + piece[n // 2 + 1 :], piece[:1] + piece[2:-2] + piece[-1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relations", type=int, default=45)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp())
    service = SearchService(load_settings(overrides={"data_dir": str(data)}, environ={}))
    try:
        service.rebuild([str(ROOT / c) for c in CORPORA])
        relations = service.quotes()
        rng = random.Random(args.seed)
        asked = best_right = 0
        missing = 0  # asks whose candidates do not hold the true source
        recoverable: list[float] = []  # the true source's score, when it is a candidate but not the best
        others: list[float] = []  # every candidate that is not the true source
        for r in rng.sample(relations, min(args.relations, len(relations))):
            words = r.text.split()
            for n in (7, 14):
                if len(words) < n:
                    continue
                for text in asks(words, n, rng):
                    traces = service.quote(text, MAX_TRACES)
                    if not traces:
                        continue
                    asked += 1
                    is_source = [t.original.post_id == r.source_post_id for t in traces]
                    others += [t.score for t, yes in zip(traces, is_source) if not yes]
                    if is_source[0]:
                        best_right += 1
                    elif any(is_source):
                        recoverable.append(next(t.score for t, yes in zip(traces, is_source) if yes))
                    else:
                        missing += 1
        print(f"{len(relations)} relations; {asked} asks; the best candidate is the true source in {best_right}")
        print(f"not the best: {len(recoverable)} with the true source among the others, {missing} without it")
        print(f"{len(others)} other candidates")
        for th in THRESHOLDS:
            mark = " (SIMILAR_MIN)" if th == SIMILAR_MIN else ""
            kept = sum(s >= th for s in recoverable)
            listed = sum(s >= th for s in others)
            print(f"at {th:.2f}{mark}: true source listed in {kept} of {len(recoverable)}; others listed {listed}")
    finally:
        service.close()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
