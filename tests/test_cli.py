"""The `threadbot` command line, run in-process (the model stays loaded between calls)."""

from __future__ import annotations

import io
import json
import shutil

from threadbot.cli import main

from .conftest import SEED_QUERIES
from .conftest import run_cli as run

RESULT_FIELDS = {
    "good",
    "ends_mid_sentence",
    "also_in",
    "rank",
    "score",
    "thread_id",
    "thread_title",
    "post_id",
    "post_index",
    "post_count",
    "author",
    "posted_at",
    "utc_offset",
    "passage",
    "passage_start",
    "passage_end",
    "source",
    "highlights",
    "quoted_by",
    "url",
}


def test_search_json_fields(data_dir, capsys):
    code, out, _ = run(
        capsys, "--data-dir", str(data_dir), "search", "Lenin's 1921 ban on factions", "--json", "--limit", "3"
    )
    assert code == 0
    results = json.loads(out)
    assert len(results) == 3 and set(results[0]) == RESULT_FIELDS
    assert results[0]["author"] == "Ismail" and results[0]["posted_at"] == "2009-08-17T11:46"
    assert "ban on factions" in results[0]["passage"]


def test_search_human_output_is_attributed(data_dir, capsys):
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "search", "Ryutin platform", "-n", "1")
    assert code == 0
    assert "1. Ismail — 17 Aug 2009, 11:46 forum time — On Socialist Methods & Stalin-Era Purges (post 7 of 11)" in out
    assert "Ryutin" in out


def test_search_shows_scores_only_when_asked_to_explain(data_dir, capsys):
    code, plain_out, _ = run(capsys, "--data-dir", str(data_dir), "search", "Ryutin platform", "-n", "2")
    assert code == 0 and "score" not in plain_out
    code, explained, _ = run(capsys, "--data-dir", str(data_dir), "search", "Ryutin platform", "-n", "2", "--explain")
    assert code == 0 and explained.count(" · score 0.") + explained.count(" · score -0.") == 2
    assert explained.count(" · chars ") == 2


def test_search_many_queries_from_stdin(data_dir, capsys, monkeypatch):
    queries = [json.loads(line)["query"] for line in SEED_QUERIES.read_text().splitlines()[:3]]
    monkeypatch.setattr("sys.stdin", io.StringIO(queries[0] + "\n\n" + "\n".join(queries[1:]) + "\n"))
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "search", "-", "--json", "--limit", "2")
    assert code == 0
    answers = [json.loads(line) for line in out.strip().split("\n")]
    assert [len(a) for a in answers] == [2, 0, 2, 2]  # one line per input line: a blank query answers []
    assert [a[0]["author"] for a in answers if a] == ["Andrei Kuznetsov", "Andrei Kuznetsov", "Ismail"]


def test_filters_and_bad_dates(data_dir, capsys):
    code, out, _ = run(
        capsys,
        "--data-dir",
        str(data_dir),
        "search",
        "Stalin",
        "--json",
        "--author",
        "led zeppelin",
        "--after",
        "2009-08-16",
    )
    assert code == 0
    assert [(r["author"], r["posted_at"]) for r in json.loads(out)] == [("Led Zeppelin", "2009-08-17T14:41")]
    code, _, err = run(capsys, "--data-dir", str(data_dir), "search", "Stalin", "--before", "last tuesday")
    assert code == 2 and "cannot read the date" in err


def test_threads_thread_stats(data_dir, capsys):
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "threads", "--json")
    [thread] = json.loads(out)
    assert thread["post_count"] == 11 and thread["first_posted_at"] == "2009-08-15T14:32"
    assert thread["last_posted_at"] == "2009-09-26T09:22" and thread["source"].endswith(".txt")
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "thread", thread["thread_id"], "--json")
    posts = json.loads(out)
    assert [p["post_index"] for p in posts] == list(range(11)) and posts[5]["author"] == "Revy"
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "thread", thread["thread_id"])
    assert "[quoting Andrei Kuznetsov, 16 Aug 2009, 00:31 forum time]" in out
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "stats", "--json")
    stats = json.loads(out)
    assert (stats["threads"], stats["posts"], stats["quotes"]) == (1, 11, 4)


def test_export_reimports_to_the_same_index(data_dir, tmp_path, capsys):
    export = tmp_path / "export.jsonl"
    assert main(["--data-dir", str(data_dir), "export", "-o", str(export)]) == 0
    rows = [json.loads(line) for line in export.read_text().splitlines()]
    assert len(rows) == 11 and {"post_id", "post_index", "source", "body", "posted_at"} <= set(rows[0])
    other = tmp_path / "other"
    shutil.copytree(data_dir, other)
    assert main(["--data-dir", str(other), "index", "-q", "--replace", str(export)]) == 0
    capsys.readouterr()
    code, a, _ = run(capsys, "--data-dir", str(data_dir), "thread", rows[0]["thread_id"], "--json")
    code, b, _ = run(capsys, "--data-dir", str(other), "thread", rows[0]["thread_id"], "--json")
    assert json.loads(a) == json.loads(b)
    code, a, _ = run(capsys, "--data-dir", str(data_dir), "quotes", "--json")
    code, b, _ = run(capsys, "--data-dir", str(other), "quotes", "--json")
    assert json.loads(a) == json.loads(b)


