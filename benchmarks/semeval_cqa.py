"""Retrieval quality on real forum Q&A: SemEval-2016 Task 3 (Qatar Living), development set.

Usage: python benchmarks/semeval_cqa.py [--cqa DIR] [--data-dir DIR] [--details]
       (default DIR: ../shared/eval/semeval-cqa-dev; data dir: benchmarks/.cache, git-ignored, kept between
       runs so the embedding cache makes re-runs fast)

What it does
  1. Converts cqa-ql-dev15.xml to the JSONL import format: one thread per RelQuestion, the question as post 0
     (subject + body, RELQ_USERNAME, RELQ_DATE, post_id = RELQ_ID) and its comments as the next posts
     (RelCText, RELC_USERNAME, RELC_DATE, post_id = RELC_ID), so every search result maps back to a gold label.
     All 150 threads (1,650 posts) go into ONE index, as an archive would.
  2. Queries with each original question (OrgQSubject + OrgQBody) through SearchService, once per mode.
  3. Scores the ranking the official way (scorer v2.3, MAP_scripts/metrics.py): the search's ranking restricted
     to the question's own candidates (the official task reranks the given candidates), then MAP@10 where a
     question's AP is the mean precision at each relevant candidate within the top 10 and a question with no
     relevant candidate in its top 10 scores 0.
       subtask B: the 10 related questions; a related thread is placed by the rank of its question post
                  (post 0: subject + body), i.e. question-question similarity (the "thread" variant, best rank of
                  any post of the thread, is printed too for comparison);
       subtask C: the 100 comments of the question's 10 threads, placed by their own rank.
     Candidates the search did not return at all (lexical search only returns posts sharing a term) go last in
     id order, never by the baseline's order.
  4. Baseline: the IR rank column of the .relevancy files (the search engine ranking that came with the data).
  5. Also prints MRR@10 / hit@1 of the three modes on samples/seed_dev_queries.jsonl (index of samples/vbulletin).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from embeddings.config import Settings  # noqa: E402
from embeddings.search import ranking as retrieval  # noqa: E402
from embeddings.search.evaluate import evaluate, load_queries  # noqa: E402
from embeddings.service import MAX_LIMIT, MAX_QUERY_CHARS, SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402

DEFAULT_CQA = ROOT.parent / "shared" / "eval" / "semeval-cqa-dev"
DEFAULT_DATA = ROOT / "benchmarks" / ".cache"
XML_NAME = "cqa-ql-dev15.xml"
TOP = 10  # the official scorer's threshold
# (row label, search mode, hybrid fusion): the three modes as shipped, then plain RRF for reference
RUNS = [
    ("dense", "dense", None),
    ("lexical", "lexical", None),
    ("hybrid", "hybrid", None),
    ("plain RRF k=60", "hybrid", retrieval.Fusion(method="rrf")),
]


def search(service: SearchService, query: str, limit: int, mode: str, fusion):
    """service.search with another hybrid fusion than the default, when given."""
    default = retrieval.DEFAULT_FUSION
    retrieval.DEFAULT_FUSION = fusion or default
    try:
        return service.search(query, limit, mode=mode)
    finally:
        retrieval.DEFAULT_FUSION = default


@dataclass
class OrgQuestion:
    qid: str
    query: str
    relq_ids: list[str] = field(default_factory=list)  # subtask B candidates
    thread_posts: dict[str, list[str]] = field(default_factory=dict)  # relq id -> its post ids (question first)


def _text(elem, tag: str) -> str:
    child = elem.find(tag)
    return " ".join((child.text or "").split()) if child is not None else ""


def _join(subject: str, body: str) -> str:
    if not body or body.lower().startswith(subject.lower()):
        return body or subject
    return f"{subject}\n{body}" if subject else body


def convert(xml_path: Path) -> tuple[list[OrgQuestion], list[dict]]:
    """The original questions and the JSONL import rows (one thread per RelQuestion)."""
    root = ET.parse(xml_path).getroot()  # the file's first line, <xml version=...>, is the root element
    questions: dict[str, OrgQuestion] = {}
    rows = []
    for oq in root.iter("OrgQuestion"):  # one element per (original question, related thread) pair
        qid = oq.get("ORGQ_ID")
        if qid not in questions:
            questions[qid] = OrgQuestion(qid, _join(_text(oq, "OrgQSubject"), _text(oq, "OrgQBody")))
        q = questions[qid]
        for thread in oq.iter("Thread"):
            relq = thread.find("RelQuestion")
            rid = relq.get("RELQ_ID")
            subject = _text(relq, "RelQSubject") or "(no subject)"
            title = subject
            rows.append(
                {
                    "thread_id": rid,
                    "thread_title": title,
                    "post_id": rid,
                    "author": relq.get("RELQ_USERNAME") or "anonymous",
                    "posted_at": relq.get("RELQ_DATE").replace(" ", "T"),
                    "body": _join(subject, _text(relq, "RelQBody")),
                }
            )
            posts = [rid]
            for c in thread.iter("RelComment"):
                body = _text(c, "RelCText") or "(empty)"
                rows.append(
                    {
                        "thread_id": rid,
                        "thread_title": title,
                        "post_id": c.get("RELC_ID"),
                        "author": c.get("RELC_USERNAME") or "anonymous",
                        "posted_at": c.get("RELC_DATE").replace(" ", "T"),
                        "body": body,
                    }
                )
                posts.append(c.get("RELC_ID"))
            q.relq_ids.append(rid)
            q.thread_posts[rid] = posts
    return list(questions.values()), rows


def read_relevancy(path: Path) -> dict[str, list[tuple[str, int, bool]]]:
    """qid -> [(candidate id, IR rank, relevant)]."""
    out: dict[str, list[tuple[str, int, bool]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            qid, cid, rank, _score, label = line.split("\t")
            out.setdefault(qid, []).append((cid, int(rank), label.strip() == "true"))
    return out


def official_map(rankings: dict[str, list[bool]], top: int = TOP) -> float:
    """MAP as scorer v2.3 computes it: mean precision at the relevant candidates of the top `top`."""
    total = 0.0
    for labels in rankings.values():
        hits, precisions = 0, []
        for i, rel in enumerate(labels[:top], start=1):
            if rel:
                hits += 1
                precisions.append(hits / i)
        total += sum(precisions) / len(precisions) if precisions else 0.0
    return total / len(rankings)


def order_candidates(candidates: list[str], position: dict[str, float]) -> list[str]:
    """Candidates by their position in a search's ranking; those it did not return last, by id."""
    return sorted(candidates, key=lambda c: (position.get(c, float("inf")), c))


