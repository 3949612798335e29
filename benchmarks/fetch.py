"""Benchmark: fetching a product set from an NGAS served over HTTP on loopback.

Prints restorekit's throughput beside a sequential ``curl`` of the same files in the same run,
then interrupts a fetch part-way and shows that the rerun transfers only what was missing.

    .venv/bin/python benchmarks/fetch.py [--files 20] [--mb 200] [--jobs 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from restorekit.sources.fetch import Product, fetch_products
from restorekit.sources.ngas import HttpNgas


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(directory: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "restorekit", "ngas-serve", str(directory), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    server.stdout.readline()  # "serving ..." once it listens
    return server


def curl_sequential(url: str, names: list[str], dest: Path) -> float:
    dest.mkdir()
    started = time.perf_counter()
    for name in names:
        subprocess.run(
            ["curl", "-sf", "-o", str(dest / name), f"{url}/RETRIEVE?file_id={name}"], check=True
        )
    return time.perf_counter() - started


FETCH_CHILD = """
import sys
from pathlib import Path
from restorekit.sources.fetch import Product, fetch_products
from restorekit.sources.ngas import HttpNgas
names = sys.argv[3:]
sizes = [int(n.split(':')[1]) for n in names]
products = [Product(n.split(':')[0], s) for n, s in zip(names, sizes)]
fetch_products(HttpNgas(sys.argv[1]), products, Path(sys.argv[2]), jobs=4, progress=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--mb", type=int, default=200, help="total size in MB")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("curl") is None:
        sys.exit("curl is not installed; the comparison needs it")
    work = Path(tempfile.mkdtemp(prefix="rk-fetch-bench-"))
    try:
        source = work / "ngas"
        source.mkdir()
        size = args.mb * 1_000_000 // args.files
        for i in range(args.files):
            (source / f"member.uid___A001_X1_X{i:x}.session_1.caltables.tgz").write_bytes(
                os.urandom(size)
            )
        products = [Product(p.name, p.stat().st_size) for p in sorted(source.iterdir())]
        total = sum(p.size for p in products)
        port = free_port()
        server = serve(source, port)
        url = f"http://127.0.0.1:{port}"
        try:
            print(
                f"{args.files} files, {total / 1e6:.0f} MB, NGAS on {url} "
                f"(separate process), {os.cpu_count()} cores"
            )
            curl_times, rk_times = [], []
            for k in range(args.repeat):
                curl_times.append(
                    curl_sequential(url, [p.name for p in products], work / f"curl{k}")
                )
                shutil.rmtree(work / f"curl{k}")
                dest = work / f"rk{k}"
                started = time.perf_counter()
                fetch_products(HttpNgas(url), products, dest, jobs=args.jobs, progress=False)
                rk_times.append(time.perf_counter() - started)
                shutil.rmtree(dest)
            curl_best, rk_best = min(curl_times), min(rk_times)
            print(
                f"sequential curl : {total / 1e6 / curl_best:8.0f} MB/s  "
                f"(best of {args.repeat}: {curl_best:.2f} s)"
            )
            print(
                f"restorekit -j{args.jobs}  : {total / 1e6 / rk_best:8.0f} MB/s  "
                f"(best of {args.repeat}: {rk_best:.2f} s)"
            )
            print(f"ratio restorekit/curl throughput: {curl_best / rk_best:.2f}")

            dest = work / "interrupted"
            spec = [f"{p.name}:{p.size}" for p in products]
            child = subprocess.Popen([sys.executable, "-c", FETCH_CHILD, url, str(dest), *spec])
            while not dest.exists() or sum(f.stat().st_size for f in dest.iterdir()) < total / 3:
                time.sleep(0.005)
            child.send_signal(signal.SIGKILL)
            child.wait()
            had = sum(f.stat().st_size for f in dest.iterdir())
            complete = sum(1 for f in dest.iterdir() if not f.name.endswith(".part"))
            parts = sum(1 for f in dest.iterdir() if f.name.endswith(".part"))
            report = fetch_products(HttpNgas(url), products, dest, jobs=args.jobs, progress=False)
            print(
                f"interrupted run : killed with {had / 1e6:.1f} MB on disk "
                f"({complete} complete, {parts} .part)"
            )
            print(
                f"resumed run     : transferred {report.bytes / 1e6:.1f} MB; "
                f"{len(report.present)} files kept, {len(report.resumed)} resumed; "
                f"on disk + transferred = {(had + report.bytes) / 1e6:.1f} MB of "
                f"{total / 1e6:.1f} MB"
            )
            assert all((dest / p.name).stat().st_size == p.size for p in products)
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
