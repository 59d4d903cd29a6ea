"""Exporting a loaded sentence-transformers model's transformer to ONNX, for the light query path (onnx_encoder.py).

Needs torch, onnx and onnxscript, so it runs only where the model is loaded anyway: at the end of a build, or on
the first query that finds no export. The export uses torch's maintained exporter (``dynamo=True``) with dynamic
batch and sequence axes; it is kept only when its vectors agree with sentence-transformers' on PROBES.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import logging
import os
import shutil
import threading
import warnings
from pathlib import Path

import numpy as np

from .onnx_encoder import (
    MODEL_FILE,
    SPEC_FILE,
    SPEC_FORMAT,
    TOKENIZER_FILE,
    Damaged,
    OnnxEncoder,
    Unsupported,
    read_pipeline,
    read_spec,
)

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EXAMPLE = ("a short example", "a longer example sentence, so that the traced batch holds padding")
# what the export must embed as sentence-transformers does: short, past max_seq_length, accents and scripts,
# emoji, punctuation alone, empty, code, surrounding white space
PROBES = (
    "how do I quote a post?",
    "word " * 400,
    "Ça coûte 5 €, naïve façade — Grüße aus Köln, 日本語のテキスト, Ελληνικά, русский текст",
    "🎉🔥👍 thanks!! 😂",
    "?",
    "",
    "def f(x):\n    return {k: v for k, v in x.items() if v}  # comprehension",
    "  Leading and trailing white space\t\n",
)
VERIFY_COSINE = 0.9999
QUIET_LOGGERS = ("torch.onnx", "torch.export", "torch._dynamo", "torch.fx", "onnxscript", "onnx_ir", "transformers")

# fingerprint -> a verified export this process made: another data directory gets a hard link (or a copy)
# instead of a second export
_EXPORTED: dict[str, Path] = {}


def export(model, source: Path, model_id: str, fingerprint: str, folder: Path) -> dict:
    """Export `model` (a loaded SentenceTransformer of the folder `source`) into `folder`, through a hidden .tmp
    folder renamed when whole and verified; returns its encoder.json. An export that fails or disagrees with
    sentence-transformers leaves only {"unsupported": why}, so later queries do not try again (a changed model
    folder has a new fingerprint and is tried afresh). Raises OSError or ImportError for what may pass."""
    root = folder.parent
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale(root, folder)
    tmp = root / f".{folder.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        spec = _link_earlier(fingerprint, model_id, tmp)
        if spec is None:
            base = {"format": SPEC_FORMAT, "model_id": model_id, "fingerprint": fingerprint, "source": str(source)}
            try:
                spec = _export_verified(model, source, base, tmp)
            except Unsupported as exc:
                for leftover in tmp.iterdir():
                    leftover.unlink()
                spec = {**base, "unsupported": str(exc)}
                _write_json(tmp / SPEC_FILE, spec)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not folder.is_dir():  # else another process renamed its export there first: that one is used
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    spec = read_spec(folder, model_id, fingerprint) or {}
    if "unsupported" not in spec:
        _EXPORTED.setdefault(fingerprint, folder)
    return spec


def _export_verified(model, source: Path, base: dict, tmp: Path) -> dict:
    pooling = read_pipeline(source)
    transformer = model[0]
    tokenizer = getattr(transformer, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise Unsupported("its tokenizer is not a `tokenizers` (Rust) one")
    if getattr(tokenizer, "padding_side", "right") != "right":
        raise Unsupported("its tokenizer pads on the left")
    if not model.max_seq_length:
        raise Unsupported("it has no max_seq_length")
    for package in ("onnx", "onnxscript"):  # torch's exporter imports them; missing, it is an install problem
        if importlib.util.find_spec(package) is None:
            raise ImportError(f"the ONNX exporter needs the package {package!r}: pip install {package}")
    features = tokenizer(list(EXAMPLE), padding=True, return_tensors="pt")
    names = [n for n in INPUTS if n in features]
    if "input_ids" not in names or set(features) - set(names):
        raise Unsupported(f"its tokenizer gives {', '.join(sorted(features))}")
    _export_onnx(transformer.auto_model, {n: features[n] for n in names}, tmp / MODEL_FILE)
    (tmp / TOKENIZER_FILE).write_text(backend.to_str(), encoding="utf-8")  # as configured: lowercasing included
    prompt_name = getattr(model, "default_prompt_name", None)
    spec = {
        **base,
        "max_seq_length": int(model.max_seq_length),
        "truncation_side": getattr(tokenizer, "truncation_side", "right"),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_type_id": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
        "inputs": names,
        "output": "token_embeddings",
        "pooling": pooling,
        "prompt": (getattr(model, "prompts", None) or {}).get(prompt_name, "") if prompt_name else "",
        "onnx_bytes": (tmp / MODEL_FILE).stat().st_size,
    }
    reference = np.asarray(
        model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False),
        dtype=np.float32,
    )
    spec["dimension"] = int(reference.shape[1])
    try:
        encoder = OnnxEncoder(tmp, spec)
    except Damaged as exc:
        raise Unsupported(f"onnxruntime cannot load the export ({exc})") from None
    batched = encoder.encode(list(PROBES))
    single = np.vstack([encoder.encode([p]) for p in PROBES])
    agreement = float(min((batched * reference).sum(axis=1).min(), (single * reference).sum(axis=1).min()))
    if agreement < VERIFY_COSINE:
        raise Unsupported(f"its ONNX vectors differ from sentence-transformers' (cosine {agreement:.6f})")
    spec["verified_cosine"] = round(agreement, 7)
    _write_json(tmp / SPEC_FILE, spec)  # last: a folder without it is not an export
    return spec


def _export_onnx(auto_model, example: dict, path: Path) -> None:
    import torch

    class TokenEmbeddings(torch.nn.Module):
        """The transformer's first output (token embeddings, as sentence-transformers pools them)."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask=None, token_type_ids=None):
            given = {"attention_mask": attention_mask, "token_type_ids": token_type_ids}
            return self.inner(input_ids=input_ids, **{k: v for k, v in given.items() if v is not None})[0]

    if next(auto_model.parameters()).device.type != "cpu":  # the export runs on the CPU, as onnxruntime does
        auto_model = copy.deepcopy(auto_model).to("cpu")
    axes = torch.export.Dim.DYNAMIC
    with warnings.catch_warnings(), _quiet(QUIET_LOGGERS), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation notes about the model's code, not the result
        try:
            torch.onnx.export(
                TokenEmbeddings(auto_model.eval()),
                (),
                str(path),
                kwargs=example,
                input_names=list(example),
                output_names=["token_embeddings"],
                dynamic_shapes={name: {0: axes, 1: axes} for name in example},
                dynamo=True,
                external_data=False,  # one file: a model under 2 GB
                optimize=False,  # onnxruntime optimises the graph when it loads it
                verbose=False,
            )
        except Exception as exc:  # the exporter raises many kinds for a model it cannot trace
            raise Unsupported(f"torch.onnx.export failed ({type(exc).__name__}: {str(exc)[:200]})") from None


