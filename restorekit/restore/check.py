"""Preflight of a restore area: what the pipeline's restore will read, checked before CASA runs.

It follows ``hifa_restoredata`` (pipeline 2024.2, ``h/tasks/restoredata``): the manifest is the
``*pipeline_manifest.xml`` in ``products/`` (``*cal*`` preferred when several); every caltables,
flagversions and calapply file it names is copied from ``products/`` by exactly that name; each
imported MS looks its flags and calapply up by ``asdm@name`` (``<eb>.ms``) and its session's
caltables by session name (else ``default``); flags are restored from the flag version
``Pipeline_Final``; caltables members are taken by MS-name prefix; calapply tables must exist.

Archives are read for their member names only. A ``.tgz`` cannot be listed without inflating it,
so each listing is kept in ``working/.restorekit-tars.json`` keyed by size and mtime: a check of
an area ``prepare`` wrote (which checks it once) reads no archive again.
"""

from __future__ import annotations

import json
import tarfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from restorekit.errors import DocumentError, InputError, NgasError
from restorekit.restore.ppr_reading import PprReading, read_ppr
from restorekit.restore.tarlist import INDEX_NAME, TarListing, TarListings
from restorekit.sources.calapply import gaintables
from restorekit.sources.manifest import Manifest, choose_manifest, parse_manifest
from restorekit.sources.ngas import check_file_id
from restorekit.sources.scripts import parse_script

FLAG_VERSION = "Pipeline_Final"


