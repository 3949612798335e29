"""The rules for how the restore is called: which release, which task, which parameters, which
data fixes. Pure functions of the evidence, like the rest of the rules.

The target release is the site's (setting ``pipeline_release``) when given, else the pipeline
of the CASA install chosen for the restore, else the one that calibrated the delivery: the
manifest's ``pipeline_version``, or, for manifests written before August 2018 that name none,
the release in force when the data were observed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from restorekit.errors import ConfigurationError
from restorekit.evidence.gather import Evidence
from restorekit.rules import releases
from restorekit.rules.casa import alma_release_on
from restorekit.rules.findings import Finding
from restorekit.rules.plan import EbRow
from restorekit.rules.releases import Release
from restorekit.sources.scripts import DeliveredScript, FixCall, TaskCall
from restorekit.uids import uid_of_vis

Add = Callable[..., None]
"""``add(code, message, eb=None)``: how a rule reports a finding."""

DEFAULT_OCORR_MODE = {"hsd": "ao", "hsdn": "ao", "hifv": "co"}
"""By task package; everything else (ALMA interferometry) is ``'ca'``."""
IMPORT_DEFAULTS = {"dbservice": False, "bdfflags": False}
"""What a delivered restore script passes to the import before its fixes."""
ALMAHELPERS = {5: "recipes.almahelpers", 6: "casarecipes.almahelpers"}


@dataclass
class RestoreCall:
    """The decisions of this module, for the plan."""

    task: str
    delivered_task: str | None
    parameters: dict[str, object]
    import_parameters: dict[str, object]
    release: Release | None
    import_task: str = ""
    fixes: list[FixCall] = field(default_factory=list)
    fix_module: str | None = None
    blocked: bool = False
    """An error finding says the restore cannot be written."""

    @property
    def ocorr_mode(self) -> str:
        mode = self.parameters.get("ocorr_mode")
        return mode if isinstance(mode, str) else default_ocorr_mode(self.task)

    @property
    def casa_generation(self) -> int:
        return self.release.casa_generation if self.release else 6


def default_ocorr_mode(task: str) -> str:
    return DEFAULT_OCORR_MODE.get(task.split("_", 1)[0], "ca")


def target_release(
    ev: Evidence, setting: str | None, add: Add, chosen: str | None = None
) -> Release | None:
    """The release whose tasks the plan calls (see the module docstring); ``chosen`` is the
    pipeline of the CASA install chosen for the restore."""
    if setting:
        release = releases.for_version(setting, basis="setting")
        if release is None:
            raise ConfigurationError(
                f"pipeline_release {setting!r} is not a pipeline version; write it as the "
                "manifest does, e.g. 2024.1.0.8 or 42254M"
            )
        return release
    if chosen and (release := releases.for_version(chosen, basis="chosen CASA")) is not None:
        return release
    manifest = ev.manifest
    version = manifest.pipeline_version if manifest else None
    release = releases.for_version(version) if version else None
    if release is not None:
        if not release.exact:
            add(
                "RELEASE_NEAREST",
                f"pipeline {version} is outside restorekit's table of releases; task "
                f"parameters are those of {release.epoch.source}, the nearest known",
            )
        return release
    observed = ev.last_observed
    if observed is None:
        return None
    release, which = _release_on(observed[:10])
    if manifest is not None and release is not None:
        said = f"names pipeline {version!r}, not a version" if version else "names no version"
        add(
            "RELEASE_INFERRED",
            f"the manifest {said} (as before August 2018); the calls are written for "
            f"{which} when the data were observed ({observed[:10]}), task parameters as of "
            f"{release.epoch.source}",
        )
    return release


@functools.lru_cache(maxsize=8192)
def _release_on(day: str) -> tuple[Release | None, str]:
    """The ALMA release in operation on the observing ``day`` (the pipeline's release notes),
    else the newest pipeline published by then."""
    alma = alma_release_on(day[:7])
    release = releases.for_version(alma.pipeline, basis="observing date") if alma else None
    if alma is not None and release is not None:
        return release, f"the ALMA release in operation, {alma.pipeline} ({alma.describe()}),"
    return releases.for_date(day), "the newest release"


def restore_call(
    ev: Evidence,
    restored_ebs: set[str],
    total_power: bool,
    setting: str | None,
    add: Add,
    chosen: str | None = None,
) -> RestoreCall:
    """Task, parameters and fixes of the restore of ``ev``'s ``restored_ebs``."""
    release = target_release(ev, setting, add, chosen)
    delivered = ev.restore_script.restore if ev.restore_script else None
    wanted = delivered.task if delivered else None
    if total_power and not (wanted or "").startswith("hsd"):
        wanted = "hsd_restoredata"
    wanted = wanted or _usual_task(release)
    call = RestoreCall(wanted, delivered.task if delivered else None, {}, {}, release)
    if delivered is not None and wanted in releases.LEGACY_TASKS:
        add(
            "LEGACY_RESTORE_TASK",
            f"the delivered restore script calls {wanted}, a task of pipelines before "
            f"November 2016 (later: {releases.LEGACY_TASKS[wanted]})",
        )
    if release is not None:
        task = releases.restore_task_for(wanted, release)
        if task is None:
            call.blocked = True
            add(
                "RESTORE_TASK_UNAVAILABLE",
                f"{release.describe()} has no {wanted} and no task that took its place; set "
                "pipeline_release to a release that has one",
            )
        elif task != wanted:
            add(
                "LEGACY_RESTORE_TASK",
                f"{release.name} has no {wanted}: the restore calls {task} instead",
            )
            call.task = task
    call.parameters = _restore_parameters(delivered, call, add)
    import_call = _delivered_import(ev.restore_script)
    call.import_task = releases.import_task_for(call.task, release)
    call.import_parameters = _accepted(
        call.import_task,
        {**IMPORT_DEFAULTS, **(import_call.keywords if import_call else {})},
        call,
    )[0]
    _choose_fixes(ev, restored_ebs, call, add)
    return call


def _usual_task(release: Release | None) -> str:
    """The interferometry restore task of ``release`` when no delivered script names one."""
    if release is not None and not release.has("hifa_restoredata"):
        if release.has("hif_restoredata"):
            return "hif_restoredata"
    return "hifa_restoredata"


def _restore_parameters(delivered: TaskCall | None, call: RestoreCall, add: Add) -> dict:
    given = dict(delivered.keywords) if delivered else {}
    kept, dropped = _accepted(call.task, given, call)
    opaque = list(delivered.opaque) if delivered else []
    opaque = [k for k in opaque if k not in ("vis", "session")]
    if dropped or opaque:
        release = call.release.describe() if call.release else "the target release"
        parts = []
        if dropped:
            parts.append(f"{', '.join(dropped)} ({call.task} of {release} has no such parameter)")
        if opaque:
            parts.append(f"{', '.join(opaque)} (not a literal value)")
        add(
            "RESTORE_PARAMETER_DROPPED",
            "the delivered restore call passes parameters the restore leaves out: "
            + "; ".join(parts),
        )
    return kept


def rejected_by(script: DeliveredScript | None, release: Release) -> list[str]:
    """Parameters of the delivered restore call that ``release`` would refuse: those its
    restore task (or the task that took the delivered one's place) does not take; every one
    when it has no such task."""
    delivered = script.restore if script else None
    if delivered is None:
        return []
    task = releases.restore_task_for(delivered.task, release)
    allowed = release.accepts(task) if task else frozenset()
    return [k for k in delivered.keywords if k not in allowed]


def _accepted(
    task: str, given: dict[str, object], call: RestoreCall
) -> tuple[dict[str, object], list[str]]:
    """``given`` less what ``task`` lacks in the target release; ``ocorr_mode`` added when the
    task takes it and the delivery did not say."""
    allowed = call.release.accepts(task) if call.release else None
    if "ocorr_mode" not in given and (allowed is None or "ocorr_mode" in allowed):
        given = {**given, "ocorr_mode": default_ocorr_mode(call.task)}
    if allowed is None:
        return given, []
    kept = {k: v for k, v in given.items() if k in allowed}
    return kept, [k for k in given if k not in allowed]


def _delivered_import(script: DeliveredScript | None) -> TaskCall | None:
    return script.imports[0] if script and script.imports else None


def _signature(script: DeliveredScript) -> list[str]:
    return [f.text for f in script.fixes]


def _choose_fixes(ev: Evidence, restored: set[str], call: RestoreCall, add: Add) -> None:
    """The fix calls to repeat: the pipescript's (it calibrated the data), else the restore
    script's; only those of EBs restored."""
    pipe, restore = ev.pipescript, ev.restore_script
    chosen = pipe if pipe is not None else restore
    if pipe is not None and restore is not None and _signature(pipe) != _signature(restore):
        add(
            "FIXES_DISAGREE",
            f"the pipescript calls {_listing(pipe)} but the restore script calls "
            f"{_listing(restore)}; the pipescript's calls are used (it calibrated the data)",
        )
    calls = list(chosen.fixes) if chosen else []
    mine = [f for f in calls if f.vis is None or uid_of_vis(f.vis) in restored]
    skipped = len(calls) - len(mine)
    if not mine:
        importing = [s for s in (pipe, restore) if s is not None and s.import_only]
        if importing:
            imported = sorted({fn for s in importing for fn in s.fix_imports})
            add(
                "FIX_IMPORT_ONLY",
                f"the delivery imports {', '.join(imported)} but calls no fix: nothing to "
                "repeat, the restore needs no script",
            )
        return
    unsafe = [f for f in mine if not f.literal]
    if unsafe:
        call.blocked = True
        add(
            "FIX_UNSUPPORTED",
            "the delivered fix calls "
            + "; ".join(repr(f.text) for f in unsafe)
            + " are not plain calls of literal values; restorekit will not copy code from the "
            "archive into a script: write the restore script by hand",
        )
    call.fixes = mine
    functions = sorted({f.function for f in mine})
    call.fix_module = ALMAHELPERS[call.casa_generation]
    ebs = sorted({uid_of_vis(f.vis) for f in mine if f.vis})
    add(
        "DATA_FIXES",
        f"the delivery calls {len(mine)} data fix{'es' if len(mine) != 1 else ''} "
        f"({', '.join(functions)}) on {', '.join(ebs) or 'its data'} that a PPR cannot express;"
        " restore with the script"
        + (f" ({skipped} calls on EBs not restored are left out)" if skipped else ""),
    )


def _listing(script: DeliveredScript) -> str:
    if not script.fixes:
        return "no fix"
    counts: dict[str, int] = {}
    for f in script.fixes:
        counts[f.function] = counts.get(f.function, 0) + 1
    return ", ".join(f"{fn} x{n}" for fn, n in counts.items())


def compare_restore_script(
    ev: Evidence, rows: dict[str, EbRow], sessions: dict[str, list[str]], findings: list[Finding]
) -> None:
    """Mark the EBs the delivered restore script restores; say where it differs from the plan."""
    for _, why in sorted(ev.script_problems.items()):
        findings.append(Finding("RESTORE_SCRIPT_UNREADABLE", why))
    call = ev.restore_script.restore if ev.restore_script else None
    if call is None:
        return
    # Sessions repeat (one per vis): compare (EB, session) pairs, as the pipeline pairs them.
    named: Sequence[str | None] = call.session or [None] * len(call.vis)
    delivered = {(uid_of_vis(v), s) for v, s in zip(call.vis, named, strict=False)}
    for eb, _ in delivered:
        if eb in rows:
            rows[eb].in_restore_script = True
    planned = {(eb, name) for name, ebs in sessions.items() for eb in ebs}
    if delivered != planned:
        extra = sorted(f"{eb} ({s})" for eb, s in delivered - planned)
        lacking = sorted(f"{eb} ({s})" for eb, s in planned - delivered)
        parts = [
            f"it restores {', '.join(extra)}" if extra else "",
            f"it does not restore {', '.join(lacking)}" if lacking else "",
        ]
        findings.append(
            Finding(
                "RESTORE_SCRIPT_DISAGREES",
                "the delivered restore script differs from the plan: "
                + "; ".join(p for p in parts if p),
            )
        )
