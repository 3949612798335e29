import re
import sqlite3

import pytest
from sqlalchemy.dialects import oracle

from restorekit.errors import InvalidUidError, UnknownMousError
from restorekit.sources import queries, schema

from .conftest import SHARED_REFERENCE

X80E = "uid://A001/X12a3/X80e"
X265F = "uid://A001/X1284/X265f"


def _ddl_columns(ddl: str) -> dict[str, list[str]]:
    conn = sqlite3.connect(":memory:")
    conn.executescript(ddl)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return {
        t.lower(): [r[1].lower() for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables
    }


def test_metadata_matches_the_table_contract_exactly():
    from_ddl = _ddl_columns(schema.schema_ddl())
    from_metadata = {t.name: [c.name for c in t.columns] for t in schema.metadata.sorted_tables}
    assert from_metadata == from_ddl


def test_packaged_contract_is_the_shared_one():
    shared = SHARED_REFERENCE / "alma_schema.sql"
    if not shared.exists():
        pytest.skip("shared/reference is not beside this checkout")
    assert schema.schema_ddl() == shared.read_text()


@pytest.mark.parametrize("name", sorted(queries.QUERIES))
def test_every_query_compiles_for_oracle_with_binds_only(name):
    query = queries.QUERIES[name]
    compiled = query.statement.compile(dialect=oracle.dialect())
    sql = str(compiled)
    assert ":mous" in sql
    assert "uid://" not in sql and "'" not in sql  # values are bound, never inlined
    shown = query.sql("oracle")  # for pasting: the MOUS stays a named bind
    assert ":mous" in shown and "uid://" not in shown
    assert ":mous" in query.sql("sqlite")


def test_queries_use_only_contract_tables():
    tables = set(_ddl_columns(schema.schema_ddl()))
    for query in [*queries.QUERIES.values(), queries.PRESENCE, queries.MOUS_LIST]:
        used = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", query.sql("sqlite")))
        assert used <= tables, (query.name, used - tables)


def test_seed_values(engine):
    assert queries.calibration_count(engine, X80E) > 0
    assert list(queries.execution_blocks(engine, X80E).asdm_uid) == [
        "uid://A002/Xce574d/Xa33e",
        "uid://A002/Xcf92df/X3453",
    ]
    project = queries.project(engine, X80E).iloc[0]
    assert project.project_code == "2017.1.01347.S"
    assert project.project_uid == "uid://A001/X1221/Xdf8"
    ous = queries.obs_unit_set(engine, X80E).iloc[0]
    assert (ous.obsunitsetuid, ous.obsunitsetpartid) == ("uid://A001/X1221/Xdf8", "X659301709")
    status = queries.ous_status(engine, X80E).iloc[0]
    assert status.obs_project_status_id == "uid://A001/X1221/Xdfc"
    sbs = queries.schedblocks(engine, X80E)
    assert list(sbs.schedblock_uid) == ["uid://A001/X12a3/X804"]
    assert list(sbs.sbstatus_uid) == ["uid://A001/X12a3/X80f"]
    chain = queries.parent_chain(engine, X80E).iloc[0]
    assert (chain.mous, chain.gous, chain.sous) == (
        X80E,
        "uid://A001/X12a3/X80d",
        "uid://A001/X12a3/X80c",
    )
    qa0 = queries.qa0(engine, X80E).set_index("execblockuid").qa0status.to_dict()
    assert qa0 == {"uid://A002/Xce574d/Xa33e": "SemiPass", "uid://A002/Xcf92df/X3453": "Pass"}
    xml = queries.ousstatus_xml(engine, X80E)
    assert '<ouss:Session entityPartId="X00000001"' in xml
    assert "<val:ExecBlockId>uid://A002/Xcf92df/X3453</val:ExecBlockId>" in xml


def test_seed_file_list(engine):
    seed_files = {
        "member.uid___A001_X12a3_X80e.calimage.pipeline_manifest.xml",
        "member.uid___A001_X12a3_X80e.hifa_calimage.auxproducts.tgz",
        "member.uid___A001_X12a3_X80e.hifa_calimage.casa_piperestorescript.py",
        "member.uid___A001_X12a3_X80e.hifa_calimage.casa_pipescript.py",
        "member.uid___A001_X12a3_X80e.session_2.auxcaltables.tgz",
        "member.uid___A001_X12a3_X80e.session_2.caltables.tgz",
        "uid___A002_Xcf92df_X3453.ms.calapply.txt",
        "uid___A002_Xcf92df_X3453.ms.flagversions.tgz",
        "uid___A002_Xcf92df_X3453_target.ms.auxcalapply.txt",
        "member.uid___A001_X12a3_X80e.scriptForPI.py",
    }
    cal = queries.product_files(engine, X80E, "calibration")
    scripts = queries.product_files(engine, X80E, "script")
    assert set(cal.ngas_file_id) | set(scripts.ngas_file_id) == seed_files
    assert set(cal.file_class) == {"calibration"} and set(scripts.file_class) == {"script"}
    everything = queries.product_files(engine, X80E)
    assert set(everything.ngas_file_id) > seed_files
    assert (everything.stored_size > 0).all()
    assert queries.product_files(engine, X80E, "scripts").equals(scripts)


def test_first_seed_mous_has_its_four_ebs(engine):
    assert set(queries.execution_blocks(engine, X265F).asdm_uid) == {
        "uid://A002/Xc7111c/X86a7",
        "uid://A002/Xc7111c/X409e",
        "uid://A002/Xc72427/X2dfe",
        "uid://A002/Xc7111c/X3979",
    }


def test_file_form_uid_is_accepted(engine):
    assert len(queries.execution_blocks(engine, "uid___A001_X12a3_X80e")) == 2


def test_uncalibrated_mous_counts_zero(engine):
    assert queries.calibration_count(engine, "uid://A001/X1296/X7c1") == 0


def test_two_schedblocks_with_states(engine):
    sbs = queries.schedblocks(engine, "uid://A001/X1301/X1a6")
    assert sorted(sbs.sb_state) == ["Deleted", "FullyObserved"]


def test_failed_eb_outside_asa_science_still_has_qa0(engine):
    mous = "uid://A001/X133d/X5e1"
    qa0 = queries.qa0(engine, mous)
    assert "Fail" in set(qa0.qa0status)
    assert len(qa0) == len(queries.execution_blocks(engine, mous)) + 1


def test_null_xml_reads_as_none(engine):
    assert queries.ousstatus_xml(engine, "uid://A001/X1465/X2a10") is None


def test_unknown_and_malformed_mous(engine):
    with pytest.raises(UnknownMousError, match=r"uid://A001/X1/X1 is not in the archive"):
        queries.require_known_mous(engine, "uid://A001/X1/X1")
    with pytest.raises(InvalidUidError):
        queries.execution_blocks(engine, "uid://A001/X1/X1' OR 1=1 --")
    assert queries.require_known_mous(engine, "uid___A001_X12a3_X80e") == X80E


def test_mous_list_covers_the_demo(engine):
    from restorekit.demo import DEMO_MOUS

    assert set(queries.mous_list(engine).mous) == set(DEMO_MOUS)


def test_unknown_file_class(engine):
    from restorekit.errors import InputError

    with pytest.raises(InputError, match="file class 'bogus' is not known"):
        queries.product_files(engine, X80E, "bogus")
