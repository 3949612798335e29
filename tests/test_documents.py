import pytest

from restorekit.demo import DEMO_MOUS, SEED_MOUS
from restorekit.demo.documents import deliverables, manifest_xml
from restorekit.demo.scripts import restore_script
from restorekit.errors import DocumentError
from restorekit.evidence.gather import Evidence, _script
from restorekit.sources.manifest import choose_manifest, parse_manifest
from restorekit.sources.ousstatus import parse_ousstatus
from restorekit.sources.scripts import parse_script

SEED = DEMO_MOUS[SEED_MOUS]


def test_seed_ousstatus_sessions_and_refs():
    doc = parse_ousstatus(SEED.xml_text)
    assert [s.ordinal for s in doc.sessions] == [1, 2]
    assert [s.part_id for s in doc.sessions] == ["X00000000", "X00000001"]
    assert doc.sessions[0].ebs == ("uid://A002/Xce574d/Xa33e",)
    assert doc.sessions[1].ebs == ("uid://A002/Xcf92df/X3453",)
    assert doc.sessions[1].start == "2018-07-10 10:34:32.962"
    assert doc.sessions[1].sbstatus_ref == "uid://A001/X12a3/X80f"
    assert doc.refs == {
        "ous_status": "uid://A001/X12a3/X80e",
        "containing_ous": "uid://A001/X12a3/X80d",
        "project_status": "uid://A001/X1221/Xdfc",
        "obs_project": "uid://A001/X1221/Xdf8",
        "part_id": "X659301709",
        "sbstatus": "uid://A001/X12a3/X80f",
        "state": "Delivered",
    }
    table = doc.table()
    assert list(table.ebs) == ["uid://A002/Xce574d/Xa33e", "uid://A002/Xcf92df/X3453"]


def test_xml_entities_are_never_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
        '<ouss:OUSStatus xmlns:ouss="Alma/Scheduling/OUSStatus" xmlns:val="Alma/ValueTypes">'
        '<ouss:Session entityPartId="X0"><ouss:ExecBlockRef><val:ExecBlockId>&e;'
        "</val:ExecBlockId></ouss:ExecBlockRef></ouss:Session></ouss:OUSStatus>"
    )
    with pytest.raises(DocumentError, match="declares a DTD"):
        parse_ousstatus(xxe)


def test_billion_laughs_is_refused():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        "<piperesults><ous name='x'><casaversion name='&c;'/></ous></piperesults>"
    )
    with pytest.raises(DocumentError, match="declares a DTD"):
        parse_manifest(bomb)


@pytest.mark.parametrize("text", ["<ouss:OUSStatus", "", "<a/>", "<?xml version='1.0'?>"])
def test_bad_ousstatus_is_a_one_line_document_error(text):
    with pytest.raises(DocumentError) as info:
        parse_ousstatus(text, mous="uid://A001/X1/X2")
    assert "\n" not in str(info.value)


def test_manifest_shape():
    manifest = parse_manifest(manifest_xml(SEED))
    # Written in July 2018: manifests named no versions before August 2018.
    assert manifest.casa_version is None and manifest.pipeline_version is None
    later = parse_manifest(manifest_xml(DEMO_MOUS["uid://A001/X1301/X1a6"]))
    assert later.casa_version == "5.4.0-70"
    assert later.pipeline_version == "42254M (Pipeline-CASA54-P1-B)"
    assert manifest.procedure == "hifa_calimage"
    assert [s.name for s in manifest.sessions] == ["session_2"]
    session = manifest.sessions[0]
    assert session.number == 2
    # The pipeline's export names it after the OUS; only the archive adds "member.".
    assert session.caltables == "uid___A001_X12a3_X80e.session_2.caltables.tgz"
    archived = {d.name for d in deliverables(SEED)}
    assert "member.uid___A001_X12a3_X80e.session_2.caltables.tgz" in archived
    assert session.caltables not in archived
    assert [a.name for a in session.asdms] == ["uid___A002_Xcf92df_X3453"]
    assert session.asdms[0].applycmds == "uid___A002_Xcf92df_X3453.ms.calapply.txt"
    assert manifest.asdm_table().session.tolist() == ["session_2"]


