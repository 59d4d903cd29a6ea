"""What the CLI shows on stderr while it works: progress bars for `threadbot index` (tqdm) and log lines."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm

LABELS = {
    "parse": "parsing files",
    "quotes": "finding quotes",
    "chunk": "cutting passages",
    "embed": "embedding passages",
    "sentences": "embedding sentences for highlights",
    "write": "writing index",  # passages, FTS5, the filters' layout and the keyword postings
    "vectors": "building vector index",
    "state": "recording the build",
}


class ProgressPrinter:
    """A `progress(stage, done, total)` callable drawing one bar per stage (labels: `LABELS`).

    Bars are a courtesy: they are drawn only on a terminal (a log file or a pipe would get every redraw), and a
    closed or failing stderr turns them off rather than failing the build.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and _is_terminal(sys.stderr)
        self._bar: tqdm | None = None
        self._stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        try:
            self._draw(stage, done, total)
        except OSError:  # stderr is full, or its reader went away
            self.enabled, self._bar, self._stage = False, None, None

    def _draw(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self.close()
            self._stage = stage
            from tqdm import tqdm  # here, so commands without progress bars start without it

            self._bar = tqdm(
                total=total, desc=LABELS.get(stage, stage), unit="", file=sys.stderr, leave=True, dynamic_ncols=True
            )
        bar = self._bar
        if bar is not None:
            if total != bar.total:
                bar.total = total
            bar.update(done - bar.n)
            if total and done >= total:
                self.close()

    def close(self) -> None:
        bar, self._bar, self._stage = self._bar, None, None
        if bar is not None:
            with contextlib.suppress(OSError):
                bar.close()


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed file
        return False


class SafeFormatter(logging.Formatter):
    """Log lines quote file names and archived text: control characters are shown as escapes, as in all output."""

    def format(self, record: logging.LogRecord) -> str:
        from .render import safe

        return safe(super().format(record))


def configure_logging(level: str | int) -> None:
    logging.basicConfig(level=level, stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub", "faiss"):
        logging.getLogger(noisy).setLevel(max(logging.getLogger().level, logging.WARNING))
    # a text-only bot has no use for voice: drop discord.py's start-up warnings about missing voice libraries
    logging.getLogger("discord.client").addFilter(
        lambda record: "voice will NOT be supported" not in record.getMessage()
    )
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
