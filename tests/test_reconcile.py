import json
import shutil
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restorekit.demo import DEMO_MOUS, DEMO_SPECS, SEED_MOUS
from restorekit.demo.model import EbSpec, MousSpec, SchedBlockSpec, SessionSpec
from restorekit.evidence.bulk import stream_archive
from restorekit.evidence.gather import SchedBlock, gather
from restorekit.inspection import inspect_mous
from restorekit.rules.reconcile import choose_schedblock, reconcile
from restorekit.sources import schema
from restorekit.sources.archive import connect
from restorekit.sources.ngas import HttpNgas, LocalNgas

from .helpers import evidence_for, plan_for, run_cli

MAPPED = "PRODUCT_NAME_MAPPED"
EXPECTED = {
    # mous: (restorable, route, sessions, codes)
    SEED_MOUS: (
        True,
        "script",
        {"session_2": ["uid://A002/Xcf92df/X3453"]},
        {
            "EB_EXCLUDED_BY_QA0",
            "SESSION_NUMBERS_GAP",
            "DATA_FIXES",
            "PRODUCT_NAME_MAPPED",
            "RELEASE_INFERRED",
        },
    ),
    "uid://A001/X1284/X265f": (
        True,
        "ppr",
        {
            "session_1": [
                "uid://A002/Xc7111c/X3979",
                "uid://A002/Xc7111c/X409e",
                "uid://A002/Xc7111c/X86a7",
            ],
            "session_2": ["uid://A002/Xc72427/X2dfe"],
        },
        {"PRODUCT_NAME_MAPPED", "RELEASE_INFERRED"},
    ),
    "uid://A001/X1296/X7c1": (False, "ppr", {}, {"NOT_CALIBRATED"}),
    "uid://A001/X1301/X1a6": (True, "ppr", None, {"MULTIPLE_SCHEDBLOCKS", MAPPED}),
    "uid://A001/X1320/X2b4": (True, "ppr", None, {MAPPED}),
    "uid://A001/X133d/X5e1": (
        True,
        "ppr",
        None,
        {"EB_EXCLUDED_BY_QA0", "SESSION_NUMBERS_GAP", MAPPED},
    ),
    "uid://A001/X1465/X1b2c": (True, "script", None, {"DATA_FIXES", "FIXES_DISAGREE", MAPPED}),
    "uid://A001/X1465/X2a10": (True, "ppr", None, {"OUSSTATUS_MISSING", MAPPED}),
    "uid://A001/X1465/X2b3e": (True, "ppr", None, {"OUSSTATUS_MALFORMED", MAPPED}),
    "uid://A001/X1465/X3c01": (
        True,
        "ppr",
        {"session_1": ["uid://A002/Xe52a40/X30f"]},
        {"CALIBRATED_EB_UNKNOWN", MAPPED},
    ),
    "uid://A001/X1465/X4d7a": (True, "ppr", None, {"TOTAL_POWER", MAPPED}),
    "uid://A001/X1465/X5e0c": (
        True,
        "ppr",
        {"session_2": ["uid://A002/Xe6f2d4/X2a8"], "session_3": ["uid://A002/Xe6f2d4/X44b"]},
        {"SESSION_NUMBER_MISMATCH", "SESSION_NUMBERS_GAP", MAPPED},
    ),
    "uid://A001/X1465/X6f19": (
        True,
        "ppr",
        {"session_2": ["uid://A002/Xe7b3c0/X776"]},
        {"EB_NOT_CALIBRATED_UNEXPLAINED", "SESSION_NUMBERS_GAP", MAPPED},
    ),
    "uid://A001/X87d/X1c2": (
        True,
        "ppr",
        {"session_1": ["uid://A002/Xb9a1f3/X3f1", "uid://A002/Xb9a1f3/X594"]},
        {"LEGACY_RESTORE_TASK", "RELEASE_INFERRED"},
    ),
    "uid://A001/X133d/X7a2": (True, "ppr", None, {"TOTAL_POWER", "FIX_IMPORT_ONLY", MAPPED}),
    "uid://A001/X133d/X8c4": (True, "script", None, {"DATA_FIXES", MAPPED}),
    "uid://A001/X15a2/X3d7": (True, "ppr", None, {MAPPED}),
    "uid://A001/X1527/X4b2": (
        True,
        "ppr",
        {"session_1": ["uid://A002/Xe45c09/X5a21"], "session_3": ["uid://A002/Xe4f1c0/X2d7"]},
        {"EB_EXCLUDED_BY_QA0", "SESSION_NUMBERS_GAP", MAPPED},
    ),
}


