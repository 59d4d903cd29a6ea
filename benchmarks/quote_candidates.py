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
import json
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
from embeddings.quotes.trace import MIN_SCORE  # noqa: E402
from embeddings.service import SearchService  # noqa: E402

CORPORA = ["samples/vbulletin", "tests/data/vbulletin-clipped", "tests/data/pipermail", "tests/data/20news-sci.space"]
THRESHOLDS = (0.7, 0.75, 0.8, 0.85)
# posts of another forum, not indexed: asking for their words must not name an original
ABSENT = ROOT / "tests" / "data" / "semeval-copies.jsonl"
BEST_THRESHOLDS = (0.6, 0.65, 0.7, 0.75)
MADE_UP = [  # sentences nobody in these corpora wrote
    "the cat sat on the mat of the bakery",
    "my grandmother always said the river remembers every stone",
    "we should paint the committee room a brighter shade of green",
    "the ferry to the island leaves twice a day in winter",
    "nobody expected the orchestra to play the anthem backwards",
    "the printer in the library jams whenever it rains outside",
    "he traded his bicycle for a crate of oranges and a map",
    "the recipe needs three eggs and a spoonful of honey",
    "our football team lost the final because of a late penalty",
    "the museum closes early on the first monday of the month",
]


def asks(words: list[str], n: int, rng: random.Random) -> list[str]:
    start = rng.randrange(0, len(words) - n + 1)
    piece = words[start : start + n]
    return [" ".join(v) for v in (piece, piece[: n // 2] + piece[n // 2 + 1 :], piece[:1] + piece[2:-2] + piece[-1:])]


def absent_best(service: SearchService, rng: random.Random) -> list[float]:
    """The best candidate's score (0 when none) for 7 and 14 consecutive words of each post in ABSENT and for
    each MADE_UP sentence."""
    scores = []
    for line in ABSENT.read_text(encoding="utf-8").splitlines():
        words = json.loads(line)["body"].split()
        for n in (7, 14):
            if len(words) >= n:
                start = rng.randrange(0, len(words) - n + 1)
                traces = service.quote(" ".join(words[start : start + n]), MAX_TRACES)
                scores.append(traces[0].score if traces else 0.0)
    for text in MADE_UP:
        traces = service.quote(text, MAX_TRACES)
        scores.append(traces[0].score if traces else 0.0)
    return scores


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
        best_of_true: list[float] = []  # the best candidate's score when it is the true source
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
                    if traces[0].original.post_id == r.source_post_id:
                        best_of_true.append(traces[0].score)
                    is_source = [t.original.post_id == r.source_post_id for t in traces]
                    others += [t.score for t, yes in zip(traces, is_source) if not yes]
                    if is_source[0]:
                        best_right += 1
                    elif any(is_source):
                        recoverable.append(next(t.score for t, yes in zip(traces, is_source) if yes))
                    else:
                        missing += 1
        best_scores = best_of_true
        absent = absent_best(service, rng)
        print(f"{len(relations)} relations; {asked} asks; the best candidate is the true source in {best_right}")
        print(f"the best candidate's score, {len(best_scores)} asks of archived words vs {len(absent)} of words the")
        print("archive does not hold (pieces of SemEval posts, made-up sentences): below MIN_SCORE nothing is named")
        for th in BEST_THRESHOLDS:
            mark = " (MIN_SCORE)" if th == MIN_SCORE else ""
            kept = sum(s >= th for s in best_scores)
            named = sum(s >= th for s in absent)
            print(f"  at {th:.2f}{mark}: archived asks answered {kept} of {len(best_scores)}; absent named {named}")
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
