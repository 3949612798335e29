"""The scripts of a demo delivery, in the form the pipeline and JAO's fix tool leave them.

``casa_piperestorescript.py`` (the restore call, with SACM/JAO fixes when the spec has them),
``casa_pipescript.py`` (the calibration run, abridged) and the scriptForPI stub.
"""

from __future__ import annotations

from .model import EbSpec, MousSpec


def _task_args(
    spec: MousSpec, ebs: list[tuple[str, EbSpec]], prefix: str = "", *, mode: bool = True
) -> str:
    vis = ", ".join(f"'{prefix}{eb.file}'" for _, eb in ebs)
    sessions = ", ".join(f"'{name}'" for name, _ in ebs)
    args = f"vis=[{vis}], session=[{sessions}]"
    return args + (f", ocorr_mode='{'ao' if spec.total_power else 'ca'}'" if mode else "")


def _restore_call(spec: MousSpec, ebs: list[tuple[str, EbSpec]]) -> str:
    task = spec.restore_task or ("hsd_restoredata" if spec.total_power else "hifa_restoredata")
    extra = "".join(f", {k}={v!r}" for k, v in spec.restore_keywords.items())
    return f"{task} ({_task_args(spec, ebs)}{extra})"


def _fix_lines(spec: MousSpec, ebs: list[tuple[str, EbSpec]]) -> list[str]:
    """The calls JAO's tool inserts after the import: per EB, fixsyscaltimes then fixplanets
    on each solar-system field, each marked."""
    lines = []
    for _, eb in ebs:
        lines.append(f"    fixsyscaltimes(vis = '{eb.file}.ms')# SACM/JAO - Fixes")
        for field_id in spec.planet_fields:
            lines.append(
                f"    fixplanets(vis = '{eb.file}.ms', field = '{field_id}', fixuvw = T)"
                "# SACM/JAO - Fixes"
            )
    return lines


_AFTER_FIXES = [
    "    h_save() # SACM/JAO - Finish weblog after fixes",
    "    h_init() # SACM/JAO - Restart weblog after fixes",
]


def _restore_ebs(spec: MousSpec) -> list[tuple[str, EbSpec]]:
    return [
        (spec.manifest_session_name(n), eb) for n, ebs in spec.calibrated_sessions() for eb in ebs
    ]


def _fix_import(spec: MousSpec) -> str:
    module = "casarecipes.almahelpers" if spec.fixes == "casa6" else "recipes.almahelpers"
    return f"from {module} import fixsyscaltimes # SACM/JAO - Fixes"


def restore_script(spec: MousSpec) -> str:
    """The delivered ``casa_piperestorescript.py``, with SACM/JAO fixes when the spec has them."""
    ebs = _restore_ebs(spec)
    lines = [_fix_import(spec)] if spec.fixes else []
    lines += ["__rethrow_casa_exceptions = True", "h_init()", "try:"]
    if spec.fixes and spec.fix_calls == "both":
        lines.append(
            "    hifa_importdata (dbservice=False, bdfflags=False, "
            f"{_task_args(spec, ebs, '../rawdata/')})"
        )
        lines += _fix_lines(spec, ebs) + _AFTER_FIXES
    lines.append(f"    {_restore_call(spec, ebs)}")
    lines += ["finally:", "    h_save()"]
    return "\n".join(lines) + "\n"


def pipescript(spec: MousSpec) -> str:
    """The delivered ``casa_pipescript.py`` (the calibration run), abridged."""
    ebs = _restore_ebs(spec)
    task = "hsd" if spec.total_power else "hifa"
    lines = [_fix_import(spec)] if spec.fixes else []
    lines += [
        "__rethrow_casa_exceptions = True",
        "context = h_init()",
        f"context.set_state('ProjectSummary', 'proposal_code', '{spec.project_code}')",
        f"context.set_state('ProjectStructure', 'ous_entity_id', '{spec.project_uid}')",
        f"context.set_state('ProjectStructure', 'ousstatus_entity_id', '{spec.mous}')",
        "try:",
    ]
    importing = f"    {task}_importdata({_task_args(spec, ebs, mode=False)})"
    lines.append(importing)
    if spec.fixes and spec.fix_calls != "none":
        # As JAO's tool does it: the fixes, a weblog break, then the import once more.
        lines += _fix_lines(spec, ebs) + _AFTER_FIXES + [importing]
    if spec.total_power:
        lines += [
            '    hsd_flagdata(pipelinemode="automatic")',
            "    hsd_k2jycal()",
            "    hsd_applycal()",
            "    hsd_exportdata()",
        ]
    else:
        lines += [
            '    hifa_flagdata(pipelinemode="automatic")',
            "    hifa_bandpass()",
            "    hifa_timegaincal()",
            "    hif_applycal()",
            "    hifa_exportdata()",
        ]
    lines += ["finally:", "    h_save()"]
    return "\n".join(lines) + "\n"


def script_for_pi(spec: MousSpec) -> str:
    return (
        f"# ALMA Data Reduction Script for {spec.project_code}, MOUS {spec.mous}\n"
        "# Restores the calibrated data; see the README of the delivery.\n"
        "import os\n"
        "print('Run this script from the script/ directory of the delivery.')\n"
    )
