"""Which CASA a restore runs with: the versions that calibrated the delivery, and the site's
install that matches them best.

A restore applies calibration tables made by one pipeline release. The pipeline's notes say a
delivery should restore with the same pipeline or a more recent one, and with the exact one
when problems arise; CASA tasks and their parameters change between releases. The choice, in
order: the same CASA and pipeline (``"exact"``); the same CASA with another pipeline build
(``"casa"``); the nearest release of the same CASA major.minor (``"close"``); else none.

Which pipeline release goes with which CASA is the pipeline's own release notes,
``data/casa_releases.json`` (its ``source`` names the commit it was read from).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from restorekit.evidence.gather import Evidence
from restorekit.rules.findings import Finding
from restorekit.rules.releases import version_key

Match = Literal["exact", "casa", "close", "none"]
CasaKey = tuple[int, int, int, int]
"""major, minor, patch, build (-1 when the build is not known)."""

_CASA = re.compile(r"\s*(\d+)\.(\d+)\.(\d+)(?:[.-](\d+))?")


def casa_key(text: str | None) -> CasaKey | None:
    """``6.4.1.12`` (manifests), ``6.4.1-12`` (tarballs), ``5.4.0-70``, ``4.7.2`` -> a key."""
    m = _CASA.match(text or "")
    if m is None:
        return None
    major, minor, patch, build = m.groups()
    return int(major), int(minor), int(patch), int(build) if build else -1


def casa_text(key: CasaKey) -> str:
    """The tarball spelling: ``6.4.1-12`` (``4.7.2`` without a build)."""
    base = ".".join(map(str, key[:3]))
    return f"{base}-{key[3]}" if key[3] >= 0 else base


def normal_casa(text: str | None) -> str | None:
    """Any spelling of a CASA version in the tarball spelling, or ``None`` if it is none."""
    key = casa_key(text)
    return casa_text(key) if key else None


def pipeline_text(version: str | None) -> str | None:
    """``42254M (Pipeline-CASA54-P1-B)`` -> ``r42254``; release tags as they are."""
    key = version_key(version)
    if key is None:
        return None
    return f"r{key[1]}" if key[0] == 0 else ".".join(map(str, key[1:]))


def same_casa(a: CasaKey, b: CasaKey) -> bool:
    """Equal versions; a build that one side does not know is not held against it."""
    return a[:3] == b[:3] and (a[3] == b[3] or -1 in (a[3], b[3]))


@dataclass(frozen=True)
class CasaRelease:
    """One row of the pipeline's release notes."""

    pipeline: str
    branch: str | None
    casa: str
    use: tuple[str, ...]
    in_operation: str

    @property
    def alma(self) -> bool:
        return any(u.startswith("ALMA") for u in self.use)

    def describe(self) -> str:
        return f"{', '.join(self.use)} from {self.in_operation}"


@functools.cache
def release_notes() -> tuple[CasaRelease, ...]:
    data = json.loads(resources.files("restorekit").joinpath("data/casa_releases.json").read_text())
    return tuple(
        CasaRelease(r["pipeline"], r["branch"], r["casa"], tuple(r["use"]), r["in_operation"])
        for r in data["releases"]
    )


def notes_for_pipeline(pipeline: str | None) -> list[CasaRelease]:
    key = version_key(pipeline)
    return [r for r in release_notes() if key is not None and version_key(r.pipeline) == key]


def notes_for_casa(casa: str | None) -> list[CasaRelease]:
    key = casa_key(casa)
    return [r for r in release_notes() if key and same_casa(casa_key(r.casa), key)]  # type: ignore[arg-type]


def bundled_pipeline(casa: str | None) -> str | None:
    """The pipeline of a CASA build that the notes pair with exactly one ALMA release (or, with
    none for ALMA, exactly one release)."""
    notes = notes_for_casa(casa)
    releases = {r.pipeline for r in notes if r.alma} or {r.pipeline for r in notes}
    return releases.pop() if len(releases) == 1 else None


@functools.lru_cache(maxsize=512)
def alma_release_on(month: str) -> CasaRelease | None:
    """The ALMA release in operation in ``month`` (``YYYY-MM``): the latest begun by then."""
    begun = [r for r in release_notes() if r.alma and r.in_operation <= month]
    return max(begun, key=lambda r: r.in_operation, default=None)


