"""Thread context and answers over restatements in the hybrid ranking, cross-validated on SemEval-2016 Task 3 dev.

Usage: python benchmarks/thread_context.py [--cqa DIR] [--data-dir DIR] [--folds 5] [--repeats 20]
       (default DIR: ../shared/eval/semeval-cqa-dev; data dir: benchmarks/.cache/thread-context, git-ignored; its
       embedding cache is seeded from benchmarks/.cache/highlight-cqa when that exists, so nothing is embedded)

What it does
  1. Indexes the dev threads as benchmarks/semeval_cqa.py does (one thread per related question, one index).
  2. ONE retrieval pass per original question: every passage's cosine and term coverage, and its thread and place
     (`embeddings.search.threads.places`: the thread's title + opening post match, whether the post is a reply
     asking a question or by the thread's opener, its length). Every weight setting is then scored in numpy with
     the ranking's own `context_scores`, posts placed by their best passage as the search places them.
  3. Scores each setting with the official MAP@10 (semeval_cqa.official_map) for subtask B (related questions,
     placed by their question post) and C (comments), per original question.
  4. Cross-validation over the original questions: k folds (repeated with shuffled folds), weights chosen on the
     training folds only (best MAP B + MAP C; ties to the smaller weights), scored on the held-out fold. Reported:
     the held-out MAP of every question pooled, and the mean and spread (standard deviation, min-max) of the
     folds' MAP; leave-one-out too. Beside it, with the same folds: dense-only, the shipped hybrid without thread
     context, and the data's IR ranking. Each feature group is also validated alone and left out of the rest, so
     a feature is kept only if it helps on held-out folds.
  5. Checks the shipped default (ranking.DEFAULT_FUSION) through SearchService: the same MAP as the numpy
     scoring, and the seed questions (samples/seed_dev_queries.jsonl on samples/vbulletin) at hit@1.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from semeval_cqa import DEFAULT_CQA, XML_NAME, build, convert, official_map, read_relevancy  # noqa: E402

from embeddings.config import Settings  # noqa: E402
from embeddings.search import ranking  # noqa: E402
from embeddings.search.evaluate import evaluate, load_queries  # noqa: E402
from embeddings.search.threads import context_scores, is_question, places  # noqa: E402
from embeddings.service import MAX_LIMIT, MAX_QUERY_CHARS, SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402

DEFAULT_DATA = ROOT / "benchmarks" / ".cache" / "thread-context"
SEEDED_FROM = ROOT / "benchmarks" / ".cache" / "highlight-cqa"
BASE = ranking.Fusion(thread=0.0, opening_lift=0.0, asking=0.0, opener_reply=0.0, length=0.0)  # no thread context
# the weights searched, each group's values with 0 (off) first; a group is one feature of threads.context_scores
GROUPS = {
    "thread": {"thread": [0.0, 0.02, 0.05, 0.1, 0.2], "thread_lift": [0.0, 0.15, 0.5, 1.0]},
    "opening": {"opening_lift": [0.0, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5, 2.0], "opening_power": [1.0, 2.0]},
    "asking": {"asking": [0.0, 0.02, 0.05, 0.1, 0.2]},
    "opener": {"opener_reply": [0.0, 0.05, 0.1, 0.2, 0.3, 0.5]},
    "length": {"length": [0.0, 0.01, 0.02, 0.04]},
}


def settings_of(groups: list[str]) -> list[dict]:
    """Every combination of the named groups' values (the others off), redundant ones (a lift whose weight is 0)
    dropped."""
    names = [n for g in groups for n in GROUPS[g]]
    values = [GROUPS[g][n] for g in groups for n in GROUPS[g]]
    out = []
    for combo in itertools.product(*values):
        s = dict(zip(names, combo))
        if s.get("thread") == 0.0 and s.get("thread_lift", 0.0) != 0.0:
            continue
        if s.get("opening_lift") == 0.0 and s.get("opening_power", 1.0) != 1.0:
            continue
        out.append(s)
    return out


class Question:
    """One original question's retrieval pass: per passage its cosine, coverage and places; its candidates."""

    def __init__(self, index, embedder, q, labels_b, labels_c, post_of_passage):
        query = q.query[:MAX_QUERY_CHARS]
        ids = index.vectors.ids()
        qvec = embedder.encode_query(query)
        found = dict(index.vectors.search(qvec, len(ids)))
        self.cosine = np.array([found[int(p)] for p in ids])
        cover = ranking.term_coverage(index, query, ids.tolist())
        self.coverage = np.array([cover.get(int(p), 0.0) for p in ids])
        self.places = places(index, query, qvec, ids.tolist(), self.cosine)
        self.question = is_question(query)
        posts = [post_of_passage[int(p)] for p in ids]
        self.posts = posts
        self.candidates = {}
        for task, labels in (("B", labels_b), ("C", labels_c)):
            cands = sorted(labels)  # ties and posts without passages: in id order, as semeval_cqa places them
            at = {c: i for i, c in enumerate(cands)}
            rows = [(i, at[p]) for i, p in enumerate(posts) if p in at]
            self.candidates[task] = (
                np.array([r[0] for r in rows]),
                np.array([r[1] for r in rows]),
                np.array([labels[c] for c in cands]),
            )

    def ap(self, fusion: ranking.Fusion, task: str, dense: bool = False) -> float:
        scores = self.cosine if dense else self.cosine + fusion.lift * self.coverage**fusion.power
        if not dense:
            scores = context_scores(scores, self.places, fusion, self.question)
        passage_at, cand_at, labels = self.candidates[task]
        best = np.full(len(labels), -np.inf)
        np.maximum.at(best, cand_at, scores[passage_at])
        order = np.argsort(-best, kind="stable")
        return official_map({"q": labels[order].tolist()})


