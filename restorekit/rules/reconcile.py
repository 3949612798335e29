"""The rules: from the evidence about an MOUS to a table of EBs, findings and a restore plan.

Everything here is a pure function of an :class:`~restorekit.evidence.gather.Evidence`; tests
feed it directly, and the survey runs the very same rules over many MOUSes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from restorekit.evidence.gather import Evidence, SchedBlock
from restorekit.rules.calibrated import calibrated_from_manifest, calibrated_from_products
from restorekit.rules.casa import (
    CasaChoice,
    Install,
    casa_finding,
    choose,
    wanted_of,
)
from restorekit.rules.findings import Finding
from restorekit.rules.plan import EbRow, RestorePlan, Route
from restorekit.rules.restorecall import compare_restore_script, restore_call
from restorekit.rules.structure import check_ousstatus, choose_schedblock, project_refs
from restorekit.sources.manifest import choose_manifest, product_name, session_number

EXCLUDING_QA0 = {"SemiPass", "Fail"}
SESSION_LIMIT = 1000
"""No MOUS has this many sessions: a higher number is a broken document, never a PPR size."""


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
        science, session, part = eb in self.science, self.session_of.get(eb), self.part_of.get(eb)
        return EbRow(eb, science, session, part, qa0=self.ev.qa0.get(eb))


def _calibrated_row(
    ctx: _Context, name: str, eb: str, session: str | None, missing: list[str], known: set[str]
) -> EbRow:
    """The verdict on EB ``eb`` (file name ``name``), which the manifest (or the product list)
    says was calibrated."""
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
    numbers = [n for n in map(session_number, sessions) if n]
    if len(numbers) == len(sessions) and numbers != list(range(1, len(numbers) + 1)):
        absent = sorted(set(range(1, max(numbers))) - set(numbers))
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


def _calibrated_ebs(
    ctx: _Context, calibrated: bool, manifest_name: str | None, names: dict[str, str]
) -> list:
    """``(name, uid, session, missing)`` of each calibrated EB: from the manifest when it was read,
    else inferred from the product names; ``names`` gets the manifest -> archive name map."""
    ev = ctx.ev
    if ev.manifest is not None:
        ctx.source = "manifest"
        calibrated_ebs = calibrated_from_manifest(ev, names)
        if names:
            ctx.add(
                "PRODUCT_NAME_MAPPED",
                f"the archive holds {len(names)} product{'s' if len(names) != 1 else ''} under "
                "other names than the manifest gives; products/ holds each under both: "
                + ", ".join(f"{a} as {m}" for m, a in sorted(names.items())),
            )
        return calibrated_ebs
    ctx.source = "products" if calibrated else None
    if manifest_name and ev.documents_read:
        ctx.add(
            "MANIFEST_UNREADABLE",
            f"{ev.manifest_problem or 'the manifest could not be read'}; the plan is "
            "inferred from the product list",
        )
    return calibrated_from_products(ev, ctx.session_of, ctx.findings) if calibrated else []


def _eb_rows(ctx: _Context, calibrated_ebs: list, calibrated: bool) -> dict[str, EbRow]:
    """One row per EB any source names: the calibrated ones, then the rest in observing order."""
    ev = ctx.ev
    known = ctx.science | set(ev.qa0) | set(ctx.session_of)
    rows: dict[str, EbRow] = {}
    for name, eb, session, missing in calibrated_ebs:
        row = _calibrated_row(ctx, name, eb, session, missing, known)
        rows[row.eb] = row
    for eb in _order(known - set(rows), ev.eb_start, ctx.position):
        rows[eb] = _uncalibrated_row(ctx, eb, calibrated)
    return rows


def _table_order(ev: Evidence, rows: Iterable[EbRow]) -> list[EbRow]:
    """The EB table by session (OUSStatus ordinal, else manifest number), then observing time."""
    return sorted(
        rows,
        key=lambda r: (
            r.ousstatus_session or session_number(r.manifest_session) or 1 << 30,
            ev.eb_start.get(r.eb) or "",
            r.eb,
        ),
    )


def reconcile(
    ev: Evidence,
    *,
    pipeline_release: str | None = None,
    casa: Sequence[Install] | None = None,
) -> RestorePlan:
    """Apply every rule to ``ev`` and return the plan with its EB table and findings.

    ``casa`` is the site's catalog of CASA installs: with it, the plan chooses the one to
    restore with (:mod:`restorekit.rules.casa`), and writes the task calls for its pipeline.
    ``pipeline_release`` (the site setting) overrides that release; by default, it is the
    chosen install's, else the one that calibrated the delivery.
    """
    ctx = _Context.of(ev)
    calibrated = "calibration" in ev.products.values()
    if not calibrated:
        ctx.add(
            "NOT_CALIBRATED",
            "the MOUS has no calibration products in NGAS: it was not pipeline-calibrated "
            "(or its products were not archived), so there is nothing to restore",
        )
    check_ousstatus(ev, ctx.findings)
    manifest_name = ev.manifest_name or choose_manifest(ev.products)
    if calibrated and manifest_name is None:
        ctx.add(
            "MANIFEST_MISSING",
            "no *pipeline_manifest.xml among the products; hifa_restoredata needs it",
        )
    names: dict[str, str] = {}
    calibrated_ebs = _calibrated_ebs(ctx, calibrated, manifest_name, names)
    total_power = _total_power(ev)
    if total_power:
        ctx.add(
            "TOTAL_POWER",
            "a total-power (single-dish) MOUS: restored with hsd_restoredata and ocorr_mode='ao'",
        )
    rows = _eb_rows(ctx, calibrated_ebs, calibrated)
    sessions = _restore_sessions(ctx, rows.values())
    schedblock = _schedblock(ctx)
    compare_restore_script(ev, rows, sessions, ctx.findings)
    restored_ebs = {eb for ebs in sessions.values() for eb in ebs}
    choice = _casa_choice(ev, casa) if casa is not None and calibrated and manifest_name else None
    if choice is not None:
        ctx.findings.append(casa_finding(choice))
    chosen = choice.chosen.pipeline if choice and choice.chosen else None
    call = restore_call(ev, restored_ebs, total_power, pipeline_release, ctx.add, chosen)
    restored = any(r.restore for r in rows.values())
    if calibrated and manifest_name and not restored:
        ctx.add("NOTHING_TO_RESTORE", "the MOUS is calibrated, but none of its EBs can be restored")
    restorable = bool(calibrated and manifest_name and restored and not call.blocked)
    route: Route | None = None if ev.script_problems else "script" if call.fixes else "ppr"
    return RestorePlan(
        mous=ev.mous,
        restorable=restorable,
        route=route,
        sessions=sessions if restorable else {},
        ebs=_table_order(ev, rows.values()),
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
        project=project_refs(ev),
        delivered_task=call.delivered_task,
        restore_parameters=call.parameters,
        import_task=call.import_task,
        import_parameters=call.import_parameters,
        release=call.release,
        casa_generation=call.casa_generation,
        product_names=names,
        degraded=[f"{name}: {why}" for name, why in sorted(ev.document_problems.items())],
        casa=choice,
    )


def _casa_choice(ev: Evidence, installs: Sequence[Install]) -> CasaChoice:
    return choose(wanted_of(ev), tuple(installs))
