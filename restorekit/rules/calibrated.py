"""Which EBs the pipeline calibrated, in which session, and what products they lack: from the
manifest, or (without one) inferred from the product names."""

from __future__ import annotations

import re

from restorekit.evidence.gather import Evidence
from restorekit.rules.findings import Finding
from restorekit.sources.manifest import product_name, session_number
from restorekit.uids import uid_of_name

_CALTABLES = re.compile(r"\.(session_\d+|default)\.caltables\.tgz$")
_EB_PRODUCT = re.compile(
    r"^(?:member\.)?(uid___[AX][0-9a-fA-F]+_[AX][0-9a-fA-F]+_[AX][0-9a-fA-F]+)"
    r"\.ms\.(calapply\.txt|flagversions\.tgz)$"
)


def calibrated_from_manifest(
    ev: Evidence, names: dict[str, str]
) -> list[tuple[str, str, list[str]]]:
    """``(eb file name, session name, missing product files)`` from the manifest; ``names``
    gets manifest name -> archive name for each product the two name differently."""

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
            out.append((asdm.name, session.name, caltables_missing + lacking))
    return out


def calibrated_from_products(
    ev: Evidence, session_of: dict[str, int], findings: list[Finding]
) -> list[tuple[str, str | None, list[str]]]:
    """The same, inferred from product file names when no manifest could be read."""
    found: set[str] = set()
    kinds: dict[str, set[str]] = {}
    for name in ev.products:
        # Cheap suffix tests first: the survey runs this over every product of the archive.
        if name.endswith("caltables.tgz"):
            if m := _CALTABLES.search(name):
                found.add(m.group(1))
        elif name.endswith(("calapply.txt", "flagversions.tgz")):
            if m := _EB_PRODUCT.match(name):
                kinds.setdefault(m.group(1), set()).add(m.group(2))
    sessions = sorted(found, key=lambda s: (session_number(s) is None, session_number(s) or 0))
    ordinals = {eb: session_of.get(uid_of_name(eb)) for eb in kinds}
    out = []
    for eb in sorted(kinds, key=lambda e: (ordinals[e] or 0, e)):
        ordinal = ordinals[eb]
        guess = f"session_{ordinal}" if ordinal else None
        if guess not in sessions:
            guess = sessions[0] if len(sessions) == 1 else None
        missing = [
            f"{eb}.ms.{k}" for k in ("calapply.txt", "flagversions.tgz") if k not in kinds[eb]
        ]
        out.append((eb, guess, missing))
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