class Seed:
    """One seed question's retrieval pass on the sample index, and its expected post."""

    def __init__(self, index, embedder, q):
        ids = index.vectors.ids()
        qvec = embedder.encode_query(q["query"])
        found = dict(index.vectors.search(qvec, len(ids)))
        self.cosine = np.array([found[int(p)] for p in ids])
        cover = ranking.term_coverage(index, q["query"], ids.tolist())
        self.coverage = np.array([cover.get(int(p), 0.0) for p in ids])
        self.places = places(index, q["query"], qvec, ids.tolist(), self.cosine)
        self.question = is_question(q["query"])
        post_of = index.store.posts_of_passages(ids.tolist())
        self.posts = [post_of[int(p)] for p in ids]
        rows = index.store.posts_by_ids(list(dict.fromkeys(self.posts)))
        when = q["posted_at"].strftime("%Y-%m-%dT%H:%M")
        self.expected = {
            p
            for p, r in rows.items()
            if r["author"].casefold() == q["author"].casefold() and r["posted_at"][:16] == when
        }

    def hit(self, fusion: ranking.Fusion) -> bool:
        scores = self.cosine + fusion.lift * self.coverage**fusion.power
        scores = context_scores(scores, self.places, fusion, self.question)
        best: dict[str, float] = {}
        for post, score in zip(self.posts, scores.tolist()):
            best[post] = max(best.get(post, -np.inf), score)
        return max(best, key=lambda p: (best[p], p)) in self.expected


def table_of(questions: list[Question], settings: list[dict]) -> dict[str, np.ndarray]:
    """task -> [question, setting] AP."""
    out = {}
    for task in ("B", "C"):
        out[task] = np.array([[q.ap(replace(BASE, **s), task) for s in settings] for q in questions])
    return out


def folds_of(n: int, k: int, repeats: int, seed: int = 13) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [np.array_split(rng.permutation(n), k) for _ in range(repeats)]


def cross_validate(table: dict[str, np.ndarray], splits: list[list[np.ndarray]]):
    """Held-out AP per question (averaged over repeats), fold MAPs per task, and how often each setting won."""
    n = table["B"].shape[0]
    held = {t: np.zeros(n) for t in table}
    fold_maps = {t: [] for t in table}
    chosen: dict[int, int] = {}
    joint = table["B"] + table["C"]
    for split in splits:
        for test in split:
            train = np.setdiff1d(np.arange(n), test)
            best = int(np.argmax(joint[train].mean(axis=0)))  # first maximum: the smaller weights
            chosen[best] = chosen.get(best, 0) + 1
            for t in table:
                held[t][test] += table[t][test, best] / len(splits)
                fold_maps[t].append(table[t][test, best].mean())
    return held, fold_maps, chosen


