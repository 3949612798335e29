"""A declarative description of one MOUS as the archive would hold it.

A :class:`MousSpec` says what was observed (sessions of EBs with their QA0 verdicts, on which
SchedBlocks) and how it was delivered (calibrated or not, data fixes, the state of its OUSStatus
XML). :mod:`restorekit.demo.rows` turns it into table rows and :mod:`restorekit.demo.documents`
into the files NGAS holds. The embedded demo archive and the synthetic archives at scale are both
made of specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from restorekit.uids import to_file_form

Qa0 = Literal["Pass", "SemiPass", "Fail", "Pending", "Unset"]
XmlState = Literal["generated", "null", "malformed"]


@dataclass
class EbSpec:
    """An execution block."""

    uid: str
    qa0: Qa0 = "Pass"
    start: str = "2018-01-01 00:00:00.000"
    end: str = "2018-01-01 01:00:00.000"
    schedblock: int = 0
    """Index into :attr:`MousSpec.schedblocks`."""
    calibrated: bool | None = None
    """Whether the pipeline calibrated it; by default, when QA0 passed."""

    @property
    def is_calibrated(self) -> bool:
        return self.qa0 == "Pass" if self.calibrated is None else self.calibrated

    @property
    def in_science(self) -> bool:
        """Failed EBs are not delivered, so ASA_SCIENCE does not list them."""
        return self.qa0 != "Fail"

    @property
    def file(self) -> str:
        return to_file_form(self.uid)


@dataclass
class SessionSpec:
    """An OUSStatus session: the EBs of one observing session, in order."""

    ebs: list[EbSpec]
    part_id: str | None = None


@dataclass
class SchedBlockSpec:
    uid: str
    status_uid: str
    state: str = "FullyObserved"
    name: str = "Undefined"


@dataclass
class MousSpec:
    """One MOUS, with its containing OUSes, project, SchedBlocks and sessions."""

    mous: str
    gous: str
    sous: str
    project_uid: str
    project_code: str
    project_status: str
    part_id: str
    sessions: list[SessionSpec]
    schedblocks: list[SchedBlockSpec]
    title: str = "Undefined"
    pi_name: str = "Undefined"
    state: str = "Delivered"
    description: str = ""
    pipeline_calibrated: bool = True
    """False: delivered without pipeline calibration products."""
    fixes: Literal["casa5", "casa6"] | None = None
    """The delivery's scripts carry SACM/JAO fixes (``fixsyscaltimes`` per EB, as JAO's tool
    writes them), imported as that CASA generation does."""
    fix_calls: Literal["both", "pipescript", "none"] = "both"
    """Which scripts call the fixes; the others only import them (``"none"``: import only, as
    total-power scripts get them)."""
    planet_fields: list[str] = field(default_factory=list)
    """Field ids ``fixplanets(..., fixuvw = T)`` is called on after each EB's fixsyscaltimes."""
    archive_prefix: str = "member."
    """Prefix of OUS-level product names in the archive (Cycle 5 on); manifests carry none."""
    manifest_versions: bool = True
    """Whether the manifest names CASA and pipeline versions (not before August 2018)."""
    restore_task: str | None = None
    """The delivered restore task; default ``hifa_restoredata`` (``hsd_`` for total power)."""
    restore_keywords: dict[str, object] = field(default_factory=dict)
    """Keyword arguments of the delivered restore call after ``vis`` and ``session``."""
    real_data: bool = False
    """Caltables, flagversions, calapply files and raw ASDMs are real CASA data
    (``data/realdata``, made by :mod:`restorekit.demo.realdata`), not placeholders."""
    xml: XmlState = "generated"
    xml_text: str | None = None
    """A verbatim OUSStatus document (the seed's), used instead of a generated one."""
    total_power: bool = False
    manifest_infix: str = "hifa_calimage"
    """``calimage`` or ``hifa_calimage``: how the manifest file is named."""
    unknown_manifest_ebs: dict[int, list[str]] = field(default_factory=dict)
    """Session ordinal -> EB uids the manifest names but the archive does not know."""
    manifest_session_shift: int = 0
    """Added to manifest session numbers: a manifest that disagrees with OUSStatus."""
    casa_version: str = "5.4.0-70"
    pipeline_version: str = "42254M (Pipeline-CASA54-P1-B)"

    @property
    def file(self) -> str:
        return to_file_form(self.mous)

    @property
    def recipe(self) -> str:
        return "hsd_calimage" if self.total_power else "hifa_calimage"

    def all_ebs(self) -> list[tuple[int, EbSpec]]:
        """``(session ordinal, eb)`` for every EB, in document order."""
        return [(n, eb) for n, s in enumerate(self.sessions, start=1) for eb in s.ebs]

    def calibrated_sessions(self) -> list[tuple[int, list[EbSpec]]]:
        """``(ordinal, calibrated EBs)`` for each session with at least one calibrated EB."""
        if not self.pipeline_calibrated:
            return []
        out = []
        for n, session in enumerate(self.sessions, start=1):
            ebs = [eb for eb in session.ebs if eb.is_calibrated]
            if ebs:
                out.append((n, ebs))
        return out

    def manifest_session_name(self, ordinal: int) -> str:
        return f"session_{ordinal + self.manifest_session_shift}"