def test_every_demo_mous_is_expected():
    assert set(EXPECTED) == set(DEMO_MOUS)


@pytest.mark.parametrize("mous", sorted(EXPECTED))
def test_demo_plans(mous, engine, demo):
    restorable, route, sessions, codes = EXPECTED[mous]
    plan = inspect_mous(mous, engine=engine, store=LocalNgas(demo.ngas)).plan
    assert plan.restorable is restorable
    assert plan.route == route
    assert plan.codes == codes
    if sessions is not None:
        assert plan.sessions == sessions


def test_seed_curveball_is_explained(engine, demo):
    plan = inspect_mous(SEED_MOUS, engine=engine, store=LocalNgas(demo.ngas)).plan
    info = [f for f in plan.findings if f.code == "EB_EXCLUDED_BY_QA0"]
    assert len(info) == 1 and info[0].severity == "info"
    assert "uid://A002/Xce574d/Xa33e" in info[0].message and "SemiPass" in info[0].message
    rows = {r.eb: r for r in plan.ebs}
    assert rows["uid://A002/Xce574d/Xa33e"].ousstatus_session == 1
    assert rows["uid://A002/Xce574d/Xa33e"].restore is False
    assert rows["uid://A002/Xcf92df/X3453"].manifest_session == "session_2"
    assert rows["uid://A002/Xcf92df/X3453"].in_restore_script
    assert plan.project.code == "2017.1.01347.S"
    assert plan.project.gous == "uid://A001/X12a3/X80d"
    assert plan.project.sous == "uid://A001/X12a3/X80c"
    assert plan.schedblock == "uid://A001/X12a3/X804"
    assert plan.sbstatus == "uid://A001/X12a3/X80f"
    assert plan.casa_generation == 5 and plan.fix_module == "recipes.almahelpers"
    assert [f.render() for f in plan.fixes] == ["fixsyscaltimes(vis='uid___A002_Xcf92df_X3453.ms')"]


def test_severities_and_messages():
    plan = plan_for(DEMO_MOUS["uid://A001/X1465/X3c01"])
    (error,) = [f for f in plan.findings if f.code == "CALIBRATED_EB_UNKNOWN"]
    assert error.severity == "error" and "uid://A002/Xd00bad/X1f" in error.message
    plan = plan_for(DEMO_MOUS["uid://A001/X1465/X6f19"])
    (warning,) = [f for f in plan.findings if f.code == "EB_NOT_CALIBRATED_UNEXPLAINED"]
    assert warning.severity == "warning"


def test_two_schedblocks_choice_is_explained():
    plan = plan_for(DEMO_MOUS["uid://A001/X1301/X1a6"])
    (finding,) = [f for f in plan.findings if f.code == "MULTIPLE_SCHEDBLOCKS"]
    assert plan.schedblock == "uid://A001/X1301/X1a0"
    assert "Deleted" in finding.message and "FullyObserved" in finding.message


def test_choose_schedblock_rules():
    a = SchedBlock("uid://A001/X1/X1", status_uid="s1", state="Suspended")
    b = SchedBlock("uid://A001/X1/X2", status_uid="s2", state="FullyObserved")
    c = SchedBlock("uid://A001/X1/X3", status_uid="s3", state="FullyObserved")
    assert choose_schedblock([], {}) == (None, None)
    assert choose_schedblock([a], {})[0] is a
    chosen, finding = choose_schedblock([a, b], {})
    assert chosen is b and finding.code == "MULTIPLE_SCHEDBLOCKS"
    chosen, finding = choose_schedblock([b, c], {"e1": c.uid, "e2": c.uid, "e3": b.uid})
    assert chosen is c and finding.code == "MULTIPLE_SCHEDBLOCKS" and "most EBs" in finding.message
    chosen, finding = choose_schedblock([b, c], {})
    assert finding.code == "SCHEDBLOCK_AMBIGUOUS"


