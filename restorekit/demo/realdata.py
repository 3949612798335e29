"""Generate the real-data demo delivery: CASA tables a pipeline restore can really apply.

Run with CASA 6 (casatools, casatasks; ``pip install 'restorekit[casa]'``, see the README)::

    python -m restorekit.demo.realdata restorekit/demo/data/realdata

For each EB it simulates a small ALMA observation (5 antennas, two 8-channel Band 3 spws; a
bandpass/flux calibrator, a phase calibrator and a target, all point sources at their field
centres) whose DATA carry known antenna gains and bandpasses, exports it as an ASDM repaired to
look like ALMA's (:mod:`restorekit.demo.asdm_repair`), imports that ASDM as the pipeline does,
flags edge channels and one antenna on the target, saves the flag version ``Pipeline_Final``,
solves a bandpass and a gain table named as the pipeline names them, and writes what the
pipeline's export delivers: per-session caltables archives, per-EB flagversions archives and
``calapply.txt`` files, and the raw ASDM. The output is deterministic for its seed (except
the timestamps CASA writes into tables) and small enough to commit.
"""

from __future__ import annotations

import io
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from restorekit.uids import to_file_form

from .asdm_repair import repair_asdm

SPWS = ["ALMA_RB_03#BB_1#SW-01#FULL_RES", "ALMA_RB_03#BB_2#SW-01#FULL_RES"]
FIELDS = {
    "J1924-2914": ("19h24m51.06s", "-29d14m30.1s", 3.0),
    "J1832-2039": ("18h32m11.05s", "-20d39m48.2s", 1.0),
    "NGC_6822": ("18h40m00.00s", "-21d30m00.0s", 0.5),
}
VISITS = [("J1924-2914", 48), ("J1832-2039", 30), ("NGC_6822", 36), ("J1832-2039", 30)]
INTENTS = {
    "J1924-2914": ["CALIBRATE_BANDPASS", "CALIBRATE_FLUX", "CALIBRATE_WVR"],
    "J1832-2039": ["CALIBRATE_PHASE", "CALIBRATE_WVR"],
    "NGC_6822": ["OBSERVE_TARGET"],
}
PHASE_CAL = "J1832-2039"
IMPORT_ASIS = "Annotation Antenna CalAtmosphere CalPointing CalWVR ExecBlock Receiver SBSummary Source Station"  # noqa: E501 (hifa_importdata's default in pipeline 2024.2)


@dataclass(frozen=True)
class RealEb:
    uid: str
    session: str
    start: str
    """UTC start, ``YYYY/MM/DD/hh:mm:ss``."""
    seed: int

    @property
    def ms(self) -> str:
        return f"{to_file_form(self.uid)}.ms"


def tables_of(eb: RealEb) -> list[str]:
    """The caltables of an EB, named as the pipeline names them."""
    return [
        f"{eb.ms}.hifa_bandpass.s6_3.spw0_1.channel.solintinf.bcal.tbl",
        f"{eb.ms}.hifa_timegaincal.s13_2.spw0_1.solintinf.gacal.tbl",
    ]


def calapply_text(eb: RealEb, directory: str = "/processing/working") -> str:
    """``<ms>.calapply.txt`` as the pipeline's export writes it: one line per spw."""
    bcal, gcal = (f"{directory}/{t}" for t in tables_of(eb))
    return "".join(
        f"applycal(vis='{directory}/{eb.ms}', field='', intent='', spw='{spw}', antenna='', "
        f"gaintable=['{bcal}', '{gcal}'], gainfield=['', '{PHASE_CAL}'], spwmap=[[], []], "
        "interp=['linear,linearflag', 'linear,linear'], calwt=[False, False])\n"
        for spw in range(len(SPWS))
    )


