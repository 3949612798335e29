"""Deliveries as they really are: names, pipeline generations, parameters, fixes, raw names.

The shapes come from the pipeline's own source (export names OUS-level products after the OUS,
without the archive's ``member.`` prefix; task parameters by release) and from JAO's tool that
writes the SACM/JAO fixes (fix calls after the import, ``fixplanets(..., fixuvw = T)``, only the
import where a script has no ``hifa_importdata`` line).
"""

import os
import sqlite3
import subprocess

import pytest

from restorekit.demo import DEMO_MOUS, DEMO_SPECS
from restorekit.demo.documents import tgz
from restorekit.demo.scripts import pipescript
from restorekit.inspection import inspect_mous
from restorekit.restore.ppr_reading import read_ppr
from restorekit.restore.prepare import prepare_restore
from restorekit.restore.rawdata import export_rawdata
from restorekit.restore.scriptgen import restore_script
from restorekit.rules import releases
from restorekit.sources.archive import connect
from restorekit.sources.manifest import parse_manifest, product_name
from restorekit.sources.ngas import LocalNgas
from restorekit.sources.schema import schema_ddl
from restorekit.sources.scripts import parse_script

RESTORABLE = [s.mous for s in DEMO_SPECS if s.pipeline_calibrated]
TARGETS = [None, "2024.2.0.5", "40896 (Pipeline-CASA51-P2-B)"]


# --- the delivered scripts --------------------------------------------------------------------

JAO_PIPESCRIPT = """\
from recipes.almahelpers import fixsyscaltimes # SACM/JAO - Fixes
__rethrow_casa_exceptions = True
context = h_init()
try:
    hifa_importdata(vis=['uid___A002_Xb1_X1', 'uid___A002_Xb1_X2'], session=['session_1', 'session_1'])
    fixsyscaltimes(vis = 'uid___A002_Xb1_X1.ms')# SACM/JAO - Fixes
    fixplanets(vis = 'uid___A002_Xb1_X1.ms', field = '2', fixuvw = T)# SACM/JAO - Fixes
    fixsyscaltimes(vis = 'uid___A002_Xb1_X2.ms')# SACM/JAO - Fixes
    fixplanets(vis = 'uid___A002_Xb1_X2.ms',
      field = '3', # Titan
      fixuvw = T)# SACM/JAO - Fixes
    h_save() # SACM/JAO - Finish weblog after fixes
    h_init() # SACM/JAO - Restart weblog after fixes
    hifa_importdata(vis=['uid___A002_Xb1_X1', 'uid___A002_Xb1_X2'], session=['session_1', 'session_1'])
    hifa_flagdata(pipelinemode="automatic")
finally:
    h_save()
"""  # noqa: E501 (the delivered text, verbatim)


def test_fix_calls_are_read_as_calls_in_order_with_their_own_arguments():
    script = parse_script(JAO_PIPESCRIPT)
    assert [f.render() for f in script.fixes] == [
        "fixsyscaltimes(vis='uid___A002_Xb1_X1.ms')",
        "fixplanets(vis='uid___A002_Xb1_X1.ms', field='2', fixuvw=True)",
        "fixsyscaltimes(vis='uid___A002_Xb1_X2.ms')",
        "fixplanets(vis='uid___A002_Xb1_X2.ms', field='3', fixuvw=True)",
    ]
    assert all(f.literal for f in script.fixes)
    assert len(script.imports) == 2 and script.restore is None
    assert not script.import_only


def test_an_import_without_a_call_is_not_a_fix():
    tp = parse_script(
        "from recipes.almahelpers import fixsyscaltimes # SACM/JAO - Fixes\n"
        "h_init()\ntry:\n    hsd_restoredata (vis=['uid___A002_X1_X2'], session=['session_1'], "
        "ocorr_mode='ao')\nfinally:\n    h_save()\n"
    )
    assert tp.import_only and tp.fixes == [] and tp.casa_generation == 5
    assert tp.restore.task == "hsd_restoredata" and tp.restore.ocorr_mode == "ao"