def test_xml_disagreeing_with_the_database():
    spec = DEMO_MOUS["uid://A001/X1320/X2b4"]
    ev = evidence_for(spec)
    ev.schedblocks = [
        SchedBlock(s.uid, s.name, "uid://A001/X9/X9", s.state) for s in ev.schedblocks
    ]
    ev.science_ebs = [*ev.science_ebs, "uid://A002/Xfff/X1"]
    ev.status.project_status = "uid://A001/X9/X8"
    codes = reconcile(ev).codes
    assert {
        "OUSSTATUS_SBSTATUS_MISMATCH",
        "OUSSTATUS_EB_MISMATCH",
        "OUSSTATUS_REFS_MISMATCH",
    } <= codes


def test_missing_manifest_is_not_restorable():
    ev = evidence_for(DEMO_MOUS["uid://A001/X1284/X265f"])
    ev.products = {n: c for n, c in ev.products.items() if "manifest" not in n}
    ev.manifest_name = None
    ev.manifest = None
    plan = reconcile(ev)
    assert not plan.restorable and "MANIFEST_MISSING" in plan.codes


def test_products_missing_for_an_eb():
    ev = evidence_for(DEMO_MOUS["uid://A001/X1284/X265f"])
    del ev.products["uid___A002_Xc72427_X2dfe.ms.flagversions.tgz"]
    plan = reconcile(ev)
    assert "PRODUCTS_MISSING" in plan.codes
    assert "uid://A002/Xc72427/X2dfe" not in sum(plan.sessions.values(), [])


def test_unreachable_ngas_gives_findings_not_a_traceback(engine, monkeypatch):
    waits = []
    monkeypatch.setattr("restorekit.sources.fetch.time.sleep", waits.append)
    ev = gather(engine, "uid://A001/X1284/X265f", HttpNgas("http://127.0.0.1:9", timeout=2))
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]  # documents are retried with back-off
    plan = reconcile(ev)
    assert "MANIFEST_UNREADABLE" in plan.codes
    assert plan.calibration_source == "products"
    assert plan.restorable and len(plan.sessions) == 2
    # Degraded evidence never decides the route silently.
    assert plan.route is None and len(plan.degraded) == 3
    assert "RESTORE_SCRIPT_UNREADABLE" in plan.codes


def test_degraded_evidence_stops_plan_and_prepare_unless_allowed(demo, tmp_path, monkeypatch):
    from restorekit.errors import DegradedEvidenceError
    from restorekit.restore.prepare import prepare_restore

    monkeypatch.setattr("restorekit.sources.fetch.time.sleep", lambda s: None)
    dead = "http://127.0.0.1:9"
    with pytest.raises(DegradedEvidenceError, match="will not plan from partial evidence") as info:
        inspect_mous(SEED_MOUS, db=demo.url, ngas=dead)
    assert info.value.exit_code == 1 and "\n" not in str(info.value)
    with pytest.raises(DegradedEvidenceError):
        prepare_restore(SEED_MOUS, tmp_path / "root", db=demo.url, ngas=dead)
    assert not (tmp_path / "root").exists()
    plan = inspect_mous(SEED_MOUS, db=demo.url, ngas=dead, allow_degraded=True).plan
    assert plan.route is None and plan.to_dict()["degraded"]
    from restorekit.frontends.cli import main

    assert main(["plan", SEED_MOUS, "--db", demo.url, "--ngas", dead]) == 1
    assert main(["plan", SEED_MOUS, "--db", demo.url, "--ngas", dead, "--allow-degraded"]) == 0


def test_documents_off_gives_the_database_view():
    plan = plan_for(DEMO_MOUS[SEED_MOUS], documents=False)
    assert plan.sessions == {"session_2": ["uid://A002/Xcf92df/X3453"]}
    assert plan.calibration_source == "products"


def test_cli_plan_json_contract(demo):
    result = run_cli("plan", SEED_MOUS, "--db", demo.url, "--ngas", str(demo.ngas), "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["mous"] == SEED_MOUS and plan["restorable"] is True
    assert plan["route"] in ("ppr", "script")
    assert plan["sessions"] == {"session_2": ["uid://A002/Xcf92df/X3453"]}
    for eb in plan["ebs"]:
        assert {"eb", "restore", "ousstatus_session", "manifest_session", "qa0", "reason"} <= set(
            eb
        )
    for finding in plan["findings"]:
        assert finding["severity"] in ("info", "warning", "error")
        assert finding["code"].isupper()


def test_cli_plan_not_restorable_exits_zero(demo):
    result = run_cli("plan", "uid://A001/X1296/X7c1", "--db", demo.url, "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["restorable"] is False


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--ngas", "/nonexistent/dir"], "is not a directory"),
        (["--ngas", "ftp://x"], "neither a directory nor an http(s) URL"),
    ],
)
def test_cli_plan_bad_ngas(demo, args, needle):
    result = run_cli("plan", SEED_MOUS, "--db", demo.url, *args)
    assert result.returncode == 2
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1


