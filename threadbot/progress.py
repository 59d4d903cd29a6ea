"""Progress bars for `threadbot index` (tqdm on stderr; silent when not a terminal unless asked)."""

from __future__ import annotations

import sys

from tqdm import tqdm

LABELS = {"parse": "parsing files", "embed": "embedding passages", "write": "writing index"}


class ProgressPrinter:
    """A `progress(stage, done, total)` callable drawing one bar per stage."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bar: tqdm | None = None
        self._stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage:
            self.close()
            self._stage = stage
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
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._stage = None
