import os
import shutil
import sqlite3

import pandas as pd
import pytest

from restorekit import archive_survey
from restorekit.archive_survey import IN_LIST_LIMIT, survey
from restorekit.demo import DEMO_SPECS, build_archive
from restorekit.demo.synthetic import Rates, synthetic_specs
from restorekit.errors import InputError, NgasError, UnknownMousError
from restorekit.fsutil import output_file
from restorekit.inspection import inspect_mous
from restorekit.rules.findings import CODES
from restorekit.sources.archive import RoundTrips, connect
from restorekit.sources.ngas import HttpNgas, LocalNgas, NgasUnreachableError
from restorekit.survey_table import survey_codes

from .helpers import run_cli

DATABASE_CODES = {c for c in CODES if CODES[c].from_database}


def test_survey_agrees_with_the_single_mous_plans(engine, demo):
    result = survey(engine)
    assert len(result.table) == len(DEMO_SPECS)
    rows = result.table.set_index("mous")
    store = LocalNgas(demo.ngas)
    for spec in DEMO_SPECS:
        plan = inspect_mous(spec.mous, engine=engine, store=store).plan
        flagged = {code for code in survey_codes(False) if rows.loc[spec.mous, code]}
        assert flagged == plan.codes & DATABASE_CODES, spec.mous
        assert rows.loc[spec.mous, "restorable"] == plan.restorable


def test_deep_survey_agrees_on_every_code(engine, demo):
    result = survey(engine, deep=True, store=LocalNgas(demo.ngas), jobs=4)
    rows = result.table.set_index("mous")
    store = LocalNgas(demo.ngas)
    for spec in DEMO_SPECS:
        plan = inspect_mous(spec.mous, engine=engine, store=store).plan
        flagged = {code for code in survey_codes(True) if rows.loc[spec.mous, code]}
        assert flagged == plan.codes, spec.mous
        assert rows.loc[spec.mous, "route"] == plan.route


def test_each_demo_oddity_is_counted(engine, demo):
    summary = survey(engine, deep=True, store=LocalNgas(demo.ngas)).summary.set_index("code")
    counts = summary.mouses.to_dict()
    expected = {
        "NOT_CALIBRATED": 1,
        "OUSSTATUS_MISSING": 1,
        "OUSSTATUS_MALFORMED": 1,
        "CALIBRATED_EB_UNKNOWN": 1,
        "TOTAL_POWER": 2,
        "MULTIPLE_SCHEDBLOCKS": 1,
        "EB_NOT_CALIBRATED_UNEXPLAINED": 1,
        "SESSION_NUMBER_MISMATCH": 1,
        "EB_EXCLUDED_BY_QA0": 3,  # the seed's SemiPass EB, the failed EBs of two gaps
        "DATA_FIXES": 3,  # the seed's CASA 5 fixes, the CASA 6 delivery, fixplanets
        "SESSION_NUMBERS_GAP": 5,  # seed, two gaps, shifted manifest, unexplained EB
        "FIXES_DISAGREE": 1,  # the CASA 6 delivery: its restore script only imports
        "FIX_IMPORT_ONLY": 1,  # the total-power delivery that imports and never calls
        "LEGACY_RESTORE_TASK": 1,  # the CASA 4.7 hif_restoredata delivery
        "RELEASE_INFERRED": 3,  # manifests before August 2018: the seed's two and CASA 4.7
        "PRODUCT_NAME_MAPPED": 16,  # every calibrated delivery with member. names
    }
    assert {c: n for c, n in counts.items() if n} == expected
    assert summary.loc["NOT_CALIBRATED", "example"] == "uid://A001/X1296/X7c1"
    assert summary.loc["NOT_CALIBRATED", "share_percent"] == round(100 / len(DEMO_SPECS), 2)


