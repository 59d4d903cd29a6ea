"""Highlights: which sentence of a result's passage answers the query — quality per method, and what each costs.

Usage: python benchmarks/highlight.py [--cqa DIR] [--mail FILE] [--data-dir DIR]
       (defaults: ../shared/eval/semeval-cqa-dev, ../shared/corpora/r-package-devel-mbox/2019q1.txt,
       benchmarks/.cache; each part that needs ../shared is skipped when it is absent)

Labelled data (a highlight is a hit when the sentence it picks is a gold one; no highlight is a miss)
  seed      every passage of the sample thread's index holding a seed question's `must_contain`
            (samples/seed_dev_queries.jsonl): gold = the sentence(s) holding it;
  tests     the passage of tests/test_highlight.py: a name query and a paraphrase with no shared word;
  cqa-orgq  SemEval-2016 Task 3 dev: passages made of 3 consecutive comments of a related thread (joined by blank
            lines, at least one "Good" and one "Bad" for the original question; "PotentiallyUseful" left out),
            queried with the original question (subject + body): gold = the sentences of the Good comments;
  cqa-relq  the same with each thread's own question and the comments' labels for it (RELC_RELEVANCE2RELQ).
  A row "random" gives the share of gold sentences: what picking a sentence blindly scores.

Methods
  a   query-time: each shown sentence embedded by the ONNX query encoder, cosine + 0.3 × term overlap (how a
      build without stored sentence vectors is highlighted);
  b   the same score on sentence vectors computed at build time, as the build embeds them (index/sentences.py:
      ONNX on a CPU), kept as float32 or as int8 with a scale per sentence (what the build stores); b': the
      vectors of sentence-transformers (what a GPU build embeds them with);
  c   model-free: term overlap alone (what results past the 10th got without vectors), BM25 per sentence,
      IDF-weighted overlap (document frequencies over the data set's passages or comments);
  d   cheaper vectors: sentence vectors mean-pooled from the passage's own token embeddings (no extra forward
      pass at build time), and the model's static word-piece embeddings (no transformer at all).

Cost: highlight time per query (a page of 5 and of 10 results) with sentences embedded at query time (embedding
cache empty: the first time a result is shown; cache warm) against stored vectors; encoder calls per search; and
at build time: sentences per passage, embedding time of the sentences against that of the passages (no cache), the
size of sentences.sqlite next to vectors.faiss, and the sample and SemEval builds' stage times.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from highlight_data import Example, cqa_examples, passage_texts, seed_examples, unit_test_examples  # noqa: E402

from embeddings.config import Settings  # noqa: E402
from embeddings.index.datadir import DB_FILE, VECTORS_FILE  # noqa: E402
from embeddings.index.sentences import SENTENCES_FILE, embed_by_length, quantize  # noqa: E402
from embeddings.passages.sentences import sentence_spans  # noqa: E402
from embeddings.search.highlight import _WORD, _stem, lexical_sentence_scores  # noqa: E402
from embeddings.search.terms import query_terms  # noqa: E402
from embeddings.service import SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402

SHARED = ROOT.parent / "shared"
DEFAULT_CQA = SHARED / "eval" / "semeval-cqa-dev"
DEFAULT_MAIL = SHARED / "corpora" / "r-package-devel-mbox" / "2019q1.txt"
DEFAULT_DATA = ROOT / "benchmarks" / ".cache"
LEXICAL_WEIGHT = 0.3  # as embeddings/search/highlight.py blends it
COST_PASSAGES = 200  # passages per corpus whose embedding time is measured without the cache


# --- methods: each gives, per example, the sentence scores (the highest positive one is the highlight) ---------
def _sentences(examples):
    return [ex.passage[s:e] for ex in examples for s, e in ex.spans]


def _split(matrix, examples):
    out, pos = [], 0
    for ex in examples:
        out.append(matrix[pos : pos + len(ex.spans)])
        pos += len(ex.spans)
    return out


def _idf(corpus: list[str]):
    df = Counter(t for text in corpus for t in {_stem(w) for w in _WORD.findall(text)})
    return lambda t: math.log(1 + (len(corpus) - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5))


def _bm25(ex: Example, idf, k1=1.2, b=0.75) -> np.ndarray:
    terms = {_stem(t) for t in query_terms(ex.query)}
    words = [[_stem(w) for w in _WORD.findall(ex.passage[s:e])] for s, e in ex.spans]
    avg = sum(map(len, words)) / len(words) or 1
    scores = []
    for ws in words:
        tf = Counter(ws)
        scores.append(
            sum(idf(t) * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(ws) / avg)) for t in terms if tf[t])
        )
    return np.array(scores)


def _idf_overlap(ex: Example, idf) -> np.ndarray:
    terms = {_stem(t) for t in query_terms(ex.query)}
    total = sum(idf(t) for t in terms) or 1.0
    return np.array(
        [sum(idf(t) for t in terms & {_stem(w) for w in _WORD.findall(ex.passage[s:e])}) / total for s, e in ex.spans]
    )


def _pooled(embedder: Embedder, examples) -> list[np.ndarray]:
    """Sentence vectors mean-pooled from the passage's token embeddings (one forward pass per passage)."""
    model = embedder.model
    passages = [ex.passage for ex in examples]
    tokens = model.encode(passages, output_value="token_embeddings", batch_size=16, show_progress_bar=False)
    out = []
    for ex, emb in zip(examples, tokens):
        emb = emb.cpu().numpy()
        enc = model.tokenizer(ex.passage, return_offsets_mapping=True, truncation=True, max_length=model.max_seq_length)
        offsets = enc["offset_mapping"][: len(emb)]
        rows = np.zeros((len(ex.spans), emb.shape[1]), dtype=np.float32)
        for j, (s, e) in enumerate(ex.spans):
            at = [i for i, (a, b) in enumerate(offsets) if b > a and s <= a < e]
            if at:
                v = emb[at].mean(axis=0)
                rows[j] = v / (np.linalg.norm(v) or 1.0)
        out.append(rows)
    return out


