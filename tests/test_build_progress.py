"""Progress of a build: every stage is reported, from 0 to its total, labelled for the CLI and the bot; quote
detection reports every so often, not per post; the CLI draws bars on a terminal and writes lines elsewhere."""

from __future__ import annotations

import io
import json
import shutil
import sys
from datetime import datetime, timedelta

from bot.render import STAGES, progress_text
from embeddings.models import Post
from embeddings.quotes.detector import PROGRESS_EVERY, detect_quotes
from threadbot.cli import main
from threadbot.progress import LABELS, LINE_EVERY, ProgressPrinter

from .conftest import SAMPLE_DIR, SAMPLE_FILE, run_cli

BUILD_STAGES = ["parse", "quotes", "chunk", "embed", "sentences", "write", "vectors", "state"]


def _posts(n: int) -> list[Post]:
    """`n` posts of one thread; every other one quotes a sentence of the one before it."""
    start = datetime(2020, 1, 1)
    posts = []
    for i in range(n):
        own = f"Post {i} says that the harvest of field number {i} was larger than the one before it."
        body = f"{posts[-1].body.split('.')[0]}.\n\n{own}" if i % 2 and posts else own
        posts.append(Post(f"p{i}", "t", i, f"u{i % 5}", start + timedelta(minutes=i), body, "x.txt", 1 + i))
    return posts


def test_quote_detection_reports_progress_every_so_often_and_finds_the_same_quotes():
    posts = _posts(2 * PROGRESS_EVERY + 20)
    calls: list[tuple[int, int]] = []
    found = detect_quotes(posts, progress=lambda done, total: calls.append((done, total)))
    assert found and found == detect_quotes(posts)
    n = len(posts)
    assert calls == [(0, n), (PROGRESS_EVERY, n), (2 * PROGRESS_EVERY, n), (n, n)]
    calls.clear()
    assert detect_quotes([], progress=lambda done, total: calls.append((done, total))) == []
    assert calls == [(0, 0)]


def test_a_build_reports_every_stage_from_0_to_its_total_each_labelled(fresh_service):
    calls: list[tuple[str, int, int]] = []
    report = fresh_service().rebuild([str(SAMPLE_DIR)], progress=lambda *call: calls.append(call))
    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == BUILD_STAGES
    for stage in stages:
        mine = [(done, total) for s, done, total in calls if s == stage]
        assert mine[0][0] == 0 and mine[-1][0] == mine[-1][1], (stage, mine)
    totals = {stage: total for stage, _, total in calls}
    assert (
        totals["quotes"] == totals["chunk"] == report.posts == 11
        and totals["embed"] == totals["sentences"] == report.passages
    )
    for stage in stages:  # the CLI and the bot say what each stage does, in words
        assert stage in LABELS and stage in STAGES
        assert STAGES[stage] in progress_text(stage, 1, 2, 3.0)


def test_an_incremental_build_reports_its_stages_from_0_to_their_totals(fresh_service, tmp_path):
    """Adding a later thread: its quotes, passages, sentences, the appended store and vector index and the saved
    quote state each have their stage, as in a full build."""
    folder = tmp_path / "sources"
    folder.mkdir()
    shutil.copy(SAMPLE_FILE, folder / SAMPLE_FILE.name)
    service = fresh_service()
    service.rebuild([str(folder)])
    row = {"thread_id": "later", "thread_title": "A later thread", "author": "someone", "posted_at": "2031-05-01"}
    posts = [row | {"post_index": i, "body": f"Post {i} of a later thread, on harvests and plans."} for i in range(3)]
    (folder / "later.jsonl").write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    calls: list[tuple[str, int, int]] = []
    report = service.rebuild([str(folder)], progress=lambda *call: calls.append(call))
    assert report.kind == "incremental" and report.new_posts == 3
    stages = set(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == set(BUILD_STAGES)
    for stage in stages:
        mine = [(done, total) for s, done, total in calls if s == stage]
        assert mine[0][0] == 0 and mine[-1][0] == mine[-1][1], (stage, mine)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_bars_on_a_terminal_and_lines_elsewhere(data_dir, capsys, monkeypatch):
    # captured stderr is no terminal (a log file, a pipe): plain lines, a stage's start and end, no redraws
    code, _, err = run_cli(capsys, "--data-dir", data_dir, "index", "--full")
    assert code == 0 and "%|" not in err and "\r" not in err
    lines = err.splitlines()
    for stage in BUILD_STAGES:
        mine = [line for line in lines if f" {LABELS[stage]}" in line]
        assert len(mine) >= 2 and "done in " in mine[-1], (stage, mine)
    assert any(f"{LABELS['embed']}: 0/" in line for line in lines)
    assert ProgressPrinter().enabled and not ProgressPrinter().terminal
    code, _, err = run_cli(capsys, "--data-dir", data_dir, "index", "--full", "--quiet")
    assert code == 0 and not any(label in err for label in LABELS.values())

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["--data-dir", str(data_dir), "index", "--full"]) == 0  # a build, though no source changed
    drawn = terminal.getvalue()
    for stage in BUILD_STAGES:
        assert f"{LABELS[stage]}: 100%" in drawn, (stage, drawn)

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["--data-dir", str(data_dir), "index", "--quiet", "--full"]) == 0
    assert terminal.getvalue() == ""


def test_progress_lines_off_a_terminal_come_at_a_stage_start_its_end_and_every_so_often(capsys):
    now = [0.0]
    printer = ProgressPrinter(clock=lambda: now[0])
    for second, done in [(0, 0), (10, 100), (LINE_EVERY + 1, 1_200), (LINE_EVERY + 2, 1_300), (3_725, 3_860)]:
        now[0] = second
        printer("parse", done, 3_860)
    printer("write", 0, 1)
    now[0] += 3
    printer("write", 1, 1)
    printer("embed", 0, 0)  # nothing to embed: it ends when the next stage starts
    now[0] += 1
    printer("sentences", 0, 8)
    now[0] += 2
    printer("sentences", 5, 8)
    printer.close()  # a build failing halfway: its stage is not said to be done
    printer("chunk", 0, 0)
    now[0] += 4
    printer.close()  # the last stage had nothing to count: done when the build ends
    lines = [line.split(" ", 2)[2] for line in capsys.readouterr().err.splitlines()]  # without the time stamp
    assert lines == [
        "parsing files: 0/3,860 (0%)",
        "parsing files: 1,200/3,860 (31%)",
        "parsing files: 3,860/3,860 (100%), done in 1h 02m",
        "writing index",
        "writing index: done in 3s",
        "embedding passages: 0",
        "embedding passages: done in 1s",
        "embedding sentences for highlights: 0/8 (0%)",
        "cutting passages: 0",
        "cutting passages: done in 4s",
    ]
