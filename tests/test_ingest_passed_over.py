"""A `.txt` file found in a folder whose content is no archive (a README, a SOURCE.txt beside the archive) is
passed over with a warning; one named on the command line, and a walked one that looks like an archive, are
still reported as bad input."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.ingest import ingest
from embeddings.ingest.discovery import not_an_archive

from .conftest import DATA, run_cli

PIPERMAIL = DATA / "pipermail" / "2019q1-excerpt.txt"  # 3 messages, read without errors or warnings
PROSE = "What: notes on this archive\nWho: whoever copied it\n\nThe files beside this one are the archive.\n"


def _folder(root: Path, name: str = "SOURCE.txt", content: str | bytes = PROSE) -> Path:
    folder = root / "archive"
    folder.mkdir(exist_ok=True)
    shutil.copy(PIPERMAIL, folder / PIPERMAIL.name)
    (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("SOURCE.txt", PROSE, "plain text with no post"),
        ("README.TEXT", "just some notes\nwith no posts\n", "plain text with no post"),
        ("notes.txt", "Café notes, nothing more\n".encode("cp1252"), "plain text with no post"),
        ("blob.txt", b"\x00\x01\x02 binary", "binary data"),
        ("empty.txt", "  \n", "empty"),
    ],
)
def test_a_walked_text_file_that_is_no_archive_is_passed_over_with_a_warning(tmp_path, name, content, what):
    folder = _folder(tmp_path, name, content)
    # a forced format passes it over too, as no reader takes it (blank text is an empty mailbox: nothing to say)
    for fmt in ("auto",) if what == "empty" else ("auto", "mbox"):
        result = ingest([folder], fmt=fmt)
        assert result.posts == 3 and result.errors == []
        # only the one warning: not also the cp1252 fallback of a file that is not read
        assert result.warnings == [f"passed over {folder / name}: not an archive ({what})"]


def test_a_named_text_file_that_is_no_archive_is_still_an_error(tmp_path):
    folder = _folder(tmp_path)
    result = ingest([folder / PIPERMAIL.name, folder / "SOURCE.txt"])
    (error,) = result.errors
    assert error.path == str(folder / "SOURCE.txt") and "starts with header lines but not those of mail" in str(error)
    assert result.posts == 3 and not result.warnings


def test_a_walked_text_file_that_looks_like_a_vbulletin_page_is_still_reported(tmp_path):
    folder = _folder(tmp_path, "thread.txt", "alice\n15th Febtember 2009, 14:32\nhello there\n")
    result = ingest([folder])
    f = folder / "thread.txt"
    assert [str(e) for e in result.errors] == [
        f"{f}:2: unknown month 'Febtember' in date '15th Febtember 2009, 14:32'; post skipped",
        f"{f}: no post with a readable date",
    ]
    assert result.warnings == []


def test_copies_of_a_readme_are_each_passed_over_not_reported_as_copies(tmp_path):
    folder = _folder(tmp_path)
    (folder / "old").mkdir()
    shutil.copy(folder / "SOURCE.txt", folder / "old" / "SOURCE.txt")
    result = ingest([folder])
    assert result.errors == [] and result.posts == 3
    assert result.warnings == [
        f"passed over {folder / 'SOURCE.txt'}: not an archive (plain text with no post)",
        f"passed over {folder / 'old' / 'SOURCE.txt'}: not an archive (plain text with no post)",
    ]


def test_index_of_a_folder_with_a_readme_exits_0_and_says_what_it_passed_over(
    tmp_path, sample_service, shared_cache, capsys, caplog
):
    folder = _folder(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(shared_cache, data / "cache.sqlite")
    code, out, err = run_cli(capsys, "--data-dir", data, "index", "-q", folder)
    assert code == 0 and out.startswith("indexed 1 threads, 3 posts")
    assert "skipped" not in err and "not indexed" not in err
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == [f"passed over {folder / 'SOURCE.txt'}: not an archive (plain text with no post)"]
    # named on the command line, the same file is bad input: exit 1, with what it looked like
    code, _, err = run_cli(
        capsys, "--data-dir", data, "index", "-q", "--replace", folder / PIPERMAIL.name, folder / "SOURCE.txt"
    )
    assert code == 1 and f"skipped: {folder / 'SOURCE.txt'}: starts with header lines" in err
    assert "1 record(s) or file(s) skipped, not indexed (see above)" in err


NOTES = st.one_of(
    st.binary(max_size=200),
    st.tuples(
        st.sampled_from(["", "From a@x  Mon Jan  1 10:00:00 2019\n", '{"body": "x"}\n', "alice\n15th August 2009, "]),
        st.text(max_size=200),
    ).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
)


@settings(max_examples=60, deadline=None)
@given(content=NOTES)
def test_a_walked_text_file_is_read_reported_or_passed_over_and_only_when_no_archive(content):
    with tempfile.TemporaryDirectory() as tmp:
        folder = _folder(Path(tmp), "notes.txt", content)
        notes = folder / "notes.txt"
        result = ingest([folder])
        passed_over = [w for w in result.warnings if w.startswith(f"passed over {notes}: ")]
        reported = [e for e in result.errors if e.path == str(notes)]
        assert result.posts >= 3  # the archive beside it is always read
        assert len(passed_over) <= 1
        if passed_over:
            assert not reported and not_an_archive(content) is not None
            assert passed_over[0].endswith(f"not an archive ({not_an_archive(content)})")
        if not_an_archive(content) is None:
            assert not passed_over
        named = ingest([notes])  # named, it is never passed over
        assert not any(w.startswith("passed over") for w in named.warnings)
