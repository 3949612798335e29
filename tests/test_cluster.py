"""Batch notebooks on a real Dask cluster: a scheduler and two workers, each its own process
on loopback, run the demo batch; the records land as locally and both workers took runs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from restorekit.frontends.cli import main

from .helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
RESTORE = ROOT / "notebooks" / "restore_mous.ipynb"
MOUSES = [
    "uid://A001/X12a3/X80e",
    "uid://A001/X1301/X1a6",
    "uid://A001/X133d/X5e1",
    "uid://A001/X1296/X7c1",
]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory, demo):
    pytest.importorskip("distributed", reason="Dask is the dask extra (in the test extra)")
    folder = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    processes = [
        subprocess.Popen(
            [
                *dask,
                "--host",
                "127.0.0.1",
                "--port",
                address.rsplit(":", 1)[1],
                "--dashboard-address",
                ":0",
            ],
            stdout=(folder / "scheduler.log").open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    ]
    for n in range(2):
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--name",
                    f"w{n}",
                    "--local-directory",
                    str(folder / f"w{n}"),
                    "--dashboard-address",
                    ":0",
                ],
                stdout=(folder / f"worker{n}.log").open("w"),
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        )
    from distributed import Client

    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_demo_batch_runs_on_two_dask_workers(scheduler, tmp_path, capsys):
    files = []
    for i, mous in enumerate(MOUSES):
        path = tmp_path / f"run{i}.yaml"
        path.write_text(f"mous_uid: {mous}\n")
        files.append(str(path))
    records = tmp_path / "records"
    argv = ["run", str(RESTORE), *sum((["-f", f] for f in files), []), "--records",
            str(records), "--root", str(tmp_path / "areas"), "--cluster", scheduler]  # fmt: skip
    assert main(argv) == 0
    summary = pd.read_csv(records / "summary.csv")
    assert sorted(summary.mous) == sorted(MOUSES)
    assert (summary.status == "ok").all(), summary.error.tolist()
    workers = set(summary.worker)
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    assert (summary.seconds > 0).all()
    for row in summary.itertuples():
        assert Path(row.html).is_file() and Path(row.notebook).parent.parent == records
    out = capsys.readouterr().out
    assert "4 of 4 runs ok" in out


def test_an_unknown_cluster_is_one_line(tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("mous_uid: uid://A001/X12a3/X80e\n")
    assert main(["run", str(RESTORE), "-f", str(params), "--cluster", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "neither a scheduler address" in err and "dask_clusters" in err
    started = time.perf_counter()
    assert main(["run", str(RESTORE), "-f", str(params), "--cluster",
                 f"tcp://127.0.0.1:{free_port()}"]) == 2  # fmt: skip
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    assert time.perf_counter() - started < 120


def test_a_named_slurm_cluster_is_started_scaled_and_closed(slurm, demo, tmp_path, monkeypatch):
    """``--cluster NAME``: a dask-jobqueue SLURMCluster from the site settings, its workers
    Slurm jobs of the one-node cluster, gone when the batch ends."""
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("SLURM_CONF", slurm)
    settings = tmp_path / "site.yaml"
    settings.write_text(
        "dask_clusters:\n"
        "  onenode:\n"
        "    class: SLURMCluster\n"
        "    workers: 2\n"
        "    cores: 1\n"
        "    processes: 1\n"
        "    memory: 2GB\n"
        "    walltime: '00:20:00'\n"
        f"    python: {sys.executable}\n"
        f"    log_directory: {tmp_path / 'worker-logs'}\n"
        "    scheduler_options: {host: 127.0.0.1, dashboard_address: ':0'}\n"
    )
    files = []
    for i, mous in enumerate(MOUSES[:2]):
        path = tmp_path / f"run{i}.yaml"
        path.write_text(f"mous_uid: {mous}\n")
        files.append(str(path))
    records = tmp_path / "records"
    argv = ["run", str(RESTORE), *sum((["-f", f] for f in files), []), "--records",
            str(records), "--root", str(tmp_path / "areas"), "--cluster", "onenode",
            "--settings", str(settings)]  # fmt: skip
    assert main(argv) == 0
    summary = pd.read_csv(records / "summary.csv")
    assert (summary.status == "ok").all(), summary.error.tolist()
    assert all(w.startswith("tcp://") for w in summary.worker)
    assert list((tmp_path / "worker-logs").glob("*.out"))  # the workers ran as Slurm jobs
    for _ in range(60):  # and are gone: the cluster was closed with the batch
        queue = subprocess.run(["squeue", "--noheader", "--name=dask-worker"],
                               capture_output=True, text=True).stdout  # fmt: skip
        if not queue.strip():
            break
        time.sleep(0.5)
    assert not queue.strip()


def _dies_once(marker: str) -> str:
    """Kills its worker the first time it runs; the second time, says where it ran."""
    import os
    from pathlib import Path

    from distributed import get_worker

    if not Path(marker).exists():
        Path(marker).touch()
        os._exit(1)
    return get_worker().address


def _always_dies() -> None:
    import os

    os._exit(1)


def test_a_run_lost_with_its_worker_is_retried_once_elsewhere(tmp_path):
    """What ``run_on_cluster`` relies on, on a cluster restorekit starts (allowed-failures=1):
    a task whose worker dies runs once more on another; dying again, it comes back failed."""
    dask = pytest.importorskip("dask")
    from distributed import Client, LocalCluster

    from restorekit.frontends.cluster import run_on_cluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=":0")  # fmt: skip
    with cluster, Client(cluster) as client:
        marker = tmp_path / "died-once"
        calls = [(str(marker),)]
        (where,) = run_on_cluster(client, _dies_once, calls, lambda: None)
        assert marker.exists() and isinstance(where, str) and where.startswith("tcp://")
        (lost,) = run_on_cluster(client, _always_dies, [()], lambda: None)
        assert type(lost).__name__ == "KilledWorker"
