"""The relevance floor: for candidate floors, how many right answers a search keeps and how much noise it drops.

Usage: python benchmarks/relevance_floor.py [--cqa DIR] [--data-dir DIR] [--depth N]
       (default DIR: ../shared/eval/semeval-cqa-dev, skipped with a note when absent; data dir: benchmarks/.cache,
       git-ignored; an embedding cache left there by benchmarks/highlight.py or semeval_cqa.py is reused)

Every question is searched as /ask searches it (hybrid, the best `--depth` posts, 30 like /ask's pages); each
result is labelled, then scored two ways:
  score   the search's own score of the post (hybrid: cosine + lift x term coverage^2 of its best passage;
          search/ranking.py), the order results come in;
  cosine  the dense cosine similarity of the question and the passage shown.

Labels
  seed       samples/seed_dev_queries.jsonl on the sample thread: right = the expected post (the other posts are
             on the same topic and unlabelled: they count neither way);
  names      short name queries on the sample thread ("Ryutin platform"): right = a post whose passage holds the
             name, the rest unlabelled;
  cqa-orgq   SemEval-2016 Task 3 dev, the 15 original questions on the index of its 150 threads: right = a
             comment labelled Good for the question (subtask C) or a related question labelled relevant
             (subtask B); noise = a candidate of the question labelled otherwise; posts of other questions'
             threads are unlabelled;
  cqa-relq   each of the 150 related questions (subject + body) on the same index: right = a comment of its own
             thread labelled Good for it (RELC_RELEVANCE2RELQ), noise = one labelled Bad; the question's own post
             is left out (it is the query);
  off-topic  questions no post of the index answers: the SemEval questions on the sample thread (Qatar banks,
             visas, ... against Stalin-era purges) and the seed questions on the SemEval index. Every result is
             noise, and the right answer is "no good matches".

For each floor it prints the share of right answers kept (at or above the floor), the share of noise dropped
(below it), and the share of off-topic questions left with no good match at all; then, for each signal, the
highest floor keeping at least 95 % of the right answers and what it drops.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from embeddings.config import Settings  # noqa: E402
from embeddings.search.evaluate import _is_expected, load_queries  # noqa: E402
from embeddings.search.floor import RELEVANCE_FLOOR  # noqa: E402
from embeddings.service import MAX_QUERY_CHARS, SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402

DEFAULT_CQA = ROOT.parent / "shared" / "eval" / "semeval-cqa-dev"
DEFAULT_DATA = ROOT / "benchmarks" / ".cache"
XML_NAME = "cqa-ql-dev15.xml"
SEED = ROOT / "samples" / "seed_dev_queries.jsonl"
SAMPLE = ROOT / "samples" / "vbulletin"
# name queries on the sample thread (as tests/test_search.py asks them): right = a post whose passage names it
NAMES = [("Ryutin platform", "Ryutin"), ("Dewey Commission", "Dewey"), ("Kasama", "Kasama"), ("Bukharin", "Bukharin")]
FLOORS = [round(0.15 + 0.025 * i, 3) for i in range(19)]  # 0.15 .. 0.60
KEEP_TARGET = 0.95


@dataclass
class Scored:
    score: float
    cosine: float
    label: str  # "right", "noise" or "" (unlabelled)


@dataclass
class Question:
    query: str
    results: list[Scored] = field(default_factory=list)


def open_index(data_dir: Path, sources: list[Path], embedder: Embedder, warm_from: list[Path]) -> SearchService:
    """A service on an index of `sources`, its embedding cache seeded from another benchmark's when there is one."""
    data_dir.mkdir(parents=True, exist_ok=True)
    cache = data_dir / "cache.sqlite"
    for other in warm_from:
        if not cache.exists() and (other / "cache.sqlite").is_file():
            shutil.copy(other / "cache.sqlite", cache)
    service = SearchService(Settings(data_dir=data_dir), embedder)
    service._highlight = lambda *args: None  # highlights do not change what is scored
    service.rebuild([str(s) for s in sources])
    return service


