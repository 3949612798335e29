import pytest

from restorekit.demo import DEMO_MOUS, SEED_MOUS
from restorekit.errors import PprCheckError
from restorekit.restore.layout import RestoreLayout
from restorekit.restore.ppr import build_ppr, session_intents
from restorekit.restore.ppr_reading import check_ppr, read_ppr
from restorekit.settings import SiteSettings

from .helpers import plan_for


def _ppr(mous, tmp_path, **settings):
    plan = plan_for(DEMO_MOUS[mous])
    layout = RestoreLayout.for_plan(plan, tmp_path)
    return plan, build_ppr(plan, layout, SiteSettings(**settings))


def test_seed_ppr_sessions(tmp_path):
    plan, xml = _ppr(SEED_MOUS, tmp_path)
    reading = check_ppr(xml, plan)
    assert reading.intents["SESSION_1"] == ""
    assert reading.intents["SESSION_2"] == "uid://A002/Xcf92df/X3453"
    assert reading.asdms == [("uid___A002_Xcf92df_X3453", "uid://A002/Xcf92df/X3453")]
    assert reading.sessions == ["session_2"]
    assert reading.proposal_code == "2017.1.01347.S"
    assert reading.commands == [("hifa_restoredata", {"ocorr_mode": "ca"})]
    assert xml.count(b"<AsdmIdentifier>") == 1
    assert xml.count(b"<SchedBlockIdentifier>") == 1


def test_gap_gets_an_empty_session(tmp_path):
    plan, xml = _ppr("uid://A001/X133d/X5e1", tmp_path)
    reading = check_ppr(xml, plan)
    assert reading.intents["SESSION_3"] == ""
    assert reading.sessions == ["session_1", "session_2", "session_2", "session_4"]
    assert "uid://A002/Xd4c0a1/Xb55 | uid://A002/Xd4c0a1/Xcf8" in xml.decode()


def test_total_power_ppr(tmp_path):
    plan, xml = _ppr("uid://A001/X1465/X4d7a", tmp_path)
    reading = check_ppr(xml, plan)
    assert reading.commands == [("hsd_restoredata", {"ocorr_mode": "ao"})]
    assert "SINGLE_DISH_STANDARD_OBSERVING_MODE" in reading.intents


def test_settings_reach_the_ppr(tmp_path):
    _, xml = _ppr(SEED_MOUS, tmp_path, processing_site="NAASC", operator="J. Sheckard")
    text = xml.decode()
    assert "<ProcessingSite>NAASC</ProcessingSite>" in text
    assert "<Operator>J. Sheckard</Operator>" in text


def test_writing_the_eb_as_session_1_is_caught(tmp_path):
    plan, xml = _ppr(SEED_MOUS, tmp_path)
    wrong = xml.replace(
        b"<Keyword>SESSION_1</Keyword>\n          <Value></Value>",
        b"<Keyword>SESSION_1</Keyword>\n          <Value>uid://A002/Xcf92df/X3453</Value>",
    )
    assert wrong != xml
    with pytest.raises(PprCheckError, match="session_1"):
        check_ppr(wrong, plan)


def test_missing_session_number_stops_the_scan(tmp_path):
    plan, xml = _ppr("uid://A001/X133d/X5e1", tmp_path)
    without_3 = xml.replace(b"<Keyword>SESSION_3</Keyword>", b"<Keyword>SESSION_X</Keyword>")
    reading = read_ppr(without_3)
    # session_4 is never reached: its EB silently falls back to session_1
    assert reading.sessions[-1] == "session_1"
    with pytest.raises(PprCheckError):
        check_ppr(without_3, plan)


def test_reading_rules():
    xml = b"""<SciPipeRequest><ProcessingRequests><ProcessingRequest><ProcessingIntents>
      <Intents><Keyword>SESSION_1</Keyword><Value>uid://A002/X1/X1 | uid://A002/X1/X2</Value>
      </Intents><Intents><Value>x</Value></Intents>
      <Intents><Keyword>SESSION_2</Keyword><Value>uid://A002/X1/X3</Value></Intents>
      </ProcessingIntents><DataSet><SchedBlockSet><SchedBlockIdentifier>
      <RelativePath>p</RelativePath>
      <AsdmIdentifier><AsdmDiskName>uid___A002_X1_X2.ms</AsdmDiskName></AsdmIdentifier>
      <AsdmIdentifier><AsdmDiskName>uid___A002_X1_X3</AsdmDiskName></AsdmIdentifier>
      </SchedBlockIdentifier></SchedBlockSet></DataSet></ProcessingRequest>
      <ProcessingRequest/></ProcessingRequests></SciPipeRequest>"""
    reading = read_ppr(xml)
    assert set(reading.intents) == {"SESSION_1"}  # stops at the Intents without Keyword
    assert reading.sessions == ["session_1", "session_1"]


def test_prefixed_tags_read_the_same():
    xml = (
        b'<ns7:SciPipeRequest xmlns:ns7="x"><ns7:ProjectSummary>'
        b"<ns7:ProposalCode>2017.1.01347.S</ns7:ProposalCode></ns7:ProjectSummary>"
        b"</ns7:SciPipeRequest>"
    )
    assert read_ppr(xml).proposal_code == "2017.1.01347.S"


def test_session_intents_have_no_gap():
    plan = plan_for(DEMO_MOUS["uid://A001/X1465/X5e0c"])
    assert [k for k, _ in session_intents(plan)] == ["SESSION_1", "SESSION_2", "SESSION_3"]


def test_a_session_numbered_0_is_refused_not_left_out():
    """The intents run SESSION_1..n: a plan restoring ``session_0`` cannot be written as a PPR
    (its EBs would silently be missing from the restore)."""
    plan = plan_for(DEMO_MOUS["uid://A001/X1465/X5e0c"])
    plan.sessions = {"session_0": ["uid://A002/X1/X1"], **plan.sessions}
    with pytest.raises(PprCheckError, match="session_0"):
        session_intents(plan)