# --- property-based: session numbering -----------------------------------------------------

QA0 = st.sampled_from(["Pass", "Pass", "Pass", "SemiPass", "Fail"])


@st.composite
def mous_specs(draw):
    layout = draw(st.lists(st.lists(QA0, min_size=1, max_size=4), min_size=1, max_size=6))
    sessions, serial = [], 0x100
    for n, verdicts in enumerate(layout):
        ebs = []
        for k, qa0 in enumerate(verdicts):
            ebs.append(
                EbSpec(
                    f"uid://A002/Xabc/X{serial:x}",
                    qa0,
                    f"2019-01-{n + 1:02d} {k:02d}:00:00.000",
                    f"2019-01-{n + 1:02d} {k:02d}:40:00.000",
                )
            )
            serial += 7
        sessions.append(SessionSpec(ebs, f"X{n:08d}"))
    return MousSpec(
        mous="uid://A001/X1/X10",
        gous="uid://A001/X1/Xf",
        sous="uid://A001/X1/Xe",
        project_uid="uid://A001/X1/X1",
        project_code="2019.1.00001.S",
        project_status="uid://A001/X1/X2",
        part_id="X1",
        sessions=sessions,
        schedblocks=[SchedBlockSpec("uid://A001/X1/X8", "uid://A001/X1/X11")],
    )


@settings(max_examples=150, deadline=None)
@given(mous_specs(), st.booleans())
def test_session_names_follow_ousstatus_ordinals(spec, documents):
    plan = plan_for(spec, documents=documents)
    expected = {
        f"session_{n}": [eb.uid for eb in session.ebs if eb.qa0 == "Pass"]
        for n, session in enumerate(spec.sessions, start=1)
    }
    expected = {k: v for k, v in expected.items() if v}
    assert plan.sessions == expected
    assert plan.restorable is bool(expected)
    numbers = sorted(int(k.split("_")[1]) for k in expected)
    gap = bool(numbers) and numbers != list(range(1, len(numbers) + 1))
    assert ("SESSION_NUMBERS_GAP" in plan.codes) is gap
    excluded = {eb.uid for s in spec.sessions for eb in s.ebs if eb.qa0 != "Pass"}
    flagged = {f.eb for f in plan.findings if f.code == "EB_EXCLUDED_BY_QA0"}
    assert flagged == (excluded if expected else set())
    assert not plan.codes & {
        "SESSION_NUMBER_MISMATCH",
        "EB_NOT_CALIBRATED_UNEXPLAINED",
        "CALIBRATED_EB_UNKNOWN",
        "OUSSTATUS_EB_MISMATCH",
    }


@settings(max_examples=60, deadline=None)
@given(mous_specs(), st.integers(min_value=1, max_value=3))
def test_shifted_manifest_numbers_are_kept_and_flagged(spec, shift):
    spec.manifest_session_shift = shift
    plan = plan_for(spec)
    for name, ebs in plan.sessions.items():
        for eb in ebs:
            ordinal = next(
                n for n, s in enumerate(spec.sessions, 1) if eb in [e.uid for e in s.ebs]
            )
            assert name == f"session_{ordinal + shift}"
    assert ("SESSION_NUMBER_MISMATCH" in plan.codes) is bool(plan.sessions)


# Product sizes are compared apart: evidence built from specs (rows_for) has none.
_EVIDENCE_FIELDS = (
    "science_ebs",
    "qa0",
    "eb_start",
    "eb_schedblock",
    "schedblocks",
    "products",
    "project",
    "status",
    "aqua_ous",
    "sous",
    "ousstatus",
    "ousstatus_problem",
    "manifest_name",
)


def _demo_changed(demo, tmp_path, *updates: tuple[str, tuple]):
    """An engine on a copy of the demo archive after the ``(sql, parameters)`` updates."""
    db = tmp_path / "archive.db"
    shutil.copy(demo.database, db)
    with sqlite3.connect(db) as conn:
        for sql, parameters in updates:
            conn.execute(sql, parameters)
    return connect(f"sqlite:///{db}")


