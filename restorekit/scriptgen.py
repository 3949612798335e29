"""Scripts written into the restore area: the CASA restore script, the run helper and the raw
data export."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime

from . import __version__
from .layout import RestoreLayout
from .plan import RestorePlan
from .settings import SiteSettings
from .uids import parse_uid

FIX_MARK = "# SACM/JAO - Fixes"
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _call(task: str, vis: list[str], sessions: list[str], keywords: dict[str, object]) -> str:
    """``task(vis=[...], session=[...], k=v, ...)`` with every value a Python literal."""
    for key in keywords:
        if not _IDENTIFIER.fullmatch(key):
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
        f"# Restore of MOUS {plan.mous} ({plan.project.get('code')}), written by restorekit "
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


def run_script(plan: RestorePlan, layout: RestoreLayout, settings: SiteSettings) -> str:
    """``working/run_restore.sh``: sets the SCIPIPE variables and starts CASA on the route."""
    q = shlex.quote
    logdir = settings.logdir or str(layout.mous_dir / "logs")
    default_route = (
        f"{plan.route}, the route the plan chose" if plan.route else "none: give the route"
    )
    return f"""#!/usr/bin/env bash
# Restore of MOUS {plan.mous}, written by restorekit {__version__}.
# Usage: ./run_restore.sh [ppr|script]   (default: {default_route})
set -euo pipefail
route="${{1:-{plan.route or ''}}}"
if [ -z "$route" ]; then
  echo "no route was chosen: the delivery's scripts could not be read, so its data fixes are" \
       "unknown; check the delivery, then run: $0 ppr  or  $0 script" >&2
  exit 2
fi
export SCIPIPE_ROOTDIR={q(str(layout.root))}
export SCIPIPE_LOGDIR="${{SCIPIPE_LOGDIR:-{logdir}}}"
export SCIPIPE_SCRIPTDIR="${{SCIPIPE_SCRIPTDIR:-{layout.working}}}"
CASA="${{CASA:-{settings.casa}}}"
mkdir -p "$SCIPIPE_LOGDIR"
cd {q(str(layout.working))}
case "$route" in
  ppr)    exec $CASA --nogui --pipeline -c {q(settings.runpipeline)} {q(layout.ppr.name)} ;;
  script) exec $CASA --nogui --pipeline -c {q(layout.restore_script.name)} ;;
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
        f"cd {shlex.quote(str(layout.mous_dir))}",
        "export_eb() {  # $1: the EB uid, $2: its name in rawdata/",
        '  [ -e "rawdata/$2" ] && return 0',
        '  asdmExportLight -d rawdata "$1"',
        '  [ -e "rawdata/$2" ] || mv "rawdata/$2.asdm.sdm" "rawdata/$2"',
        "}",
    ]
    for eb, _ in plan.restore_ebs:
        lines.append(f"export_eb {shlex.quote(eb)} {shlex.quote(parse_uid(eb).file)}")
    return "\n".join(lines) + "\n"
