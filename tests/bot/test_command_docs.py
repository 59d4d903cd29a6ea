"""The README's slash-command table matches the commands a sync would register (`threadbot commands --json`).

The contract, for the table under "Run it on Discord": one row per slash command, its first cell `/name REQUIRED…`
(the required options, in order), its second cell the optional options, each in backticks (or "—" for none); no
command or option is listed that the bot does not have.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.runner import command_payloads
from embeddings.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Run it on Discord"


def _rows() -> dict[str, tuple[list[str], set[str]]]:
    """command → (required options shown in the first cell, optional options shown in the second)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION + "\n")
    end = text.find("\n## ", start + len(SECTION))
    rows = {}
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`/([\w-]+)((?: [\w-]+)*)`", cells[0]) if len(cells) >= 3 else None
        if match:
            assert match.group(1) not in rows, f"README: /{match.group(1)} has two rows"
            rows[match.group(1)] = (match.group(2).split(), set(re.findall(r"`([\w-]+)`", cells[1])))
    return rows


PAYLOADS = {p["name"]: p for p in command_payloads(Settings())}


def test_every_documented_command_exists():
    assert set(_rows()) == set(PAYLOADS)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_a_commands_row_lists_exactly_its_options(name):
    required, optional = _rows()[name]
    options = PAYLOADS[name].get("options") or []
    assert required == [o["name"] for o in options if o.get("required")], f"/{name}: required options"
    assert optional == {o["name"] for o in options if not o.get("required")}, f"/{name}: optional options"
