"""Configuration reaches where it is meant to: --schema to the database, the demo notice to
the user, nothing global changed in the user's kernel."""

from __future__ import annotations

import pytest

from restorekit.demo import SEED_MOUS

from .helpers import run_cli


class Reached(BaseException):  # passes the CLI's catch-all, as a stop
    pass


@pytest.fixture
def connect_calls(monkeypatch):
    """Patch every place that opens the archive; record how it was called, then stop."""
    import restorekit.inspection as inspection
    import restorekit.sources.archive as archive

    calls = []

    def fake(url=None, *, schema=None):
        calls.append({"url": url, "schema": schema})
        raise Reached

    monkeypatch.setattr(archive, "connect", fake)
    monkeypatch.setattr(inspection, "connect", fake)
    return calls


@pytest.mark.parametrize(
    "args",
    [
        ["plan", SEED_MOUS],
        ["prepare", SEED_MOUS, "--root", "r"],
        ["query", SEED_MOUS],
        ["survey"],
        ["list"],
    ],
)
def test_schema_reaches_the_database_for_every_command(args, connect_calls, tmp_path):
    from restorekit.frontends.cli import main

    with pytest.raises(Reached):
        main([*args, "--db", "oracle+oracledb://u@h:1521?service_name=S", "--schema", "ALMA2"])
    assert connect_calls and connect_calls[0]["schema"] == "ALMA2"


def test_run_passes_the_schema_to_its_kernels(monkeypatch, tmp_path):
    import os

    import restorekit.frontends.batch as batch
    from restorekit.frontends.cli import main

    seen = {}

    def fake_batch(*args, **kwargs):
        seen["schema"] = os.environ.get("RESTOREKIT_DB_SCHEMA")
        raise Reached

    monkeypatch.setattr(batch, "run_batch", fake_batch)
    monkeypatch.delenv("RESTOREKIT_DB_SCHEMA", raising=False)
    with pytest.raises(Reached):
        main(["run", "nb.ipynb", "-f", "p.yaml", "--schema", "ALMA3"])
    assert seen["schema"] == "ALMA3"


def test_the_demo_archive_is_never_used_silently(demo):
    quiet = run_cli("plan", SEED_MOUS, "--db", demo.url)
    assert "demo archive" not in quiet.stderr
    implicit = run_cli("plan", SEED_MOUS)
    assert implicit.returncode == 0
    assert "restorekit: note: using the embedded demo archive" in implicit.stderr
    from restorekit.sources.archive import connect, describe

    assert describe(connect()).startswith("the embedded demo archive")


def test_the_survey_chart_leaves_the_kernel_backend_alone():
    import matplotlib
    import pandas as pd

    from restorekit.frontends.survey_report import _chart

    before = matplotlib.get_backend()
    _chart(
        pd.DataFrame({"code": ["A"], "mouses": [1], "share_percent": [50.0], "severity": ["info"]})
    )
    assert matplotlib.get_backend() == before


def test_the_public_api_is_importable_from_the_package(demo, tmp_path):
    import restorekit

    for name in restorekit.__all__:
        assert getattr(restorekit, name) is not None, name
    engine = restorekit.connect(demo.url)
    plan = restorekit.inspect_mous(SEED_MOUS, engine=engine).plan
    assert isinstance(plan, restorekit.RestorePlan) and plan.restorable
    area = restorekit.prepare_restore(SEED_MOUS, tmp_path, engine=engine)
    assert restorekit.check_area(area.layout.mous_dir, rawdata=False).ok
    assert issubclass(restorekit.PreflightError, restorekit.RestorekitError)
    with pytest.raises(AttributeError):
        restorekit.no_such_thing  # noqa: B018


def test_every_setting_is_listed_once_and_the_readme_table_is_current():
    import re
    from pathlib import Path

    from restorekit.config import ENVIRONMENT, markdown_table, site_settings

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    assert markdown_table() in readme
    listed = {v.name for v in ENVIRONMENT + site_settings()}
    used = set()
    for path in (root / "restorekit").rglob("*.py"):
        used |= set(re.findall(r"RESTOREKIT_[A-Z_]+\b", path.read_text()))
    # RESTOREKIT_<FIELD> is composed from the setting names; every other name is listed.
    assert used - {"RESTOREKIT_"} <= listed, sorted(used - listed)
    assert len(listed) == len(ENVIRONMENT) + len(site_settings())


def test_errors_carry_what_they_concern(engine, demo, tmp_path):
    import restorekit
    from restorekit.sources.ngas import LocalNgas

    with pytest.raises(restorekit.NotRestorableError) as info:
        restorekit.prepare_restore("uid://A001/X1296/X7c1", tmp_path, engine=engine)
    assert info.value.mous == "uid://A001/X1296/X7c1" and info.value.exit_code == 3
    with pytest.raises(restorekit.InputError) as info:
        restorekit.inspect_mous("uid://A001/X1/X1", engine=engine)
    assert info.value.mous == "uid://A001/X1/X1"
    with pytest.raises(restorekit.NgasError) as info:
        LocalNgas(demo.ngas).read_bytes("nothing.tgz")
    assert info.value.file_id == "nothing.tgz" and info.value.path == str(demo.ngas)
    restorekit.prepare_restore(SEED_MOUS, tmp_path, engine=engine)
    with pytest.raises(restorekit.RestoreAreaError) as info:
        restorekit.prepare_restore(
            SEED_MOUS, tmp_path, engine=engine, settings=restorekit.SiteSettings(casa="other")
        )
    assert info.value.path.endswith("MOUS_uid___A001_X12a3_X80e") and info.value.mous == SEED_MOUS


def test_public_names_stay_functions_after_their_modules_are_imported(demo):
    import importlib

    import restorekit

    for name, module in restorekit._EXPORTS.items():
        importlib.import_module(f"restorekit.{module}")
        assert not isinstance(getattr(restorekit, name), type(restorekit)), name
    assert restorekit.survey(restorekit.connect(demo.url)).table is not None
