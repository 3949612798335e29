"""Benchmark: the archive-wide survey on synthetic archives (a script that prints numbers).

Fast survey: for each size, MOUS per second, round trips and peak memory beside the raw floor
measured in the same run (reading the same rows with one SELECT per statement the survey sends
and parsing the same XML with lxml, nothing else); on the smallest size also the per-MOUS loop
(the single-MOUS functions called for each MOUS).

Deep survey: on an archive with documents (``--deep-size``), served by ``restorekit ngas-serve``
on loopback with ``--latency`` ms added to each request: a cold run (empty document cache), a
warm rerun (the cache filled) and the fast survey of the same archive, side by side, with
documents per second, NGAS requests, cache hits and peak memory.

    .venv/bin/python benchmarks/survey.py [--sizes 1000 10000 100000] [--rounds 5]
        [--deep-size 100000] [--latency 20] [--jobs 32] [--seed 1]

Archives are built once into ``$RESTOREKIT_CACHE/bench`` (or ~/.cache/restorekit/bench) and
reused. Each survey runs in a fresh process so that peak memory is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from restorekit import __version__
from restorekit.compiled import build_name

CHILD = r"""
import json, resource, sys, time
from lxml import etree
from restorekit.sources.archive import RoundTrips, connect
from restorekit.archive_survey import survey
import sqlalchemy as sa
from restorekit.sources import schema

mode, url = sys.argv[1], sys.argv[2]
engine = connect(url)
out = {}
if mode == "survey":
    result = survey(engine)
    out = {"mouses": len(result.table), "seconds": result.seconds,
           "round_trips": result.round_trips, "processes": result.processes,
           "worker_peak_mb": sum(result.worker_peak_mb)}
elif mode == "deep":
    from restorekit.sources.ngas import HttpNgas
    ngas, cache, jobs = sys.argv[3], sys.argv[4], int(sys.argv[5])
    result = survey(engine, deep=True, store=HttpNgas(ngas), cache=cache, jobs=jobs)
    out = {"mouses": len(result.table), "seconds": result.seconds,
           "round_trips": result.round_trips, "processes": result.processes,
           "fetched": result.documents_fetched, "cached": result.documents_cached,
           "stored": result.documents_stored, "degraded": len(result.degraded),
           "with_fixes": int((result.table["fixes"].fillna("") != "").sum()),
           "worker_peak_mb": sum(result.worker_peak_mb)}
    from restorekit.survey_table import casa_needs, fixes_answer
    started = time.perf_counter()  # the tables the CLI and the notebook make after the survey
    fixes_answer(result.table), casa_needs(result.table)
    out["answer_seconds"] = time.perf_counter() - started
elif mode == "floor":
    science = schema.asa_science.c
    status = schema.obs_unit_set_status
    statements = [sa.select(science.member_ouss_id, science.asdm_uid, science.project_uid,
                            science.schedblock_uid, science.schedblock_name).distinct()]
    statements += [sa.select(*schema.metadata.tables[t].columns) for t in (
        "asa_project", "asa_product_files", "aqua_ous", "aqua_execblock",
        "sched_block_status")]
    statements.append(sa.select(*[c for c in status.columns if c.name != "xml"]))
    documents = sa.select(status.c.xml).where(status.c.xml.is_not(None))
    started = time.perf_counter()
    with engine.connect() as conn:
        for stmt in statements:
            conn.exec_driver_sql(str(stmt.compile(dialect=engine.dialect))).cursor.fetchall()
        sql = str(documents.compile(dialect=engine.dialect))
        rows = conn.exec_driver_sql(sql).cursor.fetchall()
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        for (xml,) in rows:
            try:
                etree.fromstring(xml.encode(), parser)
            except etree.XMLSyntaxError:
                pass
    out = {"seconds": time.perf_counter() - started}