@pytest.mark.parametrize("task", ["hif_restoredata", "hifv_restoredata", "h_restoredata"])
def test_every_generation_of_restore_task_is_recognised(task):
    script = parse_script(f"{task}(vis=['uid___A002_X1_X2'], session=['session_3'], lazy=False)")
    assert script.restore.task == task and script.restore.keywords == {"lazy": False}
    assert script.restore.session == ["session_3"]


def test_every_keyword_of_the_restore_call_is_kept_in_order():
    call = parse_script(
        "hifa_restoredata (vis=['a', 'b'], session=['session_2', 'session_2'], "
        "ocorr_mode='ca', bdfflags=True, asis='SBSummary ExecBlock', pipelinemode='automatic', "
        "rawdata_dir=somewhere)"
    ).restore
    assert call.session == ["session_2", "session_2"]
    assert list(call.keywords) == ["ocorr_mode", "bdfflags", "asis", "pipelinemode"]
    assert call.opaque == ("rawdata_dir",)


@pytest.mark.parametrize(
    "line",
    [
        "es.fixForCSV2555('uid___A002_X1_X2.ms')# SACM/JAO - Fixes",
        "fixplanets(vis = msname, field = '2', fixuvw = T)",
        "fixsyscaltimes(**{'vis': 'uid___A002_X1_X2.ms'})",
    ],
)
def test_fix_calls_that_are_not_plain_literals_are_never_rendered(line):
    (fix,) = parse_script(line).fixes
    assert not fix.literal
    with pytest.raises(ValueError):
        fix.render()


# --- releases ---------------------------------------------------------------------------------


def test_release_table_facts_from_the_pipeline_source():
    c4 = releases.for_version("r38377")
    assert c4.has("hif_restoredata") and not c4.has("hifa_restoredata")
    c5 = releases.for_version("40896 (Pipeline-CASA51-P2-B)")
    assert c5.exact and c5.has("hifa_restoredata") and c5.has("hsd_restoredata")
    assert "pipelinemode" in c5.parameters("hifa_restoredata")
    assert "dbservice" not in c5.parameters("hsd_importdata")
    assert "pipelinemode" not in releases.for_version("2023.1.0.124").parameters("hifa_restoredata")
    modern = releases.for_version("2024.1.0.8")
    assert "dryrun" not in modern.parameters("hifa_restoredata")
    assert "gainmap" in modern.parameters("hifv_restoredata")
    for epoch in releases.epochs():
        assert "ocorr_mode" not in epoch.tasks.get("hsd_importdata", ())
    assert releases.for_version("42254M (Pipeline-CASA54-P1-B)").casa_generation == 5
    assert releases.for_version("2022.2.0.64").casa_generation == 6


def test_versions_beyond_the_table_are_nearest_not_exact():
    future = releases.for_version("2031.1.0.4")
    assert not future.exact and future.epoch == releases.epochs()[-1]
    assert releases.for_version("not a version") is None
    assert releases.for_date("2016-10-20").has("hif_restoredata")
    assert releases.for_date("2018-07-10").has("hifa_restoredata")
    assert releases.for_date("2010-01-01") is None


# --- the plans of the demo deliveries ---------------------------------------------------------


@pytest.fixture(scope="module")
def store(demo):
    return LocalNgas(demo.ngas)


def _plan(mous, engine, store, target=None):
    return inspect_mous(mous, engine=engine, store=store, pipeline_release=target).plan


def test_names_are_mapped_between_archive_and_manifest(engine, store):
    plan = _plan("uid://A001/X12a3/X80e", engine, store)
    assert plan.product_names == {
        "uid___A001_X12a3_X80e.session_2.caltables.tgz": (
            "member.uid___A001_X12a3_X80e.session_2.caltables.tgz"
        )
    }
    assert product_name("member.x.tgz", {"x.tgz": "calibration"}) == "x.tgz"
    assert product_name("x.tgz", {"member.x.tgz": "calibration"}) == "member.x.tgz"
    assert product_name("x.tgz", {"y.tgz": "calibration"}) is None
    legacy = _plan("uid://A001/X87d/X1c2", engine, store)
    assert legacy.product_names == {} and legacy.restorable


