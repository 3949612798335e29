"""Write an archive (SQLite, following ``alma_schema.sql``) and its NGAS store from specs."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from restorekit import __version__
from restorekit.config import cache_root
from restorekit.errors import ConfigurationError
from restorekit.sources.schema import schema_ddl

from .documents import deliverables, real_file
from .model import MousSpec
from .rows import Rows, add_mous, empty_rows

DATABASE_NAME = "archive.db"
NGAS_NAME = "ngas"
RAWDATA_NAME = "rawdata"


@dataclass(frozen=True)
class DemoArchive:
    """Where a built archive lives: ``root/archive.db`` and the NGAS store ``root/ngas/``."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / DATABASE_NAME

    @property
    def ngas(self) -> Path:
        return self.root / NGAS_NAME

    @property
    def rawdata(self) -> Path:
        """Raw ASDMs of the MOUSes with real data, one directory per EB (``uid___A002_...``)."""
        return self.root / RAWDATA_NAME

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}"


def write_database(path: Path, rows: Rows) -> None:
    """Create ``path`` from the schema DDL and fill it with ``rows``."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(schema_ddl())
        for table, values in rows.items():
            if values:
                marks = ",".join("?" * len(values[0]))
                conn.executemany(f"INSERT INTO {table.upper()} VALUES ({marks})", values)  # noqa: S608
        conn.commit()
    finally:
        conn.close()


Files = Literal["all", "documents", "none"]
"""What a build writes into NGAS: every product, only the documents (manifests and scripts,
what a deep survey reads), or nothing (products then have no ``STORED_SIZE``)."""


def write_deliverables(directory: Path, spec: MousSpec, files: Files = "all") -> dict[str, int]:
    """Write ``spec``'s deliverables (``files`` of them) into ``directory``; sizes by file id."""
    sizes: dict[str, int] = {}
    if files == "none":
        return sizes
    for product in deliverables(spec):
        if files == "documents" and product.file_class != "script":
            continue
        data = product.render()
        (directory / product.name).write_bytes(data)
        sizes[product.name] = len(data)
    return sizes


def build_archive(
    directory: Path | str, specs: Iterable[MousSpec], *, files: Files = "all"
) -> DemoArchive:
    """Build the archive and NGAS store of ``specs`` into ``directory``, one spec at a time.

    Everything is written beside the target first and moved into place at the end, so an
    interrupted build leaves the previous archive (or nothing) behind, never half of one.
    ``files`` says which products are written (:data:`Files`): synthetic archives of many
    MOUSes write the documents or nothing.
    """
    target = Path(directory)
    try:
        target.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=target))
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the archive into {str(target)!r} ({exc.strerror}); choose a writable "
            "directory"
        ) from None
    try:
        (work / NGAS_NAME).mkdir()
        (work / RAWDATA_NAME).mkdir()
        rows = empty_rows()
        seen: set[str] = set()
        for spec in specs:
            sizes = write_deliverables(work / NGAS_NAME, spec, files)
            if files == "all":
                write_rawdata(work / RAWDATA_NAME, spec)
            known = sizes.get if files != "none" else None
            add_mous(rows, spec, sizes=known, seen_projects=seen)
        write_database(work / DATABASE_NAME, rows)
        _move_into_place(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return DemoArchive(target)


def write_rawdata(directory: Path, spec: MousSpec) -> None:
    """Unpack the raw ASDMs of a real-data MOUS into ``directory``."""
    if not spec.real_data:
        return
    for _, eb in spec.all_ebs():
        if not eb.is_calibrated:
            continue
        data = real_file(f"{eb.file}.asdm.tgz")()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(directory, filter="data")


def _move_into_place(work: Path, target: Path) -> None:
    trash = Path(tempfile.mkdtemp(prefix=".old-", dir=target))
    for name in (NGAS_NAME, RAWDATA_NAME):
        if (target / name).exists():
            (target / name).rename(trash / name)
        os.replace(work / name, target / name)
    os.replace(work / DATABASE_NAME, target / DATABASE_NAME)
    for stale in target.glob(".old-*"):
        shutil.rmtree(stale, ignore_errors=True)


def fingerprint() -> str:
    """Changes whenever the demo fixtures, the renderers or the schema change."""
    digest = hashlib.sha256(__version__.encode())
    package = resources.files(__package__)
    for name in sorted(p.name for p in package.iterdir() if p.name.endswith(".py")):
        digest.update(package.joinpath(name).read_bytes())
    for item in sorted(Path(str(package.joinpath("data"))).rglob("*")):
        if item.is_file():
            digest.update(item.name.encode() + item.read_bytes())
    digest.update(schema_ddl().encode())
    return digest.hexdigest()[:12]


def demo_archive(cache: Path | str | None = None) -> DemoArchive:
    """The embedded demo archive, built on first use into the cache and reused after."""
    from .fixtures import DEMO_SPECS

    root = Path(cache) if cache is not None else cache_root()
    final = root / f"demo-{fingerprint()}"
    if (final / DATABASE_NAME).is_file():
        return DemoArchive(final)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=root))
    try:
        build_archive(staging, DEMO_SPECS)
        try:
            staging.rename(final)
        except OSError:
            if not (final / DATABASE_NAME).is_file():  # not a concurrent build that won
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return DemoArchive(final)
