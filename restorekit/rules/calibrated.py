"""Which EBs the pipeline calibrated, in which session, and what products they lack: from the
manifest, or (without one) inferred from the product names."""

from __future__ import annotations

import re

from restorekit.evidence.gather import Evidence
from restorekit.rules.findings import Finding
from restorekit.sources.manifest import product_name, session_number
from restorekit.uids import FILE_FORM, uid_of_name

_EB_PRODUCT = re.compile(rf"(?:member\.)?({FILE_FORM})\.ms\.(calapply\.txt|flagversions\.tgz)")
"""Groups: the EB's uid as the file names it, the product kind."""
_EB_KINDS = ("calapply.txt", "flagversions.tgz")
_CALTABLES = ".caltables.tgz"
_SUFFIXES = (*(f".ms.{kind}" for kind in _EB_KINDS), _CALTABLES)


def _caltables_session(name: str) -> str | None:
    """``session_2`` of ``*.session_2.caltables.tgz``, ``default`` of
    ``*.default.caltables.tgz``; else ``None``."""
    stem = name[: -len(_CALTABLES)]
    dot = stem.rfind(".")
    session = stem[dot + 1 :]
    if dot < 0 or not (session == "default" or session_number(session) is not None):
        return None
    return session


def _session_order(name: str) -> tuple[bool, int]:
    number = session_number(name)
    return number is None, number or 0


def calibrated_from_manifest(
    ev: Evidence, names: dict[str, str]
) -> list[tuple[str, str, str, list[str]]]:
    """``(eb file name, eb uid, session name, missing product files)`` from the manifest;
    ``names`` gets manifest name -> archive name for each product the two name differently."""

    def missing(name: str | None) -> bool:
        found = product_name(name, ev.products) if name else None
        if found and found != name:
            names[name] = found  # type: ignore[index]
        return found is None

    out = []
    for session in ev.manifest.sessions:  # type: ignore[union-attr]
        caltables_missing = (
            [session.caltables or f"the caltables of {session.name}"]
            if missing(session.caltables)
            else []
        )
        for asdm in session.asdms:
            lacking = [f for f in (asdm.applycmds, asdm.finalflags) if f and missing(f)]
            out.append(
                (asdm.name, uid_of_name(asdm.name), session.name, caltables_missing + lacking)
            )
    return out


def calibrated_from_products(
    ev: Evidence, session_of: dict[str, int], findings: list[Finding]
) -> list[tuple[str, str, str | None, list[str]]]:
    """The same, inferred from product file names when no manifest could be read."""
    found: set[str] = set()
    kinds: dict[str, set[str]] = {}
    uids: dict[str, str] = {}
    # The survey runs this over every product of the archive: a suffix test in a
    # comprehension, then one match per candidate; each EB's uid read once.
    candidates = [name for name in ev.products if name.endswith(_SUFFIXES)]
    for name in candidates:
        if name.endswith(_CALTABLES):
            if session := _caltables_session(name):
                found.add(session)
        elif m := _EB_PRODUCT.fullmatch(name):
            eb = m[1]
            if eb not in kinds:
                kinds[eb] = set()
                uids[eb] = uid_of_name(eb)
            kinds[eb].add(m[2])
    sessions = sorted(found, key=_session_order)
    ordinals = {eb: session_of.get(uid) for eb, uid in uids.items()}
    out = []
    for eb in sorted(kinds, key=lambda e: (ordinals[e] or 0, e)):
        ordinal = ordinals[eb]
        guess = f"session_{ordinal}" if ordinal else None
        if guess not in found:
            guess = sessions[0] if len(sessions) == 1 else None
        have = kinds[eb]
        missing = [] if len(have) == 2 else [f"{eb}.ms.{k}" for k in _EB_KINDS if k not in have]
        out.append((eb, uids[eb], guess, missing))
    if session_of and sessions and all(session_number(s) for s in sessions):
        expected = {f"session_{n}" for n in ordinals.values() if n}
        if expected and expected != set(sessions):
            findings.append(
                Finding(
                    "SESSION_NUMBER_MISMATCH",
                    f"the products hold caltables for {', '.join(sessions)}, but OUSStatus puts "
                    f"the calibrated EBs in {', '.join(sorted(expected))}; the manifest's names "
                    "are what the restore must use",
                )
            )
    return out
