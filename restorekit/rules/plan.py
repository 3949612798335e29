"""The restore plan: which EBs, under which session names, with which task, by which route."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

import pandas as pd

from restorekit.rules.casa import CasaChoice
from restorekit.rules.findings import Finding, findings_table
from restorekit.rules.releases import Release
from restorekit.sources.scripts import FixCall

EB_COLUMNS = [
    "eb",
    "in_asa_science",
    "ousstatus_session",
    "ousstatus_part_id",
    "manifest_session",
    "in_restore_script",
    "qa0",
    "calapply",
    "flagversions",
    "restore",
    "reason",
]


@dataclass(slots=True)
class EbRow:
    """One EB as every source sees it, and the verdict."""

    eb: str
    in_asa_science: bool = False
    ousstatus_session: int | None = None
    ousstatus_part_id: str | None = None
    manifest_session: str | None = None
    in_restore_script: bool = False
    qa0: str | None = None
    calapply: bool = False
    flagversions: bool = False
    restore: bool = False
    reason: str = ""


Route = Literal["ppr", "script"]


@dataclass(frozen=True)
class ProjectRefs:
    """The project and structure references of an MOUS: what the PPR's ``ProjectSummary`` and
    ``ProjectStructure`` and the restore layout need, each from the first source that has it."""

    code: str | None = None
    title: str | None = None
    pi: str | None = None
    obs_project: str | None = None
    part_id: str | None = None
    project_status: str | None = None
    ous_status: str | None = None
    gous: str | None = None
    sous: str | None = None
    state: str | None = None
    casa_version: str | None = None
    pipeline_version: str | None = None


@dataclass
class RestorePlan:
    """What to restore for one MOUS and how.

    Attributes
    ----------
    sessions
        Manifest session name -> EB uids (archive form) in restore order.
    route
        ``"ppr"``, or ``"script"`` when the delivery calls data fixes a PPR cannot express;
        ``None`` when the delivered scripts could not be read (see ``degraded``).
    task, ocorr_mode
        The restore task of the target release (``hifa_restoredata``/``"ca"``,
        ``hsd_restoredata``/``"ao"``, ...); ``delivered_task`` is the one the delivery called.
    restore_parameters
        Keyword arguments of the restore call besides ``vis`` and ``session``: the delivered
        call's, less those the target release lacks, in the delivered order.
    import_parameters
        Keyword arguments of the ``*_importdata`` call that precedes the fixes (script route).
    fixes
        The delivered fix calls to repeat after the import, in order; ``fix_module`` is where
        ``almahelpers`` fixes are imported from for the target CASA generation.
    release
        The pipeline release the task calls are written for, and why.
    product_names
        Manifest name -> archive (NGAS) name of each product whose two names differ.
    """

    mous: str
    restorable: bool
    route: Route | None
    sessions: dict[str, list[str]]
    ebs: list[EbRow]
    findings: list[Finding]
    task: str = "hifa_restoredata"
    ocorr_mode: str = "ca"
    manifest: str | None = None
    calibration_source: str | None = None
    schedblock: str | None = None
    sbstatus: str | None = None
    schedblock_name: str | None = None
    fixes: list[FixCall] = field(default_factory=list)
    fix_module: str | None = None
    project: ProjectRefs = field(default_factory=ProjectRefs)
    delivered_task: str | None = None
    restore_parameters: dict[str, object] = field(default_factory=dict)
    import_task: str = "hifa_importdata"
    import_parameters: dict[str, object] = field(default_factory=dict)
    release: Release | None = None
    casa_generation: int = 6
    product_names: dict[str, str] = field(default_factory=dict)
    degraded: list[str] = field(default_factory=list)
    """Documents the plan depends on that could not be read (``name: why``); with any, the
    plan was made from partial evidence, and without its scripts no route is chosen."""
    casa: CasaChoice | None = None
    """The CASA install to restore with, when the plan was made with the site's catalog."""

    @property
    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    @property
    def not_restorable_because(self) -> str | None:
        """Why the MOUS cannot be restored (its first error), or ``None`` when it can."""
        if self.restorable:
            return None
        errors = [f.message for f in self.findings if f.severity == "error"]
        return errors[0] if errors else "no EB can be restored"

    @property
    def restore_ebs(self) -> list[tuple[str, str]]:
        """``(eb, session name)`` in restore order."""
        return [(eb, name) for name, ebs in self.sessions.items() for eb in ebs]

    def eb_table(self) -> pd.DataFrame:
        table = pd.DataFrame([asdict(r) for r in self.ebs], columns=EB_COLUMNS)
        return table.astype({"ousstatus_session": "Int64"})

    def findings_table(self) -> pd.DataFrame:
        return findings_table(self.findings)

    def to_dict(self) -> dict:
        return {
            "mous": self.mous,
            "restorable": self.restorable,
            "route": self.route,
            "sessions": self.sessions,
            "task": self.task,
            "ocorr_mode": self.ocorr_mode,
            "schedblock": self.schedblock,
            "sbstatus": self.sbstatus,
            "manifest": self.manifest,
            "calibration_source": self.calibration_source,
            "delivered_task": self.delivered_task,
            "restore_parameters": self.restore_parameters,
            "import_task": self.import_task,
            "import_parameters": self.import_parameters,
            "release": self.release.to_dict() if self.release else None,
            "fixes": [
                {"function": f.function, "call": f.render(), "vis": f.vis, "delivered": f.text}
                for f in self.fixes
            ],
            "fix_module": self.fix_module,
            "product_names": self.product_names,
            "degraded": self.degraded,
            "casa": self.casa.to_dict() if self.casa else None,
            "project": asdict(self.project),
            "ebs": [asdict(r) for r in self.ebs],
            "findings": [f.as_dict() for f in self.findings],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
