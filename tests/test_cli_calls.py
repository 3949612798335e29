"""The CLI is thin: each option reaches the library call it names (papermill's style of test:
patch the library function, run the command, assert the keyword arguments)."""

from __future__ import annotations

import pytest

from restorekit.demo import SEED_MOUS
from restorekit.frontends.cli import main


class Called(BaseException):  # passes the CLI's catch-all, as a stop
    pass


@pytest.fixture
def record(monkeypatch):
    """Patch ``module.name`` with a recorder that stops the command; return the calls."""
    calls: list[tuple[tuple, dict]] = []

    def patch(target: str):
        def fake(*args, **kwargs):
            calls.append((args, kwargs))
            raise Called

        monkeypatch.setattr(target, fake)
        return calls

    return patch


def run(*argv: str) -> None:
    with pytest.raises(Called):
        main(list(argv))


CATALOG = "casa_versions: {6.5.4-9-pipeline-2023.1.0.124: apptainer exec /i.sif casa}\n"
"""A site whose only CASA is a container: the catalog every planning command passes on."""


def _catalog_of(kwargs):
    (install,) = kwargs.pop("casa")
    assert (install.casa, install.pipeline) == ("6.5.4-9", "2023.1.0.124")
    assert install.command == "apptainer exec /i.sif casa"


def test_plan_options(record, tmp_path):
    settings = tmp_path / "site.yaml"
    settings.write_text("pipeline_release: 2024.1.0.8\n" + CATALOG)
    calls = record("restorekit.inspection.plan_mous")
    run(
        "plan",
        SEED_MOUS,
        "--db",
        "sqlite:///x.db",
        "--ngas",
        "/n",
        "--schema",
        "S",
        "--settings",
        str(settings),
        "--allow-degraded",
    )
    ((args, kwargs),) = calls
    assert args == (SEED_MOUS,)
    _catalog_of(kwargs)
    assert kwargs == {
        "db": "sqlite:///x.db",
        "ngas": "/n",
        "pipeline_release": "2024.1.0.8",
        "allow_degraded": True,
        "schema": "S",
    }
    calls.clear()
    run("plan", SEED_MOUS, "--pipeline-release", "2024.2.0.5", "--settings", str(settings))
    assert calls[0][1]["pipeline_release"] == "2024.2.0.5"  # the option wins over the file


def test_prepare_options(record):
    calls = record("restorekit.restore.prepare.prepare_restore")
    run(
        "prepare",
        SEED_MOUS,
        "--root",
        "R",
        "--db",
        "D",
        "--ngas",
        "N",
        "--fetch-raw",
        "--overwrite",
        "--jobs",
        "7",
        "--deadline",
        "30",
        "--allow-degraded",
        "--schema",
        "S",
        "--progress",
        "--pipeline-release",
        "2024.2.0.5",
    )
    ((args, kwargs),) = calls
    assert args == (SEED_MOUS, "R")
    settings = kwargs.pop("settings")
    assert settings.pipeline_release == "2024.2.0.5"
    assert kwargs == {
        "db": "D",
        "ngas": "N",
        "fetch_raw": True,
        "overwrite": True,
        "jobs": 7,
        "allow_degraded": True,
        "deadline": 30.0,
        "schema": "S",
        "progress": True,
    }
    calls.clear()
    run("prepare", SEED_MOUS, "--root", "R", "--json")
    assert calls[0][1]["progress"] is False and calls[0][1]["fetch_raw"] is False


def test_check_options(record):
    calls = record("restorekit.restore.check.check_area")
    run("check", "AREA", "--no-rawdata")
    assert calls == [(("AREA",), {"rawdata": False})]
    calls.clear()
    run("check", "AREA")
    assert calls == [(("AREA",), {"rawdata": True})]


def test_survey_options(record, tmp_path):
    settings = tmp_path / "site.yaml"
    settings.write_text(CATALOG)
    calls = record("restorekit.archive_survey.survey_of")
    run(
        "survey",
        "--db",
        "D",
        "--schema",
        "S",
        "--mous-file",
        "m.txt",
        "--deep",
        "--ngas",
        "N",
        "--jobs",
        "3",
        "--settings",
        str(settings),
    )
    ((args, kwargs),) = calls
    assert args == ("D",)
    _catalog_of(kwargs)
    assert kwargs == {
        "schema": "S",
        "mous_file": "m.txt",
        "deep": True,
        "ngas": "N",
        "jobs": 3,
        "cache": None,
        "progress": None,
    }
    calls.clear()
    run("survey", "--deep", "--progress", "--cache", "C")
    ((_, kwargs),) = calls
    assert callable(kwargs["progress"]) and kwargs["jobs"] == 32 and kwargs["cache"] == "C"


def test_run_options(record):
    calls = record("restorekit.frontends.batch.run_batch")
    run(
        "run",
        "nb.ipynb",
        "-f",
        "a.yaml",
        "-f",
        "b.yaml",
        "--jobs",
        "3",
        "--records",
        "R",
        "--root",
        "AREAS",
    )
    ((args, kwargs),) = calls
    assert args == ("nb.ipynb", ["a.yaml", "b.yaml"])
    assert kwargs == {
        "jobs": 3,
        "records": "R",
        "progress": None,
        "root": "AREAS",
        "cluster": None,
        "clusters": None,
    }


def test_query_and_list_options(record):
    calls = record("restorekit.sources.archive.connect")
    run("query", SEED_MOUS, "--db", "D", "--schema", "S")
    run("list", "--db", "D2")
    assert calls == [(("D",), {"schema": "S"}), (("D2",), {"schema": None})]


def test_debug_is_accepted_anywhere(record):
    calls = record("restorekit.restore.check.check_area")
    run("--debug", "check", "A")
    run("check", "A", "--debug")
    assert len(calls) == 2
