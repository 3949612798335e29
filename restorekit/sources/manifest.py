"""The pipeline manifest (``*pipeline_manifest.xml``) of a delivery."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from restorekit.errors import DocumentError
from restorekit.sources.xmlsafe import local, parse_xml

MANIFEST_SUFFIX = "pipeline_manifest.xml"
"""Manifests match ``*pipeline_manifest.xml``; ``*cal*pipeline_manifest.xml`` is preferred."""


@dataclass(frozen=True)
class ManifestAsdm:
    name: str
    """The ASDM's name as the manifest gives it, without ``.ms`` (``uid___A002_X..._X...``)."""
    finalflags: str | None = None
    applycmds: str | None = None


@dataclass(frozen=True)
class ManifestSession:
    name: str
    caltables: str | None
    asdms: list[ManifestAsdm] = field(default_factory=list)
    aux_caltables: str | None = None

    @property
    def number(self) -> int | None:
        """``session_2`` -> 2; ``None`` for a name without a number (``default``)."""
        return session_number(self.name)


@dataclass(frozen=True)
class Manifest:
    ous: str | None
    casa_version: str | None
    pipeline_version: str | None
    procedure: str | None
    sessions: list[ManifestSession]
    restorescript: str | None = None
    pipescript: str | None = None

    def asdm_table(self) -> pd.DataFrame:
        """One row per ASDM: ``asdm`` (file form), ``session``, ``finalflags``, ``applycmds``."""
        rows = [
            {
                "asdm": a.name,
                "session": s.name,
                "finalflags": a.finalflags,
                "applycmds": a.applycmds,
            }
            for s in self.sessions
            for a in s.asdms
        ]
        return pd.DataFrame(rows, columns=["asdm", "session", "finalflags", "applycmds"])


def manifest_to_plain(manifest: Manifest) -> dict:
    """The manifest as JSON-ready values (for :func:`manifest_from_plain`); every value is a
    string or ``None``, so JSON holds it exactly."""
    return dataclasses.asdict(manifest)


def manifest_from_plain(plain: dict) -> Manifest:
    sessions = [
        ManifestSession(
            s["name"], s["caltables"], [ManifestAsdm(**a) for a in s["asdms"]], s["aux_caltables"]
        )
        for s in plain["sessions"]
    ]
    return Manifest(**{**plain, "sessions": sessions})


@functools.lru_cache(maxsize=1024)
def session_number(name: str | None) -> int | None:
    """``session_4`` -> 4; anything else -> ``None``."""
    if name and name.startswith("session_") and name[8:].isdecimal():
        return int(name[8:])
    return None


MEMBER = "member."
"""The prefix the archive gives OUS-level products from Cycle 5 on; manifests never carry it."""


def product_name(name: str, products: Mapping[str, object]) -> str | None:
    """The archive's name for a product the manifest names: the same, or with the ``member.``
    prefix added or removed; ``None`` when the archive has neither."""
    if name in products:
        return name
    other = name.removeprefix(MEMBER) if name.startswith(MEMBER) else MEMBER + name
    return other if other in products else None


def choose_manifest(names: Iterable[str]) -> str | None:
    """The manifest a restore uses: one matching ``*cal*pipeline_manifest.xml`` if any."""
    return first_named(names, MANIFEST_SUFFIX)


def first_named(names: Iterable[str], suffix: str) -> str | None:
    """The first by name of ``names`` ending with ``suffix``, one with ``cal`` before the
    suffix (the calibration's own document) preferred."""
    # str methods rather than fnmatch: the survey calls this for every MOUS.
    candidates = [n for n in names if n.endswith(suffix)]
    if len(candidates) > 1:
        preferred = [n for n in candidates if "cal" in n[: -len(suffix)]]
        return min(preferred or candidates)
    return candidates[0] if candidates else None


def strip_ms(name: str) -> str:
    return name[:-3] if name.endswith(".ms") else name


def parse_manifest(text: str | bytes, *, name: str = "the manifest") -> Manifest:
    """Parse a pipeline manifest.

    Raises
    ------
    DocumentError
        If it is malformed or not a ``piperesults`` document.
    """
    root = parse_xml(text, what=name)
    if local(root.tag) != "piperesults":
        raise DocumentError(f"{name} has root <{local(root.tag)}>, not <piperesults>")
    ous = next((c for c in root if local(c.tag) == "ous"), None)
    if ous is None:
        raise DocumentError(f"{name} has no <ous> element")

    first: dict[str, str | None] = {}
    sessions = []
    for node in ous:
        tag = local(node.tag)
        if tag == "session":
            sessions.append(_session(node))
        elif tag not in first:
            first[tag] = node.get("name")
    attr = first.get
    return Manifest(
        ous=ous.get("name"),
        casa_version=attr("casaversion"),
        pipeline_version=attr("pipeline_version"),
        procedure=attr("procedure_name"),
        sessions=sessions,
        restorescript=attr("restorescript"),
        pipescript=attr("pipescript"),
    )


def _session(node) -> ManifestSession:
    caltables = aux = None
    asdms = []
    for child in node:
        tag = local(child.tag)
        if tag == "caltables":
            caltables = child.get("name")
        elif tag == "aux_caltables":
            aux = child.get("name")
        elif tag == "asdm":
            parts = {local(c.tag): c.get("name") for c in child}
            asdms.append(
                ManifestAsdm(
                    strip_ms(child.get("name") or ""),
                    parts.get("finalflags"),
                    parts.get("applycmds"),
                )
            )
    return ManifestSession(node.get("name") or "default", caltables, asdms, aux)