def test_a_manifest_name_no_product_matches_stays_an_error(engine, store, demo):
    ev = inspect_mous("uid://A001/X1320/X2b4", engine=engine, store=store).evidence
    del ev.products["member.uid___A001_X1320_X2b4.session_2.caltables.tgz"]
    from restorekit.rules.reconcile import reconcile

    plan = reconcile(ev)
    missing = [f for f in plan.findings if f.code == "PRODUCTS_MISSING"]
    assert missing and missing[0].severity == "error"
    assert "uid___A001_X1320_X2b4.session_2.caltables.tgz" in missing[0].message
    assert "session_2" not in plan.sessions and "session_1" in plan.sessions


def test_legacy_task_is_kept_for_its_release_and_mapped_for_a_later_one(engine, store):
    own = _plan("uid://A001/X87d/X1c2", engine, store)
    assert own.task == "hif_restoredata" and own.delivered_task == "hif_restoredata"
    later = _plan("uid://A001/X87d/X1c2", engine, store, "2024.2.0.5")
    assert later.task == "hifa_restoredata" and later.delivered_task == "hif_restoredata"
    assert any("restore calls hifa_restoredata" in f.message for f in later.findings)


def test_total_power_import_only_goes_the_ppr_route(engine, store):
    plan = _plan("uid://A001/X133d/X7a2", engine, store)
    assert (plan.route, plan.task, plan.ocorr_mode) == ("ppr", "hsd_restoredata", "ao")
    assert plan.fixes == [] and "FIX_IMPORT_ONLY" in plan.codes


def test_restore_parameters_are_carried_and_dropped_by_release(engine, store):
    mous = "uid://A001/X15a2/X3d7"
    own = _plan(mous, engine, store)
    assert own.restore_parameters == {
        "ocorr_mode": "ca",
        "bdfflags": True,
        "asis": "SBSummary ExecBlock Antenna Station Receiver Source CalAtmosphere CalWVR",
        "pipelinemode": "automatic",
    }
    later = _plan(mous, engine, store, "2024.2.0.5")
    assert "pipelinemode" not in later.restore_parameters
    assert later.restore_parameters["bdfflags"] is True
    (dropped,) = [f for f in later.findings if f.code == "RESTORE_PARAMETER_DROPPED"]
    assert "pipelinemode" in dropped.message


def test_fixes_follow_the_pipescript_and_are_repeated_verbatim(engine, store):
    spec = DEMO_MOUS["uid://A001/X133d/X8c4"]
    delivered = parse_script(pipescript(spec)).fixes
    plan = _plan(spec.mous, engine, store)
    assert plan.route == "script"
    generated = parse_script(restore_script(plan)).fixes
    assert [(f.function, f.args, f.keywords) for f in generated] == [
        (f.function, f.args, f.keywords) for f in delivered
    ]
    casa6 = _plan("uid://A001/X1465/X1b2c", engine, store)
    assert casa6.route == "script" and "FIXES_DISAGREE" in casa6.codes
    assert len(casa6.fixes) == 2


