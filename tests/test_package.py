"""The package as installed: the core resolves to this project, stays cheap to import, and stays readable."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "embeddings" / "__init__.py"


def _python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def _shadowing_package(tmp_path: Path) -> Path:
    """A different `embeddings` package, as an unrelated PyPI distribution of that name would be."""
    fake = tmp_path / "elsewhere" / "embeddings"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('the unrelated embeddings package was imported')\n")
    return fake.parent


def test_the_core_is_this_project_even_when_another_embeddings_comes_first(tmp_path):
    elsewhere = _shadowing_package(tmp_path)
    for entry in ("threadbot", "bot"):
        run = _python(
            f"import {entry}, embeddings; from embeddings import SearchService; print(embeddings.__file__)",
            tmp_path,
            PYTHONPATH=str(elsewhere),
        )
        assert run.returncode == 0, run.stderr
        assert Path(run.stdout.strip()) == CORE


def test_the_cli_runs_with_another_embeddings_first_on_the_path(tmp_path):
    elsewhere = _shadowing_package(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "threadbot", "--data-dir", str(tmp_path / "data"), "stats"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(elsewhere), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 4, run.stderr  # "no index yet", from this project's core
    assert "no index" in run.stderr and "Traceback" not in run.stderr


def test_importing_the_public_api_loads_no_heavy_dependency(tmp_path):
    run = _python(
        "import sys, embeddings; embeddings.Settings; embeddings.UsageError; embeddings.to_jsonable; "
        "print(sorted(m for m in ('faiss', 'numpy', 'torch', 'sentence_transformers') if m in sys.modules))",
        tmp_path,
        PYTHONPATH=str(ROOT),
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_every_public_name_resolves():
    import embeddings

    assert sorted(embeddings.__all__) == sorted(embeddings._EXPORTS)
    missing = [name for name in embeddings.__all__ if getattr(embeddings, name, None) is None]
    assert missing == []


def test_no_module_is_over_400_lines():
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for folder in ("embeddings", "bot", "threadbot", "tests", "benchmarks")
        for p in (ROOT / folder).rglob("*.py")
    }
    assert {path: n for path, n in sizes.items() if n > 400} == {}