def _simulate(ms: Path, eb: RealEb) -> None:
    """Fill ``ms`` with simulated visibilities of ``eb`` (CASA's simulator, one tool session:
    kept as one sequence of tool calls, in the order CASA requires them)."""
    import numpy as np
    from casatools import ctsys, measures, simulator, table

    me, tb, sm = measures(), table(), simulator()
    cfg = ctsys.resolve("alma/simmos/alma.cycle10.1.cfg")
    rows = [line.split() for line in open(cfg) if line.strip() and not line.startswith("#")][:5]
    raw = Path(str(ms) + ".raw")
    shutil.rmtree(raw, ignore_errors=True)
    sm.open(str(raw))
    sm.setconfig(
        telescopename="ALMA",
        x=[float(r[0]) for r in rows],
        y=[float(r[1]) for r in rows],
        z=[float(r[2]) for r in rows],
        dishdiameter=[float(r[3]) for r in rows],
        mount=["alt-az"],
        antname=[f"DA{41 + i}" for i in range(len(rows))],
        padname=[r[4] for r in rows],
        coordsystem="local",
        referencelocation=me.observatory("ALMA"),
    )
    for i, name in enumerate(SPWS):
        sm.setspwindow(
            spwname=name,
            freq=f"{100 + 2 * i}GHz",
            deltafreq="15.625MHz",
            freqresolution="15.625MHz",
            nchannels=8,
            stokes="XX YY",
        )
    sm.setfeed(mode="perfect X Y", pol=[""])
    for name, (ra, dec, _) in FIELDS.items():
        sm.setfield(sourcename=name, sourcedirection=me.direction("J2000", ra, dec))
    sm.setlimits(shadowlimit=0.001, elevationlimit="8deg")
    sm.setauto(autocorrwt=0.0)
    sm.settimes(integrationtime="6s", usehourangle=False, referencetime=me.epoch("utc", eb.start))
    t = 0
    for name, seconds in VISITS:
        for spw in SPWS:
            sm.observe(sourcename=name, spwname=spw, starttime=f"{t}s", stoptime=f"{t + seconds}s")
        t += seconds + 6
    sm.close()
    # One POLARIZATION row (the simulator writes one per spw, which exportasdm rejects).
    tb.open(str(raw / "DATA_DESCRIPTION"), nomodify=False)
    tb.putcol("POLARIZATION_ID", np.zeros(tb.nrows(), "int32"))
    tb.close()
    tb.open(str(raw / "POLARIZATION"), nomodify=False)
    tb.removerows(list(range(1, tb.nrows())))
    tb.close()
    _corrupt(raw, eb.seed)
    # Time order, both spws interleaved per integration, one scan per field visit: as ALMA.
    tb.open(str(raw), nomodify=False)
    scans = tb.getcol("SCAN_NUMBER")
    tb.putcol("SCAN_NUMBER", (scans + 1) // 2)
    sorted_ = tb.query("", sortlist="TIME, DATA_DESC_ID, ANTENNA1, ANTENNA2")
    shutil.rmtree(ms, ignore_errors=True)
    sorted_.copy(str(ms), deep=True)
    sorted_.close()
    tb.close()
    shutil.rmtree(raw, ignore_errors=True)


def _corrupt(ms: Path, seed: int) -> None:
    """DATA = point sources seen through known antenna gains, bandpasses and a phase drift."""
    import numpy as np
    from casatools import table

    rng = np.random.default_rng(seed)
    nant, nspw, nchan = 5, len(SPWS), 8
    amp = rng.uniform(0.8, 1.2, (nant, nspw, 2))
    phase = rng.uniform(-np.pi, np.pi, (nant, nspw, 2))
    drift = rng.uniform(-0.5, 0.5, nant)
    shape = np.sin(np.linspace(0, np.pi, nchan))[None, None, :]
    bandpass = 1 + 0.1 * shape * rng.uniform(0.5, 1.5, (nant, nspw, 1))
    slope = np.linspace(-0.3, 0.3, nchan)[None, None, :] * rng.uniform(-1, 1, (nant, nspw, 1))
    flux = [f for _, _, f in FIELDS.values()]
    tb = table()
    tb.open(str(ms), nomodify=False)
    a1, a2, dd, field, time = (
        tb.getcol(c) for c in ("ANTENNA1", "ANTENNA2", "DATA_DESC_ID", "FIELD_ID", "TIME")
    )
    frac = (time - time.min()) / max(time.max() - time.min(), 1.0)
    data = np.zeros((2, nchan, len(a1)), complex)
    for r in range(len(a1)):
        i, j, s = a1[r], a2[r], dd[r]
        for p in range(2):
            gi = (
                amp[i, s, p]
                * bandpass[i, s]
                * np.exp(1j * (phase[i, s, p] + drift[i] * frac[r] + slope[i, s]))
            )
            gj = (
                amp[j, s, p]
                * bandpass[j, s]
                * np.exp(1j * (phase[j, s, p] + drift[j] * frac[r] + slope[j, s]))
            )
            data[p, :, r] = flux[field[r]] * gi * np.conj(gj)
    data += rng.normal(0, 0.005, data.shape) + 1j * rng.normal(0, 0.005, data.shape)
    tb.putcol("DATA", data)
    tb.close()


def _export(ms: Path, asdm: Path, eb: RealEb) -> None:
    from casatasks import exportasdm

    shutil.rmtree(asdm, ignore_errors=True)
    exportasdm(vis=str(ms), asdm=str(asdm), datacolumn="data", apcorrected=False, verbose=False)
    repair_asdm(asdm, eb.uid, INTENTS, SPWS)


def _import_as_the_pipeline(asdm: Path, ms: Path) -> None:
    from casatasks import importasdm

    shutil.rmtree(ms, ignore_errors=True)
    importasdm(
        asdm=str(asdm),
        vis=str(ms),
        savecmds=False,
        process_caldevice=False,
        asis=IMPORT_ASIS,
        overwrite=True,
        bdfflags=True,
        lazy=False,
        with_pointing_correction=True,
        ocorr_mode="ca",
        createmms=False,
    )


def _flag_and_calibrate(ms: Path, eb: RealEb, work: Path) -> None:
    from casatasks import bandpass, flagdata, flagmanager, gaincal

    flagdata(vis=str(ms), mode="manual", spw="*:0", flagbackup=False)
    flagdata(vis=str(ms), mode="manual", antenna="DA45", scan="3", flagbackup=False)
    flagmanager(vis=str(ms), mode="save", versionname="Pipeline_Final", comment="final flags")
    bcal, gcal = (work / t for t in tables_of(eb))
    for table in (bcal, gcal):
        shutil.rmtree(table, ignore_errors=True)
    bandpass(
        vis=str(ms),
        caltable=str(bcal),
        field="J1924-2914",
        solint="inf",
        combine="scan",
        refant="DA41",
        bandtype="B",
        solnorm=False,
    )
    gaincal(
        vis=str(ms),
        caltable=str(gcal),
        field=PHASE_CAL,
        solint="inf",
        calmode="ap",
        refant="DA41",
        gaintable=[str(bcal)],
        minsnr=2.0,
    )


def _tgz(target: Path, members: list[tuple[Path, str]]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=9) as tar:
        for path, name in members:
            tar.add(path, arcname=name, filter=_plain)
    target.write_bytes(buffer.getvalue())


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 1_700_000_000
    return info


def generate(out: str | Path, ous: str, ebs: list[RealEb]) -> list[Path]:
    """Write the delivery files of ``ebs`` into ``out``; return the files written."""
    out = Path(out)
    work = out / ".work"
    work.mkdir(parents=True, exist_ok=True)
    written = []
    by_session: dict[str, list[RealEb]] = {}
    for eb in ebs:
        name = to_file_form(eb.uid)
        _simulate(work / "simulated.ms", eb)
        _export(work / "simulated.ms", work / name, eb)
        _import_as_the_pipeline(work / name, work / eb.ms)
        _flag_and_calibrate(work / eb.ms, eb, work)
        flags = out / f"{eb.ms}.flagversions.tgz"
        _tgz(flags, [(work / f"{eb.ms}.flagversions", f"{eb.ms}.flagversions")])
        (out / f"{eb.ms}.calapply.txt").write_text(calapply_text(eb))
        raw = out / f"{name}.asdm.tgz"
        _tgz(raw, [(work / name, name)])
        written += [flags, out / f"{eb.ms}.calapply.txt", raw]
        by_session.setdefault(eb.session, []).append(eb)
    for session, members in by_session.items():
        caltables = out / f"{to_file_form(ous)}.{session}.caltables.tgz"
        _tgz(caltables, [(work / t, t) for eb in members for t in tables_of(eb)])
        written.append(caltables)
    shutil.rmtree(work, ignore_errors=True)
    return written


def main(argv: list[str] | None = None) -> int:
    from .fixtures import REAL_DATA_EBS, REAL_DATA_MOUS

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path(__file__).parent / "data" / "realdata"
    for path in generate(out, REAL_DATA_MOUS, REAL_DATA_EBS):
        print(f"{path.stat().st_size:>9}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