def test_index_reports_bad_files_and_exits_nonzero(data_dir, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"thread_id": "t", "thread_title": "T", "author": "a", "posted_at": "2020-01-01", "body": "x"}\n'
        '{"thread_id": "t", "thread_title": "T", "author": "a", "body": "no date"}\n'
    )
    code, out, err = run(capsys, "--data-dir", str(data_dir), "index", "-q", str(bad))
    assert code == 1
    assert f"{bad}:2: missing field(s): posted_at" in err
    assert "added 1 post to the index: now 2 threads, 12 posts" in out  # the sample and the file's good line


def test_quotes_json_fields(data_dir, capsys):
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "quotes", "--json")
    quotes = json.loads(out)
    assert len(quotes) == 4
    assert {
        "thread_id",
        "quoting_post_id",
        "quoting_post_index",
        "quoting_author",
        "quoting_posted_at",
        "source_post_id",
        "source_post_index",
        "source_author",
        "source_posted_at",
        "text",
        "quoting_start",
        "quoting_end",
        "source_start",
        "source_end",
    } <= set(quotes[0])


def test_quote_command(data_dir, capsys):
    code, out, _ = run(
        capsys,
        "--data-dir",
        str(data_dir),
        "quote",
        "It is worth pointing out that Stalin himself was not a revisionist",
    )
    assert code == 0
    assert "First written by Andrei Kuznetsov, 16 Aug 2009, 00:31" in out
    assert "Die Neue Zeit, 18 Aug 2009, 01:50" in out
    assert ">>> " in out and " <<<" in out  # the passage is shown in its context, marked


def test_eval_command(data_dir, capsys):
    code, out, _ = run(capsys, "--data-dir", str(data_dir), "eval", str(SEED_QUERIES), "--json")
    report = json.loads(out)
    assert code == 0 and report["queries"] == 12 and report["hit_at_1"] >= 0.8


def test_missing_index_is_a_clear_error(tmp_path, capsys):
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "nothing"), "search", "x")
    assert code == 4 and "threadbot index" in err


def test_export_of_a_thread_with_out_of_order_dates_reimports_identically(
    tmp_path, sample_service, shared_cache, capsys
):
    archive = tmp_path / "clock.txt"  # a forum whose clock jumped back: file order is the thread order
    archive.write_text(
        "View Full Version : Clock skew\n\nalice\n15th August 2009, 10:00\nfirst post\n\n"
        "bob\n14th August 2009, 09:00\nsecond post, dated earlier\n\n"
        "carol\n16th August 2009, 11:00\nthird post\n"
    )
    first, second = tmp_path / "d1", tmp_path / "d2"
    for d in (first, second):
        d.mkdir()
        shutil.copy(shared_cache, d / "cache.sqlite")
    assert main(["--data-dir", str(first), "index", "-q", str(archive)]) == 0
    export = tmp_path / "export.jsonl"
    assert main(["--data-dir", str(first), "export", "-o", str(export)]) == 0
    assert main(["--data-dir", str(second), "index", "-q", str(export)]) == 0
    capsys.readouterr()
    _, a, _ = run(capsys, "--data-dir", str(first), "export")
    _, b, _ = run(capsys, "--data-dir", str(second), "export")
    assert [json.loads(x)["author"] for x in a.splitlines()] == ["alice", "bob", "carol"]
    assert a == b


def test_io_and_input_errors_are_one_line_messages(data_dir, tmp_path, capsys):
    code, _, err = run(capsys, "--data-dir", str(data_dir), "export", "-o", str(tmp_path / "no" / "such" / "f"))
    assert code == 74 and err.startswith("threadbot: ") and "Traceback" not in err
    code, _, err = run(capsys, "--data-dir", str(data_dir), "eval", str(tmp_path / "missing.jsonl"))
    assert code == 65 and "missing.jsonl" in err and "Traceback" not in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "q", "author": "a", "posted_at": 2009}\n')
    code, _, err = run(capsys, "--data-dir", str(data_dir), "eval", str(bad))
    assert code == 65 and f"{bad}:1:" in err
    code, _, err = run(capsys, "eval-quotes", str(tmp_path / "none"), str(tmp_path / "none"))
    assert code == 65 and "not a directory" in err
