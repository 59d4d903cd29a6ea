"""Format detection by content for every format, `--format` to force one, and what an unrecognised file looked
like; the CLI end to end on a mailing-list excerpt."""

from __future__ import annotations

import json
import shutil

import pytest

from embeddings.ingest import FORMATS, ingest
from threadbot.arguments import FORMATS as CLI_FORMATS
from threadbot.arguments import build_parser
from threadbot.cli import main

from .conftest import SAMPLE_FILE
from .test_ingest_mail import NEWS, PIPERMAIL, message, write
from .test_ingest_markdown import CLIPPED

JSONL = '{"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": "2020-01-01", "body": "x"}\n'


def test_the_cli_offers_every_format():
    assert CLI_FORMATS == FORMATS
    assert build_parser().parse_args(["index", "--format", "mbox", "x"]).format == "mbox"
    assert build_parser().parse_args(["index", "x"]).format is None  # as the index was read, else auto
    with pytest.raises(ValueError, match="unknown format"):
        ingest([], fmt="mailbox")


@pytest.mark.parametrize("name", ["threads", "threads.txt", "threads.data"])
def test_every_format_is_recognised_by_content_whatever_its_name(tmp_path, name):
    sources = {
        "mbox": PIPERMAIL.read_bytes(),
        "news": (NEWS / "61368").read_bytes(),
        "markdown": CLIPPED.read_bytes(),
        "vbulletin": SAMPLE_FILE.read_bytes(),
        "jsonl": JSONL.encode(),
    }
    for kind, data in sources.items():
        folder = tmp_path / kind
        folder.mkdir()
        path = write(folder / name, data)
        named = ingest([path])
        assert not named.errors, (kind, named.errors)
        assert named.posts == {"mbox": 3, "news": 1, "markdown": 3, "vbulletin": 11, "jsonl": 1}[kind]
        assert ingest([path], fmt=kind).posts == named.posts
        if name != "threads.data":  # an unknown extension is found in a folder only when named
            assert ingest([folder]).posts == named.posts


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("From nobody at all\nthis is no header\n", "looks like an mbox (a 'From ' line first) but no message had"),
        ("What: a description\nWho: me\n\ntext\n", "starts with header lines but not those of mail or news"),
        ("<!DOCTYPE html>\n<html><body>x</body></html>\n", "looks like an HTML or XML page"),
        ('[{"a": 1}]\n', "looks like a JSON document, not JSON Lines"),
        ("just some notes\nwith no posts\n", "no recognisable post (expected an author line followed by a date"),
    ],
)
def test_an_unrecognised_file_is_reported_with_what_it_looked_like(tmp_path, content, said):
    f = write(tmp_path / "notes.txt", content)
    (error,) = ingest([f]).errors
    assert str(error).startswith(f"{f}: ") and said in str(error)


def test_a_forced_format_that_does_not_fit_says_so(tmp_path):
    (error,) = ingest([SAMPLE_FILE], fmt="mbox").errors
    assert "--format mbox: no 'From ' line followed by mail headers (the file: no recognisable post" in str(error)
    (error,) = ingest([SAMPLE_FILE], fmt="news").errors
    assert "--format news: does not start with article headers" in str(error)


def test_a_forced_format_takes_extensionless_text_files_in_folders(tmp_path):
    write(tmp_path / "odd-start", "\n\n" + message("a@x") + message("b@x"))  # blank lines first: still an mbox
    write(tmp_path / "image", b"\x89PNG\x00\x00")
    assert ingest([tmp_path], fmt="mbox").posts == 2


def test_index_reads_a_mailing_list_end_to_end(tmp_path, sample_service, shared_cache, capsys):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(shared_cache, data / "cache.sqlite")
    assert main(["--data-dir", str(data), "index", "-q", "--format", "auto", str(PIPERMAIL)]) == 0
    assert "indexed 1 threads, 3 posts" in capsys.readouterr().out
    code = main(["--data-dir", str(data), "search", "mailing list listinfo HTML version", "--json", "-n", "3"])
    results = json.loads(capsys.readouterr().out)
    assert code == 0 and results
    assert {r["author"] for r in results} <= {"Krishan Gupta", "Duncan Murdoch", "Jeff Newmiller"}
    assert not any("listinfo" in r["passage"] or "HTML version deleted" in r["passage"] for r in results)
    assert main(["--data-dir", str(data), "post", "regarding solution of these warning and note", "3", "--json"]) == 0
    assert "listinfo/r-package-devel" in json.loads(capsys.readouterr().out)["body"]  # the body is kept whole
