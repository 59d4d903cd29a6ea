"""The data directory: index builds, the pointer to the live one, the embedding cache.

    data_dir/
      CURRENT                  name of the live build (replaced atomically)
      builds/<build_id>/       manifest.json, index.sqlite, vectors.faiss, sentences.sqlite (highlights)
      builds/<build_id>.tmp/   a build in progress (deleted on start-up if stale)
      cache.sqlite             (model id, text hash) -> vector, shared by all builds
      build.lock               held by the process that is building
      models/                  the query encoder's ONNX export (vectors/onnx_encoder.py): not a build, never pruned

A build is written into a fresh ``.tmp`` directory, fsynced, renamed, and only
then does CURRENT switch to it with ``os.replace``: a crash at any point leaves
the previous build serving. A build whose switch fails (a full disk) is removed
again, so it can never be taken for the previous build later.

Reading checks before trusting: a missing, truncated or foreign file of the live
build is an IndexDamagedError naming it, never a traceback.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..durable import fsync_path
from ..errors import IndexDamagedError, IndexMismatchError, NoIndexError, RebuildInProgressError, StorageError, reason
from ..vectors.ann import VectorIndex, load_vector_index
from .layout import Layout
from .lexicon import Lexicon
from .sentences import SentenceVectors, open_sentence_vectors
from .sql import HAS_LAYOUT
from .store import IndexStore

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_FILE = "index.sqlite"
VECTORS_FILE = "vectors.faiss"


@dataclass
class LoadedIndex:
    """One build, opened for reading. `layout` and `lexicon` (filters as id sets, keyword ranking from postings)
    are None for a build made before builds laid them out: it filters and ranks keywords with SQL and FTS5."""

    path: Path
    manifest: dict
    store: IndexStore
    vectors: VectorIndex
    layout: Layout | None = None
    lexicon: Lexicon | None = None
    sentences: SentenceVectors | None = None  # the build's sentence vectors for highlights (index/sentences.py)

    @property
    def build_id(self) -> str:
        return self.manifest["build_id"]

    def close(self) -> None:
        self.store.close()
        if self.sentences is not None:
            self.sentences.close()


class DataDir:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.builds = self.root / "builds"

    @property
    def cache_path(self) -> Path:
        return self.root / "cache.sqlite"

    def current_build(self) -> str | None:
        """The name CURRENT holds; None when there is no CURRENT. Raises IndexDamagedError if it can't be read."""
        pointer = self.root / "CURRENT"
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexDamagedError(f"{pointer} cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
        if len(name) > 200 or not name.isprintable():
            raise IndexDamagedError(f"{pointer} does not hold a build name")
        return name or None

    def _live_build_or_none(self) -> str | None:
        """The live build's name when CURRENT names one that is there; None otherwise (a damaged pointer that a
        new build replaces)."""
        try:
            name = self.current_build()
        except IndexDamagedError:
            return None
        return name if name and (self.builds / name).is_dir() else None

    def current_path(self) -> Path | None:
        """The live build's directory; None when there is none. Raises IndexDamagedError if CURRENT names a
        build that is not there."""
        name = self.current_build()
        if not name:
            return None
        path = self.builds / name
        if "/" in name or name.startswith(".") or not path.is_dir():
            raise IndexDamagedError(f"{self.root / 'CURRENT'} names build {name!r}, which is not in {self.builds}")
        return path

    def pointer_mtime(self) -> float | None:
        try:
            return (self.root / "CURRENT").stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def read_manifest(self, build_path: Path | None = None) -> dict | None:
        """A build's manifest (default: the live build's; None when there is none)."""
        build_path = build_path or self.current_path()
        if build_path is None:
            return None
        path = build_path / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexDamagedError(f"{path} is missing") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise IndexDamagedError(f"{path} cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("counts", {}), dict):
            raise IndexDamagedError(f"{path} is not a threadbot manifest")
        return manifest

    def load(self, expected_model: str | None) -> LoadedIndex:
        """Open the live build; the manifest is read and checked first, then each file against it."""
        path = self.current_path()
        if path is None:
            raise NoIndexError(f"no index in {self.root}: run `threadbot index PATH...` first")
        manifest = self.read_manifest(path)
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"the index in {self.root} has format {manifest.get('format_version')}, this threadbot reads "
                f"format {FORMAT_VERSION}: rebuild it with `threadbot index --replace <sources>`"
            )
        if expected_model is not None and manifest.get("model") != expected_model:
            raise IndexMismatchError(
                f"the index in {self.root} was built with model {manifest.get('model')!r} but the configured model "
                f"is {expected_model!r}: set `model` back, or rebuild with `threadbot index` (the old index keeps "
                "serving until the new one is complete)"
            )
        passages = manifest.get("counts", {}).get("passages")
        try:
            vectors = load_vector_index(path / VECTORS_FILE)
        except (RuntimeError, OSError) as exc:  # FAISS reports a short or foreign file as RuntimeError
            raise IndexDamagedError(f"{path / VECTORS_FILE} cannot be read ({reason(exc)})") from None
        if len(vectors) != passages or vectors.dimension != manifest.get("dimension"):
            raise IndexDamagedError(
                f"{path / VECTORS_FILE} holds {len(vectors)} vectors of dimension "
                f"{vectors.dimension}, the manifest says {passages} of {manifest.get('dimension')}"
            )
        if not (path / DB_FILE).is_file():
            raise IndexDamagedError(f"{path / DB_FILE} is missing")
        store = IndexStore(path / DB_FILE)
        try:
            stored = store.passage_count()
            laid_out = store.fetch(HAS_LAYOUT)[0][0] == 2
        except IndexDamagedError:
            store.close()
            raise
        if stored != passages:
            store.close()
            raise IndexDamagedError(f"{path / DB_FILE} holds {stored} passages, the manifest says {passages}")
        try:  # None for a build made before sentence vectors: its highlights embed sentences at query time
            sentences = open_sentence_vectors(path, manifest.get("model"), manifest.get("dimension"))
        except IndexDamagedError:
            store.close()
            raise
        if not laid_out:
            return LoadedIndex(path=path, manifest=manifest, store=store, vectors=vectors, sentences=sentences)
        return LoadedIndex(path, manifest, store, vectors, Layout(store), Lexicon(store), sentences)

    # --- writing -------------------------------------------------------------------------------
    def new_build_dir(self) -> tuple[str, Path]:
        try:
            if self.builds.exists() and not self.builds.is_dir():  # damage: keep it, out of the way
                os.replace(self.builds, self.root / f"builds.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
            self.builds.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(self.builds, exc.strerror or str(exc)) from None
        now = time.time()
        build_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now * 1e6) % 10**6:06d}-{os.getpid()}"
        while (self.builds / build_id).exists() or (self.builds / f"{build_id}.tmp").exists():
            build_id += "x"
        tmp = self.builds / f"{build_id}.tmp"
        try:
            tmp.mkdir()
        except OSError as exc:
            raise StorageError(tmp, exc.strerror or str(exc)) from None
        return build_id, tmp

    def commit_build(self, build_id: str, tmp: Path, manifest: dict) -> Path:
        """Make a finished build live: manifest last, fsync, rename, then swap CURRENT. The build that was live
        is kept (a fallback); older ones, and any build that never went live, are deleted."""
        # the fallback kept: the live build, or when the pointer is damaged the newest finished build
        previous = self._live_build_or_none() or max(
            (p.name for p in self.builds.iterdir() if p.is_dir() and not p.name.endswith(".tmp")), default=None
        )
        final = self.builds / build_id
        try:
            _write_json_atomic(tmp / MANIFEST, manifest)
            for name in (DB_FILE, VECTORS_FILE, MANIFEST):
                fsync_path(tmp / name)
            os.replace(tmp, final)
            fsync_path(self.builds)
            pointer_tmp = self.root / "CURRENT.tmp"
            if (self.root / "CURRENT").is_dir():  # damage: a directory where the pointer should be
                shutil.rmtree(self.root / "CURRENT")
            try:
                pointer_tmp.write_text(build_id + "\n")
                fsync_path(pointer_tmp)
                os.replace(pointer_tmp, self.root / "CURRENT")
            except BaseException:
                pointer_tmp.unlink(missing_ok=True)
                shutil.rmtree(final, ignore_errors=True)  # never live: it must not pass for the previous build
                raise
            fsync_path(self.root)
        except OSError as exc:
            raise StorageError(exc.filename or self.root, exc.strerror or str(exc)) from None
        self.prune(keep={build_id, previous})
        return final

    def prune(self, keep: set[str | None] | None = None) -> None:
        """Delete stale .tmp builds; with `keep`, also every finished build not named in it (never the live one)."""
        if not self.builds.exists():
            return
        if keep is not None:
            keep = keep | {self._live_build_or_none()}
            for old in self.builds.iterdir():
                if old.is_dir() and not old.name.endswith(".tmp") and old.name not in keep:
                    shutil.rmtree(old, ignore_errors=True)
        for tmp in self.builds.glob("*.tmp"):
            pid = _pid_of(tmp.name)
            if pid is None or not _alive(pid):
                shutil.rmtree(tmp, ignore_errors=True)

    def size_bytes(self) -> int:
        total = 0
        for dirpath, _, names in os.walk(self.root):
            for name in names:
                try:
                    total += os.path.getsize(os.path.join(dirpath, name))
                except OSError:
                    pass
        return total