def _assert_same_evidence(one, other, *more: str) -> None:
    for name in (*_EVIDENCE_FIELDS, *more):
        assert getattr(one, name) == getattr(other, name), (one.mous, name)


def test_gather_and_bulk_agree_on_every_demo_mous(engine):
    from restorekit.demo.rows import rows_for
    from restorekit.evidence.bulk import iter_evidence

    bulk = {ev.mous: ev for ev in iter_evidence(rows_for(DEMO_SPECS))}
    for spec in DEMO_SPECS:
        _assert_same_evidence(gather(engine, spec.mous), bulk[spec.mous])


def test_nulls_read_as_none_one_mous_at_a_time_as_in_bulk(demo, tmp_path):
    """An EB without QA0 or start time, a SchedBlock without a name, products without a size
    (NULLs in the archive) give the same evidence whether one MOUS is gathered or the archive
    is read whole; pandas reads a NULL string as NaN, which is true and cannot be compared with
    a string, and the sizes beside a NULL one as floats."""
    semipass = "uid://A002/Xce574d/Xa33e"
    engine = _demo_changed(
        demo,
        tmp_path,
        (
            "UPDATE aqua_execblock SET qa0status = NULL, starttime = NULL WHERE execblockuid = ?",
            (semipass,),
        ),
        ("UPDATE asa_science SET schedblock_name = NULL WHERE member_ouss_id = ?", (SEED_MOUS,)),
        (
            "UPDATE asa_product_files SET stored_size = NULL WHERE asa_mous_uid = ? "
            "AND ngas_file_id LIKE '%.tgz'",
            (SEED_MOUS,),
        ),
    )
    one = gather(engine, SEED_MOUS)
    whole = next(ev for ev in stream_archive(engine) if ev.mous == SEED_MOUS)
    _assert_same_evidence(one, whole, "product_sizes")
    sizes = one.product_sizes.values()
    assert None in sizes and {type(s) for s in sizes if s is not None} == {int}
    assert one.qa0[semipass] is None and one.eb_start[semipass] is None
    assert [sb.name for sb in one.schedblocks] == [None]
    row = next(r for r in reconcile(one).ebs if r.eb == semipass)
    assert row.reason == "not calibrated, and QA0 (unknown) does not say why"


_NULLABLE = [
    (table.name, column.name)
    for table in schema.metadata.tables.values()
    for column in table.columns
    if column.nullable and not column.primary_key
]


@pytest.mark.parametrize(("table", "column"), _NULLABLE)
def test_gather_and_bulk_agree_where_a_column_is_null(demo, tmp_path, table, column):
    """Every column the contract lets be NULL, NULL on every other row of the demo archive:
    one MOUS gathered and the archive read whole give each MOUS the same evidence, and the
    rules plan it (pandas turns NULLs into NaN, and a column with one into floats)."""
    # Names from the schema's metadata, not from input.
    update = f"UPDATE {table} SET {column} = NULL WHERE rowid % 2 = 0"  # noqa: S608
    engine = _demo_changed(demo, tmp_path, (update, ()))
    for whole in stream_archive(engine):
        one = gather(engine, whole.mous)
        _assert_same_evidence(one, whole, "product_sizes")
        # 12345.0 == 12345: the sizes' type is asked apart.
        assert {type(s) for s in one.product_sizes.values()} <= {int, type(None)}
        reconcile(one)


def test_a_project_the_archive_lacks_beside_the_mouss_own_is_passed_over(demo, tmp_path):
    """Science rows naming an ObsProject that ASA_PROJECT does not hold (as well as the MOUS's
    own): both paths take the first project ASA_PROJECT holds, as the project query joins."""
    engine = _demo_changed(
        demo,
        tmp_path,
        (
            "UPDATE asa_science SET project_uid = 'uid://A001/X0/X1' "
            "WHERE member_ouss_id = ? AND rowid % 2 = 0",
            (SEED_MOUS,),
        ),
    )
    whole = next(ev for ev in stream_archive(engine) if ev.mous == SEED_MOUS)
    assert gather(engine, SEED_MOUS).project == whole.project
    assert whole.project.code == "2017.1.01347.S"