@dataclass(frozen=True)
class Install:
    """A CASA the site can start: the command line and the versions it runs.

    Attributes
    ----------
    command
        The command line that starts it (split into words, never evaluated by a shell).
    casa, pipeline
        Tarball spellings (``6.5.4-9``, ``2023.1.0.124`` or ``r42254``); ``None`` when unknown.
    with_pipeline
        False for a CASA without the pipeline, which cannot run a restore.
    identified
        How the versions were found: ``name``, ``asked``, ``casa_versions`` or ``unknown``;
        ``+notes`` when the pipeline came from the release notes.
    location
        The install directory, or the ``casa_versions`` key.
    """

    command: str
    casa: str | None
    pipeline: str | None
    with_pipeline: bool
    identified: str
    location: str

    @property
    def casa_key(self) -> CasaKey | None:
        return casa_key(self.casa)


@dataclass(frozen=True)
class Wanted:
    """The CASA and pipeline that calibrated a delivery, and where that was read."""

    casa: str | None
    pipeline: str | None
    basis: str
    """``manifest``, ``manifest and release notes``, ``observing date`` or ``unknown``."""

    def describe(self) -> str:
        if self.casa is None:
            return "an unknown CASA"
        pipeline = f" with pipeline {self.pipeline}" if self.pipeline else ""
        return f"CASA {self.casa}{pipeline}"

    def install_name(self) -> str:
        """How the release tarball of these versions is named: of the release the notes list
        for this CASA when they do not list this pipeline build."""
        if self.casa is None:
            return "the CASA the delivery was calibrated with"
        pipeline = self.pipeline
        released = [r.pipeline for r in notes_for_casa(self.casa)]
        if released and version_key(pipeline) not in {version_key(r) for r in released}:
            pipeline = max(released, key=lambda r: version_key(r) or ())
        if pipeline and pipeline[0].isdigit():
            return f"casa-{self.casa}-pipeline-{pipeline}"
        major = casa_key(self.casa)[0]  # type: ignore[index]
        return f"casa-pipeline-release-{self.casa}" if major == 5 else f"casa-release-{self.casa}"


@functools.lru_cache(maxsize=4096)
def wanted_versions(
    casa_version: str | None, pipeline_version: str | None, observed: str | None
) -> Wanted:
    """What calibrated a delivery: the manifest's versions, completed from the release notes;
    for manifests that name none (before August 2018), the ALMA release in operation when the
    data were observed."""
    casa = normal_casa(casa_version)
    pipeline = pipeline_text(pipeline_version)
    if casa or pipeline:
        basis = "manifest"
        if casa is None:
            notes = notes_for_pipeline(pipeline)
            casa, basis = (notes[0].casa, "manifest and release notes") if notes else (None, basis)
        if pipeline is None and (bundled := bundled_pipeline(casa)):
            pipeline, basis = bundled, "manifest and release notes"
        return Wanted(casa, pipeline, basis)
    release = alma_release_on(observed[:7]) if observed else None
    if release is None:
        return Wanted(None, None, "unknown")
    return Wanted(release.casa, release.pipeline, "observing date")


def wanted_of(ev: Evidence) -> Wanted:
    """The CASA and pipeline that calibrated the delivery (:func:`wanted_versions`)."""
    manifest = ev.manifest
    observed = ev.last_observed
    return wanted_versions(
        manifest.casa_version if manifest else None,
        manifest.pipeline_version if manifest else None,
        observed[:7] if observed else None,
    )


@dataclass(frozen=True)
class CasaChoice:
    """The install chosen for a restore, and why."""

    wanted: Wanted
    chosen: Install | None
    match: Match
    why: str
    catalog_size: int

    def to_dict(self) -> dict[str, object]:
        return {
            "wanted": {
                "casa": self.wanted.casa,
                "pipeline": self.wanted.pipeline,
                "basis": self.wanted.basis,
            },
            "chosen": self.chosen.command if self.chosen else None,
            "chosen_versions": (
                {"casa": self.chosen.casa, "pipeline": self.chosen.pipeline}
                if self.chosen
                else None
            ),
            "location": self.chosen.location if self.chosen else None,
            "match": self.match,
            "why": self.why,
        }