def test_round_trips_do_not_grow_with_the_archive(tmp_path):
    small = connect(build_archive(tmp_path / "s", synthetic_specs(50, 3), files="none").url)
    large = connect(build_archive(tmp_path / "l", synthetic_specs(400, 3), files="none").url)
    for processes in (1, 2):
        a = survey(small, processes=processes)
        b = survey(large, processes=processes)
        # one statement per table and worker, plus one to split the uids between workers
        assert a.round_trips == b.round_trips == 8 * processes + (processes > 1)
        assert len(b.table) > len(a.table)


def test_parallel_and_serial_agree(tmp_path):
    engine = connect(build_archive(tmp_path / "a", synthetic_specs(300, 5), files="none").url)
    serial, parallel = survey(engine, processes=1), survey(engine, processes=2)
    assert serial.table.equals(parallel.table)
    assert serial.summary.equals(parallel.summary)


@pytest.mark.parametrize("chunk", [1, 7])
def test_planning_a_chunk_at_a_time_changes_no_row(tmp_path, engine, demo, monkeypatch, chunk):
    synthetic = connect(build_archive(tmp_path / "a", synthetic_specs(120, 5), files="none").url)
    fast = survey(synthetic, processes=1)
    deep = survey(engine, deep=True, store=LocalNgas(demo.ngas), jobs=2)
    monkeypatch.setattr(archive_survey, "FAST_CHUNK", chunk)
    monkeypatch.setattr(archive_survey, "DEEP_CHUNK", chunk)
    assert survey(synthetic, processes=1).table.equals(fast.table)
    assert survey(engine, deep=True, store=LocalNgas(demo.ngas), jobs=2).table.equals(deep.table)


def test_a_list_of_mouses_uses_chunked_in_lists(tmp_path):
    specs = list(synthetic_specs(IN_LIST_LIMIT + 200, 7))
    engine = connect(build_archive(tmp_path / "a", specs, files="none").url)
    wanted = [s.mous for s in specs[: IN_LIST_LIMIT + 50]]
    with RoundTrips(engine) as trips:
        subset = survey(engine, wanted, processes=1)
    assert set(subset.table.mous) == set(wanted)
    whole = survey(engine, processes=1).table.set_index("mous")
    mine = subset.table.set_index("mous")
    common = mine.index.intersection(whole.index)
    assert len(common) > IN_LIST_LIMIT
    assert mine.loc[common].equals(whole.loc[common])
    # asked for by name, an MOUS whose every EB failed QA0 (so absent from ASA_SCIENCE) is
    # still classified: it has nothing to restore
    assert not mine.drop(common).restorable.any()
    assert all("IN (" in s or "IN (__[POSTCOMPILE" in s or "IN (?" in s for s in trips.statements)


def test_a_long_list_is_classified_as_a_short_one(tmp_path, monkeypatch):
    """Above WHOLE_TABLE_THRESHOLD the archive is streamed whole and the list picked from it;
    the MOUSes asked for that have no science rows (every EB failed QA0) are still classified,
    as a short list classifies them, not dropped."""
    specs = list(synthetic_specs(300, 7))
    engine = connect(build_archive(tmp_path / "a", specs, files="none").url)
    wanted = [s.mous for s in specs[::2]]
    short = survey(engine, wanted, processes=1)
    streamed = set(survey(engine, processes=1).table.mous)
    assert set(short.table.mous) == set(wanted) and not set(wanted) <= streamed
    monkeypatch.setattr(archive_survey, "WHOLE_TABLE_THRESHOLD", 10)
    assert survey(engine, wanted, processes=1).table.equals(short.table)