def build(service: SearchService, sources: list[Path]) -> tuple[float, int]:
    """Rebuild the index (the embedding cache makes a rebuild of unchanged text cheap): seconds, texts embedded."""
    t0 = time.perf_counter()
    report = service.rebuild([str(s) for s in sources])
    return time.perf_counter() - t0, report.embedded


def run_cqa(cqa: Path, data_root: Path, embedder: Embedder, details: bool) -> dict:
    questions, rows = convert(cqa / XML_NAME)
    gold_b = read_relevancy(cqa / XML_NAME.replace(".xml", ".subtaskB.relevancy"))
    gold_c = read_relevancy(cqa / XML_NAME.replace(".xml", ".subtaskC.relevancy"))
    data_dir = data_root / "semeval-cqa"
    data_dir.mkdir(parents=True, exist_ok=True)
    jsonl = data_dir / "cqa-ql-dev15.jsonl"
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    jsonl.write_text(text, encoding="utf-8")
    service = SearchService(Settings(data_dir=data_dir / "index"), embedder)
    service._highlight = lambda *args: None  # highlights do not change the ranking; skip their embedding cost
    seconds, embedded = build(service, [jsonl])
    print(
        f"CQA dev: {len(questions)} original questions, {sum(len(q.relq_ids) for q in questions)} threads, "
        f"{len(rows)} posts (indexed in {seconds:.0f}s, {embedded} passages embedded, the rest from the cache)"
    )

    labels_b = {qid: {c: rel for c, _, rel in cands} for qid, cands in gold_b.items()}
    labels_c = {qid: {c: rel for c, _, rel in cands} for qid, cands in gold_c.items()}
    table: dict[str, dict[str, float]] = {}
    ir_b = {qid: [rel for _, _, rel in sorted(c, key=lambda x: x[1])] for qid, c in gold_b.items()}
    ir_c = {qid: [rel for _, _, rel in sorted(c, key=lambda x: x[1])] for qid, c in gold_c.items()}
    table["IR baseline"] = {"B": official_map(ir_b), "C": official_map(ir_c)}
    for label, mode, fusion in RUNS:
        rank_b, rank_b_thread, rank_c = {}, {}, {}
        t0 = time.perf_counter()
        for q in questions:
            results = search(service, q.query[:MAX_QUERY_CHARS], MAX_LIMIT, mode, fusion)
            position = {r.post_id: r.rank for r in results}
            best_of_thread = {
                rid: min(position.get(p, float("inf")) for p in posts) for rid, posts in q.thread_posts.items()
            }
            rank_b[q.qid] = [labels_b[q.qid][c] for c in order_candidates(q.relq_ids, position)]
            rank_b_thread[q.qid] = [labels_b[q.qid][c] for c in order_candidates(q.relq_ids, best_of_thread)]
            comments = [c for c, _, _ in gold_c[q.qid]]
            rank_c[q.qid] = [labels_c[q.qid][c] for c in order_candidates(comments, position)]
            if details:
                print(
                    f"  {label:14} {q.qid:5} B AP {official_map({q.qid: rank_b[q.qid]}):.3f}"
                    f"  C AP {official_map({q.qid: rank_c[q.qid]}):.3f}  {q.query[:60]!r}"
                )
        table[label] = {
            "B": official_map(rank_b),
            "C": official_map(rank_c),
            "B_thread": official_map(rank_b_thread),
            "seconds": time.perf_counter() - t0,
        }
    service.close()
    return table