def _pipeline_distance(install: Install, wanted: Wanted) -> tuple[int, tuple]:
    """Sort key: a newer pipeline before an older one, then the nearest."""
    have, want = version_key(install.pipeline), version_key(wanted.pipeline)
    if have is None or want is None:
        return (2, ())
    newer = have >= want
    gap = tuple(abs(a - b) for a, b in zip(have, want, strict=False))
    return (0 if newer else 1, gap)


def _casa_distance(install: Install, wanted: CasaKey) -> tuple:
    """Sort key: the nearest patch, then build; a newer one on a tie."""
    have = install.casa_key
    assert have is not None
    return (abs(have[2] - wanted[2]), abs(have[3] - wanted[3]), have < wanted)


@functools.lru_cache(maxsize=4096)
def choose(wanted: Wanted, installs: tuple[Install, ...]) -> CasaChoice:
    """The install to restore with (see the module docstring for the order)."""
    usable = [i for i in installs if i.with_pipeline and i.casa_key is not None]
    want = casa_key(wanted.casa)
    size = len(installs)
    if want is None:
        why = "the delivery names no CASA version and no observing date tells it"
        return CasaChoice(wanted, None, "none", why, size)
    same = [i for i in usable if same_casa(i.casa_key, want)]  # type: ignore[arg-type]
    exact = [i for i in same if i.pipeline and wanted.pipeline and _same_pipeline(i, wanted)]
    if exact:
        return CasaChoice(wanted, exact[0], "exact", "the same CASA and pipeline", size)
    if same:
        chosen = min(same, key=lambda i: _pipeline_distance(i, wanted))
        why = f"the same CASA with pipeline {chosen.pipeline or 'of unknown version'}"
        return CasaChoice(wanted, chosen, "casa", why, size)
    close = [i for i in usable if i.casa_key[:2] == want[:2]]  # type: ignore[index]
    if close:
        chosen = min(close, key=lambda i: _casa_distance(i, want))
        why = f"the nearest CASA {want[0]}.{want[1]} the site has ({chosen.casa})"
        return CasaChoice(wanted, chosen, "close", why, size)
    why = f"the site has no CASA {want[0]}.{want[1]} with the pipeline" + (
        "" if installs else " (its CASA catalog is empty: set casa_installs or casa_versions)"
    )
    return CasaChoice(wanted, None, "none", why, size)


def _same_pipeline(install: Install, wanted: Wanted) -> bool:
    return version_key(install.pipeline) == version_key(wanted.pipeline)


def casa_finding(choice: CasaChoice) -> Finding:
    """``CASA_EXACT``, ``CASA_CLOSE`` or ``CASA_UNAVAILABLE``, saying what and why."""
    wanted, chosen = choice.wanted, choice.chosen
    calibrated = f"calibrated with {wanted.describe()}" + (
        f" ({wanted.basis})" if wanted.basis != "manifest" else ""
    )
    if chosen is None:
        return Finding(
            "CASA_UNAVAILABLE",
            f"{calibrated}; {choice.why}: install {wanted.install_name()} and add it to "
            "casa_installs (or map its command in casa_versions); run_restore.sh refuses to "
            "start another CASA unless $CASA is set",
        )
    if choice.match == "exact":
        return Finding(
            "CASA_EXACT",
            f"{calibrated}; restores with {chosen.location} ({chosen.command})",
        )
    notes = _notes_of(wanted.pipeline), _notes_of(chosen.pipeline)
    said = " ".join(
        f"The release notes: {who} is {n}."
        for who, n in zip(("the delivery's", "the chosen"), notes, strict=True)
        if n
    )
    return Finding(
        "CASA_CLOSE",
        f"{calibrated}, but the site has no such install: {choice.why}, "
        f"{chosen.location} (CASA {chosen.casa}, pipeline {chosen.pipeline or 'unknown'}). "
        f"{said} A same or newer pipeline should restore the data; if the restore fails, "
        f"install {wanted.install_name()}.",
    )


def _notes_of(pipeline: str | None) -> str | None:
    notes = notes_for_pipeline(pipeline)
    return f"{pipeline} with CASA {notes[0].casa} ({notes[0].describe()})" if notes else None
