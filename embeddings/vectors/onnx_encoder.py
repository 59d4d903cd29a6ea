"""The light query path: a sentence-transformers model's transformer exported to ONNX, run on ONNX Runtime.

Answering a question then imports neither torch nor sentence-transformers (≈ 4 s of a cold CLI search). The
export (vectors/onnx_export.py) is made once per model folder and data directory, when a build has the model
loaded anyway, or on the first query that finds none; building itself always embeds with sentence-transformers,
the reference these vectors are verified against (cosine ≥ 0.9999 on varied probes) before an export is kept.

    data_dir/models/<model id>-<fingerprint>/
      model.onnx       the transformer: input ids, attention mask (token type ids) -> token embeddings
      tokenizer.json   the tokenizer exactly as sentence-transformers configured it (lowercasing included)
      encoder.json     written last: pooling, max length, padding, prompt, the source's fingerprint, the size
                       of model.onnx; or only {"unsupported": why} for a model whose export failed

A folder appears whole (written as a hidden ``.tmp`` folder, then renamed); a new fingerprint (the model
folder changed) means a new folder, and the stale one is removed. A folder found damaged (a half-written
model.onnx that onnxruntime refuses, a foreign encoder.json) is removed, with a warning, and exported again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODELS_DIR = "models"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
SPEC_FILE = "encoder.json"
SPEC_FORMAT = 1
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens")  # the sentence-transformers modes supported here
# sentence-transformers' legacy pooling keys, in the order it concatenates them
LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


class Unsupported(Exception):
    """The model cannot run on the light path; the message says why."""


class Damaged(Exception):
    """An export folder that is there but cannot be used."""


def models_root(data_root: str | os.PathLike) -> Path:
    return Path(data_root) / MODELS_DIR


def export_dir(root: Path, model_id: str, fingerprint: str) -> Path:
    """<root>/<model id, made a file name>-<fingerprint>; a path model's id already ends in its fingerprint."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id.removesuffix(f":{fingerprint}")).strip("._")[:80]
    return root / f"{slug or 'model'}-{fingerprint}"


def read_pipeline(folder: Path) -> list[str]:
    """The pooling modes of a model folder, from modules.json and its Pooling config. Unsupported unless the
    modules are a Transformer, a Pooling and at most a Normalize (normalising is always done here); a folder
    without modules.json is, as sentence-transformers loads it, a transformer with mean pooling."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ["mean"]
    except (OSError, ValueError) as exc:
        raise Unsupported(f"{folder / 'modules.json'} cannot be read ({exc})") from None
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules if isinstance(m, dict)]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise Unsupported(f"modules {' + '.join(kinds) or 'none'} (supported: Transformer + Pooling [+ Normalize])")
    pooling = modules[1].get("path") or "1_Pooling"
    try:
        config = json.loads((folder / pooling / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Unsupported(f"{folder / pooling / 'config.json'} cannot be read ({exc})") from None
    if "pooling_mode" in config:
        mode = config["pooling_mode"]
        modes = [mode] if isinstance(mode, str) else list(mode)
    else:
        modes = [name for key, name in LEGACY_POOLING.items() if config.get(key)]
    if config.get("include_prompt") is False:
        raise Unsupported("pooling that leaves the prompt out")
    unknown = [m for m in modes if m not in POOLING_MODES]
    if not modes or unknown:
        raise Unsupported(f"pooling {', '.join(map(str, unknown)) or 'none'} (supported: {', '.join(POOLING_MODES)})")
    return modes


def pool(tokens: np.ndarray, mask: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """Token embeddings (batch, length, dim) to one row each, as sentence-transformers' Pooling computes it;
    several modes are concatenated in the given order."""
    keep = mask[..., None].astype(tokens.dtype)
    count = np.clip(keep.sum(axis=1), 1e-9, None)
    out = []
    for mode in modes:
        if mode == "cls":
            out.append(tokens[np.arange(len(tokens)), mask.argmax(axis=1)])
        elif mode == "max":
            out.append(np.where(keep > 0, tokens, -np.inf).max(axis=1))
        elif mode == "mean":
            out.append((tokens * keep).sum(axis=1) / count)
        else:  # mean_sqrt_len_tokens
            out.append((tokens * keep).sum(axis=1) / np.sqrt(count))
    return np.concatenate(out, axis=1)


def normalise(rows: np.ndarray) -> np.ndarray:
    """L2-normalised rows, as torch.nn.functional.normalize (a zero row stays zero)."""
    return (rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class OnnxEncoder:
    """One export, loaded: tokenizers for the word pieces, onnxruntime for the transformer, numpy for pooling."""

    def __init__(self, folder: Path, spec: dict):
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
            self.tokenizer.no_padding()  # padded here, per batch
            self.tokenizer.enable_truncation(
                int(spec["max_seq_length"]), strategy="longest_first", direction=spec["truncation_side"]
            )
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # errors only: its warnings are about graph fusions, not results
            self.session = onnxruntime.InferenceSession(
                str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
            self.inputs = list(spec["inputs"])
            self.output = spec["output"]
            self.pooling = list(spec["pooling"])
            self.dimension = int(spec["dimension"])
            self.prompt = spec.get("prompt") or ""
            self.pad = (int(spec["pad_id"]), int(spec["pad_type_id"]))
        except Exception as exc:  # onnxruntime and tokenizers raise their own types for a file they refuse
            raise Damaged(f"{folder} cannot be loaded ({_short(exc)})") from None
        names = {i.name for i in self.session.get_inputs()}
        if names != set(self.inputs):
            raise Damaged(f"{folder / MODEL_FILE} takes {sorted(names)}, {SPEC_FILE} says {sorted(self.inputs)}")

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 rows; texts of similar length are batched together, as sentence-transformers
        does, so that little is padded."""
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([self.prompt + t for t in texts])
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        step = max(1, batch_size)
        for start in range(0, len(order), step):
            part = order[start : start + step]
            width = max(len(encodings[i].ids) for i in part)
            ids = np.full((len(part), width), self.pad[0], dtype=np.int64)
            types = np.full((len(part), width), self.pad[1], dtype=np.int64)
            mask = np.zeros((len(part), width), dtype=np.int64)
            for row, i in enumerate(part):
                n = len(encodings[i].ids)
                ids[row, :n], types[row, :n], mask[row, :n] = encodings[i].ids, encodings[i].type_ids, 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            tokens = self.session.run([self.output], {name: feeds[name] for name in self.inputs})[0]
            rows[part] = pool(np.asarray(tokens, dtype=np.float32), mask, self.pooling)
        return normalise(rows)


