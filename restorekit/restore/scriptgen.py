"""Scripts written into the restore area: the CASA restore script, the run helper and the raw
data export."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

from restorekit import __version__
from restorekit.errors import InputError
from restorekit.restore.layout import RestoreLayout
from restorekit.rules.plan import RestorePlan
from restorekit.settings import SiteSettings
from restorekit.sources.scripts import FIX_MARK as DELIVERED_FIX_MARK
from restorekit.uids import parse_uid

FIX_MARK = f"# {DELIVERED_FIX_MARK}"


def _call(task: str, vis: list[str], sessions: list[str], keywords: dict[str, object]) -> str:
    """``task(vis=[...], session=[...], k=v, ...)`` with every value a Python literal."""
    for key in keywords:
        if not key.isidentifier():
            raise ValueError(f"{key!r} cannot be a keyword argument")
    parts = [f"vis={vis!r}", f"session={sessions!r}"]
    parts += [f"{k}={v!r}" for k, v in keywords.items()]
    return f"{task}({', '.join(parts)})"


def fix_imports(plan: RestorePlan) -> list[str]:
    """The import lines the fixes need in the target CASA generation.

    ``almahelpers`` functions come from ``recipes`` (CASA 5) or ``casarecipes`` (CASA 6);
    other fixes are CASA tasks, global in CASA 5 and in ``casatasks`` from CASA 6.
    """
    helpers = sorted(
        {
            f.function
            for f in plan.fixes
            if f.function == "fixsyscaltimes" or (f.module or "").endswith("almahelpers")
        }
    )
    tasks = sorted({f.function for f in plan.fixes} - set(helpers))
    lines = [f"from {plan.fix_module} import {', '.join(helpers)}  {FIX_MARK}"] if helpers else []
    if tasks and plan.casa_generation >= 6:
        lines.append(f"from casatasks import {', '.join(tasks)}  {FIX_MARK}")
    return lines


def restore_script(plan: RestorePlan, *, created: datetime | None = None) -> str:
    """A CASA pipeline restore script in the delivered form; with the data fixes when needed."""
    created = created or datetime.now(UTC)
    pairs = plan.restore_ebs
    vis = [parse_uid(eb).file for eb, _ in pairs]
    sessions = [name for _, name in pairs]
    lines = [
        f"# Restore of MOUS {plan.mous} ({plan.project.code}), written by restorekit "
        f"{__version__} on {created:%Y-%m-%d %H:%M} UTC.",
        f"# Task calls for pipeline {plan.release.describe() if plan.release else 'unknown'}.",
        "# Run from working/: casa --pipeline -c " + f"{parse_uid(plan.mous).file}.restore.py",
    ]
    if plan.fixes:
        importer = plan.import_task
        raw = [f"../rawdata/{v}" for v in vis]
        lines += fix_imports(plan)
        lines += ["__rethrow_casa_exceptions = True", "h_init()", "try:"]
        lines.append(f"    {_call(importer, raw, sessions, plan.import_parameters)}")
        lines += [f"    {fix.render()}  {FIX_MARK}" for fix in plan.fixes]
        lines += [
            "    h_save()  # SACM/JAO - Finish weblog after fixes",
            "    h_init()  # SACM/JAO - Restart weblog after fixes",
        ]
    else:
        lines += ["__rethrow_casa_exceptions = True", "h_init()", "try:"]
    restore = _call(plan.task, vis, sessions, plan.restore_parameters)
    lines += [f"    {restore}", "finally:", "    h_save()"]
    return "\n".join(lines) + "\n"


def shell_value(value: str, what: str) -> str:
    """``value`` quoted for the shell; a newline or other control character is refused.

    Raises
    ------
    InputError
        Naming the value: no quoting makes a newline in a path safe for every tool after us.
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError(
            f"{what} {value!r} contains a newline or control character; choose one without"
        )
    return shlex.quote(value)


def _casa_words(command: str, what: str) -> str:
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise InputError(f"{what} {command!r} is not a command line ({exc})") from None
    if not words:
        raise InputError(f"the {what} is empty; give the command that starts CASA")
    return " ".join(shell_value(w, f"{what} word") for w in words)


