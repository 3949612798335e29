"""Rules about the archive's structure of an MOUS: which SchedBlock the PPR names, whether the
OUSStatus document agrees with the tables, and the project references the PPR needs."""

from __future__ import annotations

from restorekit.evidence.gather import MISSING, Evidence, SchedBlock
from restorekit.rules.findings import Finding
from restorekit.rules.plan import ProjectRefs

RULED_OUT_SB_STATES = {"Deleted", "Broken"}
SB_STATE_RANK = {"FullyObserved": 0, "Running": 1, "Ready": 1, "Suspended": 2}


def choose_schedblock(
    schedblocks: list[SchedBlock], eb_schedblock: dict[str, str | None]
) -> tuple[SchedBlock | None, Finding | None]:
    """Pick the SchedBlock for the PPR: not Deleted or Broken, best state, most EBs."""
    if not schedblocks:
        return None, None
    if len(schedblocks) == 1:
        return schedblocks[0], None
    counts: dict[str | None, int] = {}
    for sb in eb_schedblock.values():
        counts[sb] = counts.get(sb, 0) + 1
    usable = [sb for sb in schedblocks if sb.state not in RULED_OUT_SB_STATES] or schedblocks

    def rank(sb: SchedBlock) -> tuple[int, int, str]:
        return (SB_STATE_RANK.get(sb.state or "", 3), -counts.get(sb.uid, 0), sb.uid)

    ranked = sorted(usable, key=rank)
    chosen = ranked[0]
    listing = ", ".join(f"{sb.uid} ({sb.state or 'no state'})" for sb in schedblocks)
    if len(ranked) > 1 and rank(ranked[1])[:2] == rank(chosen)[:2]:
        return chosen, Finding(
            "SCHEDBLOCK_AMBIGUOUS",
            f"EBs name {len(schedblocks)} SchedBlocks ({listing}) and neither state nor EB "
            f"count decides; {chosen.uid} is used; check which SchedBlock the PPR should name",
        )
    others = sorted({sb.state or "no state" for sb in schedblocks} - {chosen.state})
    why = (
        f"the others are {', '.join(others)}"
        if len(usable) < len(schedblocks) or chosen.state != ranked[-1].state
        else "it has the most EBs"
    )
    return chosen, Finding(
        "MULTIPLE_SCHEDBLOCKS",
        f"EBs name {len(schedblocks)} SchedBlocks: {listing}; {chosen.uid} "
        f"({chosen.state}) is used because {why}",
    )


def check_ousstatus(ev: Evidence, findings: list[Finding]) -> None:
    """The OUSStatus XML against the archive: present and readable, the same EBs, SBStatus and
    references."""
    xml = ev.ousstatus
    if xml is None:
        if ev.ousstatus_problem == MISSING:
            findings.append(
                Finding(
                    "OUSSTATUS_MISSING",
                    "the archive holds no OUSStatus XML for this MOUS, so EB-to-session mapping "
                    "comes from the manifest and product list alone",
                )
            )
        else:
            findings.append(
                Finding(
                    "OUSSTATUS_MALFORMED",
                    f"{ev.ousstatus_problem}; EB-to-session mapping comes from the manifest and "
                    "product list alone",
                )
            )
        return
    _ousstatus_ebs(ev, xml, findings)
    _ousstatus_refs(ev, xml, findings)


def _ousstatus_ebs(ev: Evidence, xml, findings: list[Finding]) -> None:
    in_xml = {eb for session in xml.sessions for eb in session.ebs}
    known = set(ev.science_ebs) | set(ev.qa0)
    for eb in ev.science_ebs:
        if eb not in in_xml:
            findings.append(
                Finding(
                    "OUSSTATUS_EB_MISMATCH",
                    f"EB {eb} is in ASA_SCIENCE but in no OUSStatus session",
                    eb,
                )
            )
    for eb in sorted(in_xml - known):
        findings.append(
            Finding(
                "OUSSTATUS_EB_MISMATCH",
                f"EB {eb} is in an OUSStatus session but the archive has no other record of it",
                eb,
            )
        )


def _ousstatus_refs(ev: Evidence, xml, findings: list[Finding]) -> None:
    statuses = {sb.status_uid for sb in ev.schedblocks if sb.status_uid}
    refs = [xml.refs.get("sbstatus")] + [s.sbstatus_ref for s in xml.sessions]
    wrong = sorted({r for r in refs if r and statuses and r not in statuses})
    if wrong:
        findings.append(
            Finding(
                "OUSSTATUS_SBSTATUS_MISMATCH",
                f"OUSStatus names SBStatus {', '.join(wrong)}, but the archive's SBStatus for this "
                f"MOUS is {', '.join(sorted(statuses))}",
            )
        )
    pairs = [
        ("ProjectStatusRef", xml.refs.get("project_status"), ev.status.project_status),
        ("ObsUnitSetRef", xml.refs.get("obs_project"), ev.aqua_ous.obs_project),
        ("ObsUnitSetRef partId", xml.refs.get("part_id"), ev.aqua_ous.part_id),
        ("ContainingObsUnitSetRef", xml.refs.get("containing_ous"), ev.status.parent),
        ("OUSStatusEntity", xml.refs.get("ous_status"), ev.mous),
    ]
    for what, in_doc, in_db in pairs:
        if in_doc and in_db and in_doc != in_db:
            findings.append(
                Finding(
                    "OUSSTATUS_REFS_MISMATCH",
                    f"OUSStatus {what} is {in_doc} but the archive says {in_db}",
                )
            )


def project_refs(ev: Evidence) -> ProjectRefs:
    refs = ev.ousstatus.refs if ev.ousstatus else {}
    return ProjectRefs(
        code=ev.project.code,
        title=ev.project.title,
        pi=ev.project.pi,
        obs_project=ev.aqua_ous.obs_project
        or ev.status.obs_project
        or ev.project.uid
        or refs.get("obs_project"),
        part_id=ev.aqua_ous.part_id or ev.status.part_id or refs.get("part_id"),
        project_status=ev.status.project_status or refs.get("project_status"),
        ous_status=ev.mous,
        gous=ev.status.parent or refs.get("containing_ous"),
        sous=ev.sous,
        state=ev.status.state or refs.get("state"),
        casa_version=ev.manifest.casa_version if ev.manifest else None,
        pipeline_version=ev.manifest.pipeline_version if ev.manifest else None,
    )