elif mode == "loop":
    from restorekit.inspection import inspect_mous
    from restorekit.sources import queries
    mouses = list(queries.mous_list(engine).mous)
    with RoundTrips(engine) as trips:
        started = time.perf_counter()
        for mous in mouses:
            inspect_mous(mous, engine=engine, store=None) if False else None
            from restorekit.evidence.gather import gather
            from restorekit.rules.reconcile import reconcile
            reconcile(gather(engine, mous))
        out = {"seconds": time.perf_counter() - started, "round_trips": trips.count,
               "mouses": len(mouses)}
out["rss_sum_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + out.get(
    "worker_peak_mb", 0)
from restorekit.compiled import build_name
out["build"] = build_name()
print(json.dumps(out))
"""


def cache_dir() -> Path:
    from restorekit.demo.builder import cache_root

    return cache_root() / "bench"


def archive(n: int, seed: int, files: str = "none") -> Path:
    from restorekit.demo import build_archive
    from restorekit.demo.builder import fingerprint
    from restorekit.demo.synthetic import synthetic_specs

    kind = "synthetic" if files == "none" else f"synthetic-{files}"
    root = cache_dir() / f"{kind}-{n}-{seed}-{fingerprint()}"
    if not (root / "archive.db").is_file():
        started = time.perf_counter()
        build_archive(root, synthetic_specs(n, seed), files=files)  # type: ignore[arg-type]
        print(
            f"  built {n:,} MOUSes ({files} files) in {time.perf_counter() - started:.1f} s "
            f"({(root / 'archive.db').stat().st_size / 1e6:.0f} MB)",
            flush=True,
        )
    return root


def url_of(root: Path) -> str:
    return f"sqlite:///{root / 'archive.db'}"


PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` from ``/proc/PID/statm``: kernel counters, read without
    walking the page tables (``smaps_rollup``'s PSS does walk them, and sampling it ten times
    a second took 6 of 35 s from a 100,000-MOUS survey on this 2-core machine)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_MB
    except (OSError, IndexError, ValueError):
        return 0.0


def family_rss(pid: int) -> float:
    """Resident memory of ``pid`` and its children (the survey's forked workers) added up:
    pages they share are counted in each, so this bounds their real total from above."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return rss_mb(pid) + sum(rss_mb(int(c)) for c in children)


def run(mode: str, url: str, *extra: str) -> dict:
    """One survey in a fresh process; its peak memory sampled from here every 0.1 s (a
    sampler inside would take the interpreter from the survey it measures)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            # -P: the restorekit this script imports, never one in the working directory
            [sys.executable, "-P", "-c", CHILD, mode, url, *extra],
            stdout=out,
            stderr=err,
            text=True,
        )
        peak = 0.0
        while child.poll() is None:
            peak = max(peak, family_rss(child.pid))
            time.sleep(0.1)
        out.seek(0), err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"{mode} survey failed: {err.read().strip()[-2000:]}")
        result = json.loads(out.read().strip().splitlines()[-1])
    if result.pop("build") != build_name():
        raise SystemExit(f"the {mode} survey ran another restorekit build than this script")
    return {**result, "peak_mb": peak}


@contextlib.contextmanager
def ngas_serve(directory: Path, latency: float):
    """``restorekit ngas-serve`` on a free loopback port; yields its URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "restorekit", "ngas-serve", str(directory), "--port", "0",
         "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        yield line.split(" at ", 1)[1].split()[0].rstrip(",")
    finally:
        server.terminate()
        server.wait(timeout=30)


def fast(sizes: list[int], seed: int, rounds: int) -> None:
    print(
        "peak MB: highest total resident memory of the survey process and its workers, "
        "sampled every 0.1 s from outside; RSS sum: each process's own peak added up (both "
        "count shared pages in every process: upper bounds)\n"
        f"floor: the same rows read and XML parsed in one process, nothing else; survey and "
        f"floor run in turn, {rounds} rounds (this machine's speed varies by 10-30 % from one "
        "minute to the next); seconds and floor s: best of each; x floor: best over best, and "
        "in brackets the median of each round's own ratio (survey and floor a minute apart)"
    )
    print(
        f"{'MOUSes':>9} {'seconds':>8} {'MOUS/s':>8} {'round trips':>11} {'peak MB':>8} "
        f"{'RSS sum':>8} {'floor s':>8} {'x floor':>14}"
    )
    for n in sizes:
        url = url_of(archive(n, seed))
        surveys, floors = [], []
        for _ in range(rounds):
            surveys.append(run("survey", url))
            floors.append(run("floor", url)["seconds"])
        result, floor = min(surveys, key=lambda r: r["seconds"]), min(floors)
        paired = statistics.median(r["seconds"] / f for r, f in zip(surveys, floors, strict=True))
        print(
            f"{result['mouses']:>9,} {result['seconds']:>8.2f} "
            f"{result['mouses'] / result['seconds']:>8.0f} {result['round_trips']:>11} "
            f"{result['peak_mb']:>8.0f} {result['rss_sum_mb']:>8.0f} {floor:>8.2f} "
            f"{result['seconds'] / floor:>6.2f} ({paired:.2f})",
            flush=True,
        )
    print("  targets at 100,000: <= 30 s, <= 2x the floor, <= 2,048 MB")
    url = url_of(archive(sizes[0], seed))
    surveyed = run("survey", url)["seconds"]
    loop = run("loop", url)
    print(
        f"\non {loop['mouses']:,} MOUSes the per-MOUS loop takes {loop['seconds']:.2f} s "
        f"({loop['round_trips']:,} round trips): the survey is {loop['seconds'] / surveyed:.0f}x "
        "faster (target >= 50x)"
    )


def deep(n: int, seed: int, latency: float, jobs: int) -> None:
    root = archive(n, seed, files="documents")
    url = url_of(root)
    print(f"\ndeep survey of {n:,} MOUSes, NGAS on loopback with {latency:g} ms per request, "
          f"{jobs} requests in flight")  # fmt: skip
    print(
        f"{'run':<6} {'seconds':>8} {'MOUS/s':>8} {'docs/s':>8} {'NGAS req':>9} "
        f"{'cache hits':>10} {'kept':>8} {'peak MB':>8}"
    )
    with (
        tempfile.TemporaryDirectory(dir=cache_dir()) as cache,
        ngas_serve(root / "ngas", latency) as ngas,
    ):
        rows = {}
        for label in ("cold", "warm"):
            r = run("deep", url, ngas, cache, str(jobs))
            documents = r["fetched"] + r["cached"]
            print(
                f"{label:<6} {r['seconds']:>8.1f} {r['mouses'] / r['seconds']:>8.0f} "
                f"{documents / r['seconds']:>8.0f} {r['fetched']:>9,} {r['cached']:>10,} "
                f"{r['stored']:>8,} {r['peak_mb']:>8.0f}",
                flush=True,
            )
            rows[label] = r
    quick = run("survey", url)
    cold, warm = rows["cold"], rows["warm"]
    print(
        f"fast   {quick['seconds']:>8.1f} {quick['mouses'] / quick['seconds']:>8.0f}\n"
        f"  cold: {cold['seconds'] / 60:.1f} min (target <= 10 min); warm: "
        f"{warm['seconds'] / quick['seconds']:.2f}x the fast survey (target <= 2x); "
        f"{cold['with_fixes']:,} MOUSes with data fixes, {cold['degraded']} unreadable\n"
        f"  the answer's tables (fixes by kind, cycle, CASA and project; CASA needed), "
        f"after the survey: {warm['answer_seconds']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10_000, 100_000])
    parser.add_argument("--deep-size", type=int, default=100_000, help="0: no deep survey")
    parser.add_argument("--latency", type=float, default=20.0, help="ms per NGAS request")
    parser.add_argument("--jobs", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="fast survey and floor, in turn")
    args = parser.parse_args()
    print(f"restorekit {__version__}, {build_name()}; Python {sys.version.split()[0]}")
    if args.sizes:
        fast(sorted(args.sizes), args.seed, args.rounds)
    if args.deep_size:
        deep(args.deep_size, args.seed, args.latency, args.jobs)


if __name__ == "__main__":
    main()