def test_a_list_naming_an_mous_the_archive_lacks_is_refused(engine, demo, tmp_path):
    """As `restorekit plan` refuses an unknown MOUS, the survey of a list does, naming it,
    rather than classifying it as an uncalibrated MOUS without an OUSStatus."""
    typo = "uid://A001/X12a3/X80f"  # the seed's MOUS is X80e; X80f is its SBStatus
    with pytest.raises(UnknownMousError, match=r"1 of the 2 MOUSes .* \(uid://A001/X12a3/X80f\)"):
        survey(engine, ["uid://A001/X12a3/X80e", typo])
    mous_file = tmp_path / "mous.txt"
    mous_file.write_text(f"uid://A001/X12a3/X80e\n{typo}\n")
    result = run_cli("survey", "--db", demo.url, "--mous-file", str(mous_file))
    assert result.returncode == 2 and typo in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_synthetic_archives_are_deterministic_and_shaped():
    a = list(synthetic_specs(300, seed=11))
    b = list(synthetic_specs(300, seed=11))
    assert [s.mous for s in a] == [s.mous for s in b]
    assert [len(s.sessions) for s in a] == [len(s.sessions) for s in b]
    assert {len(s.sessions) for s in a} <= set(range(1, 7))
    assert all(1 <= len(x.ebs) <= 4 for s in a for x in s.sessions)
    qa0 = [eb.qa0 for s in a for _, eb in s.all_ebs()]
    assert 0 < qa0.count("SemiPass") < len(qa0) * 0.1
    none = list(
        synthetic_specs(200, seed=1, rates=Rates(semipass=0, fail=0, xml_null=0, xml_malformed=0))
    )
    assert all(eb.qa0 == "Pass" for s in none for _, eb in s.all_ebs())
    assert all(s.xml == "generated" for s in none)


def test_cli_survey(demo, tmp_path):
    out = tmp_path / "survey.csv"
    mous_file = tmp_path / "mous.txt"
    mous_file.write_text("# two of them\nuid://A001/X12a3/X80e\nuid___A001_X1296_X7c1\n")
    result = run_cli("survey", "--db", demo.url, "--mous-file", str(mous_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "2 MOUSes surveyed" in result.stdout and "NOT_CALIBRATED" in result.stdout
    assert out.read_text().count("\n") == 3
    mous_file.write_text("uid://A001/X12a3/X80e\nnot-a-uid\n")
    result = run_cli("survey", "--db", demo.url, "--mous-file", str(mous_file))
    assert result.returncode == 2 and "line 2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "out, problem",
    [
        ("missing/survey.csv", "which is not a directory; create it"),
        (".", "is a directory; give a file name"),
        ("locked/survey.csv", "is not writable"),
    ],
)
def test_cli_survey_checks_out_before_it_surveys(demo, tmp_path, monkeypatch, out, problem):
    """A path --out cannot take is said at once (exit 2), not after an hour of deep survey
    as an internal error."""
    (tmp_path / "locked").mkdir(mode=0o500)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: "locked" not in str(p) and real_access(p, m))
    with pytest.raises(InputError, match=problem):
        output_file(tmp_path / out, what="--out")
    if out != "locked/survey.csv":  # root writes anywhere: os.access is only patched here
        result = run_cli("survey", "--db", demo.url, "--out", str(tmp_path / out))
        assert result.returncode == 2 and problem in result.stderr, result.stderr
        assert "surveyed" not in result.stdout


def test_cli_synthetic_archive(tmp_path):
    result = run_cli("demo-archive", str(tmp_path / "syn"), "--mous", "120", "--seed", "4")
    assert result.returncode == 0, result.stderr
    engine = connect(f"sqlite:///{tmp_path / 'syn' / 'archive.db'}")
    assert len(survey(engine).table) == 120


