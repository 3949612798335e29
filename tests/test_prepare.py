import ast
import json
import os
import stat
import subprocess

import pytest

from restorekit.demo import DEMO_MOUS, SEED_MOUS
from restorekit.errors import InputError, NotRestorableError, RestoreAreaError
from restorekit.inspection import inspect_mous
from restorekit.restore.ppr_reading import check_ppr, read_ppr
from restorekit.restore.prepare import prepare_restore
from restorekit.sources.ngas import HttpNgas, LocalNgas
from restorekit.sources.scripts import parse_script
from restorekit.testing.ngas_server import NgasServer

from .helpers import run_cli

RESTORABLE = [m for m in sorted(DEMO_MOUS) if m != "uid://A001/X1296/X7c1"]


@pytest.mark.parametrize("mous", RESTORABLE)
def test_every_restorable_demo_mous_prepares(mous, engine, demo, tmp_path):
    prepared = prepare_restore(mous, tmp_path, engine=engine, store=LocalNgas(demo.ngas))
    layout = prepared.layout
    for sub in ("rawdata", "working", "products"):
        assert (layout.mous_dir / sub).is_dir()
    check_ppr(layout.ppr.read_bytes(), prepared.plan)
    script = parse_script(layout.restore_script.read_text())
    restored = [
        (eb.replace("uid___", "uid://").replace("_", "/"), s)
        for eb, s in zip(script.restore.vis, script.restore.session, strict=True)
    ]
    assert restored == prepared.plan.restore_ebs
    assert bool(script.fixes) == (prepared.plan.route == "script")
    assert os.stat(layout.run_script).st_mode & stat.S_IXUSR
    subprocess.run(["bash", "-n", str(layout.run_script)], check=True)
    subprocess.run(["bash", "-n", str(layout.rawdata_script)], check=True)
    manifest = prepared.plan.manifest
    assert (layout.products / manifest).is_file()
    assert not list(layout.products.glob("*.fits"))


def test_seed_area(engine, demo, tmp_path):
    prepared = prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=LocalNgas(demo.ngas))
    layout = prepared.layout
    assert layout.relative_path == (
        "2017.1.01347.S/SOUS_uid___A001_X12a3_X80c/"
        "GOUS_uid___A001_X12a3_X80d/MOUS_uid___A001_X12a3_X80e"
    )
    reading = read_ppr(layout.ppr.read_bytes())
    assert reading.intents["SESSION_1"] == ""
    assert reading.intents["SESSION_2"] == "uid://A002/Xcf92df/X3453"
    assert len(reading.asdms) == 1 and reading.relative_path == layout.relative_path
    text = layout.restore_script.read_text()
    assert "from recipes.almahelpers import fixsyscaltimes" in text
    assert "fixsyscaltimes(vis='uid___A002_Xcf92df_X3453.ms')" in text
    assert (
        text.index("hifa_importdata")
        < text.index("fixsyscaltimes(")
        < text.index("hifa_restoredata(")
    )
    ast.parse(text)
    run = layout.run_script.read_text()
    assert f"export SCIPIPE_ROOTDIR={tmp_path.resolve()}" in run
    assert "SCIPIPE_LOGDIR" in run and "SCIPIPE_SCRIPTDIR" in run
    assert "runpipeline.py PPR_uid___A001_X12a3_X80e.xml" in run
    raw = layout.rawdata_script.read_text()
    assert "export_eb uid://A002/Xcf92df/X3453 uid___A002_Xcf92df_X3453" in raw
    assert "Xce574d" not in raw  # the SemiPass EB is not fetched
    assert len(prepared.fetch.names) == 10


def test_casa6_fix_import(engine, demo, tmp_path):
    prepared = prepare_restore(
        "uid://A001/X1465/X1b2c", tmp_path, engine=engine, store=LocalNgas(demo.ngas)
    )
    assert "from casarecipes.almahelpers import fixsyscaltimes" in (
        prepared.layout.restore_script.read_text()
    )


