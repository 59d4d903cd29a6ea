"""What the CLI writes: archive text cannot drive the terminal, a closed pipe ends quietly, a failed
export leaves its file alone."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadbot import render
from threadbot.cli import main

from .conftest import ROOT
from .conftest import run_cli as run

# what a terminal acts on: C0 but newline and tab, DEL, C1, bidi controls; and lone surrogates it cannot encode
UNSAFE = {chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c not in (0x09, 0x0A)}
BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
UNSAFE |= {chr(c) for c in (*BIDI, *range(0xD800, 0xE000))}
# what JSON text may hold raw: JSON itself escapes C0, the rest is ours
JSON_UNSAFE = UNSAFE | {"\t", "\n"}

EVIL_SENTENCE = (
    "Clear the screen \x1b[2J\x07 then ring the bell, retitle the window \x1b]0;pwned\x07 and hide a nul \x00 "
    "before anyone reading the archive notices what happened to their terminal."
)
EVIL_BODY = EVIL_SENTENCE + "\nTab\tkept, \r and \x9b31m too."
EVIL_ROWS = [
    {
        "thread_id": "evil",
        "thread_title": "Evil \x1b[31mtitle\u202e",
        "author": "mal\x9blory",
        "posted_at": "2020-01-01 10:00",
        "body": EVIL_BODY,
    },
    {
        "thread_id": "evil",
        "thread_title": "Evil \x1b[31mtitle\u202e",
        "author": "bob\x1b[8m",
        "posted_at": "2020-01-02 10:00",
        "body": "I disagree with this part.\n\n" + EVIL_SENTENCE + "\n\nNobody would do that.",
    },
]


@pytest.fixture
def evil_dir(tmp_path, sample_service, shared_cache, capsys):
    source = tmp_path / "evil.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in EVIL_ROWS), encoding="utf-8")
    d = tmp_path / "evil-data"
    d.mkdir()
    shutil.copy(shared_cache, d / "cache.sqlite")
    assert main(["--data-dir", str(d), "index", "-q", str(source)]) == 0
    capsys.readouterr()
    return d


@given(st.text())
def test_safe_leaves_no_control_character_but_newline_and_tab(text):
    shown = render.safe(text)
    assert not UNSAFE & set(shown)
    assert shown.count("\n") == text.count("\n") and shown.count("\t") == text.count("\t")
    if not UNSAFE & set(text):
        assert shown == text


@given(
    st.recursive(st.text() | st.integers() | st.none(), lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids))
)
def test_json_text_is_exact_and_holds_no_raw_control_character(value):
    text = render.json_text(value)
    assert json.loads(text) == value
    assert not JSON_UNSAFE & set(text)


@pytest.mark.parametrize(
    "argv",
    [
        ["threads"],
        ["thread", "evil"],
        ["post", "evil", "1"],
        ["post", "evil", "2"],
        ["quotes"],
        ["search", "clear the screen", "-n", "2"],
        ["quote", "ring the bell, retitle the window and hide a nul before anyone reading the archive notices"],
        ["stats"],
    ],
)
def test_human_output_neutralises_control_characters(evil_dir, capsys, argv):
    code, out, err = run(capsys, "--data-dir", evil_dir, *argv)
    assert code == 0, err
    assert not UNSAFE & set(out + err)
    if argv[0] not in ("stats", "threads"):
        assert "\\x1b[2J\\x07" in out  # shown, escaped, not acted on
    if argv[0] in ("threads", "thread", "search", "quote"):
        assert "Evil \\x1b[31mtitle\\u202e" in out


@pytest.mark.parametrize("argv", [["thread", "evil", "--json"], ["search", "clear the screen", "--json"], ["export"]])
def test_json_output_keeps_the_text_exactly(evil_dir, capsys, argv):
    code, out, _ = run(capsys, "--data-dir", evil_dir, *argv)
    assert code == 0 and not JSON_UNSAFE & set(out.replace("\n", ""))
    rows = json.loads(out) if argv[-1] == "--json" else [json.loads(line) for line in out.splitlines()]
    bodies = [r.get("body") or r.get("passage") for r in rows]
    assert EVIL_BODY in bodies or any(b and EVIL_BODY.startswith(b) for b in bodies)
    if argv[0] != "search":
        assert {r["author"] for r in rows} == {"mal\x9blory", "bob\x1b[8m"}


class ClosedPipe:
    """A stdout whose reader has gone away."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self):
        return False


