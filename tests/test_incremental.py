"""Incremental builds on real mail (the real model, FAISS and SQLite): a build that adds later posts to the live
index gives what a full build of the same sources gives; an unchanged source is no build; anything else is a
full build that says why; a source that is gone stops the build until it is pruned or removed."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import faiss
import numpy as np
import pytest

from embeddings.errors import UsageError
from embeddings.index.datadir import DataDir
from embeddings.index.places import COLUMNS as PLACE_COLUMNS
from embeddings.ingest.mbox import split_mbox
from embeddings.quotes.resume import STATE_DIR
from embeddings.service import SearchService

from .conftest import DATA, make_settings, run_cli

PARTS = [DATA / "pipermail" / "2019q4-part1.txt", DATA / "pipermail" / "2019q4-part2.txt"]
QUERIES = ["compactPDF ghostscript reduce the size of the PDF", "CRAN incoming feasibility", "wget cmake missing"]


@pytest.fixture(scope="module")
def mail(tmp_path_factory) -> Path:
    """A folder of three mbox files, each message later than those of the file before: part 1 of the excerpt,
    then part 2 cut in two (a thread of part 1 goes on in both)."""
    folder = tmp_path_factory.mktemp("mail")
    shutil.copy(PARTS[0], folder / "a.txt")
    data = PARTS[1].read_bytes()
    raws, _ = split_mbox(data)
    lines = data.split(b"\n")
    cut = raws[len(raws) // 2].line - 1
    (folder / "b.txt").write_bytes(b"\n".join(lines[:cut]) + b"\n")
    (folder / "c.txt").write_bytes(b"\n".join(lines[cut:]))
    return folder


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory, embedder, mail, sample_service) -> Path:
    """An embedding cache holding every passage and sentence of the three files."""
    data = tmp_path_factory.mktemp("warm") / "data"
    service = SearchService(make_settings(data), embedder)
    service.rebuild([str(mail / name) for name in ("a.txt", "b.txt", "c.txt")])
    service.close()
    return data / "cache.sqlite"


def _service(root: Path, embedder, cache: Path, **overrides) -> SearchService:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(cache, root / "cache.sqlite")
    return SearchService(make_settings(root, **overrides), embedder)


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder, mail, warm_cache):
    """(a.txt, then b.txt added, then c.txt added; the three in one full build), each a service and its reports."""
    root = tmp_path_factory.mktemp("built")
    steps = _service(root / "steps", embedder, warm_cache)
    reports = [steps.rebuild([str(mail / "a.txt")])]
    reports.append(steps.rebuild([str(mail / "b.txt")], add=True))
    reports.append(steps.rebuild([str(mail / "c.txt")], add=True))
    whole = _service(root / "whole", embedder, warm_cache)
    whole_report = whole.rebuild([str(mail / name) for name in ("a.txt", "b.txt", "c.txt")])
    yield steps, reports, whole, whole_report
    steps.close()
    whole.close()


def _tables(build: Path) -> dict:
    """Every row of every table of the build's SQLite files (FTS5's own tables aside), in a fixed order."""
    out = {}
    for name in sorted(p.name for p in build.glob("*.sqlite")):
        db = sqlite3.connect(build / name)
        try:
            tables = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name NOT LIKE 'passages_fts%'"
            ).fetchall()
            for (table,) in tables:
                out[f"{name}:{table}"] = sorted(map(repr, db.execute(f"SELECT * FROM {table}")))
        finally:
            db.close()
    return out


def _vectors(build: Path) -> tuple[np.ndarray, np.ndarray]:
    index = faiss.read_index(str(build / "vectors.faiss"))
    inner = faiss.downcast_index(index.index)
    return faiss.vector_to_array(index.id_map), inner.reconstruct_n(0, inner.ntotal)


def _answers(service: SearchService) -> list:
    return [
        [
            (r.post_id, r.passage_start, r.passage_end, round(r.score, 5), r.highlights)
            for r in service.search(q, 8, mode=m)
        ]
        for q in QUERIES
        for m in ("dense", "lexical", "hybrid")
    ]


def test_later_mail_is_added_and_the_index_is_the_one_a_full_build_makes(built):
    steps, reports, whole, whole_report = built
    assert [r.kind for r in reports] == ["full", "incremental", "incremental"]
    assert [r.new_posts for r in reports] == [21, 5, 5] and reports[-1].posts == whole_report.posts == 31
    added = reports[1].passages - reports[0].passages
    assert added > 0 and reports[1].embedded == 0 and reports[1].cached == added  # the cache has every new vector
    assert (reports[-1].passages, reports[-1].quotes) == (whole_report.passages, whole_report.quotes)
    mine, theirs = steps.data.current_path(), whole.data.current_path()
    assert DataDir(steps.data.root).read_manifest()["parent"] == reports[1].build_id

    tables, full_tables = _tables(mine), _tables(theirs)
    assert tables.keys() == full_tables.keys() and "index.sqlite:postings" in tables
    db = sqlite3.connect(mine / "index.sqlite")  # the thread places are among the columns compared
    try:
        assert {r[0] for r in db.execute("SELECT name FROM passage_columns")} >= {"post", *PLACE_COLUMNS}
        assert db.execute("SELECT COUNT(*) FROM passage_sets WHERE kind = 'title'").fetchone()[0] > 0
    finally:
        db.close()
    for table in tables:
        assert tables[table] == full_tables[table], table
    ids, vectors = _vectors(mine)
    full_ids, full_vectors = _vectors(theirs)
    assert np.array_equal(ids, full_ids) and np.array_equal(vectors, full_vectors)

    assert steps.quotes() == whole.quotes()
    read_from = {row["post_id"]: Path(row["source"]).name for row in steps.export()}
    assert any(
        read_from[q.quoting_post_id] == "c.txt" and read_from[q.source_post_id] == "a.txt" for q in steps.quotes()
    )
    assert _answers(steps) == _answers(whole)
    assert [t.post_count for t in steps.threads()] == [t.post_count for t in whole.threads()]
    # a segment per build that read posts, the two incremental ones (alike in size) merged into one
    segments = sorted(p.name for p in (mine / STATE_DIR).iterdir())
    assert segments == steps.data.read_manifest()["quote_state"] == ["0000", "0003"]


def test_unchanged_sources_are_no_build_and_the_next_addition_still_fits(built, mail, tmp_path, capsys):
    steps, reports, _, _ = built
    data = steps.settings.data_dir
    code, out, _ = run_cli(capsys, "--data-dir", data, "index", "-q")
    assert code == 0 and out.startswith(f"up to date: no source changed since build {reports[-1].build_id}")
    os.utime(mail / "a.txt", ns=(1, 1))  # a new modification time, the same bytes
    assert steps.rebuild().kind == "up to date"
    code, out, _ = run_cli(capsys, "--data-dir", data, "index", "-q", "--json")
    assert json.loads(out)["kind"] == "up to date"


def test_a_new_post_older_than_the_index_makes_a_full_build_that_says_why(tmp_path, embedder, mail, warm_cache):
    service = _service(tmp_path / "data", embedder, warm_cache)
    assert service.rebuild([str(mail / "c.txt")]).kind == "full"
    report = service.rebuild([str(mail / "a.txt")], add=True)
    assert report.kind == "full" and report.posts == 26 and "is not later than the newest indexed post" in report.note
    assert report.embedded == 0


def test_a_changed_post_makes_a_full_build(tmp_path, embedder, mail, warm_cache, capsys):
    source = tmp_path / "a.txt"
    shutil.copy(mail / "a.txt", source)
    service = _service(tmp_path / "data", embedder, warm_cache)
    service.rebuild([str(source)])
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("compactPDF", "compactPdf", 1), encoding="utf-8")
    code, out, _ = run_cli(capsys, "--data-dir", service.settings.data_dir, "index", "-q")
    assert code == 0 and out.startswith("indexed 3 threads, 21 posts")
    # the word is in the thread's subject: every post of the thread reads differently
    assert f"full build: 8 indexed posts have changed (the first: {source}:1, its thread title)" in out


def test_damaged_saved_state_makes_a_full_build(tmp_path, embedder, mail, warm_cache):
    service = _service(tmp_path / "data", embedder, warm_cache)
    service.rebuild([str(mail / "a.txt")])
    (service.data.current_path() / STATE_DIR / "0000" / "meta.json").write_text("{ damaged")
    report = service.rebuild([str(mail / "b.txt")], add=True)
    assert report.kind == "full" and "saved quote state" in report.note and report.posts == 26
    assert service.rebuild([str(mail / "c.txt")], add=True).kind == "incremental"  # the full build saved it anew


def test_a_gone_source_stops_the_build_until_pruned_or_removed(tmp_path, embedder, mail, warm_cache, capsys):
    folder = tmp_path / "src"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        shutil.copy(mail / name, folder / name)
    service = _service(tmp_path / "data", embedder, warm_cache)
    data = service.settings.data_dir
    service.rebuild([str(folder / "a.txt"), str(folder / "b.txt"), str(folder / "c.txt")])
    live = service.data.current_build()

    (folder / "b.txt").unlink()
    code, _, err = run_cli(capsys, "--data-dir", data, "index", "-q")
    assert code == 2 and f"a source of the index is gone: {folder / 'b.txt'}" in err and "--prune" in err
    assert service.data.current_build() == live and service.stats().posts == 31
    code, out, _ = run_cli(capsys, "--data-dir", data, "index", "-q", "--prune")
    assert code == 0 and out.startswith("indexed 4 threads, 26 posts") and "no longer in the sources" in out
    assert service.stats().sources == [str(folder / "a.txt"), str(folder / "c.txt")]

    code, out, _ = run_cli(capsys, "--data-dir", data, "remove", "-q", folder / "c.txt")
    assert code == 0 and out.startswith("indexed 3 threads, 21 posts")
    assert service.stats().sources == [str(folder / "a.txt")]
    for target, says in [
        (folder / "a.txt", "removing every source would leave nothing to index"),
        (folder / "nothing.txt", "is not a source of the index"),
    ]:
        code, _, err = run_cli(capsys, "--data-dir", data, "remove", target)
        assert code == 2 and says in err and "Traceback" not in err


def test_remove_refuses_a_file_of_a_source_folder_and_a_configured_source(tmp_path, embedder, mail, warm_cache):
    folder = tmp_path / "src"
    folder.mkdir()
    shutil.copy(mail / "a.txt", folder / "a.txt")
    other = tmp_path / "c.txt"
    shutil.copy(mail / "c.txt", other)
    service = _service(tmp_path / "data", embedder, warm_cache, sources=[str(folder)])
    service.rebuild([str(folder), str(other)])
    with pytest.raises(UsageError, match="read as part of the source"):
        service.remove([str(folder / "a.txt")])
    with pytest.raises(UsageError, match="configured `sources`"):
        service.remove([str(folder)])
    assert service.remove([str(other)]).posts == 21


def test_an_unchanged_index_that_is_damaged_is_rebuilt(tmp_path, embedder, mail, warm_cache):
    service = _service(tmp_path / "data", embedder, warm_cache)
    service.rebuild([str(mail / "a.txt")])
    (service.data.current_path() / "vectors.faiss").write_bytes(b"not a vector index")
    report = service.rebuild()
    assert report.kind == "full" and "does not load" in report.note and report.posts == 21
    assert service.search("compactPDF", 1, mode="dense")
