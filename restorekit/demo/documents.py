"""The files an MOUS delivery holds in NGAS, rendered from a :class:`MousSpec`.

Small but real: the pipeline manifest in the shape the pipeline writes, restore scripts and
pipescripts in the delivered form, ``calapply.txt`` files, and ``.tgz`` archives with plausible
members. Output is deterministic (fixed timestamps), so rebuilding gives identical bytes.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from xml.sax.saxutils import quoteattr

from restorekit.uids import to_file_form

from .model import EbSpec, MousSpec


@dataclass(frozen=True)
class Deliverable:
    """One file of a delivery: its NGAS file id, its ASA_PRODUCT_FILES class, its content."""

    name: str
    file_class: str
    render: Callable[[], bytes]


REAL_DATA = "data/realdata"


def real_file(name: str) -> Callable[[], bytes]:
    """A file of the real-data delivery shipped in the package."""
    return lambda: resources.files(__package__).joinpath(f"{REAL_DATA}/{name}").read_bytes()


def deliverables(spec: MousSpec) -> list[Deliverable]:
    """Every product file of the MOUS, in a stable order, named as the archive names them."""
    m = f"{spec.archive_prefix}{spec.file}"
    recipe = spec.recipe
    files: list[Deliverable] = []
    sessions = spec.calibrated_sessions()
    if sessions:
        files.append(
            Deliverable(
                f"{m}.{spec.manifest_infix}.pipeline_manifest.xml",
                "script",
                lambda: manifest_xml(spec).encode(),
            )
        )
        files.append(Deliverable(f"{m}.{recipe}.auxproducts.tgz", "calibration", _aux_tgz(spec)))
        files.append(
            Deliverable(
                f"{m}.{recipe}.casa_piperestorescript.py",
                "script",
                lambda: restore_script(spec).encode(),
            )
        )
        files.append(
            Deliverable(
                f"{m}.{recipe}.casa_pipescript.py", "script", lambda: pipescript(spec).encode()
            )
        )
    for ordinal, ebs in sessions:
        name = spec.manifest_session_name(ordinal)
        caltables = (
            real_file(f"{spec.file}.{name}.caltables.tgz")
            if spec.real_data
            else _caltables_tgz(ebs, name)
        )
        files.append(Deliverable(f"{m}.{name}.caltables.tgz", "calibration", caltables))
        if not spec.total_power:
            files.append(
                Deliverable(
                    f"{m}.{name}.auxcaltables.tgz", "calibration", _caltables_tgz(ebs, name)
                )
            )
        for eb in ebs:
            calapply, flags = f"{eb.file}.ms.calapply.txt", f"{eb.file}.ms.flagversions.tgz"
            if spec.real_data:
                files.append(Deliverable(calapply, "calibration", real_file(calapply)))
                files.append(Deliverable(flags, "calibration", real_file(flags)))
            else:
                files.append(Deliverable(calapply, "calibration", _calapply(eb, spec)))
                files.append(Deliverable(flags, "calibration", _flagversions(eb)))
            if not spec.total_power:
                files.append(
                    Deliverable(
                        f"{eb.file}_target.ms.auxcalapply.txt", "calibration", _calapply(eb, spec)
                    )
                )
    for ordinal, uids in spec.unknown_manifest_ebs.items():
        if any(n == ordinal for n, _ in sessions):
            for uid in uids:
                ghost = EbSpec(uid)
                files.append(
                    Deliverable(
                        f"{ghost.file}.ms.calapply.txt", "calibration", _calapply(ghost, spec)
                    )
                )
                files.append(
                    Deliverable(
                        f"{ghost.file}.ms.flagversions.tgz", "calibration", _flagversions(ghost)
                    )
                )
    files.append(Deliverable(f"{m}.scriptForPI.py", "script", lambda: script_for_pi(spec).encode()))
    files.append(
        Deliverable(
            f"{m}.J1733-1304_sci.spw25.cont.I.pbcor.fits",
            "product",
            lambda: _fits_header(spec).encode(),
        )
    )
    return files


# --- OUSStatus -----------------------------------------------------------------------------

_OUSS_NAMESPACES = (
    'xmlns:val="Alma/ValueTypes" xmlns:ouss="Alma/Scheduling/OUSStatus" '
    'xmlns:ps="Alma/Scheduling/ProjectStatus" xmlns:sbs="Alma/Scheduling/SBStatus" '
    'xmlns:ent="Alma/CommonEntity" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def ousstatus_xml(spec: MousSpec) -> str | None:
    """The OUSStatus document as the archive holds it (``None``: the column is NULL)."""
    if spec.xml == "null":
        return None
    if spec.xml_text is not None:
        text = spec.xml_text
    else:
        text = _generated_ousstatus(spec)
    if spec.xml == "malformed":
        # Cut off mid-element, as a truncated export would be.
        return text[: len(text) * 2 // 3]
    return text


def _generated_ousstatus(spec: MousSpec) -> str:
    sb = spec.schedblocks[_main_schedblock(spec)]
    done = sum(eb.qa0 in ("Pass", "SemiPass") for _, eb in spec.all_ebs())
    failed = sum(eb.qa0 == "Fail" for _, eb in spec.all_ebs())
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<ouss:OUSStatus {_OUSS_NAMESPACES} schemaVersion="13" revision="7" '
        'almatype="APDM::OUSStatus" xsi:type="ouss:OUSStatus">',
        f'<ps:Status State="{spec.state}"/>',
        f"<ps:successfulExecutions>{done}</ps:successfulExecutions>",
        f"<ps:failedExecutions>{failed}</ps:failedExecutions>",
        f'<ps:ContainingObsUnitSetRef entityId="{spec.gous}" entityTypeName="OUSStatus" '
        'documentVersion="1"/>',
        f'<ps:ProjectStatusRef entityId="{spec.project_status}" entityTypeName="ProjectStatus" '
        'documentVersion="1"/>',
        f'<ouss:OUSStatusEntity entityId="{spec.mous}" entityTypeName="OUSStatus" '
        'schemaVersion="13"/>',
        f'<ouss:ObsUnitSetRef entityId="{spec.project_uid}" partId="{spec.part_id}" '
        'entityTypeName="ObsProject"/>',
        f"<ouss:NumberSBsCompleted>{done}</ouss:NumberSBsCompleted>",
        f'<ouss:SBStatusRef entityId="{sb.status_uid}" entityTypeName="SBStatus" '
        'documentVersion="1"/>',
    ]
    for n, session in enumerate(spec.sessions):
        part = session.part_id or f"X{n:08d}"
        out.append(f'<ouss:Session entityPartId="{part}" almatype="APDM::Session">')
        if session.ebs:
            out.append(f"<ouss:StartTime>{session.ebs[0].start}</ouss:StartTime>")
            out.append(f"<ouss:EndTime>{session.ebs[-1].end}</ouss:EndTime>")
        for eb in session.ebs:
            out.append(
                f"<ouss:ExecBlockRef>\n<val:ExecBlockId>{eb.uid}</val:ExecBlockId>\n"
                "</ouss:ExecBlockRef>"
            )
        status = spec.schedblocks[session.ebs[0].schedblock if session.ebs else 0].status_uid
        out.append(f'<ouss:SBStatusRef entityId="{status}" entityTypeName="SBStatus"/>')
        out.append("</ouss:Session>")
    out.append("</ouss:OUSStatus>")
    return "\n".join(out) + "\n"


def _main_schedblock(spec: MousSpec) -> int:
    counts = [0] * len(spec.schedblocks)
    for _, eb in spec.all_ebs():
        counts[eb.schedblock] += 1
    usable = [i for i, sb in enumerate(spec.schedblocks) if sb.state not in ("Deleted", "Broken")]
    return max(usable or range(len(counts)), key=lambda i: counts[i])


# --- manifest and scripts --------------------------------------------------------------------


def manifest_xml(spec: MousSpec) -> str:
    """The ``pipeline_manifest.xml`` of the delivery: OUS-level products named as the
    pipeline's export names them, after the OUS in file form, without the archive's prefix."""
    m = spec.file
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<piperesults name={quoteattr(spec.file)}>",
        f"  <ous name={quoteattr(spec.file)}>",
    ]
    if spec.manifest_versions:
        lines += [
            f"    <casaversion name={quoteattr(spec.casa_version)}/>",
            f"    <pipeline_version name={quoteattr(spec.pipeline_version)}/>",
        ]
    lines += [f"    <procedure_name name={quoteattr(spec.recipe)}/>"]
    for ordinal, ebs in spec.calibrated_sessions():
        name = spec.manifest_session_name(ordinal)
        lines.append(f"    <session name={quoteattr(name)}>")
        lines.append(f'      <caltables name="{m}.{name}.caltables.tgz"/>')
        names = [eb.file for eb in ebs]
        names += [to_file_form(uid) for uid in spec.unknown_manifest_ebs.get(ordinal, [])]
        for asdm in names:
            lines.append(f'      <asdm name="{asdm}.ms">')
            lines.append(f'        <finalflags name="{asdm}.ms.flagversions.tgz"/>')
            lines.append(f'        <applycmds name="{asdm}.ms.calapply.txt"/>')
            lines.append("      </asdm>")
        if not spec.total_power:
            lines.append(f'      <aux_caltables name="{m}.{name}.auxcaltables.tgz"/>')
            for asdm in names:
                lines.append(f'      <aux_asdm name="{asdm}_target.ms">')
                lines.append(f'        <applycmds name="{asdm}_target.ms.auxcalapply.txt"/>')
                lines.append("      </aux_asdm>")
        lines.append("    </session>")
    lines += [
        f'    <restorescript name="{m}.{spec.recipe}.casa_piperestorescript.py"/>',
        f'    <pipescript name="{m}.{spec.recipe}.casa_pipescript.py"/>',
        f'    <aux_products_file name="{m}.{spec.recipe}.auxproducts.tgz"/>',
        "  </ous>",
        "</piperesults>",
    ]
    return "\n".join(lines) + "\n"


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


def _calapply(eb: EbSpec, spec: MousSpec) -> Callable[[], bytes]:
    def render() -> bytes:
        tables = [
            f"{eb.file}.ms.hifa_bandpass.s6_3.spw17_19_21_23.channel.solintinf.bcal.tbl",
            f"{eb.file}.ms.hifa_timegaincal.s14_5.spw17_19_21_23.solintint.gpcal.tbl",
            f"{eb.file}.ms.hifa_tsyscal.s5_1.tsyscal.tbl",
        ]
        return (
            f"applycal(vis='/processing/{eb.file}.ms', field='', intent='', spw='17,19,21,23', "
            f"antenna='0~42', gaintable={tables!r}, gainfield=['', '', ''], "
            "interp=['linear,linearflag', 'linear', 'linear,linear'], spwmap=[[], [], []], "
            "calwt=[False, False, False], applymode='calflagstrict', flagbackup=False)\n"
        ).encode()

    return render


def tgz(members: dict[str, bytes]) -> bytes:
    """A deterministic .tgz of ``members`` (name -> bytes), as the pipeline's export packs."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = 1_500_000_000
                tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _caltables_tgz(ebs: list[EbSpec], session: str) -> Callable[[], bytes]:
    def render() -> bytes:
        members = {}
        for eb in ebs:
            for table in (
                "hifa_bandpass.s6_3.spw17_19_21_23.channel.solintinf.bcal.tbl",
                "hifa_timegaincal.s14_5.spw17_19_21_23.solintint.gpcal.tbl",
                "hifa_tsyscal.s5_1.tsyscal.tbl",
            ):
                members[f"{eb.file}.ms.{table}/table.info"] = (
                    f"Type = Calibration\nSubType = {table.split('.')[0]}\nSession = {session}\n"
                ).encode()
        return tgz(members)

    return render


def _flagversions(eb: EbSpec) -> Callable[[], bytes]:
    def render() -> bytes:
        root = f"{eb.file}.ms.flagversions"
        return tgz(
            {
                f"{root}/FLAG_VERSION_LIST": b"Original : Original flags\n"
                b"Pipeline_Final : Pipeline final flags\n",
                f"{root}/flags.Pipeline_Final/table.info": b"Type = Flags\n",
            }
        )

    return render


def _aux_tgz(spec: MousSpec) -> Callable[[], bytes]:
    return lambda: tgz(
        {
            f"{spec.file}.cont.dat": b"Field: J1733-1304\nSpectralWindow: 17\n",
            "flux.csv": b"ms,field,spw,I\n",
        }
    )


def _fits_header(spec: MousSpec) -> str:
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                  -32",
        "NAXIS   =                    0",
        f"OBJECT  = '{spec.project_code}'",
        "END",
    ]
    return "".join(card.ljust(80) for card in cards).ljust(2880)
