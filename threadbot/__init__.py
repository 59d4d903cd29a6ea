"""The `threadbot` command line: a thin edge over embeddings.SearchService.

Importing this package makes sure ``embeddings`` is this project's core, installed beside it: a different
distribution's ``embeddings`` earlier on ``sys.path`` (``PYTHONPATH``, another site-packages) would otherwise
be imported in its place. The bot package imports this one for the same reason.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "embeddings" / "__init__.py"


def _load_core() -> None:
    loaded = sys.modules.get("embeddings")
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() != CORE:
            raise ImportError(f"another package named 'embeddings' ({loaded!r}) was imported before threadbot's core")
        return
    if not CORE.is_file():  # not laid out as installed: leave it to the normal import system
        return
    spec = importlib.util.spec_from_file_location("embeddings", CORE, submodule_search_locations=[str(CORE.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["embeddings"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["embeddings"]
        raise


_load_core()
