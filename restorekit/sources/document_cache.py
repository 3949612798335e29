"""Delivered documents (manifests, scripts) kept on disk between surveys.

Each document is stored under its NGAS file id and its archive size (``<file id>.<size>``): a
document the archive records with another size is a new one and is fetched again; one of unknown
size is never cached (a change could not be seen). Writes are atomic, so an interrupted survey
leaves only whole documents, and a rerun resumes from them.

Beside each document its reading may be kept (``<file id>.<size>.<form>.json``): what the
manifest or script reader made of it, so that a rerun reads JSON instead of parsing XML and
Python again. The form's name carries a digest of the reader's source, so a changed reader
never sees an old reading; a reading is kept only when it survives JSON exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from restorekit.fsutil import atomic_write
from restorekit.sources.ngas import check_file_id


@dataclass(frozen=True)
class ParsedForm:
    """How one reader's results are kept: ``modules`` (of :mod:`restorekit.sources`) hold the
    reader's code; ``to_plain``/``from_plain`` turn a result into JSON values and back."""

    kind: str
    modules: tuple[str, ...]
    to_plain: Callable[[Any], dict]
    from_plain: Callable[[dict], Any]
    exact: bool = False
    """True when JSON holds every reading exactly (strings only): no round trip is checked."""

    @cached_property
    def key(self) -> str:
        digest = hashlib.sha256()
        for module in self.modules:
            digest.update(
                resources.files("restorekit.sources").joinpath(f"{module}.py").read_bytes()
            )
        return f"{self.kind}-{digest.hexdigest()[:10]}"


class DocumentCache:
    """A directory of fetched documents; counts what it served and what it was asked for."""

    def __init__(self, directory: str | Path) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.directory = os.fspath(directory)
        """A string, not a Path: a warm survey joins it with a name three times per MOUS."""
        self.hits = 0
        self.stored = 0
        self._lock = threading.Lock()

    def _path(self, name: str, size: int, form: ParsedForm | None = None) -> str:
        check_file_id(name)
        return os.path.join(
            self.directory, f"{name}.{size}.{form.key}.json" if form else f"{name}.{size}"
        )

    def has(self, name: str, size: int | None) -> bool:
        """Whether the document is cached at this size (without reading it)."""
        return size is not None and os.path.isfile(self._path(name, size))

    def get(self, name: str, size: int | None) -> bytes | None:
        """The document, when cached whole at this size."""
        if size is None:
            return None
        try:
            data = _read(self._path(name, size))
        except OSError:
            return None
        if len(data) != size:
            return None
        with self._lock:
            self.hits += 1
        return data

    def get_parsed(self, name: str, size: int | None, form: ParsedForm) -> Any | None:
        """The kept reading of the document at this size, if any (counted as a hit)."""
        if size is None:
            return None
        try:
            value = form.from_plain(json.loads(_read(self._path(name, size, form))))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        with self._lock:
            self.hits += 1
        return value

    def put_parsed(self, name: str, size: int | None, form: ParsedForm, value: Any) -> None:
        if size is None:
            return
        text = json.dumps(form.to_plain(value))
        if not form.exact and form.from_plain(json.loads(text)) != value:
            return  # tuples, sets or other values JSON cannot hold: parse again next time
        self._write(self._path(name, size, form), text.encode())

    def put(self, name: str, size: int | None, data: bytes) -> None:
        if size is None or len(data) != size:
            return
        if self._write(self._path(name, size), data):
            with self._lock:
                self.stored += 1

    @staticmethod
    def _write(path: str, data: bytes) -> bool:
        try:
            atomic_write(Path(path), data)
        except OSError:
            return False  # a cache that cannot be written only costs a fetch next time
        return True


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()