def test_survey_statements_compile_for_oracle():
    import sqlalchemy as sa
    from sqlalchemy.dialects import oracle

    from restorekit.sources import schema

    science = schema.asa_science.c
    status = schema.obs_unit_set_status
    statements = [
        sa.select(science.member_ouss_id, science.asdm_uid).distinct(),
        sa.select(status.c.status_entity_id, status.c.xml).where(status.c.xml.is_not(None)),
        sa.select(*schema.asa_product_files.columns).where(
            schema.asa_product_files.c.asa_mous_uid.in_(sa.bindparam("ids", expanding=True))
        ),
    ]
    for stmt in statements:
        sql = str(stmt.compile(dialect=oracle.dialect()))
        assert "uid://" not in sql and "'" not in sql
    chunk = [f"uid://A001/X1/X{i:x}" for i in range(IN_LIST_LIMIT)]
    compiled = (
        statements[2]
        .params(ids=chunk)
        .compile(dialect=oracle.dialect(), compile_kwargs={"render_postcompile": True})
    )
    sql = str(compiled)
    assert "uid://" not in sql  # still bound, one bind variable per uid
    assert sql.count(":ids_") == IN_LIST_LIMIT <= 1000


def test_result_reports_its_processes(engine):
    assert survey(engine, processes=1).processes == 1
    parallel = survey(engine, processes=2)
    assert parallel.processes == 2 and len(parallel.worker_peak_mb) == 1


def test_counts_per_mous(engine):
    rows = survey(engine).table.set_index("mous")
    seed = rows.loc["uid://A001/X12a3/X80e"]
    assert (seed.ebs, seed.ousstatus_sessions, seed.calibrated_ebs, seed.restore_ebs) == (
        2,
        2,
        1,
        1,
    )
    null_xml = rows.loc["uid://A001/X1465/X2a10"]  # sessions unknown without OUSStatus
    assert null_xml.calibrated_ebs == 2 and pd.isna(null_xml.ousstatus_sessions)


def test_the_fast_survey_never_reports_a_count_it_cannot_know(engine, demo):
    """Per-MOUS restore counts agree with plan, or are empty where only documents can tell."""
    fast = survey(engine).table.set_index("mous")
    store = LocalNgas(demo.ngas)
    empty = set()
    for spec in DEMO_SPECS:
        plan = inspect_mous(spec.mous, engine=engine, store=store).plan
        row = fast.loc[spec.mous]
        if pd.isna(row.restore_ebs):
            empty.add(spec.mous)
            assert pd.isna(row.restore_sessions)
            continue
        assert row.restore_ebs == sum(len(v) for v in plan.sessions.values()), spec.mous
        assert row.restore_sessions == len(plan.sessions), spec.mous
    # The NULL OUSStatus and the shifted manifest: only the manifest can tell their sessions.
    assert empty == {"uid://A001/X1465/X2a10", "uid://A001/X1465/X5e0c"}


def test_a_deep_survey_keeps_documents_and_a_rerun_fetches_only_what_changed(
    engine, demo, tmp_path
):
    from restorekit.sources.ngas import LocalNgas

    class Counting(LocalNgas):
        def __init__(self, directory):
            super().__init__(directory)
            self.opened: list[str] = []

        def stream(self, file_id, offset=0):
            self.opened.append(file_id)
            return super().stream(file_id, offset)

    cache = tmp_path / "documents"
    first = Counting(demo.ngas)
    cold = survey(engine, deep=True, store=first, cache=cache, processes=1)
    assert first.opened and cold.documents_stored == len(set(first.opened))
    assert cold.documents_fetched == len(first.opened)
    # Forked workers too: the counts are shared, the documents kept once.
    warm = survey(engine, deep=True, store=LocalNgas(demo.ngas), cache=cache, processes=2)
    assert warm.processes == 2 and warm.documents_fetched == 0
    assert warm.documents_cached == cold.documents_stored
    assert warm.table.equals(cold.table)  # the same answer from the cache
    # A document the archive now records with another size is fetched again.
    documents = sorted(p.name for p in cache.iterdir() if not p.name.endswith(".json"))
    name, size = next(d for d in documents if "pipeline_manifest" in d).rsplit(".", 1)
    for kept in cache.glob(f"{name}.{size}*"):  # the document and its reading
        moved = kept.name.replace(f"{name}.{size}", f"{name}.{int(size) + 1}")
        kept.rename(cache / moved)
    third = Counting(demo.ngas)
    survey(engine, deep=True, store=third, cache=cache, processes=1)
    assert third.opened == [name]


