"""The pipeline processing request (``SciPipeRequest``): written from a plan, read back with
the pipeline's own rules, and checked.

How the pipeline reads a PPR (restore-facts section 1): namespace prefixes are dropped; only
the first ``ProcessingRequest`` counts; intents are read until the first ``Intents`` without a
``Keyword``; ``SESSION_1``, ``SESSION_2``, ... are looked up until the first absent number;
each value is split on ``' | '`` and each EB uid turned into file form; each ASDM gets the
session whose list holds its ``AsdmDiskName``, else ``session_1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from restorekit.errors import PprCheckError
from restorekit.restore.layout import RestoreLayout
from restorekit.rules.plan import RestorePlan
from restorekit.rules.reconcile import SESSION_LIMIT
from restorekit.settings import SiteSettings
from restorekit.sources.manifest import session_number
from restorekit.sources.xmlsafe import local, parse_xml
from restorekit.uids import parse_uid

SEPARATOR = " | "
_TASK = re.compile(r"(h|hif|hifa|hifv|hsd|hsdn)_[a-z0-9_]+")
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
    numbers = {session_number(name): ebs for name, ebs in plan.sessions.items()}
    if None in numbers or not numbers or max(numbers) > SESSION_LIMIT:  # type: ignore[type-var]
        raise PprCheckError(
            f"the plan of {plan.mous} has sessions {list(plan.sessions)}; a PPR can only name "
            "session_<n> sessions"
        )
    return [
        (f"SESSION_{n}", SEPARATOR.join(numbers.get(n, [])))
        for n in range(1, max(numbers) + 1)  # type: ignore[type-var]
    ]


def ppr_value(value: object) -> str:
    """A task parameter as PPR text, which the pipeline converts back (see :func:`_convert`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _sub(parent, tag: str, text: str | None = None, **attrib: str):
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

    request = _sub(_sub(root, "ProcessingRequests"), "ProcessingRequest")
    _sub(request, "RootDirectory", str(layout.root))
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
    for keyword, value in plan.restore_parameters.items():
        parameter = _sub(parameters, "Parameter")
        _sub(parameter, "Keyword", keyword)
        _sub(parameter, "Value", ppr_value(value))

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


# --- reading back, as the pipeline does -----------------------------------------------------


def _convert(text: str | None) -> object:
    """The pipeline's value conversion: bool, int, float, ``[..]`` list, else the string."""
    value = (text or "").strip()
    if value in ("true", "false"):
        return value == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    if value.startswith("[") and value.endswith("]"):
        return [v.strip() for v in value[1:-1].split(",") if v.strip()]
    return value


def _expected(value: object) -> object:
    """What the pipeline's conversion makes of ``value`` written with :func:`ppr_value`."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return value


@dataclass
class PprReading:
    """What the pipeline takes from a PPR."""

    proposal_code: object = None
    observatory: object = None
    telescope: object = None
    has_structure: bool = False
    ous_status: str | None = None
    intents: dict[str, object] = field(default_factory=dict)
    procedure: str | None = None
    commands: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    relative_path: object = None
    schedblock_identifiers: int = 0
    asdms: list[tuple[str, str]] = field(default_factory=list)
    """``(AsdmDiskName, ExecBlockId)`` in order."""
    sessions: list[str] = field(default_factory=list)
    """The session each ASDM gets, in ASDM order."""


def _children(node, tag: str) -> list:
    return [c for c in node if local(c.tag) == tag] if node is not None else []


def _child(node, tag: str):
    found = _children(node, tag)
    return found[0] if found else None


def _text(node, tag: str) -> str | None:
    child = _child(node, tag)
    return child.text if child is not None else None


def read_ppr(xml: bytes | str) -> PprReading:
    """Read a PPR the way ``executeppr`` does (see the module docstring)."""
    root = parse_xml(xml, what="the PPR")
    out = PprReading()
    summary = _child(root, "ProjectSummary")
    out.proposal_code = _convert(_text(summary, "ProposalCode")) if summary is not None else None
    out.observatory = _convert(_text(summary, "Observatory")) if summary is not None else None
    out.telescope = _convert(_text(summary, "Telescope")) if summary is not None else None
    structure = _child(root, "ProjectStructure")
    if structure is not None and _child(structure, "AlmaStructure") is not None:
        structure = _child(structure, "AlmaStructure")
    out.has_structure = structure is not None and _child(structure, "OUSStatusRef") is not None
    if out.has_structure:
        out.ous_status = _child(structure, "OUSStatusRef").get("entityId")
    requests = _children(_child(root, "ProcessingRequests"), "ProcessingRequest")
    if not requests:
        return out
    request = requests[0]
    for item in _children(_child(request, "ProcessingIntents"), "Intents"):
        keyword = _text(item, "Keyword")
        if keyword is None:
            break
        out.intents[keyword.strip()] = _convert(_text(item, "Value"))
    procedure = _child(request, "ProcessingProcedure")
    out.procedure = _text(procedure, "ProcedureTitle")
    for command in _children(procedure, "ProcessingCommand"):
        params = {
            (_text(p, "Keyword") or "").strip(): _convert(_text(p, "Value"))
            for p in _children(_child(command, "ParameterSet"), "Parameter")
        }
        out.commands.append(((_text(command, "Command") or "").strip(), params))
    identifiers = [
        ident
        for sbset in _children(_child(request, "DataSet"), "SchedBlockSet")
        for ident in _children(sbset, "SchedBlockIdentifier")
    ]
    out.schedblock_identifiers = len(identifiers)
    if identifiers:
        out.relative_path = _convert(_text(identifiers[0], "RelativePath"))
        for asdm in _children(identifiers[0], "AsdmIdentifier"):
            name = (_text(asdm, "AsdmDiskName") or "").strip()
            eb = (_text(_child(asdm, "AsdmRef"), "ExecBlockId") or "").strip()
            out.asdms.append((name, eb))
    lists: list[list[str]] = []
    n = 1
    while f"SESSION_{n}" in out.intents:
        value = str(out.intents[f"SESSION_{n}"])
        lists.append([v.replace(":", "_").replace("/", "_") for v in value.split(SEPARATOR) if v])
        n += 1
    for name, _ in out.asdms:
        bare = re.sub(r"(\.ms)+$", "", name)
        out.sessions.append(
            next(
                (f"session_{i}" for i, ebs in enumerate(lists, start=1) if bare in ebs), "session_1"
            )
        )
    return out


def check_ppr(xml: bytes | str, plan: RestorePlan) -> PprReading:
    """Read the PPR back and make sure the pipeline will restore exactly the plan.

    Raises
    ------
    PprCheckError
        Naming the first disagreement.
    """
    reading = read_ppr(xml)
    problems = []
    for what in ("proposal_code", "observatory", "telescope"):
        if getattr(reading, what) in (None, ""):
            problems.append(f"ProjectSummary lacks {what}")
    if not reading.has_structure or reading.ous_status != plan.mous:
        problems.append("ProjectStructure/OUSStatusRef does not name the MOUS")
    if reading.schedblock_identifiers != 1:
        problems.append(f"{reading.schedblock_identifiers} SchedBlockIdentifiers, not 1")
    if not reading.relative_path:
        problems.append("RelativePath is empty")
    for task, _ in reading.commands:
        if not _TASK.fullmatch(task):
            problems.append(f"command {task!r} is not a pipeline task")
    if [task for task, _ in reading.commands] != [plan.task]:
        problems.append(f"commands {[t for t, _ in reading.commands]} are not [{plan.task!r}]")
    elif reading.commands[0][1] != {k: _expected(v) for k, v in plan.restore_parameters.items()}:
        problems.append(
            f"{plan.task} would get {reading.commands[0][1]}, the plan says "
            f"{plan.restore_parameters}"
        )
    expected = [(parse_uid(eb).file, name) for eb, name in plan.restore_ebs]
    got = [
        (name, session) for (name, _), session in zip(reading.asdms, reading.sessions, strict=True)
    ]
    if got != expected:
        problems.append(f"the pipeline would restore {got}, the plan says {expected}")
    if problems:
        raise PprCheckError(
            f"the PPR of {plan.mous} fails its read-back check: " + "; ".join(problems)
        )
    return reading