# Loaded exports, shared by every Embedder of the process, by model.onnx's file identity (device, inode, size,
# mtime): a CLI command or a test makes a new Embedder each time, hard-linked exports in several data directories
# are one, and a replaced or rewritten file is loaded (and so checked) again.
_LOADED: dict[tuple[int, int, int, int], OnnxEncoder] = {}
_LOADED_LOCK = threading.Lock()


def read_spec(folder: Path, model_id: str, fingerprint: str) -> dict | None:
    """The export's encoder.json when it is this model's; None when the folder is not there. Damaged when the
    folder is there but its description is missing, foreign or disagrees with model.onnx."""
    if not folder.exists():
        return None
    try:
        spec = json.loads((folder / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Damaged(f"{folder / SPEC_FILE} cannot be read ({_short(exc)})") from None
    if not isinstance(spec, dict) or spec.get("format") != SPEC_FORMAT:
        raise Damaged(f"{folder / SPEC_FILE} is not an encoder description of format {SPEC_FORMAT}")
    if spec.get("model_id") != model_id or spec.get("fingerprint") != fingerprint:
        raise Damaged(f"{folder / SPEC_FILE} describes another model")
    if "unsupported" in spec:
        return spec
    try:
        size = (folder / MODEL_FILE).stat().st_size
    except OSError as exc:
        raise Damaged(f"{folder / MODEL_FILE} cannot be read ({exc.strerror or exc})") from None
    if size != spec.get("onnx_bytes"):
        raise Damaged(f"{folder / MODEL_FILE} holds {size} bytes, {SPEC_FILE} says {spec.get('onnx_bytes')}")
    return spec


def load_encoder(folder: Path, spec: dict) -> OnnxEncoder:
    info = (folder / MODEL_FILE).stat()
    key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    with _LOADED_LOCK:
        if key not in _LOADED:
            _LOADED[key] = OnnxEncoder(folder, spec)
        return _LOADED[key]


def open_query_encoder(
    data_root: str | os.PathLike,
    model_id: str,
    source: Path,
    fingerprint: str,
    load_model: Callable[[], object],
    *,
    building: bool = False,
) -> OnnxEncoder | None:
    """The light encoder for the model folder `source`, exported first when there is none (that needs the
    sentence-transformers model: `load_model()`); None, after one log line saying why, where queries must use
    sentence-transformers. `building`: called by a build, where a reason to fall back is news (a warning);
    on the query path a known one is logged at info level."""
    root = models_root(data_root)
    folder = export_dir(root, model_id, fingerprint)
    known = log.info if not building else log.warning
    try:
        read_pipeline(source)
        for attempt in (1, 2):
            try:
                spec = read_spec(folder, model_id, fingerprint)
                if spec is None:
                    from .onnx_export import export

                    log.info("exporting the query encoder of %s to %s (once per model)", model_id, folder)
                    spec = export(load_model(), source, model_id, fingerprint, folder)
                    known = log.warning
                if "unsupported" in spec:
                    raise Unsupported(spec["unsupported"])
                return load_encoder(folder, spec)
            except Damaged as exc:
                if attempt == 2:
                    raise
                log.warning("%s: removed, exporting the query encoder again", exc)
                shutil.rmtree(folder, ignore_errors=True)
    except Unsupported as exc:
        known("queries use sentence-transformers: %s cannot run on ONNX Runtime: %s", model_id, exc)
    except Damaged as exc:
        log.warning("queries use sentence-transformers: %s", exc)
    except Exception as exc:  # a full disk, a missing package, torch refusing: the reference path still answers
        log.warning("queries use sentence-transformers: the ONNX export of %s failed (%s)", model_id, _short(exc))
    return None


def _short(exc: BaseException) -> str:
    text = str((exc.strerror if isinstance(exc, OSError) else None) or exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
