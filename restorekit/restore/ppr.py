"""The pipeline processing request (``SciPipeRequest``) of a plan, written as XML.

:mod:`restorekit.restore.ppr_reading` reads it back with the pipeline's own rules.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from restorekit.errors import PprCheckError
from restorekit.restore.layout import RestoreLayout
from restorekit.rules.plan import RestorePlan
from restorekit.rules.reconcile import SESSION_LIMIT
from restorekit.settings import SiteSettings
from restorekit.sources.manifest import session_number
from restorekit.uids import parse_uid

SEPARATOR = " | "
_NAMESPACES = {
    "ent": "Alma/CommonEntity",
    "val": "Alma/ValueTypes",
    "prp": "Alma/ObsPrep/ObsProposal",
    "orv": "Alma/ObsPrep/ObsReview",
    "ps": "Alma/ObsPrep/ProjectStatus",
    "oat": "Alma/ObsPrep/ObsAttachment",
    "prj": "Alma/ObsPrep/ObsProject",
    "sbl": "Alma/ObsPrep/SchedBlock",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}


def session_intents(plan: RestorePlan) -> list[tuple[str, str]]:
    """``(SESSION_n, value)`` for n = 1..highest, without a gap; absent numbers are empty."""
    numbers = {n: ebs for name, ebs in plan.sessions.items() if (n := session_number(name))}
    if len(numbers) != len(plan.sessions) or not numbers or max(numbers) > SESSION_LIMIT:
        raise PprCheckError(
            f"the plan of {plan.mous} has sessions {list(plan.sessions)}; a PPR can only name "
            "session_<n> sessions"
        )
    return [
        (f"SESSION_{n}", SEPARATOR.join(numbers.get(n, []))) for n in range(1, max(numbers) + 1)
    ]


def ppr_value(value: object) -> str:
    """A task parameter as PPR text, which the pipeline converts back (see :func:`_convert`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _sub(parent, tag: str, text: str | None = None, **attrib: str | None):
    node = etree.SubElement(parent, tag, {k: v for k, v in attrib.items() if v is not None})
    if text is not None:
        node.text = text
    return node


def build_ppr(
    plan: RestorePlan,
    layout: RestoreLayout,
    settings: SiteSettings,
    *,
    created: datetime | None = None,
) -> bytes:
    """The PPR of ``plan`` as XML bytes."""
    created = created or datetime.now(UTC)
    xsi = f"{{{_NAMESPACES['xsi']}}}type"
    root = etree.Element("SciPipeRequest", nsmap=_NAMESPACES, attrib={xsi: "SciPipeRequest"})
    _sub(
        root,
        "SciPipeRequestEntity",
        entityId="UID_UNASSIGNED",
        entityTypeName="SciPipeRequest",
        datamodelVersion="0.1",
    )
    _project_summary(root, plan, settings, created)
    _project_structure(root, plan)
    request = _sub(_sub(root, "ProcessingRequests"), "ProcessingRequest")
    _sub(request, "RootDirectory", str(layout.root))
    _procedure(request, plan)
    _dataset(request, plan, layout)
    results = _sub(root, "ResultsProcessing")
    for tag in (
        "ArchiveResults",
        "CleanUpDisk",
        "UpdateProjectLifeCycle",
        "NotifyOperatorWhenDone",
    ):
        _sub(results, tag, "false")
    _sub(results, "PipelineOperatorAdress", "Unknown")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _project_summary(root, plan: RestorePlan, settings: SiteSettings, created: datetime) -> None:
    project = plan.project
    summary = _sub(root, "ProjectSummary")
    _sub(summary, "ProposalCode", project.code)
    _sub(summary, "ProposalTitle", project.title or "Undefined")
    _sub(summary, "Observatory", settings.observatory)
    _sub(summary, "Telescope", settings.telescope)
    _sub(summary, "ProcessingSite", settings.processing_site)
    _sub(summary, "Operator", settings.operator)
    _sub(summary, "Mode", settings.mode)
    _sub(summary, "Version", settings.version)
    _sub(summary, "CreationTime", created.strftime("%Y-%m-%dT%H:%M:%S.000"))


def _project_structure(root, plan: RestorePlan) -> None:
    project = plan.project
    structure = _sub(root, "ProjectStructure")
    _sub(
        structure,
        "ObsUnitSetRef",
        entityId=project.obs_project,
        partId=project.part_id,
        entityTypeName="ObsProject",
    )
    _sub(structure, "ObsUnitSetTitle", "Undefined")
    _sub(structure, "ObsUnitSetType", "Member")
    _sub(
        structure,
        "ProjectStatusRef",
        entityId=project.project_status,
        entityTypeName="ProjectStatus",
        documentVersion="1",
    )
    _sub(structure, "OUSStatusRef", entityId=plan.mous, entityTypeName="OUSStatus")


def _procedure(request, plan: RestorePlan) -> None:
    """The intents (sessions among them) and the one restore command with its parameters."""
    intents = _sub(request, "ProcessingIntents")
    mode = "SINGLE_DISH" if plan.task.startswith("hsd") else "INTERFEROMETRY"
    for keyword, value in [
        ("PROCESS", "true"),
        *session_intents(plan),
        (f"{mode}_STANDARD_OBSERVING_MODE", "Undefined"),
    ]:
        item = _sub(intents, "Intents")
        _sub(item, "Keyword", keyword)
        _sub(item, "Value", value)
    procedure = _sub(request, "ProcessingProcedure")
    _sub(procedure, "ProcedureTitle", plan.task.replace("data", ""))
    command = _sub(procedure, "ProcessingCommand")
    _sub(command, "Command", plan.task)
    parameters = _sub(command, "ParameterSet")
    for name, setting in plan.restore_parameters.items():
        parameter = _sub(parameters, "Parameter")
        _sub(parameter, "Keyword", name)
        _sub(parameter, "Value", ppr_value(setting))


def _dataset(request, plan: RestorePlan, layout: RestoreLayout) -> None:
    """The SchedBlock and the ASDMs to restore, each by the name it has in ``rawdata/``."""
    identifier = _sub(_sub(_sub(request, "DataSet"), "SchedBlockSet"), "SchedBlockIdentifier")
    _sub(identifier, "RelativePath", layout.relative_path)
    _sub(
        identifier,
        "SchedBlockRef",
        entityId=plan.schedblock or "Undefined",
        entityTypeName="SchedBlock",
        documentVersion="1",
    )
    _sub(
        identifier, "SBStatusRef", entityId=plan.sbstatus or "Undefined", entityTypeName="SBStatus"
    )
    _sub(identifier, "SBTitle", plan.schedblock_name or "Undefined")
    for eb, _ in plan.restore_ebs:
        asdm = _sub(identifier, "AsdmIdentifier")
        _sub(_sub(asdm, "AsdmRef"), "ExecBlockId", eb)
        _sub(asdm, "AsdmDiskName", parse_uid(eb).file)


# --- reading back, as the pipeline does -----------------------------------------------------
