"""The rules: from the evidence about an MOUS to a table of EBs, findings and a restore plan.

Everything here is a pure function of an :class:`~restorekit.evidence.gather.Evidence`; tests
feed it directly, and the survey runs the very same rules over many MOUSes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from restorekit.evidence.gather import MISSING, Evidence, SchedBlock
from restorekit.rules.findings import Finding
from restorekit.rules.plan import EbRow, ProjectRefs, RestorePlan
from restorekit.rules.restorecall import restore_call
from restorekit.sources.manifest import choose_manifest, product_name, session_number
from restorekit.uids import uid_of_name, uid_of_vis

EXCLUDING_QA0 = {"SemiPass", "Fail"}
RULED_OUT_SB_STATES = {"Deleted", "Broken"}
SB_STATE_RANK = {"FullyObserved": 0, "Running": 1, "Ready": 1, "Suspended": 2}
_CALTABLES = re.compile(r"\.(session_\d+|default)\.caltables\.tgz$")
SESSION_LIMIT = 1000
"""No MOUS has this many sessions: a higher number is a broken document, never a PPR size."""
_EB_PRODUCT = re.compile(
    r"^(?:member\.)?(uid___[AX][0-9a-fA-F]+_[AX][0-9a-fA-F]+_[AX][0-9a-fA-F]+)"
    r"\.ms\.(calapply\.txt|flagversions\.tgz)$"
)




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


def _check_ousstatus(ev: Evidence, findings: list[Finding]) -> None:
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
    in_xml = set(xml.session_of())
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
        ("ProjectStatusRef", xml.refs.get("project_status"), ev.status.get("project_status")),
        ("ObsUnitSetRef", xml.refs.get("obs_project"), ev.aqua_ous.get("obs_project")),
        ("ObsUnitSetRef partId", xml.refs.get("part_id"), ev.aqua_ous.get("part_id")),
        ("ContainingObsUnitSetRef", xml.refs.get("containing_ous"), ev.status.get("parent")),
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


def _calibrated_from_manifest(
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


def _calibrated_from_products(
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


def _total_power(ev: Evidence) -> bool:
    script = ev.restore_script.restore if ev.restore_script else None
    procedure = ev.manifest.procedure if ev.manifest else None
    return bool(
        (script and script.task.startswith("hsd"))
        or (procedure and procedure.startswith("hsd"))
        or any(".hsd_" in name for name in ev.products)
    )


def _order(values: Iterable[str], start: dict[str, str | None], position: dict[str, int]):
    return sorted(values, key=lambda eb: (position.get(eb, 1 << 30), start.get(eb) or "", eb))


@dataclass
class _Context:
    """What every step of :func:`reconcile` looks at, and the findings they add to."""

    ev: Evidence
    findings: list[Finding]
    science: set[str]
    session_of: dict[str, int]
    part_of: dict[str, str | None]
    position: dict[str, int]
    source: str | None = None

    @classmethod
    def of(cls, ev: Evidence) -> _Context:
        sessions = ev.ousstatus.sessions if ev.ousstatus else []
        session_of = ev.ousstatus.session_of() if ev.ousstatus else {}
        return cls(
            ev,
            [],
            set(ev.science_ebs),
            session_of,
            {eb: s.part_id for s in sessions for eb in s.ebs},
            {eb: i for i, eb in enumerate(session_of)},
        )

    def add(self, code: str, message: str, eb: str | None = None) -> None:
        self.findings.append(Finding(code, message, eb))

    def row(self, eb: str) -> EbRow:
        return EbRow(
            eb=eb,
            in_asa_science=eb in self.science,
            ousstatus_session=self.session_of.get(eb),
            ousstatus_part_id=self.part_of.get(eb),
            qa0=self.ev.qa0.get(eb),
        )


def _calibrated_row(
    ctx: _Context, name: str, session: str | None, missing: list[str], known: set[str]
) -> EbRow:
    """The verdict on an EB the manifest (or the product list) says was calibrated."""
    eb = uid_of_name(name)
    row = ctx.row(eb)
    row.manifest_session = session
    row.calapply = product_name(f"{name}.ms.calapply.txt", ctx.ev.products) is not None
    row.flagversions = product_name(f"{name}.ms.flagversions.tgz", ctx.ev.products) is not None
    if eb not in known:
        row.reason = (
            "calibrated, but unknown to the archive (not in ASA_SCIENCE, "
            "AQUA_EXECBLOCK or OUSStatus): its raw data cannot be located"
        )
        ctx.add(
            "CALIBRATED_EB_UNKNOWN",
            f"the {ctx.source} names EB {eb}, which the archive does not know; it is left out",
            eb,
        )
    elif (session_number(session) or 0) > SESSION_LIMIT:
        row.reason = f"calibrated in {session}, a session number no MOUS reaches"
        ctx.add(
            "SESSION_NUMBER_UNREASONABLE",
            f"the {ctx.source} puts EB {eb} in {session}, beyond any real session number "
            f"(limit {SESSION_LIMIT}); it is not restored: check the manifest",
            eb,
        )
    elif missing:
        row.reason = f"calibrated in {session}, but {', '.join(missing)} not in NGAS"
        ctx.add(
            "PRODUCTS_MISSING",
            f"EB {eb} cannot be restored: {', '.join(missing)} not among the products",
            eb,
        )
    elif session is None and ctx.session_of:
        row.reason = "calibrated, but its session cannot be told from the products"
        ctx.add(
            "SESSION_NUMBER_MISMATCH",
            f"EB {eb} has calibration products but no session they can be matched to",
            eb,
        )
    elif session is None:
        # No OUSStatus and no manifest: calibrated, but which session only the manifest can
        # tell (OUSSTATUS_MISSING/MALFORMED already says so).
        row.restore = True
        row.reason = "calibrated; its session needs the manifest (no OUSStatus)"
    else:
        row.restore = True
        row.reason = f"calibrated in {session}"
        ordinal = ctx.session_of.get(eb)
        number = session_number(session)
        if ctx.source == "manifest" and ordinal and number and number != ordinal:
            ctx.add(
                "SESSION_NUMBER_MISMATCH",
                f"EB {eb} is in OUSStatus session {ordinal} but in manifest {session}; the "
                f"manifest's name {session} is used",
                eb,
            )
            row.reason += f" (OUSStatus session {ordinal})"
    return row


def _uncalibrated_row(ctx: _Context, eb: str, calibrated: bool) -> EbRow:
    """The verdict on an EB the archive knows but the calibration does not name."""
    row = ctx.row(eb)
    if not calibrated:
        row.reason = "the MOUS has no calibration products"
    elif row.qa0 in EXCLUDING_QA0:
        row.reason = f"not calibrated: QA0 {row.qa0}"
        ctx.add(
            "EB_EXCLUDED_BY_QA0",
            f"EB {eb} is left out: QA0 was {row.qa0}, so the pipeline did not calibrate it",
            eb,
        )
    else:
        row.reason = f"not calibrated, and QA0 ({row.qa0 or 'unknown'}) does not say why"
        ctx.add(
            "EB_NOT_CALIBRATED_UNEXPLAINED",
            f"EB {eb} (QA0 {row.qa0 or 'unknown'}) is in the archive but was not "
            "calibrated, and nothing says why; check the delivery before restoring "
            "without it",
            eb,
        )
    return row


def _restore_sessions(ctx: _Context, rows: Iterable[EbRow]) -> dict[str, list[str]]:
    """Manifest session name -> EBs to restore, sessions by number, EBs in observing order."""
    sessions: dict[str, list[str]] = {}
    for r in rows:
        if r.restore and r.manifest_session:
            sessions.setdefault(r.manifest_session, []).append(r.eb)
    ordered = sorted(sessions.items(), key=lambda kv: (session_number(kv[0]) or 1 << 30, kv[0]))
    sessions = {name: _order(ebs, ctx.ev.eb_start, ctx.position) for name, ebs in ordered}
    numbers = [session_number(s) for s in sessions]
    if numbers and all(numbers) and numbers != list(range(1, len(numbers) + 1)):
        absent = sorted(set(range(1, max(numbers))) - set(numbers))  # type: ignore[arg-type]
        ctx.add(
            "SESSION_NUMBERS_GAP",
            f"the restored sessions are {', '.join(sessions)}; the PPR carries "
            f"{', '.join(f'SESSION_{n}' for n in absent)} without restored EBs so that the "
            "pipeline keeps the manifest's numbers",
        )
    return sessions


def _schedblock(ctx: _Context) -> SchedBlock | None:
    """The SchedBlock for the PPR, among those the MOUS's EBs name."""
    ev = ctx.ev
    named = set(ev.eb_schedblock.values()) | {sb.uid for sb in ev.schedblocks if sb.name}
    candidates = [sb for sb in ev.schedblocks if sb.uid in named] or ev.schedblocks
    chosen, finding = choose_schedblock(candidates, ev.eb_schedblock)
    if finding:
        ctx.findings.append(finding)
    return chosen


