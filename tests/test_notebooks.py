"""The notebooks, run headless under papermill against the demo archive."""

import ast
import json
import os
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest

from restorekit.demo import DEMO_SPECS
from restorekit.errors import InputError
from restorekit.frontends.batch import run_batch
from restorekit.frontends.display import RESULT_MIME
from restorekit.frontends.parameters import load_runs, strip_passwords

from .helpers import chromium_path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RESTORE = ROOT / "notebooks" / "restore_mous.ipynb"
SURVEY = ROOT / "notebooks" / "survey.ipynb"
SECRET = "hunter2-Secret"

pytestmark = pytest.mark.slow


def test_committed_notebooks_are_clean_and_parameterized():
    assert {p.name for p in NOTEBOOKS} == {"restore_mous.ipynb", "survey.ipynb"}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name


def test_parameters_are_documented_for_papermill():
    params = papermill.inspect_notebook(str(RESTORE))
    assert set(params) == {
        "mous_uid",
        "db_url",
        "ngas",
        "root_dir",
        "fetch_raw",
        "overwrite",
        "allow_degraded",
        "interactive",
        "settings",
    }
    assert all(p["help"] and p["inferred_type_name"] != "None" for p in params.values())
    assert set(papermill.inspect_notebook(str(SURVEY))) == {
        "db_url",
        "mous_file",
        "deep",
        "ngas",
        "out_csv",
        "top",
        "settings",
        "cache",
        "jobs",
        "interactive",
    }


def test_notebooks_are_thin():
    """Logic lives in restorekit: no cell defines functions or classes, loops or branches."""
    logic = (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.If, ast.With, ast.Try)
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                tree = ast.parse(cell.source)
                if "parameters" in cell.metadata.get("tags", []):
                    # Declarations only: one annotated assignment of a literal per line.
                    assert all(
                        isinstance(n, ast.AnnAssign) and isinstance(n.value, ast.Constant)
                        for n in tree.body
                    ), cell.source
                    assert len(tree.body) == len(cell.source.splitlines()), cell.source
                    continue
                assert len(cell.source.splitlines()) <= 8, (path.name, cell.source)
                assert not [n for n in ast.walk(tree) if isinstance(n, logic)], cell.source


def _params(tmp_path, name, **values):
    path = tmp_path / f"{name}.yaml"
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in values.items()))
    return str(path)


def _outputs_text(notebook_path):
    """The record's outputs as text; <wbr> (where long uids may wrap) does not split words."""
    nb = nbformat.read(notebook_path, as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells]).replace("<wbr>", "")


@pytest.fixture(scope="module")
def batch(tmp_path_factory, demo):
    tmp = tmp_path_factory.mktemp("batch")
    area = tmp / "area"
    files = [
        _params(tmp, "seed", mous_uid="uid://A001/X12a3/X80e", root_dir=str(area)),
        _params(tmp, "gap", mous_uid="uid___A001_X133d_X5e1"),  # goes under run's root
        _params(tmp, "uncalibrated", mous_uid="uid://A001/X1296/X7c1", root_dir=str(area)),
        _params(tmp, "bad", mous_uid="uid://A001/X12a3", root_dir=str(area)),
        _params(
            tmp,
            "unreachable",
            mous_uid="uid://A001/X12a3/X80e",
            db_url=f"oracle+oracledb://alma:{SECRET}@127.0.0.1:1?service_name=ALMA",
        ),
    ]
    summary = run_batch(
        RESTORE, files, jobs=2, records=tmp / "records", progress=False, root=tmp / "operator"
    )
    return tmp, summary.set_index("parameters")


def _row(batch, name):
    tmp, summary = batch
    return summary.loc[str(tmp / f"{name}.yaml")]