def test_the_deep_survey_counts_each_deliverys_fixes_as_the_plan_does(engine, demo):
    from restorekit.inspection import inspect_mous
    from restorekit.sources.ngas import LocalNgas
    from restorekit.survey_table import fixes_answer

    store = LocalNgas(demo.ngas)
    result = survey(engine, deep=True, store=store)
    rows = result.table.set_index("mous")
    for spec in DEMO_SPECS:
        plan = inspect_mous(spec.mous, engine=engine, store=store, allow_degraded=True).plan
        assert rows.loc[spec.mous, "fixes"] == ",".join(sorted({f.function for f in plan.fixes}))
    by_fix = fixes_answer(result.table)["by fix"].set_index("what")
    scripted = sum(1 for v in rows["fixes"] if v)
    assert by_fix.loc["any data fix (route script)", "mouses"] == scripted
    assert by_fix.loc["fixsyscaltimes", "mouses"] >= by_fix.loc["fixplanets", "mouses"] >= 1
    # Without the scripts (the fast survey) the fixes are unknown, never "none".
    assert survey(engine).table["fixes"].isna().all()
    assert fixes_answer(survey(engine).table) == {}


def _expected_fixes(spec) -> str:
    """What the delivered scripts of ``spec`` call, told from the spec alone."""
    if not spec.fixes or spec.fix_calls == "none" or not spec.calibrated_sessions():
        return ""
    return ",".join(sorted({"fixsyscaltimes"} | ({"fixplanets"} if spec.planet_fields else set())))


def test_a_synthetic_archive_with_documents_is_counted_exactly(tmp_path):
    rates = Rates(fixes=0.4, extra_parameters=0.3, xml_null=0, xml_malformed=0)
    specs = list(synthetic_specs(240, seed=7, rates=rates))
    built = build_archive(tmp_path / "a", specs, files="documents")
    names = {p.name for p in built.ngas.iterdir()}
    assert names and all(n.endswith((".xml", ".py")) for n in names)  # documents, no tarballs
    result = survey(connect(built.url), deep=True, store=LocalNgas(built.ngas), jobs=4)
    rows = result.table.set_index("mous")
    assert not result.degraded
    for spec in specs:
        if spec.mous in rows.index:
            assert rows.loc[spec.mous, "fixes"] == _expected_fixes(spec), spec.mous
    # Every shape of the eras and the rates occurs.
    kinds = {(s.fixes, s.fix_calls, bool(s.planet_fields)) for s in specs if s.fixes}
    assert {("casa5", "both", False), ("casa6", "pipescript", False)} <= kinds
    assert any(calls == "none" for _, calls, _ in kinds) and any(p for *_, p in kinds)
    assert {s.archive_prefix for s in specs} == {"", "member."}
    assert {s.restore_task for s in specs} == {None, "hif_restoredata"}
    assert {s.manifest_versions for s in specs} == {True, False}
    imports_only = {s.mous for s in specs if s.fixes and s.fix_calls == "none"}
    assert imports_only and imports_only <= set(rows.index[rows["FIX_IMPORT_ONLY"]])
    extra = {
        s.mous for s in specs if "pipelinemode" in s.restore_keywords and s.calibrated_sessions()
    }
    rejected = set(rows.index[rows["rejected_by_newest"].fillna("").str.contains("pipelinemode")])
    assert extra and rejected == extra