def reconcile(ev: Evidence, *, pipeline_release: str | None = None) -> RestorePlan:
    """Apply every rule to ``ev`` and return the plan with its EB table and findings.

    ``pipeline_release`` is the release the restore will run with (the site setting); by
    default, the one that calibrated the delivery.
    """
    ctx = _Context.of(ev)
    calibrated = "calibration" in ev.products.values()
    if not calibrated:
        ctx.add(
            "NOT_CALIBRATED",
            "the MOUS has no calibration products in NGAS: it was not pipeline-calibrated "
            "(or its products were not archived), so there is nothing to restore",
        )
    _check_ousstatus(ev, ctx.findings)
    manifest_name = ev.manifest_name or choose_manifest(ev.products)
    if calibrated and manifest_name is None:
        ctx.add(
            "MANIFEST_MISSING",
            "no *pipeline_manifest.xml among the products; hifa_restoredata needs it",
        )
    names: dict[str, str] = {}
    if ev.manifest is not None:
        ctx.source = "manifest"
        calibrated_ebs = _calibrated_from_manifest(ev, names)
        if names:
            ctx.add(
                "PRODUCT_NAME_MAPPED",
                f"the archive holds {len(names)} product{'s' if len(names) != 1 else ''} under "
                "other names than the manifest gives; products/ holds each under both: "
                + ", ".join(f"{a} as {m}" for m, a in sorted(names.items())),
            )
    else:
        ctx.source = "products" if calibrated else None
        if manifest_name and ev.documents_read:
            ctx.add(
                "MANIFEST_UNREADABLE",
                f"{ev.manifest_problem or 'the manifest could not be read'}; the plan is "
                "inferred from the product list",
            )
        calibrated_ebs = (
            _calibrated_from_products(ev, ctx.session_of, ctx.findings) if calibrated else []
        )
    total_power = _total_power(ev)
    if total_power:
        ctx.add(
            "TOTAL_POWER",
            "a total-power (single-dish) MOUS: restored with hsd_restoredata and ocorr_mode='ao'",
        )

    known = ctx.science | set(ev.qa0) | set(ctx.session_of)
    rows: dict[str, EbRow] = {}
    for name, session, missing in calibrated_ebs:
        row = _calibrated_row(ctx, name, session, missing, known)
        rows[row.eb] = row
    for eb in _order(known - set(rows), ev.eb_start, ctx.position):
        rows[eb] = _uncalibrated_row(ctx, eb, calibrated)
    sessions = _restore_sessions(ctx, rows.values())
    schedblock = _schedblock(ctx)
    _compare_restore_script(ev, rows, sessions, ctx.findings)
    restored_ebs = {eb for ebs in sessions.values() for eb in ebs}
    call = restore_call(ev, restored_ebs, total_power, pipeline_release, ctx.add)
    restored = any(r.restore for r in rows.values())
    if calibrated and manifest_name and not restored:
        ctx.add("NOTHING_TO_RESTORE", "the MOUS is calibrated, but none of its EBs can be restored")
    restorable = bool(calibrated and manifest_name and restored and not call.blocked)
    scripts_unread = any(name.endswith(".py") for name in ev.document_problems)
    route = None if scripts_unread else "script" if call.fixes else "ppr"
    table = sorted(
        rows.values(),
        key=lambda r: (
            r.ousstatus_session or session_number(r.manifest_session) or 1 << 30,
            ev.eb_start.get(r.eb) or "",
            r.eb,
        ),
    )
    return RestorePlan(
        mous=ev.mous,
        restorable=restorable,
        route=route,
        sessions=sessions if restorable else {},
        ebs=table,
        findings=ctx.findings,
        task=call.task,
        ocorr_mode=call.ocorr_mode,
        manifest=manifest_name,
        calibration_source=ctx.source,
        schedblock=schedblock.uid if schedblock else None,
        sbstatus=schedblock.status_uid if schedblock else None,
        schedblock_name=schedblock.name if schedblock else None,
        fixes=call.fixes,
        fix_module=call.fix_module,
        project=_project(ev),
        delivered_task=call.delivered_task,
        restore_parameters=call.parameters,
        import_task=call.import_task,
        import_parameters=call.import_parameters,
        release=call.release,
        casa_generation=call.casa_generation,
        product_names=names,
        degraded=[f"{name}: {why}" for name, why in sorted(ev.document_problems.items())],
    )