def fixed_folds(ap: dict[str, np.ndarray], splits):
    return {t: [ap[t][test].mean() for split in splits for test in split] for t in ap}


def line(label: str, held: dict[str, np.ndarray], fold_maps: dict[str, list[float]]) -> str:
    parts = []
    for t in ("B", "C"):
        f = np.array(fold_maps[t])
        parts.append(f"{held[t].mean():.4f}  {f.mean():.4f} ±{f.std():.4f} [{f.min():.3f}-{f.max():.3f}]")
    return f"{label:34} " + "   ".join(parts)


def prepare(cqa: Path, data_root: Path, embedder: Embedder):
    questions, rows = convert(cqa / XML_NAME)
    gold_b = read_relevancy(cqa / XML_NAME.replace(".xml", ".subtaskB.relevancy"))
    gold_c = read_relevancy(cqa / XML_NAME.replace(".xml", ".subtaskC.relevancy"))
    data_dir = data_root / "semeval-cqa"
    (data_dir / "index").mkdir(parents=True, exist_ok=True)
    if not (data_dir / "index" / "cache.sqlite").exists() and (SEEDED_FROM / "cache.sqlite").exists():
        shutil.copy2(SEEDED_FROM / "cache.sqlite", data_dir / "index" / "cache.sqlite")
    jsonl = data_dir / "cqa-ql-dev15.jsonl"
    import json

    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    service = SearchService(Settings(data_dir=data_dir / "index"), embedder)
    service._highlight = lambda *args: None  # highlights do not change the ranking
    seconds, embedded = build(service, [jsonl])
    print(f"indexed {len(rows)} posts in {seconds:.0f}s ({embedded} passages embedded, the rest from the cache)")
    return questions, gold_b, gold_c, service


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cqa", type=Path, default=DEFAULT_CQA)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    if not (args.cqa / XML_NAME).is_file():
        print(f"SemEval CQA dev data not found at {args.cqa}; skipping the benchmark")
        return 0
    started = time.perf_counter()
    embedder = Embedder(Settings().model)
    orgqs, gold_b, gold_c, service = prepare(args.cqa, args.data_dir, embedder)
    index = service._current()
    post_of = index.store.posts_of_passages(index.vectors.ids().tolist())
    questions = []
    for q in orgqs:
        labels_b = {c: rel for c, _, rel in gold_b[q.qid]}
        labels_c = {c: rel for c, _, rel in gold_c[q.qid]}
        questions.append(Question(index, embedder, q, labels_b, labels_c, post_of))
    asked = sum(q.question for q in questions)
    print(f"{len(questions)} original questions ({asked} read as questions), one retrieval pass each")

    n = len(questions)
    kfold = folds_of(n, args.folds, args.repeats)
    loo = [[np.array([i]) for i in range(n)]]
    dense = {t: np.array([q.ap(BASE, t, dense=True) for q in questions]) for t in ("B", "C")}
    hybrid = {t: np.array([q.ap(BASE, t) for q in questions]) for t in ("B", "C")}
    ir = {}
    for t, gold in (("B", gold_b), ("C", gold_c)):
        ir[t] = np.array(
            [official_map({"q": [r for _, _, r in sorted(gold[q.qid], key=lambda x: x[1])]}) for q in orgqs]
        )

    print(f"\nMAP@10, {args.folds}-fold x {args.repeats} (weights fitted on the training folds only)")
    print(f"{'':34} {'B: held-out  folds mean ±sd [min-max]':>40}   {'C: held-out  folds mean ±sd [min-max]':>40}")
    for label, ap in (
        ("IR baseline (the data's ranking)", ir),
        ("dense", dense),
        ("hybrid, no thread context", hybrid),
    ):
        print(line(label, ap, fixed_folds(ap, kfold)))
    runs = [("all groups", list(GROUPS))]
    runs += [(f"{g} alone", [g]) for g in GROUPS]
    runs += [(f"all but {g}", [h for h in GROUPS if h != g]) for g in GROUPS]
    seed_service = SearchService(Settings(data_dir=args.data_dir / "sample"), embedder)
    build(seed_service, [ROOT / "samples" / "vbulletin"])
    seed_index = seed_service._current()
    seeds = [Seed(seed_index, embedder, q) for q in load_queries(ROOT / "samples" / "seed_dev_queries.jsonl")]
    print(f"(settings that miss any of the {len(seeds)} seed questions at hit@1 are not candidates)")
    tables = {}
    for label, groups in runs:
        settings = [s for s in settings_of(groups) if all(seed.hit(replace(BASE, **s)) for seed in seeds)]
        tables[label] = (settings, table_of(questions, settings))
        held, fold_maps, chosen = cross_validate(tables[label][1], kfold)
        print(line(f"{label} ({len(settings)})", held, fold_maps))
        if label == "all groups":
            base = fixed_folds(dense, kfold)
            gain = {t: np.array(fold_maps[t]) - np.array(base[t]) for t in ("B", "C")}
            print(
                f"{'  gain over dense, per fold':34} "
                + "   ".join(
                    f"{t}: {g.mean():+.4f} ±{g.std():.4f} [{g.min():+.3f}..{g.max():+.3f}]" for t, g in gain.items()
                )
            )
    settings, table = tables["all groups"]
    held, fold_maps, chosen = cross_validate(table, loo)
    print(line("all groups, leave-one-out", held, fold_maps))
    _, _, chosen = cross_validate(table, kfold)
    print("\nsettings chosen on the training folds (all groups), most often first:")
    for best, count in sorted(chosen.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {count:3}x {settings[best]}")
    joint = table["B"] + table["C"]
    best = settings[int(np.argmax(joint.mean(axis=0)))]
    print(f"fitted on all {n} questions: {best}")

    shipped = ranking.DEFAULT_FUSION
    print(f"\nshipped default: {shipped}")
    first_page = []
    for fusion in (BASE, shipped):
        share = []
        for q in questions:
            scores = context_scores(q.cosine + fusion.lift * q.coverage**fusion.power, q.places, fusion, q.question)
            best: dict[str, tuple[float, bool]] = {}
            for post, score, opening in zip(q.posts, scores.tolist(), q.places.opening.tolist()):
                if post not in best or score > best[post][0]:
                    best[post] = (score, opening)
            top = sorted(best.values(), key=lambda v: -v[0])[:10]
            share.append(np.mean([opening for _, opening in top]))
        first_page.append(np.mean(share))
    print(
        f"  opening posts among the first 10 posts: {first_page[0]:.2f} without thread context, {first_page[1]:.2f} with"
    )
    numpy_map = {t: np.mean([q.ap(shipped, t) for q in questions]) for t in ("B", "C")}
    rank_b, rank_c = {}, {}
    for q in orgqs:
        position = {}
        for r in service.search(q.query[:MAX_QUERY_CHARS], MAX_LIMIT):
            position[r.post_id] = r.rank  # a copy of its text folded into a result, when the search does that
            position.update({c.post_id: r.rank for c in getattr(r, "also_in", ()) if c.post_id not in position})
        for gold, out in ((gold_b, rank_b), (gold_c, rank_c)):
            labels = {c: rel for c, _, rel in gold[q.qid]}
            out[q.qid] = [labels[c] for c in sorted(labels, key=lambda c: (position.get(c, float("inf")), c))]
    print(
        f"  through SearchService: B {official_map(rank_b):.4f}  C {official_map(rank_c):.4f}"
        f"  (numpy scoring: B {numpy_map['B']:.4f}  C {numpy_map['C']:.4f}; on all 15, not held out)"
    )
    service.close()
    seed = seed_service
    for mode in ("dense", "hybrid"):
        report = evaluate(seed, load_queries(ROOT / "samples" / "seed_dev_queries.jsonl"), mode=mode)
        print(f"  seed questions, {mode}: hit@1 {report.hit_at_1:.3f}  MRR@10 {report.mrr_at_10:.3f}")
    seed.close()
    print(f"\n{time.perf_counter() - started:.0f}s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