def test_fixplanets_is_imported_from_casatasks_for_casa6_only(engine, store):
    mous = "uid://A001/X133d/X8c4"
    casa5 = restore_script(_plan(mous, engine, store))
    assert "from recipes.almahelpers import fixsyscaltimes" in casa5 and "casatasks" not in casa5
    casa6 = restore_script(_plan(mous, engine, store, "2024.2.0.5"))
    assert "from casarecipes.almahelpers import fixsyscaltimes" in casa6
    assert "from casatasks import fixplanets" in casa6


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("mous", RESTORABLE)
def test_every_generated_call_uses_only_parameters_of_its_release(mous, target, engine, store):
    """Each task call restorekit writes, in the PPR and in the script, against the release data."""
    plan = _plan(mous, engine, store, target)
    release = plan.release
    if target:
        assert release.version == target and release.basis == "setting"
    script = parse_script(restore_script(plan))
    for call in [script.restore, *script.imports]:
        assert release.has(call.task), (call.task, release.describe())
        allowed = set(release.parameters(call.task))
        assert {"vis", "session", *call.keywords} <= allowed, (call.task, call.keywords)
    assert script.restore.task == plan.task
    # The PPR's ParameterSet is the plan's restore_parameters (checked on read-back).
    assert set(plan.restore_parameters) <= set(release.parameters(plan.task))


@pytest.mark.parametrize("mous", RESTORABLE)
def test_prepared_products_hold_every_manifest_name(mous, engine, store, tmp_path):
    prepared = prepare_restore(mous, tmp_path, engine=engine, store=store)
    layout = prepared.layout
    manifest = parse_manifest((layout.products / prepared.plan.manifest).read_bytes())
    restored = {name for name, _ in prepared.plan.sessions.items()}
    for session in manifest.sessions:
        if session.name not in restored:
            continue
        assert (layout.products / session.caltables).is_file(), session.caltables
        for asdm in session.asdms:
            if (layout.products / asdm.applycmds).exists() or asdm.name.endswith("X1f"):
                continue
            raise AssertionError(f"{asdm.applycmds} missing")
    for manifest_name, archive_name in prepared.plan.product_names.items():
        assert os.path.samefile(layout.products / manifest_name, layout.products / archive_name)
    reading = read_ppr(layout.ppr.read_bytes())
    planned = [
        (eb.replace("uid://", "uid___").replace("/", "_"), s) for eb, s in prepared.plan.restore_ebs
    ]
    assert list(zip([n for n, _ in reading.asdms], reading.sessions, strict=True)) == planned
    for command, parameters in reading.commands:
        assert command == prepared.plan.task
        assert set(parameters) == set(prepared.plan.restore_parameters)


# --- raw data names ---------------------------------------------------------------------------


def _tarball_style_export(bin_dir):
    tool = bin_dir / "asdmExportLight"
    tool.write_text(
        '#!/bin/sh\nname=$(echo "$3" | sed "s#[:/]#_#g")\nmkdir -p "$2/$name.asdm.sdm"\n'
    )
    tool.chmod(0o755)


