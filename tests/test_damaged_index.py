"""A damaged data directory: one-line errors naming the file, `check` says what is wrong, a rebuild repairs.

Every case damages a real build the way a disk, an editor or a crash would, then asks as a user would.
"""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from embeddings import IndexDamagedError, SearchService
from threadbot.cli import main

from .conftest import SAMPLE_DIR


def _truncate_vectors(build):
    path = build / "vectors.faiss"
    path.write_bytes(path.read_bytes()[:1000])


def _garbage_store(build):
    (build / "index.sqlite").write_bytes(b"this is not a database\n" * 200)


def _manifest_not_json(build):
    (build / "manifest.json").write_text("{ not json")


def _manifest_not_an_object(build):
    (build / "manifest.json").write_text("[1, 2, 3]")


def _store_missing(build):
    (build / "index.sqlite").unlink()


def _garbage_sentences(build):
    (build / "sentences.sqlite").write_bytes(b"this is not a database\n" * 200)


def _vectors_of_another_build(build):
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["counts"]["passages"] += 5
    (build / "manifest.json").write_text(json.dumps(manifest))


DAMAGE = {
    "truncated vectors.faiss": (_truncate_vectors, "vectors.faiss"),
    "garbage index.sqlite": (_garbage_store, "index.sqlite"),
    "manifest not JSON": (_manifest_not_json, "manifest.json"),
    "manifest not an object": (_manifest_not_an_object, "manifest.json"),
    "index.sqlite missing": (_store_missing, "index.sqlite"),
    "garbage sentences.sqlite": (_garbage_sentences, "sentences.sqlite"),
    "counts disagree": (_vectors_of_another_build, "the manifest says"),
}