@pytest.mark.parametrize(
    "argv",
    [["export"], ["search", "Stalin", "-n", "20"], ["thread", "On Socialist Methods & Stalin-Era Purges"], ["quotes"]],
)
def test_a_closed_stdout_ends_quietly(data_dir, capsys, monkeypatch, argv):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    code = main(["--data-dir", str(data_dir), *argv])
    assert code == 0 and capsys.readouterr().err == ""


@pytest.mark.slow
def test_export_into_a_pipe_nobody_reads_exits_0_without_a_word(data_dir):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head -0`: every write fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "threadbot", "--data-dir", str(data_dir), "export"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 0 and proc.stderr == b""


def test_a_failed_export_leaves_the_file_as_it_was(data_dir, tmp_path, capsys):
    target = tmp_path / "export.jsonl"
    target.write_text("the previous export\n")
    code, _, _ = run(capsys, "--data-dir", tmp_path / "no-index", "export", "-o", target)
    assert code == 4 and target.read_text() == "the previous export\n"
    code, _, _ = run(capsys, "--data-dir", data_dir, "export", "--thread", "no such thread", "-o", target)
    assert code == 3 and target.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "export.jsonl"]  # no temporary file left


def test_a_successful_export_replaces_the_file_keeping_its_mode(data_dir, tmp_path, capsys):
    target = tmp_path / "export.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    code, _, _ = run(capsys, "--data-dir", data_dir, "export", "-o", target)
    assert code == 0 and len(target.read_text().splitlines()) == 11
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "export.jsonl"]


def test_an_export_onto_a_directory_is_an_io_error(data_dir, tmp_path, capsys):
    code, _, err = run(capsys, "--data-dir", data_dir, "export", "-o", tmp_path)
    assert code == 74 and err == f"threadbot: {tmp_path}: is a directory\n"


class FullStream:
    """A terminal whose writes fail, as on a full disk or a hung-up line."""

    def write(self, text):
        raise OSError(28, "No space left on device")

    def flush(self):
        raise OSError(28, "No space left on device")

    def isatty(self):
        return True


def test_progress_bars_on_a_failing_or_closed_stderr_do_not_fail_the_build(monkeypatch):
    from threadbot.progress import ProgressPrinter

    monkeypatch.setattr(sys, "stderr", FullStream())
    printer = ProgressPrinter()
    assert printer.enabled  # a terminal: bars are drawn until a write fails
    for done in range(3):
        printer("embed", done, 2)
    printer.close()
    assert not printer.enabled
    monkeypatch.setattr(sys, "stderr", None)
    assert not ProgressPrinter().enabled


def test_closed_standard_streams_are_not_errors(data_dir, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)
    assert main(["--data-dir", str(data_dir), "search", "-"]) == 0
    monkeypatch.setattr(sys, "stdout", None)
    assert main(["--data-dir", str(data_dir), "threads"]) == 0
    monkeypatch.setattr(sys, "stderr", None)
    assert main(["--data-dir", str(data_dir), "thread", "no such thread"]) == 3


def test_a_passage_that_goes_on_from_words_before_it_is_marked_in_the_cli_too():
    from datetime import datetime

    from embeddings.models import Result
    from threadbot.render import format_result

    def result(passage, start):
        return Result(rank=1, score=0.5, thread_id="t", thread_title="T", post_id="p", post_index=0, post_count=2,
                      author="A", posted_at=datetime(2009, 8, 17, 14, 32), passage=passage, passage_start=start,
                      passage_end=start + len(passage))  # fmt: skip

    assert "│ … so no complaint about that file" in format_result(result("so no complaint about that file.", 40), False)
    assert "│ So no complaint" in format_result(result("So no complaint about that file.", 40), False)
    assert "│ so no complaint" in format_result(result("so no complaint about that file.", 0), False)


def test_a_passage_whose_sentence_goes_on_after_it_ends_with_an_ellipsis_in_the_cli():
    from datetime import datetime

    from embeddings.models import Result
    from threadbot.render import format_result

    def result(passage, goes_on):
        return Result(rank=1, score=0.5, thread_id="t", thread_title="T", post_id="p", post_index=0, post_count=2,
                      author="A", posted_at=datetime(2009, 8, 17, 14, 32), passage=passage, passage_start=0,
                      passage_end=len(passage), ends_mid_sentence=goes_on)  # fmt: skip

    assert format_result(result("First, I build R-devel with", True), False).endswith("│ First, I build R-devel with …")
    assert format_result(result("First, I build R-devel.", False), False).endswith("│ First, I build R-devel.")
