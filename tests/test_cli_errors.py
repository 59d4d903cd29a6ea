"""User mistakes on the command line are one-line messages with the documented exit codes, never tracebacks."""

from __future__ import annotations

import io
import json

import pytest

import embeddings
from threadbot import arguments
from threadbot.cli import main

from .conftest import SAMPLE_DIR

QUOTE = "It is worth pointing out that Stalin himself was not a revisionist"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def usage_error(capsys, *argv) -> str:
    """argparse's exit 2, with its message."""
    with pytest.raises(SystemExit) as caught:
        main([str(a) for a in argv])
    assert caught.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    "var, value, setting",
    [
        ("THREADBOT_LOG_LEVEL", "bogus", "log_level"),
        ("THREADBOT_DEVICE", "bogus", "device"),
        ("THREADBOT_DEVICE", "cuda:999", "device 'cuda:999' is not available"),
        ("THREADBOT_BATCH_SIZE", "1e309", "batch_size"),
        ("THREADBOT_MAX_FILE_MB", "-1", "max_file_mb"),
    ],
)
def test_configuration_mistakes_exit_78_naming_the_setting(data_dir, capsys, monkeypatch, var, value, setting):
    monkeypatch.setenv(var, value)
    code, _, err = run(capsys, "--data-dir", data_dir, "search", "Stalin")
    assert code == 78 and setting in err and err.count("\n") == 1


def test_a_config_file_that_is_not_utf8_exits_78(data_dir, tmp_path, capsys):
    cfg = tmp_path / "threadbot.toml"
    cfg.write_bytes(b'model = "\xff\xfe"\n')
    code, _, err = run(capsys, "--config", cfg, "--data-dir", data_dir, "stats")
    assert code == 78 and str(cfg) in err and "UTF-8" in err


def test_the_cli_limit_is_the_services():
    assert arguments.MAX_LIMIT == embeddings.MAX_LIMIT


@pytest.mark.parametrize(
    "argv, message",
    [
        (["quote", QUOTE, "--limit", "0"], "--limit/-n: must be between 1 and 1000, not 0"),
        (["quote", QUOTE, "-n", "-3"], "--limit/-n: must be between 1 and 1000"),
        (["quote", QUOTE, "-n", "99999999999999999999"], "--limit/-n: must be between 1 and 1000"),
        (["search", "x", "--limit", "0"], "--limit/-n: must be between 1 and 1000"),
        (["search", "x", "-n", "1001"], "--limit/-n: must be between 1 and 1000"),
        (["search", "x", "-n", "many"], "not a whole number: 'many'"),
        (["search", "x", "--offset", "-1"], "--offset: must be at least 0"),
        (["post", "t", "0"], "number: must be at least 1"),
        (["post", "t", "-1"], "number: must be at least 1"),
        (["post", "t", "1.5"], "number: not a whole number"),
        (["search", "x", "--thread", ""], "--thread: must not be empty"),
        (["search", "x", "--author", " "], "--author: must not be empty"),
        (["export", "--thread", ""], "--thread: must not be empty"),
        (["export", "-o", ""], "--output/-o: must not be empty"),
        (["quotes", "--thread", ""], "--thread: must not be empty"),
        (["thread", ""], "thread_id: must not be empty"),
        (["eval", ""], "queries: must not be empty"),
        (["--data-dir", "", "stats"], "--data-dir: must not be empty"),
        (["--config", "", "stats"], "--config: must not be empty"),
        (["thread", "caf\udce9"], "not UTF-8 text"),  # a byte that is not UTF-8, as Python passes it in argv
        (["search", "caf\udce9"], "not UTF-8 text"),
    ],
)
def test_bad_arguments_are_usage_errors(capsys, argv, message):
    assert message in usage_error(capsys, *argv)


@pytest.mark.parametrize("date", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "", "1e309"])
def test_dates_outside_the_calendar_are_usage_errors(data_dir, capsys, date):
    code, _, err = run(capsys, "--data-dir", data_dir, "search", "Stalin", "--after", date)
    assert code == 2 and "cannot read the date" in err


@pytest.mark.parametrize("error", [OverflowError("date value out of range"), ValueError("year 0 is out of range")])
def test_a_date_parser_failure_is_a_usage_error(data_dir, capsys, monkeypatch, error):
    def parse(value):
        raise error

    monkeypatch.setattr(embeddings, "parse_user_date", parse)
    code, _, err = run(capsys, "--data-dir", data_dir, "search", "Stalin", "--before", "2009-01-01")
    assert code == 2 and "--before: cannot read the date '2009-01-01'" in err


def test_index_of_only_missing_paths_indexes_and_saves_nothing(tmp_path, capsys):
    data = tmp_path / "data"
    code, _, err = run(capsys, "--data-dir", data, "index", "-q", "/no/such/dir", tmp_path / "typo")
    assert code == 65
    assert "/no/such/dir: no such file or directory" in err and f"{tmp_path / 'typo'}: no such file" in err
    assert run(capsys, "--data-dir", data, "stats")[0] == 4  # no index was built


def test_index_keeps_the_paths_that_exist_and_reports_the_others(data_dir, tmp_path, capsys):
    code, out, err = run(capsys, "--data-dir", data_dir, "index", "-q", "--replace", SAMPLE_DIR, tmp_path / "typo")
    assert code == 1 and f"{tmp_path / 'typo'}: no such file or directory" in err and "indexed 1 threads" in out
    code, out, _ = run(capsys, "--data-dir", data_dir, "stats", "--json")
    assert json.loads(out)["sources"] == [str(SAMPLE_DIR)]
    assert run(capsys, "--data-dir", data_dir, "index", "-q")[0] == 0  # a later rebuild from the saved sources


def test_search_from_stdin_survives_bytes_that_are_not_utf8(data_dir, capsys, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(b"Ryutin platform\n\xff\xfe caf\xe9\n"), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    code, out, _ = run(capsys, "--data-dir", data_dir, "search", "-", "--json", "-n", "1")
    assert code == 0 and len(out.strip().split("\n")) == 2