class BuildLock:
    """An exclusive, non-blocking lock on data_dir/build.lock (works across processes)."""

    def __init__(self, root: Path, started_by: str | None = None):
        self.path = root / "build.lock"
        self.started_by = started_by
        self._fh = None

    def __enter__(self) -> BuildLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+")
        except OSError as exc:
            raise StorageError(self.path, exc.strerror or str(exc)) from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            info = _parse_lock(fh.read())
            fh.close()
            raise RebuildInProgressError(info.get("started_by"), info.get("started_at")) from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"pid": os.getpid(), "started_by": self.started_by, "started_at": time.time()}))
            fh.flush()
        except OSError as exc:
            fh.close()
            raise StorageError(self.path, exc.strerror or str(exc)) from None
        self._fh = fh
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            self._fh.truncate(0)
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _parse_lock(text: str) -> dict:
    try:
        return json.loads(text) or {}
    except ValueError:
        return {}


def _pid_of(name: str) -> int | None:
    """The pid in a build directory name "<timestamp>-<pid>[.tmp]"."""
    parts = name.removesuffix(".tmp").split("-")
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def manifest_text(data: dict) -> str:
    """A manifest as JSON, one top-level key a line (sorted), each value compact: readable at a glance, and made by
    the json module's C encoder (an indented dump is pure Python: 0.4 s for the 40,000 file records of a large
    spool, against 0.1)."""
    lines = [f"{json.dumps(key)}: {json.dumps(data[key], sort_keys=True)}" for key in sorted(data)]
    return "{\n" + ",\n".join(lines) + "\n}\n" if lines else "{}\n"


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(manifest_text(data), encoding="utf-8")
    os.replace(tmp, path)
