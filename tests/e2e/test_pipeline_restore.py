"""Restore areas judged by the real pipeline: both routes restore the real-data demo MOUS, and
every area broken on purpose fails in the pipeline and is reported by ``restorekit check`` first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from restorekit.demo.fixtures import REAL_DATA_EBS, REAL_DATA_MOUS
from restorekit.restore.check import check_area
from restorekit.restore.prepare import PreparedRestore, prepare_restore
from restorekit.settings import SiteSettings
from restorekit.sources.ngas import LocalNgas

HERE = Path(__file__).parent
MS = [eb.ms for eb in REAL_DATA_EBS]
OUS = "uid___A001_X1527_X4b2"


def prepare(casa, engine, demo, root: Path) -> PreparedRestore:
    # The site's catalog names this install for the delivery's versions: run_restore.sh
    # starts it as the chosen CASA, with no $CASA.
    settings = SiteSettings(
        casa_versions={"6.6.5-31-pipeline-2024.2.0.5": casa.command},
        runpipeline=casa.runpipeline,
    )
    prepared = prepare_restore(
        REAL_DATA_MOUS,
        root,
        engine=engine,
        store=LocalNgas(demo.ngas),
        settings=settings,
        fetch_raw=True,
    )
    assert set(prepared.rawdata.values()) == {"copied"}
    assert prepared.check.ok
    assert (prepared.plan.casa.match, prepared.plan.casa.chosen.command) == ("exact", casa.command)
    return prepared


def run(casa, prepared: PreparedRestore, route: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run(
        ["bash", str(prepared.layout.run_script), route],
        env={k: v for k, v in casa.env.items() if k != "CASA"},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    return done, time.perf_counter() - started


def failed(done: subprocess.CompletedProcess, prepared: PreparedRestore) -> list[str]:
    """Signs that the pipeline's restore failed: exit status, ``errorexit-*.txt`` files, or an
    MS it should have restored and did not (the pipeline skips a missing ASDM and reports
    success: only the preflight says so)."""
    signs = [f"exit {done.returncode}"] if done.returncode else []
    signs += [p.name for p in prepared.layout.mous_dir.rglob("errorexit-*.txt")]
    signs += [f"{ms} not restored" for ms in MS if not (prepared.layout.working / ms).is_dir()]
    return signs


def verify(casa, prepared: PreparedRestore) -> dict:
    working = prepared.layout.working
    done = subprocess.run(
        [str(casa.python), str(HERE / "verify_restore.py"), *[str(working / ms) for ms in MS]],
        env=casa.env,
        capture_output=True,
        text=True,
        check=True,
        cwd=working,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("route", ["ppr", "script"])
def test_the_pipeline_restores_the_real_data_mous(route, casa, engine, demo, tmp_path):
    prepared = prepare(casa, engine, demo, tmp_path)
    done, seconds = run(casa, prepared, route)
    assert not failed(done, prepared), done.stdout[-3000:] + done.stderr[-3000:]
    result = verify(casa, prepared)
    print(f"\n{route} route: {seconds:.1f} s; " + json.dumps(result, indent=1))
    for ms, numbers in result.items():
        assert numbers["flags_equal_pipeline_final"], ms
        assert 0.12 < numbers["flagged_fraction"] < 0.25, ms  # edge channels + one antenna
        fields = numbers["fields"]
        for name, flux in (("J1832-2039", 1.0), ("NGC_6822", 0.5)):
            assert fields[name]["raw_phase_rms_deg"] > 30, (ms, name)
            assert fields[name]["corrected_phase_rms_deg"] < 3.0, (ms, name)
            assert abs(fields[name]["corrected_amplitude"] / flux - 1) < 0.03, (ms, name)


def _retar(path: Path, drop: str) -> None:
    """Rewrite a .tgz without the members whose names contain ``drop``."""
    with tarfile.open(path, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar]
    import io

    with tarfile.open(path, "w:gz") as tar:
        for member, data in members:
            if drop in member.name:
                continue
            tar.addfile(member, io.BytesIO(data) if data is not None else None)


def _products(prepared: PreparedRestore) -> Path:
    return prepared.layout.products


def break_session(prepared):
    (manifest,) = _products(prepared).glob("*pipeline_manifest.xml")
    manifest.write_text(manifest.read_text().replace('"session_3"', '"session_7"'))
    return "session_3, which the manifest does not have"


def break_flags(prepared):
    for path in _products(prepared).glob(f"{MS[0]}.flagversions.tgz"):
        _retar(path, "flags.Pipeline_Final")
        _retar(path, "FLAG_VERSION_LIST")
    return "has no"


def break_caltables_name(prepared):
    products = _products(prepared)
    for name in (f"{OUS}.session_1.caltables.tgz", f"member.{OUS}.session_1.caltables.tgz"):
        (products / name).rename(products / f"{name}.renamed")
    return "missing"


def break_calapply(prepared):
    path = _products(prepared) / f"{MS[1]}.calapply.txt"
    path.write_text(path.read_text().replace(".gacal.tbl", ".gpcal.tbl"))
    return "not in its session's caltables"


def break_rawdata(prepared):
    shutil.rmtree(prepared.layout.rawdata / MS[1].removesuffix(".ms"))
    return "missing: the PPR's AsdmDiskName must be here"


@pytest.mark.parametrize(
    "breaker", [break_session, break_flags, break_caltables_name, break_calapply, break_rawdata]
)
def test_each_broken_area_fails_in_the_pipeline_and_check_says_so_first(
    breaker, casa, engine, demo, tmp_path
):
    prepared = prepare(casa, engine, demo, tmp_path)
    (prepared.layout.working / ".restorekit-tars.json").unlink(missing_ok=True)
    words = breaker(prepared)
    report = check_area(prepared.layout.mous_dir)
    assert not report.ok and any(words in p.message for p in report.problems), [
        str(p) for p in report.problems
    ]
    done, seconds = run(casa, prepared, "ppr")
    signs = failed(done, prepared)
    print(f"\n{breaker.__name__}: check: {report.problems[0]}; pipeline: {signs} ({seconds:.0f} s)")
    assert signs, done.stdout[-3000:]
