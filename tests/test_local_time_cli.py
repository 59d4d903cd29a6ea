"""The poster's local time through the CLI: a mail post's date is shown on the poster's clock with its offset
wherever a post's date is printed, JSON keeps posted_at in UTC beside `utc_offset`, forum posts are shown as
before, and an index whose posts table has no utc_offset column still answers."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3

import pytest

from embeddings.index.datadir import DB_FILE, DataDir
from threadbot.cli import main

from .conftest import run_cli
from .test_ingest_mail import PIPERMAIL

KRISHAN = "4 Mar 2019, 02:41 +0530"  # Date: Mon, 4 Mar 2019 02:41:45 +0530
DUNCAN = "3 Mar 2019, 16:39 -0500"
JEFF = "3 Mar 2019, 13:57 -0800"
ASKED = "no visible binding for global variable filter_normalized_data"


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory, sample_service, shared_cache):
    """A data directory holding the pipermail excerpt's index (one thread of three posts, each in its own zone)."""
    d = tmp_path_factory.mktemp("mail") / "data"
    d.mkdir()
    shutil.copy(shared_cache, d / "cache.sqlite")
    assert main(["--data-dir", str(d), "index", "-q", str(PIPERMAIL)]) == 0
    return d


def cli(capsys, data_dir, *argv) -> str:
    capsys.readouterr()  # what a fixture printed
    code, out, err = run_cli(capsys, "--data-dir", data_dir, *argv)
    assert code == 0 and not err, err
    return out


def thread_id(capsys, data_dir) -> str:
    [thread] = json.loads(cli(capsys, data_dir, "threads", "--json"))
    return thread["thread_id"]


def test_every_printed_date_of_a_mail_post_is_the_posters_local_time(capsys, mail_dir):
    tid = thread_id(capsys, mail_dir)
    results = cli(capsys, mail_dir, "search", "no visible binding for global variable", "-n", "3")
    assert f"1. Krishan Gupta — {KRISHAN} — " in results
    assert f"quoted by: Duncan Murdoch ({DUNCAN}), Jeff Newmiller ({JEFF})" in results
    post = cli(capsys, mail_dir, "post", tid, "2")
    assert post.startswith(f"#2 of 3 · Duncan Murdoch · {DUNCAN} · ") and f"[quoting Krishan Gupta, {KRISHAN}]" in post
    thread = cli(capsys, mail_dir, "thread", tid)
    heads = [line.split(" · ")[2] for line in thread.splitlines() if line.startswith("#")]
    assert heads == [KRISHAN, DUNCAN, JEFF]
    assert thread.count(f"[quoting Krishan Gupta, {KRISHAN}]") == 3
    quotes = cli(capsys, mail_dir, "quotes")
    assert f"Duncan Murdoch ({DUNCAN}, post 2) quotes Krishan Gupta ({KRISHAN}, post 1)" in quotes
    trace = cli(capsys, mail_dir, "quote", ASKED, "-n", "1")
    assert trace.startswith(f"First written by Krishan Gupta, {KRISHAN} — ")
    assert f"  - Duncan Murdoch, {DUNCAN} — " in trace and f"  - Jeff Newmiller, {JEFF} — " in trace


def test_json_keeps_posted_at_in_utc_and_adds_the_offset(capsys, mail_dir):
    tid = thread_id(capsys, mail_dir)
    [first] = json.loads(cli(capsys, mail_dir, "search", "installed package size", "-n", "1", "--json"))
    assert (first["author"], first["posted_at"], first["utc_offset"]) == ("Krishan Gupta", "2019-03-03T21:11:45", 330)
    assert [(q["posted_at"], q["utc_offset"]) for q in first["quoted_by"]] == [
        ("2019-03-03T21:39:55", -300),
        ("2019-03-03T21:57:18", -480),
    ]
    post = json.loads(cli(capsys, mail_dir, "post", tid, "3", "--json"))
    assert (post["posted_at"], post["utc_offset"]) == ("2019-03-03T21:57:18", -480)
    assert {s["source_utc_offset"] for s in post["quoted_spans"]} == {330}
    quotes = json.loads(cli(capsys, mail_dir, "quotes", "--json"))
    assert {(q["quoting_utc_offset"], q["source_utc_offset"]) for q in quotes} == {(-300, 330), (-480, 330)}
    [trace] = json.loads(cli(capsys, mail_dir, "quote", ASKED, "-n", "1", "--json"))
    assert trace["original"]["utc_offset"] == 330
    assert [q["utc_offset"] for q in trace["quoted_by"]] == [-300, -480]


def test_forum_posts_have_no_zone_and_print_the_forums_clock_marked_as_such(capsys, data_dir):
    [first] = json.loads(cli(capsys, data_dir, "search", "purges", "-n", "1", "--json"))
    assert first["utc_offset"] is None
    shown = cli(capsys, data_dir, "search", "purges", "-n", "1")
    stored = first["posted_at"].replace("T", " ")[:16]
    assert re.match(rf"1\. .+ — \d\d \w{{3}} \d{{4}}, {stored[11:]} forum time — ", shown), shown
    assert not re.search(r"\d\d:\d\d [+-]\d{4}", shown)
    exported = [json.loads(line) for line in cli(capsys, data_dir, "export").splitlines()]
    assert exported and not any("utc_offset" in row or "excluded" in row for row in exported)


def _drop_new_post_columns(data_dir) -> None:
    """The live build's posts table as an index made before utc_offset and excluded existed has it."""
    db = sqlite3.connect(DataDir(data_dir).current_path() / DB_FILE)
    try:
        db.execute("ALTER TABLE posts DROP COLUMN utc_offset")
        db.execute("ALTER TABLE posts DROP COLUMN excluded")
        db.commit()
        columns = [r[1] for r in db.execute("PRAGMA table_info(posts)")]
    finally:
        db.close()
    assert columns == ["post_id", "thread_id", "post_index", "author", "posted_at", "body", "source", "line", "url"]


def test_an_index_without_the_offset_column_still_answers_in_utc(capsys, mail_dir, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(mail_dir, old)
    _drop_new_post_columns(old)
    tid = thread_id(capsys, old)
    results = json.loads(cli(capsys, old, "search", "installed package size", "-n", "3", "--json"))
    assert results and all(r["utc_offset"] is None for r in results)
    assert all(q["utc_offset"] is None for r in results for q in r["quoted_by"])
    post = cli(capsys, old, "post", tid, "2")
    # no zone known: the clock as stored (UTC, here), marked as not a known instant
    assert post.startswith("#2 of 3 · Duncan Murdoch · 3 Mar 2019, 21:39 forum time · ")
    assert "[quoting Krishan Gupta, 3 Mar 2019, 21:11 forum time]" in post
    quotes = json.loads(cli(capsys, old, "quotes", "--json"))
    assert quotes and all(q["quoting_utc_offset"] is None and q["source_utc_offset"] is None for q in quotes)
    [trace] = json.loads(cli(capsys, old, "quote", ASKED, "-n", "1", "--json"))
    assert trace["original"]["utc_offset"] is None
    exported = [json.loads(line) for line in cli(capsys, old, "export").splitlines()]
    assert len(exported) == 3 and not any("utc_offset" in row or "excluded" in row for row in exported)
    assert "everything checked is sound" in cli(capsys, old, "check")
