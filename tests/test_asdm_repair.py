"""The ASDM repair, checked on the committed real-data ASDMs without CASA."""

import io
import re
import shutil
import tarfile

import pytest

from restorekit.demo.asdm_repair import repair_asdm
from restorekit.demo.documents import real_file
from restorekit.demo.fixtures import REAL_DATA_EBS
from restorekit.demo.realdata import INTENTS, SPWS, calapply_text, tables_of


@pytest.fixture(params=REAL_DATA_EBS, ids=lambda eb: eb.uid)
def asdm(request, tmp_path):
    eb = request.param
    name = eb.ms.removesuffix(".ms")
    with tarfile.open(fileobj=io.BytesIO(real_file(f"{name}.asdm.tgz")()), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    return eb, tmp_path / name


def _rows(path):
    return re.findall(r"<row>(.*?)</row>", path.read_text(encoding="iso-8859-1"), re.S)


def _values(rows, tag):
    return [re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", r, re.S).group(1) for r in rows]


def test_one_execblock_named_after_the_eb(asdm):
    eb, root = asdm
    (row,) = _rows(root / "ExecBlock.xml")
    assert f'entityId="{eb.uid}"' in row


def test_one_scan_per_field_visit_with_alma_intents(asdm):
    _, root = asdm
    scans = _rows(root / "Scan.xml")
    assert _values(scans, "scanNumber") == ["1", "2", "3", "4"]
    assert _values(scans, "scanIntent") == [
        "1 3 CALIBRATE_BANDPASS CALIBRATE_FLUX CALIBRATE_WVR",
        "1 2 CALIBRATE_PHASE CALIBRATE_WVR",
        "1 1 OBSERVE_TARGET",
        "1 2 CALIBRATE_PHASE CALIBRATE_WVR",
    ]
    assert set(_values(_rows(root / "Main.xml"), "execBlockId")) == {"ExecBlock_0"}
    subscans = _rows(root / "Subscan.xml")
    assert {s for s in _values(subscans, "scanNumber")} == {"1", "2", "3", "4"}


def test_named_spws_on_their_basebands(asdm):
    _, root = asdm
    spws = _rows(root / "SpectralWindow.xml")
    assert _values(spws, "name") == SPWS
    assert _values(spws, "basebandName") == ["BB_1", "BB_2"]


def test_row_counts_agree_and_the_repair_is_idempotent(asdm, tmp_path):
    eb, root = asdm
    text = (root / "ASDM.xml").read_text(encoding="iso-8859-1")
    for table in ("Main", "Scan", "Subscan", "ExecBlock"):
        count = re.search(rf"<Name>\s*{table}\s*</Name>\s*<NumberRows>\s*(\d+)", text).group(1)
        assert int(count) == len(_rows(root / f"{table}.xml")), table
    again = tmp_path / "again"
    shutil.copytree(root, again)
    repair_asdm(again, eb.uid, INTENTS, SPWS)
    for name in ("Main.xml", "Scan.xml", "Subscan.xml", "ExecBlock.xml", "SpectralWindow.xml"):
        assert _rows(again / name) == _rows(root / name), name


def test_committed_calapply_names_the_committed_tables():
    for eb in REAL_DATA_EBS:
        text = real_file(f"{eb.ms}.calapply.txt")().decode()
        assert text == calapply_text(eb)
        session = f"uid___A001_X1527_X4b2.{eb.session}.caltables.tgz"
        with tarfile.open(fileobj=io.BytesIO(real_file(session)()), mode="r:gz") as tar:
            tops = {m.name.split("/")[0] for m in tar}
        assert set(tables_of(eb)) <= tops