def test_export_leaves_the_bare_name_in_rawdata(engine, store, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tarball_style_export(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    prepared = prepare_restore("uid://A001/X1320/X2b4", tmp_path / "a", engine=engine, store=store)
    status = export_rawdata(prepared.plan, prepared.layout)
    assert set(status.values()) == {"exported"}
    names = sorted(p.name for p in prepared.layout.rawdata.iterdir())
    assert names == sorted(
        eb.replace("uid://", "uid___").replace("/", "_") for eb, _ in prepared.plan.restore_ebs
    )
    other = prepare_restore("uid://A001/X1301/X1a6", tmp_path / "b", engine=engine, store=store)
    subprocess.run(["bash", str(other.layout.rawdata_script)], check=True)
    subprocess.run(["bash", str(other.layout.rawdata_script)], check=True)  # a rerun is a no-op
    assert all(not p.name.endswith(".sdm") for p in other.layout.rawdata.iterdir())
    assert len(list(other.layout.rawdata.iterdir())) == len(other.plan.restore_ebs)


# --- an archive the demo fixtures did not make ------------------------------------------------

SEED_RESTORE = """\
from recipes.almahelpers import fixsyscaltimes # SACM/JAO - Fixes
__rethrow_casa_exceptions = True
h_init()
try:
    hifa_importdata (dbservice=False, bdfflags=False, vis=['../rawdata/uid___A002_Xcf92df_X3453'], session=['session_2'], ocorr_mode='ca')
    fixsyscaltimes(vis = 'uid___A002_Xcf92df_X3453.ms')# SACM/JAO - Fixes
    h_save() # SACM/JAO - Finish weblog after fixes
    h_init() # SACM/JAO - Restart weblog after fixes
    hifa_restoredata (vis=['uid___A002_Xcf92df_X3453'], session=['session_2'], ocorr_mode='ca')
finally:
    h_save()
"""  # noqa: E501 (the seed's restore script, verbatim)

HAND_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<piperesults name="uid___A001_X12a3_X80e">
  <ous name="uid___A001_X12a3_X80e">
    <procedure_name name="hifa_calimage"/>
    <session name="session_2">
      <caltables name="uid___A001_X12a3_X80e.session_2.caltables.tgz"/>
      <asdm name="uid___A002_Xcf92df_X3453.ms">
        <finalflags name="uid___A002_Xcf92df_X3453.ms.flagversions.tgz"/>
        <applycmds name="uid___A002_Xcf92df_X3453.ms.calapply.txt"/>
      </asdm>
    </session>
    <restorescript name="uid___A001_X12a3_X80e.hifa_calimage.casa_piperestorescript.py"/>
    <pipescript name="uid___A001_X12a3_X80e.hifa_calimage.casa_pipescript.py"/>
  </ous>
</piperesults>
"""


MS = "uid___A002_Xcf92df_X3453.ms"
TABLE = f"{MS}.hifa_bandpass.s6_3.spw0.channel.solintinf.bcal.tbl"
CALAPPLY = (
    f"applycal(vis='/lustre/processing/{MS}', field='', intent='', spw='0', antenna='', "
    f"gaintable=['/lustre/processing/{TABLE}'], gainfield=[''], spwmap=[[]], "
    "interp=['linear,linearflag'], calwt=[False])\n"
)


@pytest.fixture
def hand_archive(tmp_path):
    """The seed's curveball as the seed lists it, written by hand into a fresh schema."""
    db = tmp_path / "archive.db"
    ngas = tmp_path / "ngas"
    ngas.mkdir()
    m = "member.uid___A001_X12a3_X80e"
    files = {
        f"{m}.calimage.pipeline_manifest.xml": ("script", HAND_MANIFEST),
        f"{m}.hifa_calimage.casa_piperestorescript.py": ("script", SEED_RESTORE),
        f"{m}.hifa_calimage.casa_pipescript.py": ("script", SEED_RESTORE),
        f"{m}.hifa_calimage.auxproducts.tgz": ("calibration", "aux"),
        f"{m}.session_2.auxcaltables.tgz": ("calibration", "aux"),
        f"{m}.session_2.caltables.tgz": ("calibration", tgz({f"{TABLE}/table.dat": b"t"})),
        "uid___A002_Xcf92df_X3453.ms.calapply.txt": ("calibration", CALAPPLY),
        "uid___A002_Xcf92df_X3453.ms.flagversions.tgz": (
            "calibration",
            tgz(
                {
                    f"{MS}.flagversions/FLAG_VERSION_LIST": b"Pipeline_Final : final\n",
                    f"{MS}.flagversions/flags.Pipeline_Final/table.dat": b"f",
                }
            ),
        ),
        "uid___A002_Xcf92df_X3453_target.ms.auxcalapply.txt": ("calibration", "x"),
        f"{m}.scriptForPI.py": ("script", "# for the PI\n"),
    }
    for name, (_, data) in files.items():
        (ngas / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    conn = sqlite3.connect(db)
    conn.executescript(schema_ddl())
    mous, gous, sous = "uid://A001/X12a3/X80e", "uid://A001/X12a3/X80d", "uid://A001/X12a3/X80c"
    project, status = "uid://A001/X1221/Xdf8", "uid://A001/X1221/Xdfc"
    conn.execute("INSERT INTO ASA_PROJECT VALUES (?,?,?,?)", (project, "2017.1.01347.S", "t", "p"))
    for i, eb in enumerate(["uid://A002/Xce574d/Xa33e", "uid://A002/Xcf92df/X3453"]):
        conn.execute(
            "INSERT INTO ASA_SCIENCE VALUES (?,?,?,?,?,?,?)",
            (f"d{i}", eb, mous, gous, project, "uid://A001/X12a3/X804", "NGC_253_a_06_TM1"),
        )
    conn.executemany(
        "INSERT INTO AQUA_EXECBLOCK VALUES (?,?,?,?,?)",
        [
            (
                "uid://A002/Xce574d/Xa33e",
                "uid://A001/X12a3/X804",
                "SemiPass",
                "2018-06-06 12:41:10.826",
                "2018-06-06 13:07:22.036",
            ),
            (
                "uid://A002/Xcf92df/X3453",
                "uid://A001/X12a3/X804",
                "Pass",
                "2018-07-10 10:34:32.962",
                "2018-07-10 11:00:46.858",
            ),
        ],
    )
    conn.executemany(
        "INSERT INTO ASA_PRODUCT_FILES VALUES (?,?,?,?)",
        [(mous, n, c, (ngas / n).stat().st_size) for n, (c, _) in files.items()],
    )
    conn.execute("INSERT INTO AQUA_OUS VALUES (?,?,?,?)", (mous, project, "X659301709", "Pass"))
    from restorekit.demo.fixtures import _seed_ousstatus

    conn.executemany(
        "INSERT INTO OBS_UNIT_SET_STATUS VALUES (?,?,?,?,?,?,?)",
        [
            (sous, None, "Delivered", None, status, project, None),
            (gous, None, "Delivered", sous, status, project, None),
            (mous, "X659301709", "Delivered", gous, status, project, _seed_ousstatus()),
        ],
    )
    conn.execute(
        "INSERT INTO SCHED_BLOCK_STATUS VALUES (?,?,?,?,?)",
        ("uid://A001/X12a3/X80f", "uid://A001/X12a3/X804", "FullyObserved", mous, project),
    )
    conn.commit()
    conn.close()
    return connect(f"sqlite:///{db}"), LocalNgas(ngas)


def test_a_hand_built_real_shaped_delivery_is_prepared(hand_archive, tmp_path):
    engine, store = hand_archive
    prepared = prepare_restore(
        "uid://A001/X12a3/X80e", tmp_path / "root", engine=engine, store=store
    )
    plan = prepared.plan
    assert plan.restorable and plan.route == "script"
    assert plan.sessions == {"session_2": ["uid://A002/Xcf92df/X3453"]}
    products = prepared.layout.products
    for name in (
        "uid___A001_X12a3_X80e.session_2.caltables.tgz",
        "uid___A002_Xcf92df_X3453.ms.calapply.txt",
        "uid___A002_Xcf92df_X3453.ms.flagversions.tgz",
    ):
        assert (products / name).is_file(), name
    reading = read_ppr(prepared.layout.ppr.read_bytes())
    assert reading.sessions == ["session_2"]
    assert reading.asdms == [("uid___A002_Xcf92df_X3453", "uid://A002/Xcf92df/X3453")]


def test_the_manifest_points_to_the_scripts_it_delivered():
    from restorekit.demo.documents import deliverables
    from restorekit.evidence.gather import read_documents

    from .helpers import MemoryNgas, evidence_for

    spec = DEMO_MOUS["uid://A001/X12a3/X80e"]
    ev = evidence_for(spec, documents=False)
    files = {d.name: d.render() for d in deliverables(spec)}
    # An older restore script beside it, which a guess by suffix would pick (sorted first).
    stale = "member.uid___A001_X12a3_X80e.calimage_old.casa_piperestorescript.py"
    files[stale] = b"h_init()\nhifa_restoredata(vis=['x'], session=['session_1'])\n"
    ev.products[stale] = "script"
    read_documents(ev, MemoryNgas(files))
    assert ev.restore_script.fixes, "read the script the manifest names, not the stale one"
