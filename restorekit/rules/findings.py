"""Findings: what the reconciliation noticed, each with a severity and a stable code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

Severity = Literal["info", "warning", "error"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
"""Most severe first."""


@dataclass(frozen=True)
class Code:
    """A kind of finding.

    ``from_database`` says whether the archive tables alone can show it (the survey's fast
    mode); the others need the delivered documents (manifest, scripts) from NGAS.
    """

    name: str
    severity: Severity
    summary: str
    from_database: bool = True


CODES: dict[str, Code] = {
    c.name: c
    for c in [
        Code("NOT_CALIBRATED", "error", "no calibration products: nothing to restore"),
        Code("NOTHING_TO_RESTORE", "error", "calibrated, but no EB can be restored"),
        Code("MANIFEST_MISSING", "error", "no pipeline manifest among the products"),
        Code(
            "MANIFEST_UNREADABLE",
            "error",
            "the manifest could not be fetched or parsed",
            from_database=False,
        ),
        Code("OUSSTATUS_MISSING", "error", "the OUSStatus XML is NULL"),
        Code("OUSSTATUS_MALFORMED", "error", "the OUSStatus XML cannot be parsed"),
        Code("CALIBRATED_EB_UNKNOWN", "error", "a calibrated EB is unknown to the archive"),
        Code("PRODUCTS_MISSING", "error", "calibration products of an EB or session are missing"),
        Code("EB_EXCLUDED_BY_QA0", "info", "an EB was not calibrated: QA0 SemiPass or Fail"),
        Code(
            "EB_NOT_CALIBRATED_UNEXPLAINED",
            "warning",
            "an EB was not calibrated and QA0 does not explain it",
        ),
        Code(
            "SESSION_NUMBER_MISMATCH",
            "warning",
            "manifest session numbers differ from OUSStatus session ordinals",
        ),
        Code(
            "SESSION_NUMBER_UNREASONABLE",
            "error",
            "a session number beyond any real MOUS (over 1000): its EBs are not restored",
        ),
        Code(
            "SESSION_NUMBERS_GAP",
            "info",
            "restored session numbers do not run 1..n; the PPR carries empty sessions",
        ),
        Code(
            "OUSSTATUS_EB_MISMATCH",
            "warning",
            "OUSStatus ExecBlockIds disagree with the archive's EBs",
        ),
        Code(
            "OUSSTATUS_SBSTATUS_MISMATCH",
            "warning",
            "OUSStatus SBStatusRef disagrees with the archive",
        ),
        Code(
            "OUSSTATUS_REFS_MISMATCH",
            "warning",
            "OUSStatus project, partId or parent references disagree with the archive",
        ),
        Code("MULTIPLE_SCHEDBLOCKS", "info", "EBs name more than one SchedBlock"),
        Code("SCHEDBLOCK_AMBIGUOUS", "warning", "several SchedBlocks and no state decides"),
        Code("TOTAL_POWER", "info", "a total-power (single-dish) MOUS: hsd_restoredata, 'ao'"),
        Code(
            "DATA_FIXES",
            "warning",
            "the delivery calls data fixes (fixsyscaltimes, fixplanets, ...): restore by script",
            from_database=False,
        ),
        Code(
            "FIX_IMPORT_ONLY",
            "info",
            "a delivered script imports a fix but calls none: nothing to repeat",
            from_database=False,
        ),
        Code(
            "FIXES_DISAGREE",
            "warning",
            "pipescript and restore script call different fixes; the pipescript's are used",
            from_database=False,
        ),
        Code(
            "FIX_UNSUPPORTED",
            "error",
            "a delivered fix call cannot be repeated safely (not a plain call of literals)",
            from_database=False,
        ),
        Code(
            "PRODUCT_NAME_MAPPED",
            "info",
            "manifest and archive name products differently (member. prefix); both are laid out",
            from_database=False,
        ),
        Code(
            "LEGACY_RESTORE_TASK",
            "info",
            "the delivery restores with a task of older pipelines (hif_restoredata)",
            from_database=False,
        ),
        Code(
            "RESTORE_TASK_UNAVAILABLE",
            "error",
            "the target pipeline release has no task that restores this delivery",
            from_database=False,
        ),
        Code(
            "RESTORE_PARAMETER_DROPPED",
            "warning",
            "delivered restore parameters the target release does not accept are left out",
            from_database=False,
        ),
        Code(
            "RELEASE_INFERRED",
            "info",
            "the manifest names no pipeline version; the release is inferred from the date",
            from_database=False,
        ),
        Code(
            "RELEASE_NEAREST",
            "warning",
            "the pipeline version is outside restorekit's release table; the nearest is used",
            from_database=False,
        ),
        Code(
            "CASA_EXACT",
            "info",
            "the site has the CASA and pipeline that calibrated the delivery",
            from_database=False,
        ),
        Code(
            "CASA_CLOSE",
            "warning",
            "the site lacks the calibrating CASA and pipeline; a close one is chosen",
            from_database=False,
        ),
        Code(
            "CASA_UNAVAILABLE",
            "warning",
            "the site has no CASA of the calibrating release series",
            from_database=False,
        ),
        Code(
            "RESTORE_SCRIPT_DISAGREES",
            "warning",
            "the delivered restore script restores other EBs or sessions than the plan",
            from_database=False,
        ),
        Code(
            "RESTORE_SCRIPT_UNREADABLE",
            "warning",
            "a delivered restore script or pipescript is unreadable: no route is chosen",
            from_database=False,
        ),
    ]
}


@dataclass(frozen=True)
class Finding:
    """One thing noticed about an MOUS: ``severity``, stable ``code``, plain-words ``message``."""

    code: str
    message: str
    eb: str | None = None

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    def as_dict(self) -> dict[str, str | None]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "eb": self.eb,
        }

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code!r}")


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    rows = [f.as_dict() for f in sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity])]
    return pd.DataFrame(rows, columns=["severity", "code", "message", "eb"])
