"""Data for benchmarks/scale.py: real passage vectors and questions, and synthetic archives of any size.

* Real: a threadbot data directory built from the mailing-list archive in ../shared (`threadbot index` of a few
  quarters; the embedding cache makes a rerun cheap): its passages' vectors and texts. Questions: the thread
  subjects of other quarters, embedded with the same model (real questions, never in the index).
* Synthetic vectors (labelled so wherever printed): each is normalise(x_i + beta * x_j + noise) for two random
  real passage vectors x_i, x_j, beta ~ U(0, 0.6), noise N(0, 0.02^2) a dimension: points spread between real
  passages rather than tight copies of them, so a question's neighbours are many distinct vectors.
* Generated text (labelled too): passages of words drawn with the real passages' word frequencies and lengths;
  posts of one passage, threads of 1-20 posts, authors drawn Zipf-like from N/20 names, dates in order over ten
  years. It exercises FTS5 and the postings with a real vocabulary's skew; it says nothing about relevance.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from embeddings.index.datadir import DB_FILE, FORMAT_VERSION, VECTORS_FILE, DataDir  # noqa: E402
from embeddings.index.store import IndexStore, write_store  # noqa: E402
from embeddings.models import Passage, Post, Thread  # noqa: E402
from embeddings.vectors.ann import load_vector_index  # noqa: E402
from embeddings.vectors.tuning import build_vector_index  # noqa: E402

MBOX = ROOT.parent / "shared" / "corpora" / "r-package-devel-mbox"
INDEXED = ("2021q1", "2021q2", "2021q3", "2021q4")  # the real passages
ASKED = ("2019q1", "2019q2", "2019q3")  # whose thread subjects are the questions
_SUBJECT = re.compile(r"^Subject:\s*(.+)$", re.MULTILINE)
_TAG = re.compile(r"^(re|fwd?|aw)\s*:\s*|\[[^\]]*\]\s*", re.IGNORECASE)


def real_data(work: Path) -> tuple[np.ndarray, list[str]]:
    """(vectors, texts) of the real passages, indexing INDEXED quarters into work/real first if needed."""
    data = DataDir(work / "real")
    if data.current_path() is None:
        files = [str(MBOX / f"{q}.txt") for q in INDEXED]
        print(f"indexing {len(files)} quarters of the mailing list into {data.root} (embedding: minutes)...")
        cmd = [sys.executable, "-m", "threadbot", "--data-dir", str(data.root), "index", "-q", *files]
        subprocess.run(cmd, check=True, cwd=ROOT)
    path = data.current_path()
    index = load_vector_index(path / VECTORS_FILE, mmap=False)
    if index.kind != "exact":
        raise SystemExit(f"{path}: the real index must be exact (below ann_threshold) to read its vectors back")
    vectors = np.array(index._vectors((0, len(index))))
    store = IndexStore(path / DB_FILE)
    texts = [r["text"] for r in store.passages_by_ids(index.ids().tolist()).values()]
    store.close()
    return vectors, texts


def questions(embed) -> tuple[np.ndarray, list[str]]:
    """Thread subjects of the ASKED quarters (distinct, at least three words) and their vectors."""
    seen: dict[str, None] = {}
    for quarter in ASKED:
        text = (MBOX / f"{quarter}.txt").read_text(encoding="utf-8", errors="replace")
        for subject in _SUBJECT.findall(text):
            clean = _TAG.sub("", _TAG.sub("", subject.strip())).strip()
            if len(clean.split()) >= 3:
                seen.setdefault(clean, None)
    asked = list(seen)[:300]
    return np.asarray(embed(asked), dtype=np.float32), asked


def synthetic_vectors(real: np.ndarray, n: int, seed: int = 7) -> np.ndarray:
    """n vectors blended from pairs of real ones (see the module's docstring), normalised, float32."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        i, j = rng.integers(0, len(real), m), rng.integers(0, len(real), m)
        block = real[i] + rng.uniform(0, 0.6, (m, 1)).astype(np.float32) * real[j]
        block += rng.normal(0, 0.02, block.shape).astype(np.float32)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def generated_archive(texts: list[str], n: int, seed: int = 11) -> tuple[list[Thread], list[Passage]]:
    """n one-passage posts of generated text (see the module's docstring), in threads, dates in order."""
    rng = np.random.default_rng(seed)
    counts = Counter(w for t in texts for w in t.split())
    vocabulary = np.array(list(counts), dtype=object)  # references: a fixed-width str array would be huge
    p = np.array(list(counts.values()), dtype=np.float64)
    p /= p.sum()
    lengths = np.array([len(t.split()) for t in texts])
    sizes = lengths[rng.integers(0, len(lengths), n)]
    ends = np.cumsum(sizes)
    cumulative = np.cumsum(p)

    block: dict = {}

    def body(i: int) -> str:  # words drawn 100,000 passages at a time
        first = i - i % 100_000
        if block.get("first") != first:
            last = min(n, first + 100_000)
            base = ends[first - 1] if first else 0
            draws = np.searchsorted(cumulative, rng.random(int(ends[last - 1] - base)), side="right")
            block.update(first=first, base=base, words=vocabulary[np.minimum(draws, len(vocabulary) - 1)].tolist())
        lo = (ends[i - 1] if i else 0) - block["base"]
        return " ".join(block["words"][lo : ends[i] - block["base"]])

    authors = [f"author{a:05d}" for a in np.minimum(rng.zipf(1.3, n) - 1, max(1, n // 20) - 1)]
    start, span = datetime(2012, 1, 1), timedelta(days=3650).total_seconds()
    offsets = np.sort(rng.uniform(0, span, n))
    threads, passages, post_no = [], [], 0
    while post_no < n:
        size = min(int(rng.integers(1, 21)), n - post_no)
        thread = Thread(f"t{len(threads):07d}", f"Generated thread {len(threads)}", "generated")
        for k in range(size):
            text = body(post_no)
            when = start + timedelta(seconds=int(offsets[post_no]))
            post = Post(f"p{post_no:08d}", thread.thread_id, k, authors[post_no], when, text, "generated", 1)
            thread.posts.append(post)
            passages.append(Passage(post_no + 1, post.post_id, 0, len(text), text))
            post_no += 1
        threads.append(thread)
    return threads, passages


def build_archive(root: Path, threads, passages, vectors: np.ndarray, threshold: int) -> dict:
    """A data directory serving the generated archive with `vectors`, as a build makes it: store, vector index
    (chosen and tuned by `build_vector_index`), manifest. Returns seconds by stage and the vector index params."""
    import time

    data = DataDir(root)
    root.mkdir(parents=True, exist_ok=True)
    build_id, tmp = data.new_build_dir()
    t0 = time.perf_counter()
    write_store(tmp / DB_FILE, threads, passages, [], [])
    t1 = time.perf_counter()
    index, params = build_vector_index(np.arange(1, len(passages) + 1), vectors, vectors.shape[1], threshold)
    index.save(tmp / VECTORS_FILE)
    t2 = time.perf_counter()
    manifest = {
        "format_version": FORMAT_VERSION,
        "build_id": build_id,
        "model": "synthetic",
        "dimension": int(vectors.shape[1]),
        "counts": {"threads": len(threads), "posts": len(passages), "passages": len(passages), "quotes": 0},
        "vectors": params,
    }
    data.commit_build(build_id, tmp, manifest)
    return {"store_s": round(t1 - t0, 1), "vectors_s": round(t2 - t1, 1), "vectors": params}


def replace_vectors(root: Path, vectors: np.ndarray, threshold: int) -> dict:
    """Rebuild the vector index of an archive made by `build_archive`, in place (a benchmark's scratch archive,
    never a live data directory): the store of a million passages takes many minutes to write again."""
    import json
    import time

    build = DataDir(root).current_path()
    t0 = time.perf_counter()
    index, params = build_vector_index(np.arange(1, len(vectors) + 1), vectors, vectors.shape[1], threshold)
    index.save(build / VECTORS_FILE)
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["vectors"] = params
    (build / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return {"vectors_s": round(time.perf_counter() - t0, 1), "vectors": params}


SENTENCE_POOL = 1 << 16  # int8 sentence vectors a synthetic sentences file draws its rows from


def write_sentences(build: Path, dimension: int, seed: int = 5) -> dict:
    """The build's sentences.sqlite for its passages (index/sentences.py's format), as a build writes it, but
    with SYNTHETIC sentence vectors: rows of int8 drawn from a pool instead of the model (a build of a million
    passages would embed some five million sentences). A highlight then reads a page's rows, as in a real build.
    Records it in the manifest; returns seconds and counts."""
    import json
    import sqlite3
    import time

    from embeddings.index.sentences import CREATE, INSERT_META, INSERT_ROW, SENTENCES_FILE, passage_digest
    from embeddings.passages.sentences import sentence_spans

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    pool = rng.integers(-127, 128, (SENTENCE_POOL, dimension), dtype=np.int8)
    scales = np.full(SENTENCE_POOL, 1 / 127 / np.sqrt(dimension / 3), dtype=np.float32)  # rows of about unit length
    target = build / SENTENCES_FILE
    target.unlink(missing_ok=True)
    db = sqlite3.connect(target)
    store = sqlite3.connect(f"file:{build / DB_FILE}?mode=ro", uri=True)
    rows = sentences = 0
    try:
        db.executescript(CREATE)
        with db:
            db.execute(INSERT_META, ("synthetic", dimension))
        cursor = store.execute("SELECT passage_id, text FROM passages ORDER BY passage_id")
        while batch := cursor.fetchmany(10_000):
            out = []
            for pid, text in batch:
                spans = sentence_spans(text)
                if len(spans) < 2:
                    continue
                at = int(rng.integers(0, SENTENCE_POOL - len(spans)))
                out.append(
                    (
                        pid,
                        passage_digest(text),
                        np.asarray(spans, dtype=np.int32).tobytes(),
                        scales[at : at + len(spans)].tobytes(),
                        pool[at : at + len(spans)].tobytes(),
                    )
                )
                sentences += len(spans)
            rows += len(out)
            with db:
                db.executemany(INSERT_ROW, out)
    finally:
        db.close()
        store.close()
    manifest_file = build / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["sentences"] = {"file": SENTENCES_FILE, "passages": rows, "sentences": sentences, "encoding": "int8"}
    manifest_file.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return {"sentences_s": round(time.perf_counter() - t0, 1), "passages": rows, "sentences": sentences}


def add_thread_cost(root: Path, scratch: Path, posts: int = 20) -> dict:
    """What adding one thread of `posts` one-passage posts costs the store and the vector index of an archive
    made by `build_archive`, done as an incremental build does it (index/append.py: copy the live store, append
    the delta's rows, FTS5 and postings; read the vector index whole, add, save), into `scratch`. Not included:
    parsing, quote detection against the archive and embedding (benchmarks/incremental.py times the whole
    build, with them). Returns seconds per step."""
    import shutil
    import time

    from embeddings.index.append import append_store, append_vectors, copy_store, numbered

    build = DataDir(root).current_path()
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    store = IndexStore(build / DB_FILE)
    passages = store.passage_count()
    last = store.fetch("SELECT MAX(posted_at) FROM posts")[0][0]
    store.close()
    when = datetime.fromisoformat(last.replace("Z", "+00:00")).replace(tzinfo=None) + timedelta(days=1)
    thread = Thread("t-added", "An added thread", "generated")
    new = []
    for k in range(posts):
        text = f"Post {k} of the added thread, about package checks on the build farm and their warnings."
        author = f"author{k % 3:05d}"
        post = Post(f"p-added-{k:02d}", thread.thread_id, k, author, when + timedelta(hours=k), text, "generated", 1)
        thread.posts.append(post)
        new.append(Passage(0, post.post_id, 0, len(text), text))
    timings = {}
    t0 = time.perf_counter()
    highest = copy_store(build / DB_FILE, scratch / DB_FILE, passages)
    timings["copy store"] = time.perf_counter() - t0
    added = current_schema(scratch / DB_FILE)
    if added:
        print(f"  (the archive's store predates the current schema: {', '.join(added)} added to the copy first)")
    t0 = time.perf_counter()
    new = numbered(new, highest + 1)
    append_store(scratch / DB_FILE, [thread], new, [], [])
    timings["append rows, FTS5, postings"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = load_vector_index(build / VECTORS_FILE, mmap=False)
    timings["read vector index"] = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(posts, index.dimension)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    t0 = time.perf_counter()
    append_vectors(index, np.array([p.passage_id for p in new], dtype=np.int64), matrix, scratch / VECTORS_FILE)
    timings["add vectors, save"] = time.perf_counter() - t0
    shutil.rmtree(scratch, ignore_errors=True)
    return timings


def current_schema(path: Path) -> list[str]:
    """Columns the current schema (index/sql.py) has and the store at `path`, written by an earlier version of
    threadbot, lacks, added to it (a benchmark's scratch copy: a real build writes a store of its own version)."""
    import sqlite3

    from embeddings.index.sql import SCHEMA

    fresh, db = sqlite3.connect(":memory:"), sqlite3.connect(path)
    added = []
    try:
        fresh.executescript(SCHEMA)
        tables = [r[0] for r in fresh.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            for _, name, kind, notnull, default, _ in fresh.execute(f"PRAGMA table_info({table})"):
                if have and name not in have:
                    rule = (" NOT NULL" if notnull else "") + (f" DEFAULT {default}" if default is not None else "")
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}{rule}")
                    added.append(f"{table}.{name}")
        db.commit()
    finally:
        fresh.close()
        db.close()
    return added