@pytest.fixture
def built(fresh_service):
    service = fresh_service()
    service.rebuild([str(SAMPLE_DIR)])
    return service


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damage_is_a_one_line_error_and_a_rebuild_repairs_it(built, case, capsys):
    damage, named = DAMAGE[case]
    damage(built.data.current_path())
    data_dir = str(built.settings.data_dir)
    capsys.readouterr()

    assert main(["--data-dir", data_dir, "search", "Ryutin platform"]) == IndexDamagedError.exit_code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "Traceback" not in err

    report = SearchService(built.settings, built.embedder).check()
    assert not report.ok and any(named in p for p in report.problems)
    assert any("index --replace" in fix for fix in report.fixes)

    assert main(["--data-dir", data_dir, "index", "-q", "--replace", str(SAMPLE_DIR)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", data_dir, "search", "Ryutin platform", "--limit", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["author"] == "Ismail"
    assert SearchService(built.settings, built.embedder).check().ok


def test_current_naming_a_missing_build_is_repaired_by_a_rebuild(built, capsys):
    (built.settings.data_dir / "CURRENT").write_text("20990101T000000.000000-1\n")
    data_dir = str(built.settings.data_dir)
    assert main(["--data-dir", data_dir, "stats"]) == IndexDamagedError.exit_code
    assert "CURRENT" in capsys.readouterr().err
    # no PATH and no configured sources: the damaged manifest cannot say what to rebuild from
    assert main(["--data-dir", data_dir, "index", "-q"]) == 2
    assert "no sources" in capsys.readouterr().err
    assert main(["--data-dir", data_dir, "index", "-q", str(SAMPLE_DIR)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", data_dir, "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["posts"] == 11


def test_a_sound_index_checks_clean(built):
    report = built.check()
    assert report.ok and report.build_id == built.data.current_build()
    assert any("keyword index" in c for c in report.checked) and any("vectors" in c for c in report.checked)


def test_check_finds_a_keyword_index_out_of_step_with_the_passages(built):
    db = sqlite3.connect(built.data.current_path() / "index.sqlite")
    db.execute("UPDATE passages SET text = 'something else entirely' WHERE passage_id = 3")
    db.commit()
    db.close()
    report = SearchService(built.settings, built.embedder).check()
    assert any("keyword index" in p for p in report.problems)


def test_check_without_an_index_says_how_to_build_one(fresh_service):
    report = fresh_service().check()
    assert not report.ok and report.fixes == ["threadbot index PATH..."]


def test_a_damaged_cache_is_moved_aside_and_the_build_goes_on(built, caplog):
    cache = built.data.cache_path
    cache.write_bytes(b"garbage, not sqlite" * 100)
    for suffix in ("-wal", "-shm"):
        cache.with_name(cache.name + suffix).unlink(missing_ok=True)
    assert not built.check().ok  # the damaged cache is reported

    report = built.rebuild([str(SAMPLE_DIR)], add=False, full=True)
    assert report.posts == 11 and report.embedded == report.passages  # nothing could be reused
    assert list(cache.parent.glob("cache.sqlite.damaged-*"))
    assert "damaged" in caplog.text
    assert built.rebuild([str(SAMPLE_DIR)], add=False, full=True).embedded == 0  # the new cache serves the next build
    assert built.check().ok


def test_a_busy_cache_does_not_hold_up_a_search(built):
    """Highlights cache their sentence vectors when they can; a cache locked by another writer is skipped."""
    service = SearchService(built.settings, built.embedder)
    blocker = sqlite3.connect(built.data.cache_path, isolation_level=None, timeout=1)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        results = service.search("Who brought up the Dewey Commission inquiry?", 3)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert results and results[0].highlights is not None
    service.close()


def test_a_data_dir_path_with_uri_characters_stays_inside_it(tmp_path, embedder, shared_cache):
    from .conftest import make_settings

    odd = tmp_path / "odd?dir#with%25chars"
    service = SearchService(make_settings(odd, shared_cache), embedder)
    service.rebuild([str(SAMPLE_DIR)])
    assert service.search("Ryutin platform", 1)[0].author == "Ismail"
    assert service.check().ok
    assert [p.name for p in tmp_path.iterdir()] == ["odd?dir#with%25chars"]


def test_two_model_folders_of_the_same_name_get_different_ids(tmp_path):
    """The cache is keyed by model id: two fine-tuned `final` folders must not share vectors."""
    from embeddings.vectors.embedder import bundled_model_path, resolve_model

    bundled = bundled_model_path()
    ids = []
    for run, tweak in (("a", None), ("b", {"note": "fine-tuned further"})):
        folder = tmp_path / "runs" / run / "final"
        folder.mkdir(parents=True)
        for item in bundled.iterdir():
            (folder / item.name).symlink_to(item)
        if tweak:
            config = json.loads((bundled / "config.json").read_text())
            (folder / "config.json").unlink()
            (folder / "config.json").write_text(json.dumps({**config, **tweak}))
        ids.append(resolve_model(str(folder))[0])
    assert ids[0] != ids[1] and all(i.startswith("path:final:") for i in ids)
    assert resolve_model(str(tmp_path / "runs" / "a" / "final"))[0] == ids[0]  # stable for the same content
    # weights retrained in place: same names, same size, other bytes
    folder = tmp_path / "runs" / "c" / "final"
    folder.mkdir(parents=True)
    for item in bundled.iterdir():
        (folder / item.name).symlink_to(item)
    weights = next(p.name for p in bundled.iterdir() if p.suffix in (".safetensors", ".bin"))
    data = bytearray((bundled / weights).read_bytes())
    data[5000:5016] = bytes(b ^ 0xFF for b in data[5000:5016])
    (folder / weights).unlink()
    (folder / weights).write_bytes(bytes(data))
    assert resolve_model(str(folder))[0] not in ids


def test_the_check_command_names_the_problem_and_the_repair(built, capsys):
    data_dir = str(built.settings.data_dir)
    assert main(["--data-dir", data_dir, "check"]) == 0
    assert "everything checked is sound" in capsys.readouterr().out
    _truncate_vectors(built.data.current_path())
    assert main(["--data-dir", data_dir, "check"]) == IndexDamagedError.exit_code
    out = capsys.readouterr().out
    assert "PROBLEM" in out and "vectors.faiss" in out and "index --replace" in out
    assert main(["--data-dir", data_dir, "check", "--json"]) == IndexDamagedError.exit_code
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] and report["build_id"] == built.data.current_build()


def test_a_source_file_name_that_is_not_utf8_is_indexed_and_shown(fresh_service, tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    name = os.fsdecode(b"\xfe-thread.txt")
    (folder / name).write_bytes((SAMPLE_DIR / "on-socialist-methods-and-stalin-era-purges.txt").read_bytes())
    service = fresh_service()
    assert service.rebuild([str(folder)]).posts == 11
    [thread] = service.threads()
    assert thread.source.endswith("\ufffd-thread.txt")