def scored_search(service: SearchService, query: str, depth: int, label) -> Question:
    """The question's results as /ask gets them, each with its score, the cosine of its passage, and its label."""
    shown: list = []
    real = service._results

    def capture(index, q, qvec, hits, offset):
        shown[:] = [(qvec, index, hits)]
        return real(index, q, qvec, hits, offset)

    service._results = capture
    try:
        results = service.search(query[:MAX_QUERY_CHARS], depth)
    finally:
        service._results = real
    out = Question(query)
    if not results:
        return out
    qvec, index, hits = shown[0]
    ids = np.array([pid for _, (pid, _) in hits], dtype=np.int64)
    cosine = dict(index.vectors.search(qvec, len(ids), ids))
    for r, (_, (pid, _)) in zip(results, hits, strict=True):
        kind = label(r)
        if kind is not None:  # None: left out (the query's own post)
            out.results.append(Scored(r.score, cosine[pid], kind))
    return out


def _text(elem, tag: str) -> str:
    child = elem.find(tag)
    return " ".join((child.text or "").split()) if child is not None else ""


def read_relevancy(path: Path) -> dict[str, dict[str, bool]]:
    out: dict[str, dict[str, bool]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            qid, cid, _rank, _score, label = line.split("\t")
            out.setdefault(qid, {})[cid] = label.strip() == "true"
    return out


def cqa_questions(cqa: Path, service: SearchService, depth: int) -> tuple[list[Question], list[Question]]:
    """(original questions, related questions), searched and labelled (see the module's docstring)."""
    from semeval_cqa import _join

    gold = read_relevancy(cqa / XML_NAME.replace(".xml", ".subtaskB.relevancy"))
    for qid, labels in read_relevancy(cqa / XML_NAME.replace(".xml", ".subtaskC.relevancy")).items():
        gold.setdefault(qid, {}).update(labels)
    orgq: dict[str, str] = {}
    relq: dict[str, tuple[str, str, dict[str, str]]] = {}  # relq id -> (its question, its post, comment labels)
    for oq in ET.parse(cqa / XML_NAME).getroot().iter("OrgQuestion"):
        orgq.setdefault(oq.get("ORGQ_ID"), _join(_text(oq, "OrgQSubject"), _text(oq, "OrgQBody")))
        for thread in oq.iter("Thread"):
            q = thread.find("RelQuestion")
            labels = {c.get("RELC_ID"): c.get("RELC_RELEVANCE2RELQ") for c in thread.iter("RelComment")}
            relq.setdefault(q.get("RELQ_ID"), (_join(_text(q, "RelQSubject"), _text(q, "RelQBody")), labels))

    def by_orgq(qid):
        return lambda r: "" if r.post_id not in gold[qid] else ("right" if gold[qid][r.post_id] else "noise")

    def by_relq(rid, labels):
        kinds = {"Good": "right", "Bad": "noise"}
        return lambda r: None if r.post_id == rid else kinds.get(labels.get(r.post_id), "")

    original = [scored_search(service, text, depth, by_orgq(qid)) for qid, text in orgq.items()]
    related = [scored_search(service, text, depth, by_relq(rid, labels)) for rid, (text, labels) in relq.items()]
    return original, related


def seed_questions(service: SearchService, depth: int) -> list[Question]:
    out = []
    for q in load_queries(SEED):
        out.append(scored_search(service, q["query"], depth, lambda r, q=q: "right" if _is_expected(r, q) else ""))
    return out


def name_questions(service: SearchService, depth: int) -> list[Question]:
    def label(needle):
        return lambda r: "right" if needle.casefold() in r.passage.casefold() else ""

    return [scored_search(service, query, depth, label(needle)) for query, needle in NAMES]


def off_topic(service: SearchService, queries: list[str], depth: int) -> list[Question]:
    return [scored_search(service, q, depth, lambda r: "noise") for q in queries]


def share(part: int, whole: int) -> str:
    return f"{part / whole:6.1%}" if whole else "     -"


def table(sets: dict[str, list[Question]], signal: str) -> dict[float, dict[str, float]]:
    """Print one line per floor: right answers kept and noise dropped per set; return the pooled figures."""
    print(f"\nsignal: {signal}")
    columns = []  # (heading, set name, label, keep: count those at or above the floor, else those below)
    for name, questions in sets.items():
        labels = {r.label for q in questions for r in q.results}
        columns += [(f"{name} kept", name, "right", True)] if "right" in labels else []
        columns += [(f"{name} dropped", name, "noise", False)] if "noise" in labels else []
    off = sets.get("off-topic", [])
    print(f"{'floor':>6} " + " ".join(f"{c[0]:>17}" for c in columns) + ("  off-topic: no good match" if off else ""))
    pooled = {}
    for floor in FLOORS:
        cells, totals = [], {"right": [0, 0], "noise": [0, 0]}
        for _, name, label, keep in columns:
            values = [getattr(r, signal) for q in sets[name] for r in q.results if r.label == label]
            hit = sum((v >= floor) == keep for v in values)
            totals[label][0] += hit
            totals[label][1] += len(values)
            cells.append(f"{share(hit, len(values)):>17}")
        empty = sum(all(getattr(r, signal) < floor for r in q.results) for q in off)
        tail = f"  {share(empty, len(off))} of {len(off)} questions" if off else ""
        print(f"{floor:>6.3f} " + " ".join(cells) + tail)
        pooled[floor] = {
            k: hit / max(1, n) for k, (hit, n) in (("kept", totals["right"]), ("dropped", totals["noise"]))
        }
    return pooled


def counts(sets: dict[str, list[Question]]) -> None:
    for name, questions in sets.items():
        rs = [r for q in questions for r in q.results]
        right, noise = sum(r.label == "right" for r in rs), sum(r.label == "noise" for r in rs)
        print(f"  {name:10} {len(questions):4} questions, {len(rs):5} results: {right:4} right, {noise:5} noise")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cqa", type=Path, default=DEFAULT_CQA, help="folder holding cqa-ql-dev15.xml and .relevancy")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="indexes + embedding caches (kept)")
    p.add_argument("--depth", type=int, default=30, help="results per question (/ask pages through 30)")
    args = p.parse_args(argv)
    have_cqa = (args.cqa / XML_NAME).is_file()
    if not have_cqa:
        print(f"SemEval CQA dev data not found at {args.cqa} (expected {XML_NAME}): only the seed questions run")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.data_dir == DEFAULT_DATA and not (args.data_dir / ".gitignore").exists():
        (args.data_dir / ".gitignore").write_text("*\n")
    embedder = Embedder(Settings().model)
    warm = [args.data_dir / name for name in ("highlight-sample", "sample", "highlight-cqa", "semeval-cqa/index")]
    sample = open_index(args.data_dir / "floor-sample", [SAMPLE], embedder, warm)
    sets = {"seed": seed_questions(sample, args.depth), "names": name_questions(sample, args.depth)}
    seed_texts = [q.query for q in sets["seed"]]
    if have_cqa:
        from semeval_cqa import convert

        questions, rows = convert(args.cqa / XML_NAME)
        jsonl = args.data_dir / "floor-cqa.jsonl"
        jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        cqa = open_index(args.data_dir / "floor-cqa", [jsonl], embedder, warm)
        sets["cqa-orgq"], sets["cqa-relq"] = cqa_questions(args.cqa, cqa, args.depth)
        sets["off-topic"] = off_topic(sample, [q.query for q in questions], args.depth)
        sets["off-topic"] += off_topic(cqa, seed_texts, args.depth)
        cqa.close()
    sample.close()

    print(f"hybrid search, the best {args.depth} posts per question; shipped floor {RELEVANCE_FLOOR}")
    counts(sets)
    for signal in ("score", "cosine"):
        pooled = table(sets, signal)
        fits = [f for f, v in pooled.items() if v["kept"] >= KEEP_TARGET]
        if fits:
            best = max(fits)
            print(
                f"  highest floor keeping >= {KEEP_TARGET:.0%} of all right answers: {best} "
                f"(keeps {pooled[best]['kept']:.1%}, drops {pooled[best]['dropped']:.1%} of all noise)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