def test_choose_manifest_prefers_cal():
    names = [
        "a.hifa_image.pipeline_manifest.xml",
        "a.hifa_calimage.pipeline_manifest.xml",
        "a.scriptForPI.py",
    ]
    assert choose_manifest(names) == "a.hifa_calimage.pipeline_manifest.xml"
    assert choose_manifest(["x.pipeline_manifest.xml"]) == "x.pipeline_manifest.xml"
    assert choose_manifest(["a.py"]) is None


def test_a_script_without_a_manifest_is_found_as_the_manifest_would_be():
    """Without a manifest to point to them, the delivered scripts are found by their suffix,
    preferring the calibration's (the rule the manifest is chosen by)."""
    names = [
        "member.uid___A001_X1_X2.hifa_image.casa_pipescript.py",
        "member.uid___A001_X1_X2.hifa_calimage.casa_pipescript.py",
        "member.uid___A001_X1_X2.hifa_calimage.casa_piperestorescript.py",
    ]
    ev = Evidence("uid://A001/X1/X2", [], products=dict.fromkeys(names, "script"))
    assert _script(ev, None, "pipescript") == names[1]
    assert _script(ev, "uid___A001_X1_X2.hifa_image.casa_pipescript.py", "pipescript") == names[0]
    assert _script(ev, None, "piperestorescript") == names[2]
    assert _script(ev, None, "casa_scriptForPI") is None


def test_seed_restore_script_is_read_with_its_fixes():
    script = parse_script(restore_script(SEED))
    assert script.restore.task == "hifa_restoredata"
    assert script.restore.vis == ["uid___A002_Xcf92df_X3453"]
    assert script.restore.session == ["session_2"]
    assert script.restore.ocorr_mode == "ca"
    assert [(f.function, f.vis) for f in script.fixes] == [
        ("fixsyscaltimes", "uid___A002_Xcf92df_X3453.ms")
    ]
    assert script.fixes[0].text == "fixsyscaltimes(vis = 'uid___A002_Xcf92df_X3453.ms')"
    assert script.fix_imports == {"fixsyscaltimes": "recipes.almahelpers"}
    assert script.casa_generation == 5 and script.marked
    assert script.imports[0].vis == ["../rawdata/uid___A002_Xcf92df_X3453"]


def test_casa6_fix_import_and_plain_script():
    casa6 = DEMO_MOUS["uid://A001/X1465/X1b2c"]
    assert parse_script(restore_script(casa6)).casa_generation == 6
    plain = parse_script(restore_script(DEMO_MOUS["uid://A001/X1284/X265f"]))
    assert not plain.fixes and not plain.fix_imports
    assert plain.restore.session == ["session_1"] * 3 + ["session_2"]


def test_total_power_script():
    tp = parse_script(restore_script(DEMO_MOUS["uid://A001/X1465/X4d7a"]))
    assert tp.restore.task == "hsd_restoredata" and tp.restore.ocorr_mode == "ao"


def test_script_is_never_executed_and_bad_python_is_an_error():
    assert parse_script("import os\nos.system('rm -rf /')\n").restore is None
    with pytest.raises(DocumentError, match="not valid Python"):
        parse_script("h_init(\n", name="x.py")


def test_deliverable_names_are_unique():
    for spec in DEMO_MOUS.values():
        names = [d.name for d in deliverables(spec)]
        assert len(names) == len(set(names))


def test_decoded_text_is_read_as_itself_whatever_its_declaration_says():
    # A CLOB arrives as str: its declared encoding no longer describes it. Read as bytes
    # instead, the declaration is what tells the encoding.
    doc = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        '<ouss:OUSStatus xmlns:ouss="Alma/Scheduling/OUSStatus" xmlns:val="Alma/ValueTypes">'
        '<ouss:Session entityPartId="X0"><ouss:StartTime>Ünter</ouss:StartTime>'
        "</ouss:Session></ouss:OUSStatus>"
    )
    assert parse_ousstatus(doc).sessions[0].start == "Ünter"
    assert parse_ousstatus(doc.encode("latin-1")).sessions[0].start == "Ünter"