def _compare_restore_script(
    ev: Evidence, rows: dict[str, EbRow], sessions: dict[str, list[str]], findings: list[Finding]
) -> None:
    """Mark the EBs the delivered restore script restores; say where it differs from the plan."""
    for name, why in sorted(ev.document_problems.items()):
        if name.endswith(".py"):
            findings.append(Finding("RESTORE_SCRIPT_UNREADABLE", why))
    call = ev.restore_script.restore if ev.restore_script else None
    if call is None:
        return
    # Sessions repeat (one per vis): compare (EB, session) pairs, as the pipeline pairs them.
    delivered = {
        (uid_of_vis(v), s)
        for v, s in zip(call.vis, call.session or [None] * len(call.vis), strict=False)
    }
    for eb, _ in delivered:
        if eb in rows:
            rows[eb].in_restore_script = True
    planned = {(eb, name) for name, ebs in sessions.items() for eb in ebs}
    if delivered != planned:
        extra = sorted(f"{eb} ({s})" for eb, s in delivered - planned)
        lacking = sorted(f"{eb} ({s})" for eb, s in planned - delivered)
        parts = [f"it restores {', '.join(extra)}" if extra else "",
                 f"it does not restore {', '.join(lacking)}" if lacking else ""]
        findings.append(
            Finding(
                "RESTORE_SCRIPT_DISAGREES",
                "the delivered restore script differs from the plan: "
                + "; ".join(p for p in parts if p),
            )
        )


def _project(ev: Evidence) -> ProjectRefs:
    refs = ev.ousstatus.refs if ev.ousstatus else {}
    return ProjectRefs(
        code=ev.project.get("code"),
        title=ev.project.get("title"),
        pi=ev.project.get("pi"),
        obs_project=ev.aqua_ous.get("obs_project")
        or ev.status.get("obs_project")
        or ev.project.get("uid")
        or refs.get("obs_project"),
        part_id=ev.aqua_ous.get("part_id") or ev.status.get("part_id") or refs.get("part_id"),
        project_status=ev.status.get("project_status") or refs.get("project_status"),
        ous_status=ev.mous,
        gous=ev.status.get("parent") or refs.get("containing_ous"),
        sous=ev.sous,
        state=ev.status.get("state") or refs.get("state"),
        casa_version=ev.manifest.casa_version if ev.manifest else None,
        pipeline_version=ev.manifest.pipeline_version if ev.manifest else None,
    )