def test_not_restorable_writes_nothing(engine, demo, tmp_path):
    with pytest.raises(NotRestorableError, match="no calibration products"):
        prepare_restore(
            "uid://A001/X1296/X7c1", tmp_path / "root", engine=engine, store=LocalNgas(demo.ngas)
        )
    assert not (tmp_path / "root").exists()
    result = run_cli(
        "prepare",
        "uid://A001/X1296/X7c1",
        "--root",
        str(tmp_path / "r2"),
        "--db",
        demo.url,
        "--ngas",
        str(demo.ngas),
    )
    assert result.returncode == 3 and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r2").exists()


def test_rerun_resumes_and_foreign_area_is_not_clobbered(engine, demo, tmp_path):
    store = LocalNgas(demo.ngas)
    first = prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store)
    ppr_before = first.layout.ppr.read_bytes()
    again = prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store)
    assert again.resumed and again.fetch.fetched == [] and len(again.fetch.present) == 10
    assert again.layout.ppr.read_bytes() == ppr_before
    other = tmp_path / "other"
    layout_dir = other / first.layout.relative_path
    (layout_dir / "working").mkdir(parents=True)
    (layout_dir / "working" / "notes.txt").write_text("mine")
    with pytest.raises(RestoreAreaError, match="--overwrite"):
        prepare_restore(SEED_MOUS, other, engine=engine, store=store)
    assert not (layout_dir / "working" / first.layout.ppr.name).exists()
    done = prepare_restore(SEED_MOUS, other, engine=engine, store=store, overwrite=True)
    assert done.layout.ppr.exists() and (layout_dir / "working" / "notes.txt").exists()


def test_an_area_is_prepared_by_one_process_at_a_time(engine, demo, tmp_path):
    """A second prepare of an area another holds (a batch naming the MOUS twice, run two at a
    time) is refused, naming the holder, instead of truncating the products being written;
    once the first is done, a rerun resumes."""
    import socket

    from restorekit.restore.layout import RestoreLayout
    from restorekit.restore.record import area_lock

    store = LocalNgas(demo.ngas)
    plan = inspect_mous(SEED_MOUS, engine=engine, store=store).plan
    layout = RestoreLayout.for_plan(plan, tmp_path)
    with area_lock(layout):
        holder = f"pid {os.getpid()} on {socket.gethostname()}"
        with pytest.raises(RestoreAreaError, match=f"is being prepared by {holder}; wait"):
            prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store)
        assert not layout.mous_dir.exists()
    done = prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store)
    assert done.layout.ppr.is_file() and not done.resumed


def test_hostile_file_name_from_the_archive(engine, demo, tmp_path):
    inspection = inspect_mous(SEED_MOUS, engine=engine, store=LocalNgas(demo.ngas))
    inspection.evidence.products["../../escaped.txt"] = "calibration"
    with pytest.raises(InputError, match="not a plain file name"):
        prepare_restore(
            SEED_MOUS,
            tmp_path / "root",
            engine=engine,
            store=LocalNgas(demo.ngas),
            inspection=inspection,
        )
    assert not list(tmp_path.rglob("escaped.txt"))


def test_prepare_over_http_ngas(engine, demo, tmp_path):
    with NgasServer(demo.ngas) as server:
        prepared = prepare_restore(
            "uid://A001/X1284/X265f", tmp_path, engine=engine, store=HttpNgas(server.url)
        )
    laid_out = {p.name for p in prepared.layout.products.iterdir()}
    assert laid_out == set(prepared.fetch.fetched) | set(prepared.plan.product_names)
    check_ppr(prepared.layout.ppr.read_bytes(), prepared.plan)