def test_seed_record(batch):
    row = _row(batch, "seed")
    # the demo site has no CASA catalog: CASA_UNAVAILABLE joins the seed's five findings
    assert row.status == "ok" and row.route == "script" and row.findings == 6
    assert Path(row.ppr).is_file()
    # two runs of X80e in this batch: their records get distinct folders
    assert row.notebook.endswith("uid___A001_X12a3_X80e--seed/restore_mous.ipynb")
    assert _row(batch, "gap").notebook.endswith("uid___A001_X133d_X5e1/restore_mous.ipynb")
    # run --root: a run that names no root_dir goes under the operator's root; paths are whole
    tmp = batch[0]
    assert _row(batch, "gap").restore_area.startswith(str(tmp / "operator") + "/")
    assert row.restore_area.startswith(str(tmp / "area") + "/") and Path(row.ppr).is_absolute()
    text = _outputs_text(row.notebook)
    for needle in (
        "EB_EXCLUDED_BY_QA0",
        "uid://A002/Xce574d/Xa33e",
        "SemiPass",
        "session_2",
        "passes its check",
        "fixsyscaltimes",
        "repeated in the restore script as",
        "Task calls are written for pipeline",
        "Preflight (restorekit check): the area passes",
        "the CASA to restore with",
        "install casa-pipeline-release-5.1.1-5",
        RESULT_MIME,
    ):
        assert needle in text, needle
    nb = nbformat.read(row.notebook, as_version=4)
    result = next(
        o["data"][RESULT_MIME]
        for c in nb.cells
        for o in c.get("outputs", [])
        if RESULT_MIME in o.get("data", {})
    )
    assert result["sessions"] == {"session_2": ["uid://A002/Xcf92df/X3453"]}
    assert result["preflight"] == "ok"
    html = Path(row.html).read_text()
    assert "record = RestoreNotebook" not in html  # code is hidden in the record


def test_uncalibrated_mous_is_a_record_not_a_failure(batch):
    row = _row(batch, "uncalibrated")
    assert row.status == "ok" and "cannot be restored" in row.error
    assert not isinstance(row.ppr, str)


def test_bad_uid_fails_that_run_in_one_line(batch):
    row = _row(batch, "bad")
    # stops in the first cell that needs the uid: execution count 3, after the parameters
    # cell and the one papermill injects
    assert row.status == "failed" and row.failed_cell == 3
    assert "InvalidUidError" in row.error and "'uid://A001/X12a3' is not an ALMA UID" in row.error
    assert "\n" not in row.error
    text = _outputs_text(row.notebook)
    assert "Traceback" not in text and "restorekit: error:" in text
    assert "most recent call last" not in Path(row.html).read_text()


def test_unreachable_database_fails_without_leaking_the_password(batch):
    row = _row(batch, "unreachable")
    assert row.status == "failed" and "127.0.0.1" in row.error
    for path in (row.notebook, row.html):
        assert SECRET not in Path(path).read_text(), path
    assert SECRET not in os.environ.get("RESTOREKIT_DB_PASSWORD", "")


def test_the_batch_went_on_and_saved_its_summary(batch):
    tmp, summary = batch
    assert sorted(summary.status) == ["failed", "failed", "ok", "ok", "ok"]
    saved = (tmp / "records" / "summary.csv").read_text()
    assert "uid://A001/X133d/X5e1" in saved and SECRET not in saved
    # counts stay integers beside the failed runs' empty cells (6, not 6.0)
    written = pd.read_csv(tmp / "records" / "summary.csv", dtype=str).set_index("parameters")
    assert written.loc[str(tmp / "seed.yaml"), "findings"] == "6"


def test_interactive_run_does_not_wait(tmp_path, demo):
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(RESTORE),
        str(out),
        progress_bar=False,
        parameters={
            "mous_uid": "uid://A001/X1284/X265f",
            "interactive": True,
            "root_dir": str(tmp_path / "area"),
        },
    )
    assert "application/vnd.jupyter.widget-view+json" in out.read_text()


def test_survey_notebook(tmp_path, demo):
    csv = tmp_path / "survey.csv"
    params = _params(tmp_path, "survey", deep=True, out_csv=str(csv))
    summary = run_batch(SURVEY, [params], records=tmp_path / "records", progress=False)
    row = summary.iloc[0]
    assert row.status == "ok", row.error
    text = _outputs_text(row.notebook)
    assert "image/png" in text and "DATA_FIXES" in text and "MOUSes per finding" in text
    assert csv.read_text().count("\n") == len(DEMO_SPECS) + 1
    # The seed's question answers first: the fixes tables, their chart and their MOUSes
    # come before the findings summary.
    fixes = text.index("data fixes by fix")
    assert fixes < text.index("image/png") < text.index("how common is each finding")
    assert fixes < text.index("the MOUSes behind these counts") < text.index("MOUSes per finding")
    assert "uid://A001/X12a3/X80e" in text[fixes : text.index("how common is each finding")]