def test_synthetic_eras_follow_the_release_notes():
    from restorekit.demo.synthetic import ERAS

    assert ERAS[6].casa == "5.4.0-70" and ERAS[6].pipeline == "42254M (Pipeline-CASA54-P1-B)"
    assert ERAS[9].casa == "6.4.1.12" and ERAS[9].pipeline == "2022.2.0.64"
    assert ERAS[8].code_year == 2021 and ERAS[7].code_year == 2019  # no 2020 call
    assert not ERAS[5].versions and ERAS[6].versions  # versions in manifests from Aug 2018
    assert ERAS[4].restore_task == "hif_restoredata" and ERAS[4].prefix == ""


def test_rates_are_set_by_name_and_checked():
    import pytest

    from restorekit.demo.synthetic import parse_rates
    from restorekit.errors import InputError

    assert parse_rates(["fixes=0.5", "fixplanets=1"]) == Rates(fixes=0.5, fixplanets=1.0)
    with pytest.raises(InputError, match="no rate 'fix'.*fixes"):
        parse_rates(["fix=0.5"])
    with pytest.raises(InputError, match="probability"):
        parse_rates(["fixes=2"])


def test_cli_synthetic_archive_with_documents_and_rates(tmp_path):
    target = tmp_path / "syn"
    result = run_cli(
        "demo-archive", str(target), "--mous", "40", "--with-files", "--rate", "fixes=1"
    )
    assert result.returncode == 0, result.stderr
    scripts = [p.read_text() for p in (target / "ngas").glob("*casa_pipescript.py")]
    assert scripts and all("SACM/JAO - Fixes" in s for s in scripts)
    bad = run_cli("demo-archive", str(tmp_path / "x"), "--mous", "4", "--rate", "nope=1")
    assert bad.returncode == 2 and "no rate 'nope'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_progress_is_reported_to_the_end(engine, demo):
    calls = []
    result = survey(
        engine, deep=True, store=LocalNgas(demo.ngas), progress=lambda *a: calls.append(a)
    )
    done, total, fetched = calls[-1]
    assert done == total == len(result.table) and fetched == result.documents_fetched > 0


def test_an_interrupted_deep_survey_resumes_from_its_cache(engine, demo, tmp_path):
    import pytest

    class Interrupting(LocalNgas):
        def __init__(self, directory, after):
            super().__init__(directory)
            self.after = after

        def stream(self, file_id, offset=0):
            self.after -= 1
            if self.after < 0:
                raise KeyboardInterrupt
            return super().stream(file_id, offset)

    cache = tmp_path / "documents"
    everything = survey(engine, deep=True, store=LocalNgas(demo.ngas), processes=1)
    with pytest.raises(KeyboardInterrupt):
        survey(engine, deep=True, store=Interrupting(demo.ngas, 20), cache=cache, processes=1)
    kept = len([p for p in cache.iterdir() if not p.name.endswith(".json")])
    assert 0 < kept <= 20
    resumed = survey(engine, deep=True, store=LocalNgas(demo.ngas), cache=cache)
    assert resumed.documents_cached == kept
    assert resumed.documents_fetched == everything.documents_fetched - kept
    assert resumed.table.equals(everything.table)


def test_the_newest_pipeline_rejects_the_delivered_pipelinemode(engine, demo):
    rows = survey(engine, deep=True, store=LocalNgas(demo.ngas)).table.set_index("mous")
    assert rows.loc["uid://A001/X15a2/X3d7", "rejected_by_newest"] == "pipelinemode"
    assert rows.loc["uid://A001/X12a3/X80e", "rejected_by_newest"] == ""


def test_the_fixes_explorer_lists_each_groups_mouses(engine, demo):
    from restorekit.frontends.widgets import fixes_explorer
    from restorekit.survey_table import fix_group_counts, fix_mouses

    table = survey(engine, deep=True, store=LocalNgas(demo.ngas)).table
    mouses = fix_mouses(table)
    assert "uid://A001/X12a3/X80e" in set(mouses.mous)  # the seed: fixsyscaltimes
    assert "uid://A001/X133d/X7a2" in set(mouses[mouses.import_only].mous)
    assert "uid://A001/X15a2/X3d7" in set(mouses[mouses.rejected_by_newest != ""].mous)
    assert dict(fix_group_counts(mouses, "fix"))["fixplanets"] == 1
    box = fixes_explorer(mouses)
    by, groups = box.children[1].children
    view = box.children[2]
    by.value = "fix"
    groups.value = "fixplanets"
    assert "X8c4" in view.value and "X80e" not in view.value
    by.value = "proposal cycle"
    assert groups.value in {name for name, _ in fix_group_counts(mouses, "proposal cycle")}


