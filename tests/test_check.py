"""The preflight: each failure the pipeline's restore meets, caught before CASA starts."""

import json

import pytest

from restorekit.demo import DEMO_SPECS, SEED_MOUS
from restorekit.demo.documents import tgz
from restorekit.errors import InputError
from restorekit.restore.check import check_area
from restorekit.restore.prepare import prepare_restore
from restorekit.sources.ngas import LocalNgas

from .helpers import run_cli

SEED_MS = "uid___A002_Xcf92df_X3453.ms"


@pytest.fixture
def area(engine, demo, tmp_path):
    prepared = prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=LocalNgas(demo.ngas))
    (prepared.layout.rawdata / "uid___A002_Xcf92df_X3453").mkdir()
    assert check_area(prepared.layout.mous_dir).ok
    return prepared.layout


def _only(report, path_part: str, words: str):
    assert not report.ok
    assert any(path_part in p.path and words in p.message for p in report.problems), [
        str(p) for p in report.problems
    ]


def _manifest(layout):
    (path,) = layout.products.glob("*pipeline_manifest.xml")
    return path


def test_a_session_the_manifest_lacks(area):
    manifest = _manifest(area)
    manifest.write_text(manifest.read_text().replace('"session_2"', '"session_5"'))
    _only(check_area(area.mous_dir), "PPR", "session_2, which the manifest does not have")


def test_flagversions_without_pipeline_final(area):
    name = f"{SEED_MS}.flagversions.tgz"
    (area.products / name).write_bytes(
        tgz({f"{SEED_MS}.flagversions/FLAG_VERSION_LIST": b"Original : original flags\n"})
    )
    _only(check_area(area.mous_dir), name, "has no")


def test_flag_version_list_that_does_not_name_it(area):
    name = f"{SEED_MS}.flagversions.tgz"
    (area.products / name).write_bytes(
        tgz(
            {
                f"{SEED_MS}.flagversions/FLAG_VERSION_LIST": b"Original : original flags\n",
                f"{SEED_MS}.flagversions/flags.Pipeline_Final/table.dat": b"x",
            }
        )
    )
    _only(check_area(area.mous_dir), name, "FLAG_VERSION_LIST does not name Pipeline_Final")


def test_a_caltables_file_under_another_name(area):
    name = "uid___A001_X12a3_X80e.session_2.caltables.tgz"
    (area.products / name).rename(area.products / "renamed.caltables.tgz")
    _only(check_area(area.mous_dir), name, "missing")


def test_a_calapply_naming_a_missing_table(area):
    name = f"{SEED_MS}.calapply.txt"
    path = area.products / name
    path.write_text(
        path.read_text()
        + f"applycal(vis='/x/{SEED_MS}', field='', intent='', spw='1', antenna='', "
        f"gaintable=['/x/{SEED_MS}.hifa_gfluxscale.tbl'], gainfield=[''], spwmap=[[]], "
        "interp=['linear'], calwt=[False])\n"
    )
    _only(check_area(area.mous_dir), name, f"applies {SEED_MS}.hifa_gfluxscale.tbl")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("applycal(vis=__import__('os').getcwd(), field='')", "not a literal"),
        ("applycal(vis='x.ms', field='', intent='', spw='0', antenna='')", "lacks gaintable"),
        ("os.system('true')", "not an applycal"),
        ("applycal(vis='x.ms'", "not Python"),
    ],
)
def test_calapply_lines_the_pipeline_would_evaluate_unsafely_or_fail_on(area, line, words):
    name = f"{SEED_MS}.calapply.txt"
    (area.products / name).write_text(line + "\n")
    _only(check_area(area.mous_dir), name, words)


def test_an_asdm_absent_from_rawdata(area):
    (area.rawdata / "uid___A002_Xcf92df_X3453").rmdir()
    _only(check_area(area.mous_dir), "rawdata/uid___A002_Xcf92df_X3453", "missing")
    assert check_area(area.mous_dir, rawdata=False).ok  # export_rawdata.sh writes it
    area.rawdata_script.write_text("#!/bin/sh\n")
    _only(check_area(area.mous_dir, rawdata=False), "rawdata/", "does not write it")


def test_incomplete_unreadable_and_missing_documents(area):
    name = "uid___A001_X12a3_X80e.session_2.caltables.tgz"
    data = (area.products / name).read_bytes()
    (area.products / name).write_bytes(data[:-10])
    _only(check_area(area.mous_dir), name, "incomplete")
    (area.products / name).write_bytes(b"<html>502 Bad Gateway</html>".ljust(len(data), b" "))
    _only(check_area(area.mous_dir), name, "not a readable tar archive")
    _manifest(area).unlink()
    _only(check_area(area.mous_dir), "products/", "no *pipeline_manifest.xml")


def test_an_asdm_the_manifest_does_not_name(area):
    manifest = _manifest(area)
    manifest.write_text(manifest.read_text().replace(f'name="{SEED_MS}"', 'name="other.ms"'))
    _only(check_area(area.mous_dir), "manifest", f"names no asdm {SEED_MS}")


def test_a_ppr_that_reads_back_otherwise_than_planned(area):
    ppr = area.ppr
    ppr.write_text(ppr.read_text().replace("<Keyword>SESSION_2</Keyword>", "<Keyword>X</Keyword>"))
    _only(check_area(area.mous_dir), "PPR_", "read as the pipeline reads it")


def test_archive_listings_are_cached_by_size_and_mtime(area):
    first = check_area(area.mous_dir)
    assert first.ok and first.archives_read == 0  # prepare's check listed them already
    index = json.loads((area.working / ".restorekit-tars.json").read_text())
    assert f"{SEED_MS}.flagversions.tgz" in index
    (area.working / ".restorekit-tars.json").unlink()
    again = check_area(area.mous_dir)
    assert again.ok and again.archives_read == 2


def test_not_an_area_is_a_one_line_input_error(tmp_path):
    with pytest.raises(InputError, match="not a restore area"):
        check_area(tmp_path)


def test_cli_lists_each_problem_and_exits_1(area):
    (area.rawdata / "uid___A002_Xcf92df_X3453").rmdir()
    result = run_cli("check", str(area.mous_dir))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "rawdata/uid___A002_Xcf92df_X3453: missing: the PPR's AsdmDiskName must be here"
    ]
    ok = run_cli("check", str(area.mous_dir), "--no-rawdata", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True


@pytest.mark.parametrize("spec", [s for s in DEMO_SPECS if s.pipeline_calibrated])
def test_every_prepared_demo_area_passes(spec, engine, demo, tmp_path):
    prepared = prepare_restore(spec.mous, tmp_path, engine=engine, store=LocalNgas(demo.ngas))
    assert prepared.check.ok
    assert check_area(prepared.layout.mous_dir, rawdata=False).ok
