"""Optional re-ranking of the best candidates with a cross-encoder (`rerank_model` in the config).

A cross-encoder reads the question and a passage together and scores how well the passage answers it: slower
than comparing vectors (one model call per candidate and query), and usually better at telling an answer from a
passage that merely shares its words. So only the top `rerank_candidates` of the usual ranking are re-scored, in
one batch per search; the rest keep their order below them. Off by default: no cross-encoder ships with
threadbot, and the model has to be a local `sentence_transformers.CrossEncoder` folder, or a hub name already in
the local Hugging Face cache (nothing is downloaded at run time unless the user allows it: HF_HUB_OFFLINE).

sentence-transformers (and torch) are imported only when a reranker is configured and first used.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from ..errors import ConfigError

T = TypeVar("T")
MAX_CHARS = 2000  # characters of a passage the cross-encoder reads (its own limit is tokens: it truncates too)


class Reranker:
    """A cross-encoder loaded on first use, shared by every search of a service (thread-safe)."""

    def __init__(self, model: str, candidates: int = 30, device: str | None = None, batch_size: int = 32):
        self.model_name = model
        self.candidates = candidates
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()  # loading
        self._predicting = threading.Lock()  # one model, many search threads: predict is not re-entrant everywhere

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        path = Path(self.model_name).expanduser()
        if path.exists():
            if not (path / "config.json").exists():
                raise ConfigError(f"rerank_model {path}: not a cross-encoder model folder (no config.json)")
            target = str(path.resolve())
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        else:
            target = self.model_name
        from ..config import check_device, resolve_device

        device = resolve_device(self.device)
        check_device(device)
        from sentence_transformers import CrossEncoder

        try:
            return CrossEncoder(target, device=device)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load rerank_model {self.model_name!r}: {exc}") from None

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        """The cross-encoder's score of each (query, text) pair: higher is a better answer."""
        if not texts:
            return []
        pairs = [(query, text[:MAX_CHARS]) for text in texts]
        model = self.model
        with self._predicting:
            predicted = model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return [float(s) for s in predicted]

    def reorder(self, query: str, ranked: Sequence[T], text_of: Callable[[T], str]) -> list[T]:
        """`ranked` with its first `candidates` items in the cross-encoder's order (ties keep their rank), the
        rest after them as they were."""
        head, tail = list(ranked[: self.candidates]), list(ranked[self.candidates :])
        scores = self.scores(query, [text_of(item) for item in head])
        order = sorted(range(len(head)), key=lambda i: (-scores[i], i))
        return [head[i] for i in order] + tail


def rerank_groups(reranker: Reranker, index, query: str, groups: list, good: Callable[[float], bool]) -> list:
    """A question's posts (post id, its ranked passages) with the best `reranker.candidates` re-ordered by the
    cross-encoder reading each one's best passage. Good matches (above the relevance floor) stay ahead of weaker
    ones: the cross-encoder orders each of the two, so "only N good matches" still heads the first N."""
    head = groups[: reranker.candidates]
    texts = index.store.passages_by_ids([passages[0][0] for _, passages in head])
    text_of = lambda group: texts[group[1][0][0]]["text"]  # noqa: E731
    strong = [g for g in head if good(g[1][0][1])]
    weak = [g for g in head if not good(g[1][0][1])]
    return reranker.reorder(query, strong, text_of) + reranker.reorder(query, weak, text_of) + groups[len(head) :]
