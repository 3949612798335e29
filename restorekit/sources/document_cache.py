"""Delivered documents (manifests, scripts) kept on disk between surveys.

Each document is stored under its NGAS file id and its archive size (``<file id>.<size>``): a
document the archive records with another size is a new one and is fetched again; one of unknown
size is never cached (a change could not be seen). Writes are atomic, so an interrupted survey
leaves only whole documents, and a rerun resumes from them.
"""

from __future__ import annotations

import threading
from pathlib import Path

from restorekit.fsutil import atomic_write
from restorekit.sources.ngas import check_file_id


class DocumentCache:
    """A directory of fetched documents; counts what it served and what it was asked for."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.stored = 0
        self._lock = threading.Lock()

    def _path(self, name: str, size: int) -> Path:
        check_file_id(name)
        return self.directory / f"{name}.{size}"

    def get(self, name: str, size: int | None) -> bytes | None:
        """The document, when cached whole at this size."""
        if size is None:
            return None
        path = self._path(name, size)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) != size:
            return None
        with self._lock:
            self.hits += 1
        return data

    def put(self, name: str, size: int | None, data: bytes) -> None:
        if size is None or len(data) != size:
            return
        try:
            atomic_write(self._path(name, size), data)
        except OSError:
            return  # a cache that cannot be written only costs a fetch next time
        with self._lock:
            self.stored += 1
