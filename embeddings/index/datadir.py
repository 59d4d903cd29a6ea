"""The data directory: index builds, the pointer to the live one, the vector cache.

    data_dir/
      CURRENT                  name of the live build (replaced atomically)
      builds/<build_id>/       manifest.json, index.sqlite, vectors.faiss
      builds/<build_id>.tmp/   a build in progress (deleted on start-up if stale)
      cache.sqlite             (model id, text hash) -> vector, shared by all builds
      build.lock               held by the process that is building

A build is written into a fresh ``.tmp`` directory, fsynced, renamed, and only
then does CURRENT switch to it with ``os.replace``: a crash at any point leaves
the previous build serving.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import IndexMismatchError, NoIndexError, RebuildInProgressError
from ..vectors.ann import VectorIndex
from .store import IndexStore

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_FILE = "index.sqlite"
VECTORS_FILE = "vectors.faiss"


@dataclass
class LoadedIndex:
    """One build, opened for reading."""

    path: Path
    manifest: dict
    store: IndexStore
    vectors: VectorIndex

    _passage_posts: dict[int, str] | None = None

    @property
    def build_id(self) -> str:
        return self.manifest["build_id"]

    def post_of_passage(self, passage_id: int) -> str:
        if self._passage_posts is None:
            self._passage_posts = self.store.passage_posts()
        return self._passage_posts[passage_id]

    def close(self) -> None:
        self.store.close()


class DataDir:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.builds = self.root / "builds"

    @property
    def cache_path(self) -> Path:
        return self.root / "cache.sqlite"

    def current_build(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def current_path(self) -> Path | None:
        name = self.current_build()
        return self.builds / name if name else None

    def pointer_mtime(self) -> float | None:
        try:
            return (self.root / "CURRENT").stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def read_manifest(self, build_path: Path | None = None) -> dict | None:
        build_path = build_path or self.current_path()
        if build_path is None:
            return None
        with open(build_path / MANIFEST, encoding="utf-8") as fh:
            return json.load(fh)

    def load(self, expected_model: str | None) -> LoadedIndex:
        """Open the live build; the manifest is read and checked first."""
        path = self.current_path()
        if path is None or not (path / MANIFEST).exists():
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
        vectors = VectorIndex.load(path / VECTORS_FILE)
        return LoadedIndex(path=path, manifest=manifest, store=IndexStore(path / DB_FILE), vectors=vectors)

    # --- writing -------------------------------------------------------------------------------
    def new_build_dir(self) -> tuple[str, Path]:
        self.builds.mkdir(parents=True, exist_ok=True)
        now = time.time()
        build_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now * 1e6) % 10**6:06d}-{os.getpid()}"
        while (self.builds / build_id).exists() or (self.builds / f"{build_id}.tmp").exists():
            build_id += "x"
        tmp = self.builds / f"{build_id}.tmp"
        tmp.mkdir()
        return build_id, tmp

    def commit_build(self, build_id: str, tmp: Path, manifest: dict) -> Path:
        """Make a finished build live: manifest last, fsync, rename, then swap CURRENT."""
        _write_json_atomic(tmp / MANIFEST, manifest)
        for name in (DB_FILE, VECTORS_FILE, MANIFEST):
            _fsync_path(tmp / name)
        final = self.builds / build_id
        os.replace(tmp, final)
        _fsync_path(self.builds)
        pointer_tmp = self.root / "CURRENT.tmp"
        pointer_tmp.write_text(build_id + "\n")
        _fsync_path(pointer_tmp)
        os.replace(pointer_tmp, self.root / "CURRENT")
        _fsync_path(self.root)
        self.prune(keep=2)
        return final

    def prune(self, keep: int = 2) -> None:
        """Delete stale .tmp builds and all but the newest `keep` finished ones (never the live one)."""
        if not self.builds.exists():
            return
        live = self.current_build()
        finished = sorted(
            (p for p in self.builds.iterdir() if p.is_dir() and not p.name.endswith(".tmp")),
            key=lambda p: p.name,
            reverse=True,
        )
        for old in finished[keep:]:
            if old.name != live:
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            info = _parse_lock(fh.read())
            fh.close()
            raise RebuildInProgressError(info.get("started_by"), info.get("started_at")) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "started_by": self.started_by, "started_at": time.time()}))
        fh.flush()
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


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
