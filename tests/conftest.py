from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from restorekit.demo import DemoArchive, demo_archive

from .helpers import free_port

SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def pytest_report_header(config: pytest.Config) -> str:
    import restorekit
    from restorekit.compiled import build_name

    return f"restorekit: {build_name()}, from {Path(restorekit.__file__).parent}"


def pytest_configure(config: pytest.Config) -> None:
    """make test-compiled sets RESTOREKIT_EXPECT_COMPILED=1: a run that would test the pure
    Python modules instead stops here."""
    from restorekit.compiled import compiled_modules

    if os.environ.get("RESTOREKIT_EXPECT_COMPILED") == "1" and not compiled_modules():
        pytest.exit("RESTOREKIT_EXPECT_COMPILED=1, but restorekit is pure Python here", 2)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests build the demo archive into their own cache, never the user's."""
    os.environ["RESTOREKIT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    for name in ("RESTOREKIT_DB", "RESTOREKIT_DB_PASSWORD", "RESTOREKIT_NGAS"):
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def demo(_isolated_cache: None) -> DemoArchive:
    return demo_archive()


@pytest.fixture(scope="session")
def engine(demo: DemoArchive):
    from restorekit.sources.archive import connect

    return connect(demo.url)


# --- a one-node Slurm, shared by the job and cluster tests -----------------------------------


def _memory_mb() -> int:
    """Most of this machine's memory, so that jobs may ask for some (--mem)."""
    total_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return max(1024, total_kb // 1024 - 1024)


def _install_slurm() -> None:
    if shutil.which("sbatch") and shutil.which("munged"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("Slurm is not installed and cannot be installed here (not root, no apt)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "slurm-wlm", "munge"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"Slurm could not be installed: {done.stderr.strip()[-200:]}")


def _munge_answers() -> bool:
    """Whether a munged is listening: a credential encodes and decodes."""
    try:
        encoded = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
        decoded = subprocess.run(["unmunge"], input=encoded.stdout, capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return encoded.returncode == 0 and decoded.returncode == 0


def _start_munge() -> None:
    # A machine restored from a snapshot keeps /run/munge's socket file without its
    # daemon, so the socket existing says nothing: ask the daemon instead.
    if _munge_answers():
        return
    run = Path("/run/munge")
    run.mkdir(parents=True, exist_ok=True)
    for stale in run.glob("munge*"):
        stale.unlink()
    shutil.chown(run, "munge", "munge")
    subprocess.run(["munged", "--force"], capture_output=True, check=True)
    for _ in range(20):
        if _munge_answers():
            return
        time.sleep(0.5)
    pytest.fail("munged was started but does not answer (munge -n | unmunge)")


def _node_idle(env: dict[str, str], deadline: float) -> bool:
    try:
        left = max(1.0, deadline - time.monotonic())
        state = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True, timeout=left
        )
    except subprocess.TimeoutExpired:
        return False
    return state.stdout.strip() in ("idle", "mix")


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A one-node Slurm cluster on private ports; yields its ``SLURM_CONF``."""
    _install_slurm()
    _start_munge()
    folder = tmp_path_factory.mktemp("slurm")
    host = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text(
        f"""ClusterName=restorekit
SlurmctldHost={host}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ReturnToService=2
MinJobAge=600
NodeName={host} CPUs={os.cpu_count()} RealMemory={_memory_mb()} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""
    )
    (folder / "state").mkdir()
    (folder / "spool").mkdir()
    env = {**os.environ, "SLURM_CONF": str(conf)}
    subprocess.run(["slurmctld", "-i"], env=env, check=True, capture_output=True)
    subprocess.run(["slurmd"], env=env, check=True, capture_output=True)
    try:
        # One deadline for the whole wait: a sinfo that cannot authenticate hangs for its
        # message timeout, so counting attempts once let this wait take most of an hour.
        deadline = time.monotonic() + 60
        while not _node_idle(env, deadline):
            if time.monotonic() > deadline:
                log = (folder / "slurmctld.log").read_text()[-400:]
                pytest.fail(f"Slurm did not come up within 60 s: {log}")
            time.sleep(0.5)
        yield str(conf)
    finally:
        for name in ("slurmd.pid", "slurmctld.pid"):
            pid = folder / name
            if pid.is_file():
                subprocess.run(["kill", pid.read_text().strip()], capture_output=True)
