"""Restores as batch jobs on a real one-node Slurm (Debian's slurm-wlm and munge, installed
and started by the fixture when root), with a stub CASA that records how it was started;
HTCondor, whose daemons cannot be installed here, by its submit description and --dry-run."""

from __future__ import annotations

import json
import sys
import time

import pytest

from restorekit.errors import ConfigurationError, InputError, RestoreAreaError
from restorekit.frontends.cli import main
from restorekit.restore.jobs import (
    JobOptions,
    _remember,
    condor_description,
    read_area,
    status,
    submit,
)
from restorekit.restore.prepare import prepare_restore
from restorekit.settings import SiteSettings
from restorekit.sources.ngas import LocalNgas

AREAS = ["uid://A001/X12a3/X80e", "uid://A001/X1301/X1a6"]  # script and ppr routes


STUB = """#!{python}
# A stub CASA: records how it was started, and leaves each MS of the PPR as a restore would.
import glob, json, os, re, sys
ppr = open(glob.glob("PPR_*.xml")[0]).read()
for name in re.findall(r"<AsdmDiskName>([^<]+)</AsdmDiskName>", ppr):
    os.makedirs(name + ".ms", exist_ok=True)
json.dump({{"argv": sys.argv[1:], "cwd": os.getcwd()}}, open("stub-casa.json", "w"))
"""


@pytest.fixture
def areas(engine, demo, tmp_path):
    """Two prepared demo areas whose chosen CASA is the stub."""
    stub = tmp_path / "bin" / "casa"
    stub.parent.mkdir()
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    settings = SiteSettings(casa_versions={"5.1.1-5": str(stub), "5.4.0-70": str(stub)})
    store = LocalNgas(demo.ngas)
    return [
        prepare_restore(
            mous, tmp_path / "root", engine=engine, store=store, settings=settings
        ).layout.mous_dir
        for mous in AREAS
    ]


def _wait(areas, want: str = "restored", seconds: float = 90) -> list:
    for _ in range(int(seconds * 2)):
        rows = status(areas)
        if all(r.restore == want and r.scheduler_state == "COMPLETED" for r in rows):
            return rows
        time.sleep(0.5)
    return status(areas)


