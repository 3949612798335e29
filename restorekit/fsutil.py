"""Writing files so that a final name never holds half a file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from restorekit.errors import InputError


def output_file(value: str | os.PathLike, *, what: str) -> Path:
    """``value`` as a file to write later, checked now: in an existing directory this process
    may write in, and not itself a directory. A long run then never ends on a path it could
    not write.

    Raises
    ------
    InputError
        Naming ``what``, the path and how to fix it.
    """
    path = Path(value).expanduser()
    parent = path.parent
    if path.is_dir():
        problem = "is a directory; give a file name in it"
    elif not parent.is_dir():
        problem = f"is in {str(parent)!r}, which is not a directory; create it or give another path"
    elif not os.access(parent, os.W_OK | os.X_OK):
        problem = f"cannot be written: {str(parent)!r} is not writable"
    else:
        return path
    raise InputError(f"{what} {str(path)!r} {problem}")


def atomic_write(path: Path, data: str | bytes, *, executable: bool = False) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o755 if executable else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_link(source: Path, target: Path) -> Path:
    """Make ``target`` hold the same file as ``source``: a hard link where the file system
    allows one, else a copy; either appears under ``target`` only once complete."""
    if target.exists() and os.path.samefile(source, target):
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


class StatCache:
    """A JSON file of values, each valid while the file it was made from keeps its size and
    mtime: what is slow to learn about a file (a tar listing, a program's version) is learnt
    once. A cache that cannot be read starts empty; one that cannot be written only costs
    the work again next time."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.changed = False
        self.entries: dict[str, dict] = {}
        if path is not None:
            try:
                self.entries = json.loads(path.read_text())
            except (OSError, ValueError):
                self.entries = {}

    def get(self, key: str, stat: os.stat_result):
        hit = self.entries.get(key)
        if isinstance(hit, dict) and (hit.get("size"), hit.get("mtime_ns")) == (
            stat.st_size,
            stat.st_mtime_ns,
        ):
            return hit.get("value")
        return None

    def put(self, key: str, stat: os.stat_result, value) -> None:
        self.entries[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "value": value}
        self.changed = True

    def save(self) -> None:
        if self.path is None or not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(self.entries))
        except OSError:
            pass
