"""A PPR read back with the pipeline's own rules, and checked against the plan it came from.

How the pipeline reads a PPR (restore-facts section 1): namespace prefixes are dropped; only
the first ``ProcessingRequest`` counts; intents are read until the first ``Intents`` without a
``Keyword``; ``SESSION_1``, ``SESSION_2``, ... are looked up until the first absent number;
each value is split on ``' | '`` and each EB uid turned into file form; each ASDM gets the
session whose list holds its ``AsdmDiskName``, else ``session_1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from restorekit.errors import PprCheckError
from restorekit.restore.ppr import SEPARATOR
from restorekit.rules.plan import RestorePlan
from restorekit.sources.xmlsafe import local, parse_xml
from restorekit.uids import parse_uid

_TASK = re.compile(r"(h|hif|hifa|hifv|hsd|hsdn)_[a-z0-9_]+")


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
