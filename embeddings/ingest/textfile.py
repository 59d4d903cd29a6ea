"""Reading archive files: UTF-8 first, cp1252 as the fallback old forums need."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def read_text(path: str | Path, warnings: list[str] | None = None) -> str:
    data = Path(path).read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"{path}:{line}: not valid UTF-8, read as cp1252"
        log.warning(message)
        if warnings is not None:
            warnings.append(message)
        text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")