@dataclass(frozen=True)
class Problem:
    """One thing the pipeline's restore would fail on: the file and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class CheckReport:
    """What :func:`check_area` found."""

    area: Path
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    archives_read: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "area": str(self.area),
            "ok": self.ok,
            "problems": [{"path": p.path, "message": p.message} for p in self.problems],
            "files_checked": self.files,
            "archives_read": self.archives_read,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        verdict = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        return f"check of {self.area}: {verdict} ({self.files} files, {self.seconds:.2f} s)"


def check_area(area: str | Path, *, rawdata: bool = True) -> CheckReport:
    """Check a restore area the way the pipeline's restore will read it.

    Parameters
    ----------
    area
        The ``MOUS_uid___...`` directory (holding ``working/``, ``products/``, ``rawdata/``).
    rawdata
        Require every ASDM in ``rawdata/``; with False, an ASDM not there yet only has to be
        one ``export_rawdata.sh`` will write.

    Raises
    ------
    InputError
        If ``area`` is not a restore area.
    """
    started = time.perf_counter()
    root = Path(area)
    if not (root / "working").is_dir() or not (root / "products").is_dir():
        raise InputError(
            f"{str(root)!r} is not a restore area (it has no working/ and products/); give the "
            "MOUS_uid___... directory that restorekit prepare wrote"
        )
    report = CheckReport(root.resolve())
    archives = TarListings(root / "working" / INDEX_NAME)
    _Checker(root, report, archives, rawdata).run()
    archives.save()
    report.archives_read = archives.read
    report.seconds = time.perf_counter() - started
    return report


class _Checker:
    def __init__(self, root: Path, report: CheckReport, archives: TarListings, rawdata: bool):
        self.root, self.report, self.archives, self.rawdata = root, report, archives, rawdata
        self.products = root / "products"
        record = root / "working" / "restorekit.json"
        try:
            self.record = json.loads(record.read_text()) if record.is_file() else {}
        except (OSError, ValueError):
            self.record = {}
        self.sizes: dict[str, int | None] = self.record.get("product_sizes") or {}
        self.manifest_name: str | None = None

    def problem(self, path: str, message: str) -> None:
        self.report.problems.append(Problem(path, message))

    def run(self) -> None:
        manifest = self._manifest()
        reading = self._ppr()
        restored = self._restored(reading)
        self._restore_script(manifest)
        if manifest is None:
            return
        files = self._manifest_files(manifest)
        self._sessions(manifest, restored)
        self._per_ms(manifest, restored, files)
        self._rawdata(reading)

    # -- the documents ---------------------------------------------------------------------

    def _manifest(self) -> Manifest | None:
        names = [p.name for p in self.products.glob("*pipeline_manifest.xml")]
        chosen = self.manifest_name = choose_manifest(names)
        if chosen is None:
            self.problem("products/", "no *pipeline_manifest.xml: hifa_restoredata needs one")
            return None
        try:
            return parse_manifest((self.products / chosen).read_bytes(), name=chosen)
        except (OSError, DocumentError) as exc:
            self.problem(f"products/{chosen}", f"unreadable ({exc})")
            return None

    def _ppr(self) -> PprReading | None:
        pprs = sorted((self.root / "working").glob("PPR_*.xml"))
        if len(pprs) != 1:
            self.problem("working/", f"{len(pprs)} PPR_*.xml files, not 1")
            return None
        try:
            reading = read_ppr(pprs[0].read_bytes())
        except (OSError, DocumentError) as exc:
            self.problem(f"working/{pprs[0].name}", f"unreadable ({exc})")
            return None
        planned = self.record.get("plan", {}).get("sessions")
        if planned is not None:
            got: dict[str, list[str]] = {}
            for (_, eb), session in zip(reading.asdms, reading.sessions, strict=True):
                got.setdefault(session, []).append(eb)
            if got != planned:
                self.problem(
                    f"working/{pprs[0].name}",
                    f"read as the pipeline reads it, it restores {got}, but the plan is {planned}",
                )
        return reading

    def _restored(self, reading: PprReading | None) -> list[tuple[str, str]]:
        """``(AsdmDiskName, session)`` as the pipeline will pair them."""
        if reading is None:
            return []
        return [(name, s) for (name, _), s in zip(reading.asdms, reading.sessions, strict=True)]

    def _restore_script(self, manifest: Manifest | None) -> None:
        for path in sorted((self.root / "working").glob("*.restore.py")):
            try:
                script = parse_script(path.read_text(), name=path.name)
            except (OSError, DocumentError) as exc:
                self.problem(f"working/{path.name}", f"unreadable ({exc})")
                continue
            call = script.restore
            if call is None:
                self.problem(f"working/{path.name}", "calls no *_restoredata task")
            elif manifest is not None:
                for session in dict.fromkeys(call.session):
                    self._session_known(manifest, session, f"working/{path.name}")

    # -- the products --------------------------------------------------------------------------

    def _manifest_files(self, manifest: Manifest) -> dict[str, Path]:
        """Every file the manifest names that the restore copies; each must be complete."""
        files: dict[str, Path] = {}
        for session in manifest.sessions:
            names = [session.caltables]
            names += [n for a in session.asdms for n in (a.finalflags, a.applycmds)]
            for name in names:
                if not name or name in files:
                    continue
                try:
                    check_file_id(name)
                except NgasError as exc:
                    self.problem("products/", f"the manifest names an unsafe file: {exc}")
                    continue
                path = self.products / name
                files[name] = path
                self.report.files += 1
                if not path.is_file():
                    self.problem(
                        f"products/{name}",
                        "missing: the manifest names it and the restore copies it by that name",
                    )
                    continue
                size, expected = path.stat().st_size, self.sizes.get(name)
                if expected is not None and size != expected:
                    self.problem(
                        f"products/{name}", f"incomplete: {size} bytes, the archive has {expected}"
                    )
        return files

    def _session_known(self, manifest: Manifest, session: str, where: str) -> bool:
        names = {s.name for s in manifest.sessions}
        if session in names or "default" in names:
            return True
        self.problem(
            where,
            f"restores {session}, which the manifest does not have (it has "
            f"{', '.join(sorted(names)) or 'no session'}): the restore fails with KeyError",
        )
        return False

    def _sessions(self, manifest: Manifest, restored: list[tuple[str, str]]) -> None:
        for session in dict.fromkeys(s for _, s in restored):
            self._session_known(manifest, session, "working/PPR")

    def _per_ms(
        self, manifest: Manifest, restored: list[tuple[str, str]], files: dict[str, Path]
    ) -> None:
        by_ms = {f"{a.name}.ms": (s, a) for s in manifest.sessions for a in s.asdms}
        sessions = {s.name: s for s in manifest.sessions}
        for name, session_name in restored:
            ms = f"{name}.ms"
            if ms not in by_ms:
                self.problem(
                    f"products/{self.manifest_name}",
                    f"names no asdm {ms}: the restore looks its flags and calapply up by that name",
                )
                continue
            _, asdm = by_ms[ms]
            session = sessions.get(session_name) or sessions.get("default")
            caltables = self._caltables(session.caltables if session else None, files, ms)
            self._flagversions(asdm.finalflags, files, ms)
            self._calapply(asdm.applycmds, files, caltables)

    def _listing(self, name: str | None, files: dict[str, Path]) -> TarListing | None:
        path = files.get(name or "")
        if path is None or not path.is_file():
            return None
        try:
            return self.archives.listing(path)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            self.problem(f"products/{name}", f"not a readable tar archive ({exc})")
            return None

    def _caltables(self, name: str | None, files: dict[str, Path], ms: str) -> set[str] | None:
        listing = self._listing(name, files)
        if listing is None:
            return None
        tops = listing.tops
        if not any(t.startswith(ms) for t in tops):
            self.problem(
                f"products/{name}",
                f"holds no table of {ms} (members must start with the MS name to be restored)",
            )
        return tops

    def _flagversions(self, name: str | None, files: dict[str, Path], ms: str) -> None:
        listing = self._listing(name, files)
        if listing is None:
            return
        root = f"{ms}.flagversions"
        if f"{root}/flags.{FLAG_VERSION}" not in listing.entries:
            self.problem(f"products/{name}", f"has no {root}/flags.{FLAG_VERSION}")
            return
        versions = listing.flag_lists.get(root, "").splitlines()
        if not any(line.split(":", 1)[0].strip() == FLAG_VERSION for line in versions):
            self.problem(
                f"products/{name}", f"{root}/FLAG_VERSION_LIST does not name {FLAG_VERSION}"
            )

    def _calapply(self, name: str | None, files: dict[str, Path], tables: set[str] | None) -> None:
        path = files.get(name or "")
        if path is None or not path.is_file():
            return
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            self.problem(f"products/{name}", f"unreadable ({exc.strerror})")
            return
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            named = gaintables(line)
            if isinstance(named, str):
                self.problem(f"products/{name}", f"line {number} {named}")
                continue
            missing = sorted(t for t in named if tables is not None and t not in tables)
            if missing:
                self.problem(
                    f"products/{name}",
                    f"line {number} applies {', '.join(missing)}, not in its session's caltables",
                )

    def _rawdata(self, reading: PprReading | None) -> None:
        if reading is None:
            return
        script = self.root / "export_rawdata.sh"
        exports = script.read_text() if script.is_file() else ""
        for name, eb in reading.asdms:
            if (self.root / "rawdata" / name).exists():
                continue
            if self.rawdata:
                self.problem(f"rawdata/{name}", "missing: the PPR's AsdmDiskName must be here")
            elif f" {name}\n" not in exports:
                self.problem(
                    f"rawdata/{name}", f"missing, and export_rawdata.sh does not write it ({eb})"
                )
