"""Scripts written into the restore area: the CASA restore script, the run helper and the raw
data export."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

from . import __version__
from .layout import RestoreLayout
from .plan import RestorePlan
from .settings import SiteSettings
from .uids import parse_uid

FIX_MARK = "# SACM/JAO - Fixes"


def _list(values: list[str]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


def fix_module(plan: RestorePlan) -> str:
    """Where ``fixsyscaltimes`` lives for the CASA generation of the delivery."""
    fixes = plan.fixes or {}
    casa = fixes.get("casa")
    if casa is None:
        version = plan.project.get("casa_version") or ""
        casa = 6 if version.startswith("6") else 5
    return "casarecipes.almahelpers" if casa == 6 else "recipes.almahelpers"


def restore_script(plan: RestorePlan, *, created: datetime | None = None) -> str:
    """A CASA pipeline restore script in the delivered form; with the data fixes when needed."""
    created = created or datetime.now(UTC)
    pairs = plan.restore_ebs
    vis = [parse_uid(eb).file for eb, _ in pairs]
    sessions = [name for _, name in pairs]
    args = f"vis={_list(vis)}, session={_list(sessions)}, ocorr_mode={plan.ocorr_mode!r}"
    prefix = plan.task.split("_", 1)[0]
    lines = [
        f"# Restore of MOUS {plan.mous} ({plan.project.get('code')}), written by restorekit "
        f"{__version__} on {created:%Y-%m-%d %H:%M} UTC.",
        "# Run from working/: casa --pipeline -c " + f"{parse_uid(plan.mous).file}.restore.py",
    ]
    if plan.fixes:
        fixed = set(plan.fixes.get("ebs") or []) or {eb for eb, _ in pairs}
        functions = plan.fixes.get("functions") or ["fixsyscaltimes"]
        lines += [
            f"from {fix_module(plan)} import {', '.join(functions)}  {FIX_MARK}",
            "__rethrow_casa_exceptions = True",
            "h_init()",
            "try:",
        ]
        raw = [f"../rawdata/{v}" for v in vis]
        lines.append(
            f"    {prefix}_importdata(dbservice=False, bdfflags=False, vis={_list(raw)}, "
            f"session={_list(sessions)}, ocorr_mode={plan.ocorr_mode!r})"
        )
        for (eb, _), name in zip(pairs, vis, strict=True):
            if eb in fixed:
                for function in functions:
                    lines.append(f"    {function}(vis={name + '.ms'!r})  {FIX_MARK}")
        lines += [
            "    h_save()  # SACM/JAO - Finish weblog after fixes",
            "    h_init()  # SACM/JAO - Restart weblog after fixes",
        ]
    else:
        lines += ["__rethrow_casa_exceptions = True", "h_init()", "try:"]
    lines += [f"    {plan.task}({args})", "finally:", "    h_save()"]
    return "\n".join(lines) + "\n"


def run_script(plan: RestorePlan, layout: RestoreLayout, settings: SiteSettings) -> str:
    """``working/run_restore.sh``: sets the SCIPIPE variables and starts CASA on the route."""
    q = shlex.quote
    logdir = settings.logdir or str(layout.mous_dir / "logs")
    return f"""#!/usr/bin/env bash
# Restore of MOUS {plan.mous}, written by restorekit {__version__}.
# Usage: ./run_restore.sh [ppr|script]   (default: {plan.route}, the route the plan chose)
set -euo pipefail
route="${{1:-{plan.route}}}"
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
    """``export_rawdata.sh``: ``asdmExportLight`` for each EB to restore, skipping those there."""
    lines = [
        "#!/usr/bin/env bash",
        f"# Raw data of MOUS {plan.mous}: only the EBs the plan restores. Run where the site's",
        "# archive configuration for asdmExportLight is set up. Safe to rerun.",
        "set -euo pipefail",
        f"cd {shlex.quote(str(layout.mous_dir))}",
    ]
    for eb, _ in plan.restore_ebs:
        name = parse_uid(eb).file
        lines.append(f"[ -e rawdata/{name} ] || asdmExportLight -d rawdata {shlex.quote(eb)}")
    return "\n".join(lines) + "\n"