def run_seed(data_root: Path, embedder: Embedder) -> dict:
    queries = ROOT / "samples" / "seed_dev_queries.jsonl"
    sample = ROOT / "samples" / "vbulletin"
    service = SearchService(Settings(data_dir=data_root / "sample"), embedder)
    build(service, [sample])
    out = {}
    for label, mode, fusion in RUNS:
        default = retrieval.DEFAULT_FUSION
        retrieval.DEFAULT_FUSION = fusion or default
        try:
            report = evaluate(service, load_queries(queries), mode=mode)
        finally:
            retrieval.DEFAULT_FUSION = default
        out[label] = {"mrr": report.mrr_at_10, "hit1": report.hit_at_1, "queries": report.queries}
    service.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cqa", type=Path, default=DEFAULT_CQA, help="folder holding cqa-ql-dev15.xml and .relevancy")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="index + embedding cache (kept between runs)")
    p.add_argument("--details", action="store_true", help="AP per original question")
    args = p.parse_args(argv)
    if not (args.cqa / XML_NAME).is_file():
        print(f"SemEval CQA dev data not found at {args.cqa} (expected {XML_NAME}); skipping the benchmark")
        return 0
    args.data_dir.mkdir(parents=True, exist_ok=True)
    ignore = args.data_dir / ".gitignore"
    if args.data_dir == DEFAULT_DATA and not ignore.exists():
        ignore.write_text("*\n")
    embedder = Embedder(Settings().model)
    started = time.perf_counter()
    table = run_cqa(args.cqa, args.data_dir, embedder, args.details)
    seed = run_seed(args.data_dir, embedder)

    print()
    print("MAP (official: per original question, over its own candidates, top 10)")
    print(f"{'':14} {'B (related questions)':>22} {'C (comments)':>13}")
    for name, row in table.items():
        print(f"{name:14} {row['B']:>22.4f} {row['C']:>13.4f}")
    print(
        "  (B variant: related thread placed by its best-ranked post instead of its question post: "
        + ", ".join(f"{label} {table[label]['B_thread']:.4f}" for label, _, _ in RUNS)
        + ")"
    )
    print()
    print(f"seed dev queries ({seed['dense']['queries']} queries, samples/seed_dev_queries.jsonl)")
    print(f"{'':14} {'MRR@10':>8} {'hit@1':>7}")
    for label, _, _ in RUNS:
        print(f"{label:14} {seed[label]['mrr']:>8.3f} {seed[label]['hit1']:>7.3f}")
    print(f"\n{time.perf_counter() - started:.0f}s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
