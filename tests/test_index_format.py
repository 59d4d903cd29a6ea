"""`index --format` is kept in the manifest: a rebuild that reads the recorded sources again (`index` with no
PATH, PATHs added to them, the bot's /reindex) reads them the same way, unless told otherwise."""

from __future__ import annotations

import json
import shutil

from embeddings.index.datadir import DataDir

from .conftest import DATA, run_cli
from .test_ingest_mail import message

PIPERMAIL = DATA / "pipermail" / "2019q1-excerpt.txt"


def _unsniffed_mbox(folder, name: str, text: str):
    """An mbox with a note before its first message and no extension: read by content, it is found to be no
    archive and passed over; `--format mbox` reads it."""
    folder.mkdir()
    (folder / name).write_text(f"Archive of the R-package-devel list, kept by hand\n\n{text}", encoding="utf-8")
    return folder


def _data_dir(tmp_path, shared_cache):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(shared_cache, data / "cache.sqlite")
    return data


def _recorded(data) -> str:
    return DataDir(data).read_manifest()["format"]


def test_a_forced_format_is_used_again_when_the_recorded_sources_are_read(
    tmp_path, sample_service, shared_cache, capsys
):
    data = _data_dir(tmp_path, shared_cache)
    archive = _unsniffed_mbox(tmp_path / "list", "2019q1", PIPERMAIL.read_text(encoding="utf-8"))
    code, out, _ = run_cli(capsys, "--data-dir", data, "index", "-q", "--format", "mbox", archive)
    assert code == 0 and out.startswith("indexed 1 threads, 3 posts") and _recorded(data) == "mbox"

    # no PATH: the recorded sources, read as they were (unchanged: no build), and the CLI says so
    code, out, err = run_cli(capsys, "--data-dir", data, "index", "-q")
    assert code == 0 and out.startswith("up to date") and "1 threads, 3 posts" in out and _recorded(data) == "mbox"
    assert "threadbot: reading every file as mbox, as the current index was read (--format auto: by content)" in err

    # PATHs added to the recorded sources: all read as they were
    later = _unsniffed_mbox(tmp_path / "later", "2019q2", message("later@x", body="A later question on CRAN."))
    code, out, _ = run_cli(capsys, "--data-dir", data, "index", "-q", later)
    assert code == 0 and "2 threads, 4 posts" in out and _recorded(data) == "mbox"

    # an explicit --format wins: by content, neither file is an archive, and the live index stays as it is
    code, _, err = run_cli(capsys, "--data-dir", data, "index", "-q", "--format", "auto")
    assert code == 65 and "nothing to index" in err and "reading every file as" not in err
    assert _recorded(data) == "mbox"

    # PATHs replacing the sources are new sources: read by content unless --format is given
    code, _, err = run_cli(capsys, "--data-dir", data, "index", "-q", "--replace", archive)
    assert code == 65 and "reading every file as" not in err
    code, out, _ = run_cli(capsys, "--data-dir", data, "index", "-q", "--replace", "--format", "auto", PIPERMAIL)
    assert code == 0 and _recorded(data) == "auto"
    code, out, err = run_cli(capsys, "--data-dir", data, "index", "-q", "--full")
    assert code == 0 and out.startswith("indexed 1 threads, 3 posts") and err == ""


def test_reindex_reads_as_the_index_was_read(tmp_path, fresh_service):
    service = fresh_service()
    archive = _unsniffed_mbox(tmp_path / "list", "2019q1", PIPERMAIL.read_text(encoding="utf-8"))
    assert service.rebuild([str(archive)], fmt="mbox").posts == 3
    # what the bot's /reindex calls: no sources, no format
    assert service.rebuild(progress=lambda *_: None, started_by="admin").posts == 3
    assert service.data.read_manifest()["format"] == "mbox"


def test_a_recorded_format_that_is_not_one_is_read_by_content(fresh_service):
    service = fresh_service()
    assert service.effective_format() == "auto"  # no index yet
    service.rebuild([str(PIPERMAIL)], fmt="mbox")
    manifest_path = service.data.current_path() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for recorded, used in [("news", "news"), ("mailbox", "auto"), (["mbox"], "auto"), (None, "auto")]:
        manifest_path.write_text(json.dumps({**manifest, "format": recorded}))
        assert service.effective_format() == used
        assert service.effective_format("jsonl") == "jsonl"  # given, it wins
        assert service.effective_format(None, [str(PIPERMAIL)], add=True) == used  # added to the recorded sources
        assert service.effective_format(None, [str(PIPERMAIL)], add=False) == "auto"  # replacing them
    manifest_path.write_text("{ damaged")
    assert service.effective_format() == "auto"
