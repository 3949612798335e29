import sqlite3
import tarfile

from restorekit.demo import DEMO_SPECS, build_archive
from restorekit.demo.documents import deliverables
from restorekit.sources import queries


def _dump(path):
    conn = sqlite3.connect(path)
    out = {}
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1"):
        out[table] = sorted(map(repr, conn.execute(f"SELECT * FROM {table}")))  # noqa: S608
    conn.close()
    return out


def test_database_is_exactly_the_contract(demo):
    conn = sqlite3.connect(demo.database)
    ddl = {row[0] for row in conn.execute("SELECT sql FROM sqlite_master WHERE type='table'")}
    assert len(ddl) == 7
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {
        "ASA_PROJECT",
        "ASA_SCIENCE",
        "ASA_PRODUCT_FILES",
        "AQUA_OUS",
        "AQUA_EXECBLOCK",
        "OBS_UNIT_SET_STATUS",
        "SCHED_BLOCK_STATUS",
    }


def test_rebuilding_is_idempotent(tmp_path):
    first = build_archive(tmp_path / "a", DEMO_SPECS)
    before = _dump(first.database)
    files = {p.name: p.read_bytes() for p in first.ngas.iterdir()}
    again = build_archive(tmp_path / "a", DEMO_SPECS)
    assert _dump(again.database) == before
    assert {p.name: p.read_bytes() for p in again.ngas.iterdir()} == files
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]


def test_every_product_row_has_its_file_with_the_stored_size(demo, engine):
    conn = sqlite3.connect(demo.database)
    rows = conn.execute("SELECT NGAS_FILE_ID, STORED_SIZE FROM ASA_PRODUCT_FILES").fetchall()
    assert rows
    for name, size in rows:
        assert (demo.ngas / name).stat().st_size == size


def test_archives_are_real_tgz(demo):
    for path in demo.ngas.glob("*.tgz"):
        with tarfile.open(path) as tar:
            assert tar.getnames()


def test_every_demo_mous_is_known(engine):
    for spec in DEMO_SPECS:
        queries.require_known_mous(engine, spec.mous)
        assert spec.description


def test_seed_restore_script_carries_the_fixes(demo):
    script = demo.ngas / "member.uid___A001_X12a3_X80e.hifa_calimage.casa_piperestorescript.py"
    text = script.read_text()
    assert "from recipes.almahelpers import fixsyscaltimes # SACM/JAO - Fixes" in text
    assert "hifa_restoredata (vis=['uid___A002_Xcf92df_X3453'], session=['session_2']" in text


def test_manifest_names_only_calibrated_ebs():
    seed = DEMO_SPECS[0]
    manifest = next(d for d in deliverables(seed) if d.name.endswith("manifest.xml")).render()
    assert b'<session name="session_2">' in manifest
    assert b"Xce574d" not in manifest
