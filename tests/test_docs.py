"""The README's command-line reference matches the argparse parser, so the two cannot drift apart.

The contract, for the "Command line" section of README.md:

* every subcommand has a row in the commands table, whose first cell is a synopsis in backticks,
  `threadbot COMMAND POSITIONAL... [--option VALUE] [--flag] [--long/-s VALUE]`, and every such row names a
  real subcommand, once;
* a row lists every option of its subcommand (each long and short form, `--limit/-n`), and no option the
  parser lacks; an option that takes a value is followed by one (`--limit N`), a flag is not; an option with
  choices shows exactly those choices (`--mode dense|lexical|hybrid`);
* a row shows as many positional arguments as the parser has (`post THREAD N`);
* the global-options table (rows whose first cell starts with `-`) lists exactly the parser's global options,
  with the same rule for values.

`-h/--help` is left out everywhere. In the style of sqlite-utils' and llm's tests/test_docs.py.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from threadbot.arguments import build_parser

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Command line"


def _cells(line: str) -> list[str]:
    """The cells of one markdown table row; `\\|` is a literal `|` inside a cell."""
    inner = line.strip().strip("|")
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


def _section(text: str, heading: str) -> str:
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def _synopses() -> tuple[list[str], list[str]]:
    """(command synopses, global-option synopses): the backticked first cells of the section's table rows."""
    commands, options = [], []
    for line in _section(README.read_text(encoding="utf-8"), SECTION).splitlines():
        if not line.startswith("|"):
            continue
        match = re.fullmatch(r"`([^`]+)`", _cells(line)[0])
        if not match:
            continue  # a header, a separator or a row without a synopsis
        code = match.group(1)
        if code.startswith("threadbot "):
            commands.append(code)
        elif code.startswith("-"):
            options.append(code)
    return commands, options


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _optionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if a.option_strings and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
    ]


def _positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]


def _documented(tokens: list[str], parser: argparse.ArgumentParser, where: str) -> tuple[set[str], list[str]]:
    """Walk a synopsis: (option strings shown, positional placeholders shown); checks each option's value."""
    by_string = {s: a for a in _optionals(parser) for s in a.option_strings}
    shown, positionals = set(), []
    tokens = list(tokens)
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("-"):
            positionals.append(token)
            continue
        strings = token.split("/")
        shown.update(strings)
        actions = {id(by_string[s]): by_string[s] for s in strings if s in by_string}
        unknown = [s for s in strings if s not in by_string]
        assert not unknown, f"{where}: the README lists {unknown}, which the parser does not have"
        assert len(actions) == 1, f"{where}: {token!r} joins forms of different options"
        (action,) = actions.values()
        takes_value = action.nargs != 0
        has_value = bool(tokens) and not tokens[0].startswith("-")
        if takes_value and action.choices is not None:
            assert has_value, f"{where}: {token} takes one of {list(action.choices)}; the README shows no value"
            assert set(tokens[0].split("|")) == set(action.choices), (
                f"{where}: {token} takes {'|'.join(action.choices)}; the README shows {tokens[0]}"
            )
        if takes_value:
            assert has_value, f"{where}: {token} takes a value; the README shows none"
            tokens.pop(0)
    return shown, positionals


def _tokens(synopsis: str) -> list[str]:
    return re.findall(r"[^\s\[\]]+", synopsis)


def _command_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for synopsis in _synopses()[0]:
        tokens = _tokens(synopsis)
        assert len(tokens) >= 2, f"README: {synopsis!r} names no command"
        assert tokens[1] not in rows, f"README: `threadbot {tokens[1]}` has two rows"
        rows[tokens[1]] = tokens[2:]
    return rows


COMMANDS = sorted(_subparsers(build_parser()))
# Options the README's row may still lack, because README.md is edited by its maintainer alone; an entry is taken
# out once the row shows the option.
NOT_YET_IN_README: dict[str, set[str]] = {}


def test_readme_has_a_command_table():
    assert len(_command_rows()) >= 10, f"no command table found under {SECTION!r} in README.md"


@pytest.mark.parametrize("command", COMMANDS)
def test_command_is_documented(command):
    assert command in _command_rows(), f"`threadbot {command}` has no row in the README's command table"


def test_documented_commands_exist():
    unknown = sorted(set(_command_rows()) - set(COMMANDS))
    assert not unknown, f"the README documents commands the parser lacks: {unknown}"


@pytest.mark.parametrize("command", COMMANDS)
def test_command_options_are_documented(command):
    parser = build_parser()
    subparser = _subparsers(parser)[command]
    tokens = _command_rows().get(command)
    if tokens is None:
        pytest.skip("not documented at all (test_command_is_documented fails)")
    where = f"README, `threadbot {command}`"
    shown, positionals = _documented(tokens, subparser, where)
    expected = {s for a in _optionals(subparser) for s in a.option_strings}
    missing = sorted(expected - shown - NOT_YET_IN_README.get(command, set()))
    assert not missing, f"{where}: options missing from the README: {missing}"
    assert len(positionals) == len(_positionals(subparser)), (
        f"{where}: the README shows positional arguments {positionals}; the parser has "
        f"{[a.metavar or a.dest for a in _positionals(subparser)]}"
    )


def test_global_options_are_documented():
    parser = build_parser()
    synopses = _synopses()[1]
    assert synopses, f"no global-options table found under {SECTION!r} in README.md"
    shown = set()
    for synopsis in synopses:
        options, positionals = _documented(_tokens(synopsis), parser, "README, global options")
        assert not positionals, f"README, global options: {synopsis!r} is not an option"
        shown |= options
    expected = {s for a in _optionals(parser) for s in a.option_strings}
    missing = sorted(expected - shown)
    assert not missing, f"README, global options: missing {missing}"


PERFORMANCE = README.parent / "docs" / "performance.md"


def _benchmark_scripts() -> set[str]:
    """The benchmark scripts (a helper module of theirs, such as `scale_data.py`, runs nothing of its own)."""
    folder = README.parent / "benchmarks"
    return {p.name for p in folder.glob("*.py") if '__name__ == "__main__"' in p.read_text(encoding="utf-8")}


def test_every_benchmark_script_is_listed_in_the_performance_docs():
    table = _section(PERFORMANCE.read_text(encoding="utf-8"), "## Benchmark scripts")
    listed = [m.group(1) for m in re.finditer(r"^\| `benchmarks/([\w.]+\.py)\b", table, re.M)]
    assert len(listed) == len(set(listed)), "a script listed twice"
    assert set(listed) == _benchmark_scripts()