def test_values_that_name_no_mous_are_counted_apart(engine, demo, tmp_path):
    """A MEMBER_OUSS_ID that is not a uid as the archive writes one is no MOUS: `plan` cannot
    take it, so the survey neither classifies it nor counts it in the shares, and neither
    survey nor `restorekit list` shows it as an MOUS; both say so."""
    db = tmp_path / "archive.db"
    shutil.copy(demo.database, db)
    odd = ["N/A", " uid://A001/X12a3/X80e", "uid___A001_X12a3_X80e", "uid://A001/X12a3/X80e\n"]
    with sqlite3.connect(db) as conn:
        for n, value in enumerate(odd):
            conn.execute(
                "INSERT INTO asa_science SELECT dataset_id || ?, asdm_uid, ?, group_ouss_id, "
                "project_uid, schedblock_uid, schedblock_name FROM asa_science "
                "WHERE member_ouss_id = 'uid://A001/X12a3/X80e'",
                (f"-odd{n}", value),
            )
    changed = connect(f"sqlite:///{db}")
    store = LocalNgas(demo.ngas)
    for deep in (False, True):
        expected = survey(engine, deep=deep, store=store, processes=1)
        for processes in (1, 2):
            calls: list[tuple] = []
            result = survey(
                changed, deep=deep, store=store, processes=processes,
                progress=lambda *a, calls=calls: calls.append(a),
            )  # fmt: skip
            assert result.table.equals(expected.table), (deep, processes)
            assert result.summary.equals(expected.summary), (deep, processes)
            assert result.not_mouses == sorted(odd)
            done, total, _ = calls[-1]
            assert done == len(DEMO_SPECS) + len(odd) and total in (0, done)
    printed = run_cli("survey", "--db", f"sqlite:///{db}")
    assert printed.returncode == 0, printed.stderr
    assert f"{len(DEMO_SPECS)} MOUSes surveyed" in printed.stdout
    assert (
        "4 MEMBER_OUSS_ID values of ASA_SCIENCE are not MOUS uids, left out of the survey ("
        in printed.stdout
    )
    assert "' uid://A001/X12a3/X80e'" in printed.stdout and "'N/A'" in printed.stdout
    # said before the shares that leave them out, not below every table
    assert printed.stdout.index("MEMBER_OUSS_ID") < printed.stdout.index("share_percent")
    listed = run_cli("list", "--db", f"sqlite:///{db}")
    assert listed.returncode == 0, listed.stderr
    assert "N/A" not in listed.stdout.split("MEMBER_OUSS_ID")[0]
    assert listed.stdout.count("uid://A001/X12a3/X80e") == 1 + 2  # its row; two odd values shown
    assert (
        "left out of the list (' uid://A001/X12a3/X80e', 'N/A', 'uid://A001/X12a3/X80e\\n'"
        in listed.stdout
    )
    from restorekit.frontends.widgets import mous_picker

    box = mous_picker(f"sqlite:///{db}").children[0].children[0]
    assert sorted(box.options) == sorted(s.mous for s in DEMO_SPECS)