def _static(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Mean of the model's input word-piece embeddings: no transformer layer runs."""
    table = embedder.model[0].auto_model.embeddings.word_embeddings.weight.detach().numpy()
    out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
    for i, ids in enumerate(embedder.model.tokenizer(texts, add_special_tokens=False)["input_ids"]):
        if ids:
            v = table[ids].mean(axis=0)
            out[i] = v / (np.linalg.norm(v) or 1.0)
    return out


def method_scores(embedder: Embedder, examples: list[Example], corpus: list[str]) -> dict[str, list[np.ndarray]]:
    texts = _sentences(examples)
    queries = embedder.encode_queries([ex.query for ex in examples])
    at_query = _split(embedder.encode_queries(texts), examples)  # as a search embeds them when the build has none
    built = _split(embed_by_length(embedder, None, texts), examples)  # as a build stores them
    reference = _split(embedder.encode(texts), examples)  # sentence-transformers, as a build embeds passages
    lex = [np.array(lexical_sentence_scores(ex.query, ex.passage, ex.spans)) for ex in examples]
    idf = _idf(corpus)
    int8 = [ints.astype(np.float32) * scales[:, None] for ints, scales in (quantize(m) for m in built)]
    pooled = _pooled(embedder, examples)
    static_q, static_s = _static(embedder, [ex.query for ex in examples]), _split(_static(embedder, texts), examples)
    w = LEXICAL_WEIGHT
    return {
        "a  query-time vectors + 0.3 overlap": [m @ q + w * x for m, q, x in zip(at_query, queries, lex)],
        "a' query-time vectors alone": [m @ q for m, q in zip(at_query, queries)],
        "b  stored float32 + 0.3 overlap": [m @ q + w * x for m, q, x in zip(built, queries, lex)],
        "b  stored int8 + 0.3 overlap (chosen)": [m @ q + w * x for m, q, x in zip(int8, queries, lex)],
        "b' stored, sentence-transformers vectors": [m @ q + w * x for m, q, x in zip(reference, queries, lex)],
        "c  term overlap": lex,
        "c  BM25 per sentence": [_bm25(ex, idf) for ex in examples],
        "c  IDF-weighted overlap": [_idf_overlap(ex, idf) for ex in examples],
        "d  pooled from the passage + 0.3 overlap": [m @ q + w * x for m, q, x in zip(pooled, queries, lex)],
        "d  static word pieces + 0.3 overlap": [m @ q + w * x for m, q, x in zip(static_s, static_q, lex)],
    }


def picks(scores: list[np.ndarray]) -> list[int | None]:
    """The sentence each example's highlight is (None: no highlight), as best_sentences picks it."""
    return [int(np.argsort(-sc, kind="stable")[0]) if np.any(sc > 0) else None for sc in scores]


def hit_rate(examples: list[Example], scores: list[np.ndarray]) -> float:
    return sum(p is not None and p in ex.gold for ex, p in zip(examples, picks(scores))) / len(examples)


# --- the service: stored against query-time highlights, and what each costs ------------------------------------
class CountingEmbedder(Embedder):
    """Counts what a search asks the model for."""

    calls = texts = 0

    def encode_queries(self, texts):
        CountingEmbedder.calls, CountingEmbedder.texts = self.calls + 1, self.texts + len(texts)
        return super().encode_queries(texts)

    def encode(self, texts, progress=None):
        CountingEmbedder.calls, CountingEmbedder.texts = self.calls + 1, self.texts + len(texts)
        return super().encode(texts, progress)


def build(data_dir: Path, sources: list[Path], embedder: Embedder) -> tuple[SearchService, dict]:
    """A service on a fresh build of `sources` (the data dir's embedding cache kept) and each stage's seconds."""
    shutil.rmtree(data_dir / "builds", ignore_errors=True)  # a complete build each run, its stages timed
    (data_dir / "CURRENT").unlink(missing_ok=True)  # (the embedding cache and the ONNX export are kept)
    service = SearchService(Settings(data_dir=data_dir), embedder)
    marks: dict[str, list[float]] = {}
    service.rebuild(
        [str(s) for s in sources], progress=lambda s, *_: marks.setdefault(s, []).append(time.perf_counter())
    )
    return service, {stage: t[-1] - t[0] for stage, t in marks.items()}


def service_figures(service: SearchService, queries: list[str]) -> dict:
    index = service._current()
    spent: list[float] = []
    highlight = service._highlight

    def timed(*args):
        t0 = time.perf_counter()
        highlight(*args)
        spent.append(time.perf_counter() - t0)

    service._highlight = timed
    out: dict = {}
    stored_sentences = index.sentences
    pages = {}
    for label, stored, cache in [
        ("query-time, cache empty", False, False),
        ("query-time, cache warm", False, True),
        ("stored vectors", True, True),
    ]:
        index.sentences = stored_sentences if stored else None
        if cache:
            service.__dict__.pop("_sentence_cache", None)
        else:
            service._sentence_cache = lambda: None  # every sentence embedded, as the first time it is shown
        for limit in (5, 10):
            if cache and not stored:
                for q in queries:  # fill the cache: the timed run is the second showing
                    service.search(q, limit)
            spent.clear()
            before = (CountingEmbedder.calls, CountingEmbedder.texts)
            shown = [service.search(q, limit) for q in queries]
            calls = (CountingEmbedder.calls - before[0], CountingEmbedder.texts - before[1])
            out[(label, limit)] = (
                statistics.median(spent) * 1000,
                max(spent) * 1000,
                calls[0] / len(queries),
                (calls[1] - len(queries)) / len(queries),
            )
            pages[(stored, limit)] = [[r.passage[s:e] for s, e in r.highlights] for rs in shown for r in rs]
    index.sentences = stored_sentences
    service._highlight = highlight
    same = sum(a == b for a, b in zip(pages[(False, 10)], pages[(True, 10)]))
    out["same"] = (same, len(pages[(True, 10)]))
    return out


def build_figures(service: SearchService, embedder: Embedder, stages: dict) -> dict:
    index = service._current()
    path = index.path
    texts = passage_texts(service)
    counts = [len(sentence_spans(t)) for t in texts]
    sample = texts[:: max(1, len(texts) // COST_PASSAGES)][:COST_PASSAGES]
    sentences = [t[s:e] for t in sample for s, e in sentence_spans(t) if len(sentence_spans(t)) > 1]
    distinct = sorted(set(sentences), key=len)
    timings = []  # ms a passage: the passages (as a build embeds them), their sentences as stored, and by ST
    for run in (
        lambda: embedder.encode(sample),
        lambda: embed_by_length(embedder, None, distinct),
        lambda: embedder.encode(distinct),
    ):
        t0 = time.perf_counter()
        run()
        timings.append((time.perf_counter() - t0) / len(sample) * 1000)
    return {
        "passages": len(texts),
        "per passage": (statistics.mean(counts), statistics.median(counts), max(counts)),
        "distinct share": len(set(sentences)) / max(len(sentences), 1),
        "embed ms/passage": timings,
        "bytes": {name: (path / name).stat().st_size for name in (VECTORS_FILE, SENTENCES_FILE, DB_FILE)},
        "stages": stages,
    }


def mail_figures(mail: Path, embedder: Embedder) -> dict:
    from embeddings.ingest import ingest
    from embeddings.passages import Chunker, make_passages

    threads = ingest([str(mail)]).threads
    passages = make_passages(threads, Chunker(embedder.count_tokens, 200, 1), [], drop_quoted=True)
    counts = [len(sentence_spans(p.text)) for p in passages]
    multi = [c for c in counts if c > 1]
    return {
        "passages": len(passages),
        "per passage": (statistics.mean(counts), statistics.median(counts), max(counts)),
        "stored per passage": sum(multi) / len(passages),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cqa", type=Path, default=DEFAULT_CQA)
    p.add_argument("--mail", type=Path, default=DEFAULT_MAIL)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    args = p.parse_args(argv)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.data_dir == DEFAULT_DATA and not (args.data_dir / ".gitignore").exists():
        (args.data_dir / ".gitignore").write_text("*\n")
    embedder = CountingEmbedder(Settings().model)
    embedder.count_tokens(["warm up"])  # the model loaded outside every timing
    seed_queries = [
        json.loads(line)["query"] for line in (ROOT / "samples/seed_dev_queries.jsonl").open() if line.strip()
    ]

    sample, sample_stages = build(args.data_dir / "highlight-sample", [ROOT / "samples" / "vbulletin"], embedder)
    seed, seed_corpus = seed_examples(sample)
    sets = {"seed": (seed, seed_corpus), "tests": (unit_test_examples(), seed_corpus)}
    services = {"sample thread, seed questions": (sample, seed_queries, sample_stages)}
    xml = args.cqa / "cqa-ql-dev15.xml"
    if xml.is_file():
        from semeval_cqa import convert

        for which in ("orgq", "relq"):
            sets[f"cqa-{which}"] = cqa_examples(xml, which)
        questions, rows = convert(xml)
        jsonl = args.data_dir / "highlight-cqa.jsonl"
        jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        cqa, cqa_stages = build(args.data_dir / "highlight-cqa", [jsonl], embedder)
        services["SemEval dev, original questions"] = (cqa, [q.query[:2000] for q in questions], cqa_stages)
    else:
        print(f"(SemEval CQA dev not found at {args.cqa}: its rows are skipped)")

    print("Highlight hit rate: the picked sentence is a gold one (examples per set in brackets)")
    table = {name: method_scores(embedder, ex, corpus) for name, (ex, corpus) in sets.items()}
    methods = list(next(iter(table.values())))
    print(f"{'method':44}" + "".join(f"{f'{n} ({len(sets[n][0])})':>16}" for n in sets))
    for m in methods:
        print(f"{m:44}" + "".join(f"{hit_rate(sets[n][0], table[n][m]):>16.3f}" for n in sets))
    rand = [statistics.mean(len(ex.gold) / len(ex.spans) for ex in sets[n][0]) for n in sets]
    print(f"{'random (share of gold sentences)':44}" + "".join(f"{r:>16.3f}" for r in rand))
    chosen, at_query = methods[3], methods[0]
    same = sum(a == b for n in sets for a, b in zip(picks(table[n][chosen]), picks(table[n][at_query])))
    total = sum(len(ex) for ex, _ in sets.values())
    print(f"stored int8 vectors pick the sentence query-time vectors pick in {same} of {total} examples")

    for label, (service, queries, stages) in services.items():
        print(
            f"\n{label} ({len(queries)} queries, hybrid): highlight cost per query, ms (median / max), "
            "encoder calls and sentences embedded per search"
        )
        figures = service_figures(service, queries)
        for (name, limit), (p50, worst, calls, texts) in ((k, v) for k, v in figures.items() if k != "same"):
            print(
                f"  {name:26} page of {limit:2}: {p50:7.2f} / {worst:7.2f} ms   {calls:.1f} calls, {texts:5.1f} sentences"
            )
        same, total = figures["same"]
        print(f"  the same highlight with stored vectors as with query-time ones: {same} of {total} results")
        b = build_figures(service, embedder, stages)
        mean, median, most = b["per passage"]
        print(
            f"  build: {b['passages']} passages, sentences per passage mean {mean:.1f} / median {median:.0f} / "
            f"max {most}; distinct {b['distinct share']:.0%} of them"
        )
        passage_ms, sentence_ms, reference_ms = b["embed ms/passage"]
        print(
            f"  embedding up to {COST_PASSAGES} passages without the cache: {passage_ms:.1f} ms a passage (as a "
            f"build does), its sentences {sentence_ms:.1f} ms as stored (embedding time +{sentence_ms / passage_ms:.0%}), "
            f"{reference_ms:.1f} ms by sentence-transformers"
        )
        print("  files: " + ", ".join(f"{n} {v / 1024:.0f} KiB" for n, v in b["bytes"].items()))
        print(
            "  this build's stages (s, the cache as it was): "
            + ", ".join(f"{s} {v:.1f}" for s, v in b["stages"].items())
        )
        service.close()
    if args.mail.is_file():
        m = mail_figures(args.mail, embedder)
        mean, median, most = m["per passage"]
        print(
            f"\nmail ({args.mail.name}, not embedded): {m['passages']} passages, sentences per passage mean "
            f"{mean:.1f} / median {median:.0f} / max {most}; stored (passages of 2+ sentences) "
            f"{m['stored per passage']:.1f} a passage ≈ {m['stored per passage'] * (embedder.dimension + 12):.0f} "
            "bytes a passage in sentences.sqlite"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