@contextlib.contextmanager
def _quiet(names):
    """The exporter's progress and notes (torchvision missing, graph passes) stay out of the command's output."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _link_earlier(fingerprint: str, model_id: str, tmp: Path) -> dict | None:
    """The same model's export made earlier by this process, linked (or copied) into tmp; None when there is
    none that is still sound."""
    earlier = _EXPORTED.get(fingerprint)
    try:
        spec = read_spec(earlier, model_id, fingerprint) if earlier else None
    except Damaged:
        spec = None
    if not spec or "unsupported" in spec:
        _EXPORTED.pop(fingerprint, None)
        return None
    for name in (MODEL_FILE, TOKENIZER_FILE, SPEC_FILE):  # encoder.json last
        try:
            os.link(earlier / name, tmp / name)
        except OSError:  # another file system, or links not allowed
            shutil.copyfile(earlier / name, tmp / name)
    return spec


def _remove_stale(root: Path, folder: Path) -> None:
    """Exports of an earlier version of this model folder (same name, another fingerprint) and .tmp folders
    left by processes that are gone."""
    slug = folder.name.rsplit("-", 1)[0]
    for entry in root.iterdir():
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            parts = entry.name.split(".")
            if len(parts) >= 4 and parts[-3].isdigit() and not _alive(int(parts[-3])):
                shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_dir() and entry != folder and entry.name.rsplit("-", 1)[0] == slug:
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_json(path: Path, data: dict) -> None:
    # no fsync: a file cut short by a crash is caught by the size in encoder.json or by onnxruntime, and redone
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
