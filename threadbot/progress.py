"""What the CLI shows on stderr while it works: progress bars for `threadbot index` (tqdm) and log lines."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm

LINE_EVERY = 30  # seconds between two progress lines of one stage, off a terminal

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
    """A `progress(stage, done, total)` callable: one bar per stage on a terminal (labels: `LABELS`), plain lines
    elsewhere (a log file, a pipe, a service's journal would get every redraw of a bar): one when a stage starts,
    one at most every LINE_EVERY seconds as it advances, and one when it ends, with how long it took.

    A closed or failing stderr turns them off rather than failing the build.
    """

    def __init__(self, enabled: bool = True, clock=time.monotonic):
        self.enabled = enabled and sys.stderr is not None
        self.terminal = self.enabled and _is_terminal(sys.stderr)
        self._clock = clock
        self._bar: tqdm | None = None
        self._stage: str | None = None
        self._started = self._said = 0.0
        self._total = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        try:
            if self.terminal:
                self._draw(stage, done, total)
            else:
                self._line(stage, done, total)
        except (OSError, ValueError):  # stderr is full, its reader went away, or it was closed
            self.enabled, self._bar, self._stage = False, None, None

    def _line(self, stage: str, done: int, total: int) -> None:
        now, label = self._clock(), LABELS.get(stage, stage)
        finished = bool(total) and done >= total
        if stage != self._stage:
            self._end_line(now)  # a stage with nothing to count (0 of 0) ends when the next one starts
            self._stage, self._started, self._said, self._total = stage, now, now, total
            _say(label + _count(done, total))
        elif not finished and now - self._said >= LINE_EVERY:
            self._said = now
            _say(label + _count(done, total))
        if finished:
            self._end_line(now, _count(done, total))

    def _end_line(self, now: float, counted: str = "") -> None:
        if self._stage is None:
            return
        label, self._stage = LABELS.get(self._stage, self._stage), None
        _say(f"{label}{counted}, done in" if counted else f"{label}: done in", _duration(now - self._started))

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
        if self.enabled and not self.terminal and not self._total:  # a stage left halfway is not "done"
            with contextlib.suppress(OSError, ValueError):
                self._end_line(self._clock())
        bar, self._bar, self._stage = self._bar, None, None
        if bar is not None:
            with contextlib.suppress(OSError):
                bar.close()


def _say(*words: str) -> None:
    print(time.strftime("%Y-%m-%d %H:%M:%S%z"), *words, file=sys.stderr, flush=True)


def _count(done: int, total: int) -> str:
    """ ": 1,200/3,860 (31%)"; nothing for a stage of one step (writing the index)."""
    if total == 1:
        return ""
    return f": {done:,}/{total:,} ({100 * done // total}%)" if total else f": {done:,}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m {seconds:02d}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60:02d}m"


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
