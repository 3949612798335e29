"""How long ``restorekit check`` takes on a large restore area, beside a baseline.

The area: 50 EBs in 10 sessions, 20 GB of products (a 300 MB flagversions archive per EB and a
500 MB caltables archive per session), each archive a real .tgz of the shape the pipeline
exports, extended to its size with a sparse tail so the disk is not filled. The sizes are the
archive's STORED_SIZE in ``restorekit.json``.

Printed: the check with its listing cache warm (as after ``prepare``, which checks once), the
check cold (no cache), the baseline a user has today (``tar -tzf`` of every archive and a read of
every calapply file), and the inflate rate of a real 256 MB .tgz of random data, from which the
cost of a cold check of real (non-sparse) archives follows.

Run: ``.venv/bin/python benchmarks/check.py [DIR]``
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from restorekit.demo.documents import tgz
from restorekit.restore.check import check_area

EBS, SESSIONS = 50, 10
FLAGS_BYTES, CALTABLES_BYTES = 300 * 10**6, 500 * 10**6
OUS = "uid___A001_X1a2b_X3c4"


def _sparse(path: Path, data: bytes, size: int) -> None:
    path.write_bytes(data)
    os.truncate(path, size)


def build(root: Path) -> Path:
    area = root / "2019.1.00001.S" / f"SOUS_{OUS}" / f"GOUS_{OUS}" / f"MOUS_{OUS}"
    for sub in ("working", "products", "rawdata"):
        (area / sub).mkdir(parents=True, exist_ok=True)
    products = area / "products"
    sizes: dict[str, int] = {}
    manifest = [f'<piperesults name="{OUS}"><ous name="{OUS}">']
    sessions: dict[str, list[str]] = {}
    for e in range(EBS):
        eb = f"uid___A002_Xbe{e:03x}_X{e + 1:x}"
        ms = f"{eb}.ms"
        session = f"session_{e % SESSIONS + 1}"
        sessions.setdefault(session, []).append(ms)
        (area / "rawdata" / eb).mkdir(exist_ok=True)
        tables = [
            f"{ms}.hifa_{kind}.s{k}.tbl"
            for k, kind in enumerate(
                ["tsyscal", "wvrgcal", "bandpass", "timegaincal", "gfluxscale", "antpos"] * 2
            )
        ]
        flags = tgz(
            {
                f"{ms}.flagversions/FLAG_VERSION_LIST": b"Original : x\nPipeline_Final : y\n",
                **{f"{ms}.flagversions/flags.Pipeline_Final/table.f{i}": b"x" for i in range(8)},
            }
        )
        _sparse(products / f"{ms}.flagversions.tgz", flags, FLAGS_BYTES)
        sizes[f"{ms}.flagversions.tgz"] = FLAGS_BYTES
        lines = "".join(
            f"applycal(vis='/p/{ms}', field='', intent='', spw='{s}', antenna='', "
            f"gaintable={['/p/' + t for t in tables]!r}, gainfield={[''] * len(tables)!r}, "
            f"spwmap={[[]] * len(tables)!r}, interp={['linear'] * len(tables)!r}, "
            f"calwt={[False] * len(tables)!r})\n"
            for s in range(4)
        )
        (products / f"{ms}.calapply.txt").write_text(lines)
        sizes[f"{ms}.calapply.txt"] = len(lines)
        (products / f"{ms}.tables").write_text("\n".join(tables))
    for session, mses in sessions.items():
        members = {}
        for ms in mses:
            for table in (products / f"{ms}.tables").read_text().splitlines():
                for part in ("table.dat", "table.f0", "table.f1", "table.info", "table.lock"):
                    members[f"{table}/{part}"] = b"t"
        name = f"{OUS}.{session}.caltables.tgz"
        _sparse(products / name, tgz(members), CALTABLES_BYTES)
        sizes[name] = CALTABLES_BYTES
        manifest.append(f'<session name="{session}"><caltables name="{name}"/>')
        for ms in mses:
            manifest.append(
                f'<asdm name="{ms}"><finalflags name="{ms}.flagversions.tgz"/>'
                f'<applycmds name="{ms}.calapply.txt"/></asdm>'
            )
        manifest.append("</session>")
    for stale in products.glob("*.tables"):
        stale.unlink()
    manifest.append("</ous></piperesults>")
    (products / f"{OUS}.hifa_calimage.pipeline_manifest.xml").write_text("".join(manifest))
    (area / "working" / "restorekit.json").write_text(json.dumps({"product_sizes": sizes}))
    asdms = "".join(
        f"<AsdmIdentifier><AsdmRef><ExecBlockId>x</ExecBlockId></AsdmRef>"
        f"<AsdmDiskName>{ms.removesuffix('.ms')}</AsdmDiskName></AsdmIdentifier>"
        for mses in sessions.values()
        for ms in mses
    )
    intents = "".join(
        f"<Intents><Keyword>SESSION_{n}</Keyword><Value>"
        + " | ".join(ms.removesuffix(".ms") for ms in sessions[f"session_{n}"])
        + "</Value></Intents>"
        for n in range(1, SESSIONS + 1)
    )
    (area / "working" / f"PPR_{OUS}.xml").write_text(
        "<SciPipeRequest><ProcessingRequests><ProcessingRequest><ProcessingIntents>"
        f"{intents}</ProcessingIntents><DataSet><SchedBlockSet><SchedBlockIdentifier>"
        f"<RelativePath>x</RelativePath>{asdms}</SchedBlockIdentifier></SchedBlockSet>"
        "</DataSet></ProcessingRequest></ProcessingRequests></SciPipeRequest>"
    )
    return area


def baseline(area: Path) -> float:
    started = time.perf_counter()
    for path in sorted((area / "products").glob("*.tgz")):
        subprocess.run(["tar", "-tzf", str(path)], capture_output=True, check=False)
    for path in (area / "products").glob("*.calapply.txt"):
        path.read_text()
    return time.perf_counter() - started


def inflate_rate(directory: Path) -> float:
    """MB/s at which a .tgz of random data is listed (inflated) here."""
    path = directory / "random.tgz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        data = os.urandom(256 * 10**6)
        info = tarfile.TarInfo("x.ms.table/table.f0")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    size = path.stat().st_size
    started = time.perf_counter()
    with tarfile.open(path, "r|gz") as tar:
        for _ in tar:
            pass
    seconds = time.perf_counter() - started
    path.unlink()
    return size / 1e6 / seconds


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="rk-check-"))
    area = build(root)
    total = sum(p.stat().st_size for p in (area / "products").iterdir())
    print(f"area: {EBS} EBs, {SESSIONS} sessions, {total / 1e9:.1f} GB of products at {area}")
    (area / "working" / ".restorekit-tars.json").unlink(missing_ok=True)
    cold = check_area(area)
    warm = [check_area(area) for _ in range(5)]
    assert cold.ok and all(w.ok for w in warm), [str(p) for p in cold.problems[:3]]
    best = min(w.seconds for w in warm)
    base = baseline(area)
    rate = inflate_rate(root)
    print(
        f"check, listings cached (after prepare): {best:.3f} s (best of 5), "
        f"{warm[0].archives_read} archives read"
    )
    print(f"check, cold: {cold.seconds:.3f} s, {cold.archives_read} archives read")
    print(f"baseline, tar -tzf of every archive + read every calapply: {base:.2f} s")
    print(
        f"inflating a real .tgz of random data: {rate:.0f} MB/s, so a cold check of 20 GB of "
        f"real archives costs about {20e3 / rate:.0f} s once; prepare pays it while fetching"
    )


if __name__ == "__main__":
    main()
