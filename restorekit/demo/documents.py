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
from .scripts import pipescript, restore_script, script_for_pi


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
    """Every product file of the MOUS, in a stable order, named as the archive names them.

    One straight list of the files a delivery holds, in the order the export writes them;
    splitting it would scatter that list.
    """
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