def test_a_deep_survey_stops_when_ngas_cannot_be_reached(engine, demo, monkeypatch):
    """NGAS down is not a property of each MOUS: rather than count every MOUS apart and print
    shares of the few left (the uncalibrated one at 100 %), the survey stops, exit 1."""
    monkeypatch.setattr("restorekit.sources.fetch.time.sleep", lambda s: None)
    closed = HttpNgas("http://127.0.0.1:9", timeout=2)
    for processes in (1, 2):
        with pytest.raises(NgasUnreachableError, match="cannot be reached"):
            survey(engine, deep=True, store=closed, processes=processes, jobs=2)
    # One document NGAS does not hold is that MOUS's problem: counted apart, the survey goes on.
    missing = "member.uid___A001_X1284_X265f.hifa_calimage.pipeline_manifest.xml"

    class Holey(LocalNgas):
        def stream(self, file_id, offset=0):
            if file_id == missing:
                raise NgasError(f"{file_id} is not in NGAS (HTTP 404)")
            return super().stream(file_id, offset)

    result = survey(engine, deep=True, store=Holey(demo.ngas))
    assert result.degraded == ["uid://A001/X1284/X265f"]
    assert result.unclassified() == [
        "1 MOUS not classified, counted apart: a manifest or script could not be read (e.g. "
        "uid://A001/X1284/X265f); the table's 'degraded' column marks them"
    ]
    assert len(result.table) == len(DEMO_SPECS)
    printed = run_cli("survey", "--deep", "--ngas", "http://127.0.0.1:9", "--db", demo.url)
    assert printed.returncode == 1 and "cannot be reached" in printed.stderr
    assert len(printed.stderr.strip().splitlines()) == 1


def test_the_fix_tables_count_each_group_and_name_its_first_mous_with_a_fix():
    from restorekit.survey_table import fixes_answer

    rows = [  # mous, project, CASA, pipeline, fixes, degraded
        ("uid://A001/X1/X1", "2019.1.00001.S", "6.1.1-15", "2020.1.0.40", "", False),
        ("uid://A001/X1/X2", "2019.1.00001.S", "6.1.1-15", "2020.1.0.40", "fixplanets", False),
        ("uid://A001/X1/X3", "2019.1.00001.S", None, None, "fixplanets,fixsyscaltimes", False),
        ("uid://A001/X1/X4", "2021.1.00002.S", "6.2.1-7", "2021.2.0.128", "", False),
        ("uid://A001/X1/X5", None, "6.2.1-7", "2021.2.0.128", "fixsyscaltimes", False),
        ("uid://A001/X1/X6", "2021.1.00002.S", "6.2.1-7", "2021.2.0.128", "fixplanets", True),
        ("uid://A001/X1/X7", "2021.1.00002.S", "6.2.1-7", "2021.2.0.128", None, False),
    ]
    columns = ["mous", "project_code", "casa_wanted", "pipeline_wanted", "fixes", "degraded"]
    table = pd.DataFrame(rows, columns=columns).assign(rejected_by_newest="")
    answer = fixes_answer(table)  # X6 (degraded) and X7 (scripts not read) left out
    cycles = answer["by cycle"].set_index("cycle")
    assert cycles.loc["2019.1", ["mouses", "with_fixes", "example"]].tolist() == [
        3,
        2,
        "uid://A001/X1/X2",
    ]
    assert cycles.loc["2021.1", ["mouses", "with_fixes"]].tolist() == [1, 0]
    assert cycles.loc["2021.1", "example"] is None
    assert cycles.loc["", ["mouses", "with_fixes", "example"]].tolist() == [
        1,
        1,
        "uid://A001/X1/X5",
    ]
    casa = answer["by CASA and pipeline"]
    unknown = casa[casa["casa_wanted"].isna()]  # kept as a group of its own, not dropped
    assert unknown[["mouses", "with_fixes", "example"]].values.tolist() == [
        [1, 1, "uid://A001/X1/X3"]
    ]
    projects = answer["by project"]  # only projects with a fix, the most first
    assert projects["project_code"].fillna("?").tolist() == ["2019.1.00001.S", "?"]
    assert projects["share_percent"].tolist() == [66.67, 100.0]