def test_fetch_raw_runs_asdm_export_light_when_on_path(engine, demo, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "asdmExportLight"
    tool.write_text('#!/bin/sh\nmkdir -p "$2/$(echo "$3" | sed "s#[:/]#_#g")"\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    prepared = prepare_restore(
        SEED_MOUS, tmp_path / "root", engine=engine, store=LocalNgas(demo.ngas), fetch_raw=True
    )
    assert prepared.rawdata == {"uid://A002/Xcf92df/X3453": "exported"}
    assert (prepared.layout.rawdata / "uid___A002_Xcf92df_X3453").is_dir()
    assert not (prepared.layout.rawdata / "uid___A002_Xce574d_Xa33e").exists()


def test_fetch_raw_without_the_tool_leaves_the_script(engine, demo, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    prepared = prepare_restore(
        SEED_MOUS, tmp_path, engine=engine, store=LocalNgas(demo.ngas), fetch_raw=True
    )
    assert prepared.rawdata["uid://A002/Xcf92df/X3453"].startswith("pending")


def test_cli_prepare_json_contract(demo, tmp_path):
    result = run_cli(
        "prepare",
        SEED_MOUS,
        "--root",
        str(tmp_path),
        "--db",
        demo.url,
        "--ngas",
        str(demo.ngas),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    for key in (
        "mous",
        "restorable",
        "route",
        "sessions",
        "ebs",
        "findings",
        "root",
        "relative_path",
        "ppr",
        "restore_script",
        "products",
    ):
        assert key in out
    assert os.path.isabs(out["ppr"]) and os.path.isfile(out["ppr"])
    assert out["sessions"] == {"session_2": ["uid://A002/Xcf92df/X3453"]}
    assert "member.uid___A001_X12a3_X80e.session_2.caltables.tgz" in out["products"]
    result = run_cli(
        "prepare",
        SEED_MOUS,
        "--root",
        str(tmp_path),
        "--db",
        demo.url,
        "--ngas",
        str(demo.ngas),
        "--json",
    )
    assert result.returncode == 0 and json.loads(result.stdout)["resumed"] is True


def test_cli_prepare_existing_area(demo, tmp_path):
    (
        tmp_path / "2017.1.01347.S/SOUS_uid___A001_X12a3_X80c/GOUS_uid___A001_X12a3_X80d/"
        "MOUS_uid___A001_X12a3_X80e"
    ).mkdir(parents=True)
    result = run_cli(
        "prepare", SEED_MOUS, "--root", str(tmp_path), "--db", demo.url, "--ngas", str(demo.ngas)
    )
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_file(demo, tmp_path):
    settings = tmp_path / "site.yaml"
    settings.write_text("processing_site: NAASC\noperator: pipeline\n")
    result = run_cli(
        "prepare",
        SEED_MOUS,
        "--root",
        str(tmp_path / "r"),
        "--db",
        demo.url,
        "--ngas",
        str(demo.ngas),
        "--settings",
        str(settings),
        "--json",
    )
    ppr = json.loads(result.stdout)["ppr"]
    assert "<ProcessingSite>NAASC</ProcessingSite>" in open(ppr).read()
    settings.write_text("processing_sight: NAASC\n")
    result = run_cli(
        "prepare",
        SEED_MOUS,
        "--root",
        str(tmp_path / "r3"),
        "--db",
        demo.url,
        "--settings",
        str(settings),
    )
    assert result.returncode == 2 and "unknown keys ['processing_sight']" in result.stderr


def test_prepare_keeps_a_run_log_in_the_area(engine, demo, tmp_path, monkeypatch):
    from restorekit.sources.ngas import TransientNgasError

    class OnceCut(LocalNgas):
        cut = True

        def stream(self, file_id, offset=0):
            if self.cut and file_id == "uid___A002_Xcf92df_X3453.ms.calapply.txt":
                OnceCut.cut = False
                raise TransientNgasError(f"transfer of {file_id} was cut")
            return super().stream(file_id, offset)

    monkeypatch.setattr("restorekit.sources.fetch.time.sleep", lambda s: None)
    prepared = prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=OnceCut(demo.ngas))
    text = (prepared.layout.working / "restorekit.log").read_text()
    assert "prepare uid://A001/X12a3/X80e: route script" in text
    assert "retrying uid___A002_Xcf92df_X3453.ms.calapply.txt" in text
    assert "products: 10 transferred" in text and ": ok (" in text