def test_slurm_runs_each_area_and_status_reports_it(slurm, areas, monkeypatch, capsys):
    monkeypatch.setenv("SLURM_CONF", slurm)
    assert main(["submit", *map(str, areas), "--scheduler", "slurm", "--time", "10"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("submitted ") == 2
    assert "--job-name=restore-uid___A001_X12a3_X80e" in printed
    rows = _wait(areas)
    assert [(r.scheduler_state, r.restore) for r in rows] == [("COMPLETED", "restored")] * 2
    for area, row in zip(areas, rows, strict=True):
        record = json.loads((area / "working" / "restorekit.json").read_text())
        assert row.job == f"slurm {record['jobs'][-1]['id']}"
        called = json.loads((area / "working" / "stub-casa.json").read_text())
        assert called["cwd"] == str(area / "working")  # run_restore.sh's own cd
        assert called["argv"][:3] == ["--nogui", "--pipeline", "-c"]
        assert list((area / "logs").glob("slurm-*.out"))
    assert main(["status", *map(str, areas)]) == 0
    assert capsys.readouterr().out.count("COMPLETED") == 2


def test_slurm_job_array_restores_every_area(slurm, areas, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", slurm)
    done = submit(areas, "slurm", JobOptions(cores=1), array=True)
    (script,) = done.files
    assert done.commands[0][:4] == ["sbatch", "--parsable", "--job-name=restore-array-2",
                                    "--array=0-1"]  # fmt: skip
    assert sorted(j.split("_")[1] for j in done.jobs.values()) == ["0", "1"]
    rows = _wait(areas)
    assert [r.restore for r in rows] == ["restored", "restored"], rows
    assert all(list((a / "logs").glob("slurm-*_*.out")) for a in areas)
    assert script.is_file()


def test_dry_run_writes_and_prints_but_submits_nothing(areas, capsys):
    assert main(["submit", *map(str, areas), "--scheduler", "slurm", "--dry-run",
                 "--partition", "long", "--mem", "16G", "--cores", "8"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.count("sbatch --parsable") == 2 and "(dry run: nothing submitted)" in out
    assert "--partition=long --mem=16G --cpus-per-task=8" in out
    assert all("jobs" not in json.loads((a / "working/restorekit.json").read_text()) for a in areas)
    assert main(["submit", *map(str, areas), "--scheduler", "htcondor", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("condor_submit -terse") == 2
    assert all((a / "working" / "restore.sub").is_file() for a in areas)


def test_an_area_gets_one_job_at_a_time(areas, monkeypatch, capsys):
    """Two restores in one working/ would overwrite each other: an area named twice, or one
    whose last job the scheduler still holds, is refused (exit 2); a finished one is not."""
    seed = areas[0]
    with pytest.raises(RestoreAreaError, match="is given twice"):
        submit([seed, areas[1], seed / "working" / ".."], "slurm", dry_run=True)
    _remember(read_area(seed), "slurm", "41")
    for state, refused in (
        ("RUNNING", True),
        ("PENDING", True),
        ("COMPLETED", False),
        (None, False),
    ):
        monkeypatch.setattr("restorekit.restore.jobs._slurm_state", lambda job, s=state: s)
        code = main(["submit", str(seed), "--scheduler", "slurm", "--dry-run"])
        err = capsys.readouterr().err
        assert code == (2 if refused else 0), (state, err)
        assert (f"slurm job 41 still {state}; wait" in err and "scancel 41" in err) == refused
    assert main(["submit", str(seed), "--scheduler", "htcondor", "--array", "--dry-run"]) == 2
    assert "--array is for Slurm" in capsys.readouterr().err


def test_preparing_an_area_again_keeps_its_jobs_and_waits_for_a_running_one(
    areas, engine, demo, monkeypatch
):
    """The area's record is rewritten by every prepare: the jobs submit recorded stay in it
    (status still finds the last), and while the scheduler holds that job, prepare leaves
    the area alone rather than rewrite its PPR and scripts under a running restore."""
    seed = areas[0]
    _remember(read_area(seed), "slurm", "41")
    record = seed / "working" / "restorekit.json"
    settings = SiteSettings.load()  # other settings than the fixture's: --overwrite needed
    again = dict(engine=engine, store=LocalNgas(demo.ngas), progress=False)
    monkeypatch.setattr("restorekit.restore.jobs._slurm_state", lambda job: "RUNNING")
    with pytest.raises(RestoreAreaError, match="slurm job 41 still RUNNING.*then prepare again"):
        prepare_restore(AREAS[0], seed.parents[3], overwrite=True, settings=settings, **again)
    assert json.loads(record.read_text())["jobs"][-1]["id"] == "41"
    monkeypatch.setattr("restorekit.restore.jobs._slurm_state", lambda job: "COMPLETED")
    prepare_restore(AREAS[0], seed.parents[3], overwrite=True, settings=settings, **again)
    assert [j["id"] for j in json.loads(record.read_text())["jobs"]] == ["41"]
    assert status([seed])[0].job == "slurm 41"


@pytest.mark.parametrize("cores", ["0", "-2", "eight", "1.5"])
def test_job_cores_are_a_whole_number_of_at_least_one(cores):
    with pytest.raises(InputError, match=f"job cores '{cores}' is not a whole number"):
        JobOptions.of(SiteSettings(), cores=cores)
    assert JobOptions.of(SiteSettings(), cores="8").cores == 8


def test_status_says_when_the_job_ended_without_a_restore(areas, monkeypatch):
    """A job the scheduler reports over (cancelled, timed out, out of memory, or completed
    without the measurement sets) is not a restore still to come."""
    seed = areas[0]
    _remember(read_area(seed), "slurm", "43")
    for state, restore in (
        ("RUNNING", "not finished"),
        ("TIMEOUT", "not restored: the job ended (TIMEOUT)"),
        ("COMPLETED", "not restored: the job ended (COMPLETED)"),
        (None, "not finished"),  # the scheduler no longer knows it: nothing to say
    ):
        monkeypatch.setattr("restorekit.restore.jobs._slurm_state", lambda job, s=state: s)
        (row,) = status([seed])
        assert (row.scheduler_state, row.restore) == (state, restore)


def test_the_htcondor_description_runs_the_area_script(areas):
    area = read_area(areas[0])
    text = condor_description(area, JobOptions(cores=4, memory="16G", time="1-02:00:00"))
    lines = dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line)
    assert lines["executable"] == str(area.run_script)
    assert lines["initialdir"] == str(area.working)
    assert lines["batch_name"] == "restore-uid___A001_X12a3_X80e"
    assert lines["output"].startswith(f"{area.logs}/condor-$(Cluster)")
    assert (lines["request_cpus"], lines["request_memory"]) == ("4", "16G")
    assert lines["+MaxRuntime"] == str((26 * 60) * 60)
    assert text.rstrip().endswith("queue")


def test_submit_refuses_what_is_not_a_prepared_area(tmp_path, capsys):
    assert main(["submit", str(tmp_path), "--scheduler", "slurm", "--dry-run"]) == 2
    assert "is not a prepared restore area" in capsys.readouterr().err
    assert main(["status", str(tmp_path)]) == 2


def test_without_the_scheduler_commands_the_error_says_so(areas, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["submit", str(areas[0]), "--scheduler", "htcondor"]) == 1
    assert "condor_submit is not on PATH" in capsys.readouterr().err


def test_an_area_is_read_back_as_the_layout_that_wrote_it(areas, tmp_path):
    from restorekit.errors import InputError
    from restorekit.restore.layout import RestoreLayout

    layout = read_area(areas[0]).layout
    assert layout.mous_dir == areas[0] and layout.relative_path.startswith("2017.1.01347.S/SOUS_")
    with pytest.raises(InputError, match="not a restore area"):
        RestoreLayout.of_area(tmp_path)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("job_cores: abc\n", "job_cores 'abc' must be a whole number of at least 1"),
        ("job_cores: 0\n", "job_cores 0 must be a whole number of at least 1"),
        ("- processing_site\n", "holds a list, not settings; write one 'key: value' per line"),
        ("42\n", "holds the single value 42, not settings"),
    ],
)
def test_settings_that_a_job_cannot_use_are_refused_when_read(tmp_path, text, problem):
    """Said when the settings are read (prepare, casa, submit alike), not by sbatch later."""
    file = tmp_path / "site.yaml"
    file.write_text(text)
    with pytest.raises(ConfigurationError, match=problem):
        SiteSettings.load(file)
    file.write_text("job_cores: 8\n")
    assert SiteSettings.load(file).job_cores == "8"