def test_survey_notebook_explores_the_fixes_interactively(tmp_path, demo):
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(SURVEY),
        str(out),
        progress_bar=False,
        parameters={"deep": True, "interactive": True, "cache": str(tmp_path / "cache")},
    )
    assert "application/vnd.jupyter.widget-view+json" in out.read_text()
    assert any((tmp_path / "cache").iterdir())


def test_parameter_files(tmp_path):
    runs = load_runs([str(ROOT / "parameters" / "demo-batch.yaml")])
    assert len(runs) == 13 and all(r.parameters["interactive"] is False for r in runs)
    assert {r.parameters["mous_uid"] for r in runs} >= {"uid://A001/X12a3/X80e"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("runs: 3\n")
    with pytest.raises(InputError, match="non-empty list"):
        load_runs([str(bad)])
    with pytest.raises(InputError, match="cannot read"):
        load_runs([str(tmp_path / "missing.yaml")])


def test_passwords_are_taken_out_of_parameters():
    from restorekit.frontends.parameters import Run

    runs = [
        Run({"db_url": "oracle+oracledb://u:pw@h:1521?service_name=S"}, "a"),
        Run({"db_url": "sqlite:///x.db"}, "b"),
    ]
    assert strip_passwords(runs) == "pw"
    assert runs[0].parameters["db_url"] == "oracle+oracledb://u@h:1521?service_name=S"


# --- the HTML record in a browser -----------------------------------------------------------


def _headless_flags(tmp_path: Path) -> list[str]:
    """Chromium headless, with a profile of its own and nothing fetched in the background."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]


def test_html_record_reads_well_in_a_browser(batch, tmp_path):
    browser = chromium_path()
    row = _row(batch, "seed")
    flags = _headless_flags(tmp_path)
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", Path(row.html).as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.replace("<wbr>", "")  # where long uids may wrap: not part of the text
    assert "reconciliation" in dom and "findings" in dom
    for needle in (
        "uid://A002/Xce574d/Xa33e",
        "EB_EXCLUDED_BY_QA0",
        "DATA_FIXES",
        "not calibrated: QA0 SemiPass",
        "PPR_uid___A001_X12a3_X80e.xml",
    ):
        assert needle in dom, needle
    assert SECRET not in dom
    shot = tmp_path / "record.png"
    subprocess.run(
        [
            browser,
            *flags,
            f"--screenshot={shot}",
            "--window-size=1400,2400",
            Path(row.html).as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 10_000


def test_a_kernel_that_fails_to_start_is_retried_once(tmp_path, monkeypatch):
    import restorekit.frontends.batch as batch

    calls = []
    real = papermill.execute_notebook

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    params = _params(
        tmp_path, "x", mous_uid="uid://A001/X1284/X265f", root_dir=str(tmp_path / "area")
    )
    summary = batch.run_batch(RESTORE, [params], records=tmp_path / "r", progress=False)
    assert len(calls) == 2 and summary.iloc[0].status == "ok"
    calls.clear()
    monkeypatch.setattr(
        papermill,
        "execute_notebook",
        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no kernel")),
    )
    summary = batch.run_batch(RESTORE, [params], records=tmp_path / "r2", progress=False)
    assert summary.iloc[0].status == "failed" and "no kernel" in summary.iloc[0].error


def test_reconciliation_rows_take_the_colour_of_their_worst_finding():
    from types import SimpleNamespace

    import pandas as pd

    from restorekit.frontends.display import eb_row_classes, table_html

    table = pd.DataFrame({"eb": ["a", "b", "c", "d"], "restore": [True, False, True, False]})
    findings = pd.DataFrame(
        {
            "severity": ["info", "warning", "error", "info", "info"],
            "code": ["X"] * 5,
            "message": [""] * 5,
            "eb": ["b", "b", "b", "c", None],
        }
    )
    plan = SimpleNamespace(restorable=True, findings=[])
    classes = eb_row_classes(plan, table, findings)
    # a: restored; b: error beats warning and info; c: restored with info only; d: nothing
    assert classes == ["restore", "error", "restore", None]
    html = table_html(table, classes)
    assert html.count('class="rk-row-restore"') == 2 and html.count('class="rk-row-error"') == 1
    # Nothing restorable: every EB left out takes the MOUS's error colour.
    error = SimpleNamespace(severity="error", eb=None)
    stopped = SimpleNamespace(restorable=False, findings=[error])
    classes = eb_row_classes(stopped, table, findings.iloc[:0])
    assert classes == ["restore", "error", "restore", "error"]


def test_archive_text_in_the_record_is_escaped_in_the_browser(tmp_path):
    """Hostile archive values (a title, a QA0 verdict, an SB name) stay text in the record's
    DOM, the coloured reconciliation table included."""
    from dataclasses import replace

    from restorekit.demo import DEMO_MOUS, build_archive
    from restorekit.demo.model import SchedBlockSpec

    spec = DEMO_MOUS["uid://A001/X1465/X6f19"]
    hostile = replace(
        spec,
        title="<script>window.rkPwned=1</script>",
        schedblocks=[
            replace(sb, name='x"><img src=x onerror="window.rkPwned=2">')
            for sb in spec.schedblocks
            if isinstance(sb, SchedBlockSpec)
        ],
        sessions=[replace(s, ebs=[replace(eb) for eb in s.ebs]) for s in spec.sessions],
    )
    hostile.sessions[0].ebs[0].qa0 = "<img src=y onerror=window.rkPwned=3>"  # type: ignore[assignment]
    archive = build_archive(tmp_path / "hostile", [hostile])
    params = tmp_path / "hostile.yaml"
    params.write_text(
        f"mous_uid: {spec.mous}\ndb_url: {archive.url}\nngas: {archive.ngas}\n"
        f"root_dir: {tmp_path / 'area'}\n"
    )
    summary = run_batch(RESTORE, [str(params)], jobs=1, records=tmp_path / "records")
    row = summary.iloc[0]
    assert row.status == "ok", row.error
    browser = chromium_path()
    flags = _headless_flags(tmp_path)
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", Path(row.html).as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "rkPwned" in dom  # the values are in the record...
    from html.parser import HTMLParser

    class Elements(HTMLParser):
        found: list[tuple[str, dict]] = []

        def handle_starttag(self, tag, attrs):
            self.found.append((tag, dict(attrs)))

    parser = Elements()
    parser.feed(dom)
    # ...but as text only: no element and no attribute came from them.
    assert not [t for t, a in parser.found if t == "img"]
    assert not [a for _, a in parser.found if "onerror" in a]
    assert "window.rkPwned=1</script>" not in dom  # escaped: &lt;script&gt;...


def test_parameters_of_another_kind_than_the_notebook_declares_fail_before_a_kernel(tmp_path):
    """A value papermill would pass as it is ('yes' for a bool, 42 for a uid, '' for a path
    that then is no default) fails its run with the parameter named, before a kernel starts."""
    from restorekit.frontends.parameters import parameter_problems

    assert (
        parameter_problems(RESTORE, {"mous_uid": "uid://A001/X12a3/X80e", "root_dir": None}) == []
    )
    assert parameter_problems(
        RESTORE, {"mous_uid": 42, "overwrite": "yes", "root_dir": " ", "fetch_raw": True}
    ) == [
        "mous_uid 42 is not text",
        "overwrite 'yes' is not true or false",
        "root_dir is empty; leave it out for its default",
    ]
    params = tmp_path / "p.yaml"
    params.write_text('mous_uid: "uid://A001/X12a3/X80e"\noverwrite: "no"\n')
    summary = run_batch(RESTORE, [str(params)], jobs=1, records=tmp_path / "records")
    row = summary.iloc[0]
    assert row.status == "failed" and row.error == f"{params}: overwrite 'no' is not true or false"
    assert row.seconds < 5  # no kernel was started
