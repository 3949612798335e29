"""Benchmark: the demo batch of restore records, locally and on a loopback Dask cluster.

Prints records per minute for ``parameters/demo-batch.yaml`` run with 1 and 2 local jobs and on
a Dask scheduler with 2 workers (each its own process, as on a cluster), then what one record
costs besides the restore's own work: a kernel start with papermill (a one-cell notebook), and
the HTML export. From these, the time of N MOUSes on W workers is estimated.

    .venv/bin/python benchmarks/batch.py [--estimate 1000] [--workers 8]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "restore_mous.ipynb"
BATCH = ROOT / "parameters" / "demo-batch.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_batch(folder: Path, **options) -> tuple[float, int]:
    from restorekit.frontends.batch import run_batch

    started = time.perf_counter()
    summary = run_batch(NOTEBOOK, [str(BATCH)], records=folder / "records", progress=False,
                        root=folder / "areas", **options)  # fmt: skip
    return time.perf_counter() - started, int((summary.status == "ok").sum())


def dask_cluster(folder: Path, workers: int):
    address = f"tcp://127.0.0.1:{free_port()}"
    processes = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", address.rsplit(":", 1)[1], "--dashboard-address", ":0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]  # fmt: skip
    for n in range(workers):
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
             "--local-directory", str(folder / f"w{n}"), "--dashboard-address", ":0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=60)
    return address, processes


def overheads(folder: Path) -> tuple[float, float]:
    """Seconds of a kernel start + papermill on a one-cell notebook; of one HTML export."""
    import nbformat
    import papermill as pm

    from restorekit.frontends.batch import export_html

    tiny = folder / "tiny.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, tiny)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        pm.execute_notebook(str(tiny), str(folder / "tiny-out.ipynb"), progress_bar=False)
        runs.append(time.perf_counter() - started)
    record = next((folder / "local-1" / "records").rglob("restore_mous.ipynb"))
    exports = []
    for _ in range(3):
        started = time.perf_counter()
        export_html(record, folder / "export.html")
        exports.append(time.perf_counter() - started)
    return min(runs), min(exports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimate", type=int, default=1000, help="MOUSes to estimate for")
    parser.add_argument("--workers", type=int, default=8, help="workers to estimate for")
    args = parser.parse_args()
    from restorekit.demo import demo_archive

    demo_archive()  # built once, before any timing
    with tempfile.TemporaryDirectory(prefix="rk-batch-") as tmp:
        folder = Path(tmp)
        rows = []
        for jobs in (1, 2):
            seconds, ok = timed_batch(folder / f"local-{jobs}", jobs=jobs)
            rows.append((f"local, {jobs} job{'s' if jobs > 1 else ''}", ok, seconds))
        address, processes = dask_cluster(folder, 2)
        try:
            seconds, ok = timed_batch(folder / "dask", cluster=address)
            rows.append(("Dask, 2 workers (loopback)", ok, seconds))
        finally:
            for process in processes:
                process.terminate()
        kernel, export = overheads(folder)
    print(f"{'run':30} {'records':>8} {'seconds':>8} {'records/min':>12}")
    for name, ok, seconds in rows:
        print(f"{name:30} {ok:8d} {seconds:8.1f} {60 * ok / seconds:12.1f}")
    per_record = rows[0][2] / rows[0][1]
    print(
        f"\none record, one job: {per_record:.1f} s, of which kernel start + papermill "
        f"{kernel:.1f} s and HTML export {export:.1f} s (best of 3)"
    )
    estimate = args.estimate * per_record / args.workers
    print(
        f"estimate: {args.estimate:,} MOUSes on {args.workers} workers (one job each) "
        f"~ {estimate / 60:.0f} min ({per_record:.1f} s a record; more when each MOUS has "
        "more EBs or products, and plus NGAS transfers of a real archive)"
    )
    print(json.dumps({"rows": rows, "kernel_s": kernel, "export_s": export}))


if __name__ == "__main__":
    main()