def _casa_lines(plan: RestorePlan, settings: SiteSettings) -> str:
    """How the script chooses its CASA: ``$CASA`` when set, else the install the plan chose
    (else the ``casa`` setting, for a plan made without the site's catalog); with none
    chosen, it stops before starting anything."""
    choice = plan.casa
    lines = []
    if choice is not None:
        chosen = choice.chosen.location if choice.chosen else "none"
        lines += [
            f"# CASA: calibrated with {printable_comment(choice.wanted.describe())} "
            f"({choice.wanted.basis}); chosen: {printable_comment(chosen)} ({choice.match})"
        ]
    lines += ['if [ -n "${CASA:-}" ]; then', '  read -r -a casa <<< "$CASA"', "else"]
    if choice is None:
        lines.append(f"  casa=({_casa_words(settings.casa, 'casa setting')})")
    elif choice.chosen is not None:
        lines.append(f"  casa=({_casa_words(choice.chosen.command, 'chosen CASA command')})")
    else:
        message = (
            f"no CASA for this restore: it was calibrated with {choice.wanted.describe()} and "
            f"{choice.why}; install {choice.wanted.install_name()} and add it to the "
            "casa_installs setting, or set CASA to the command that starts a CASA to use anyway"
        )
        lines += [f"  echo {shell_value(message, 'message')} >&2", "  exit 3"]
    return "\n".join(lines + ["fi"]) + "\n"


def printable_comment(text: str) -> str:
    """``text`` safe on one comment line of a generated script."""
    return "".join(c if c.isprintable() else "?" for c in text)


def run_script(plan: RestorePlan, layout: RestoreLayout, settings: SiteSettings) -> str:
    """``working/run_restore.sh``: sets the SCIPIPE variables and starts CASA on the route.

    Every value is quoted for the shell; ``$CASA`` (or the chosen install's command) is a
    command line split into words, never evaluated.
    """
    logdir = settings.logdir or str(layout.logs)
    start_casa = _casa_lines(plan, settings)
    default_route = (
        f"{plan.route}, the route the plan chose" if plan.route else "none: give the route"
    )
    runpipeline = shell_value(settings.runpipeline, "runpipeline setting")
    ppr = shell_value(layout.ppr.name, "PPR")
    script = shell_value(layout.restore_script.name, "restore script")
    return f"""#!/usr/bin/env bash
# Restore of MOUS {plan.mous}, written by restorekit {__version__}.
# Usage: ./run_restore.sh [ppr|script]   (default: {default_route})
# $CASA, when set, is the command that starts CASA (split into words, not evaluated).
set -euo pipefail
route="${{1:-{plan.route or ""}}}"
if [ -z "$route" ]; then
  echo "no route was chosen: the delivery's scripts could not be read, so its data fixes are" \
       "unknown; check the delivery, then run: $0 ppr  or  $0 script" >&2
  exit 2
fi
default_logdir={shell_value(logdir, "logdir")}
default_scriptdir={shell_value(str(layout.working), "restore area")}
export SCIPIPE_ROOTDIR={shell_value(str(layout.root), "root")}
export SCIPIPE_LOGDIR="${{SCIPIPE_LOGDIR:-$default_logdir}}"
export SCIPIPE_SCRIPTDIR="${{SCIPIPE_SCRIPTDIR:-$default_scriptdir}}"
{start_casa}mkdir -p -- "$SCIPIPE_LOGDIR"
cd -- {shell_value(str(layout.working), "restore area")}
case "$route" in
  ppr)    exec "${{casa[@]}}" --nogui --pipeline -c {runpipeline} {ppr} ;;
  script) exec "${{casa[@]}}" --nogui --pipeline -c {script} ;;
  *)      echo "usage: $0 [ppr|script]" >&2; exit 2 ;;
esac
"""


def rawdata_script(plan: RestorePlan, layout: RestoreLayout) -> str:
    """``export_rawdata.sh``: ``asdmExportLight`` for each EB to restore, skipping those there.

    The pipeline wants ``rawdata/<uid___...>``; an export that writes the archive tarball's
    ``<uid___...>.asdm.sdm`` is renamed to that.
    """
    lines = [
        "#!/usr/bin/env bash",
        f"# Raw data of MOUS {plan.mous}: only the EBs the plan restores. Run where the site's",
        "# archive configuration for asdmExportLight is set up. Safe to rerun.",
        "set -euo pipefail",
        f"cd -- {shell_value(str(layout.mous_dir), 'restore area')}",
        "export_eb() {  # $1: the EB uid, $2: its name in rawdata/",
        '  [ -e "rawdata/$2" ] && return 0',
        '  asdmExportLight -d rawdata "$1"',
        '  [ -e "rawdata/$2" ] || mv "rawdata/$2.asdm.sdm" "rawdata/$2"',
        "}",
    ]
    for eb, _ in plan.restore_ebs:
        lines.append(f"export_eb {shlex.quote(eb)} {shlex.quote(parse_uid(eb).file)}")
    return "\n".join(lines) + "\n"
