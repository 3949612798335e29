"""ASDMs into ``rawdata/``: copied from a raw store, or exported with ``asdmExportLight``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from restorekit.restore.layout import RestoreLayout
from restorekit.settings import SiteSettings
from restorekit.sources.ngas import LocalNgas, NgasStore
from restorekit.uids import parse_uid


def raw_store_for(settings: SiteSettings, store: NgasStore) -> Path | None:
    """Where ``--fetch-raw`` copies ASDMs from when ``asdmExportLight`` is absent."""
    if settings.raw_store:
        return Path(settings.raw_store)
    if isinstance(store, LocalNgas) and (store.directory.parent / "rawdata").is_dir():
        return store.directory.parent / "rawdata"
    return None


def _copy_raw(source: Path, target: Path) -> None:
    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, symlinks=False)
    staging.rename(target)


def export_rawdata(plan, layout: RestoreLayout, raw_store: Path | None = None) -> dict[str, str]:
    """Bring each EB to restore into ``rawdata/`` under the bare name the pipeline wants:
    from ``raw_store`` when it holds it, else with ``asdmExportLight``; an export named like the
    archive tarball (``<uid___...>.asdm.sdm``) is renamed."""
    tool = shutil.which("asdmExportLight")
    status = {}
    for eb, _ in plan.restore_ebs:
        target = layout.rawdata / parse_uid(eb).file
        stored = [
            raw_store / name
            for name in (target.name, f"{target.name}.asdm.sdm")
            if raw_store is not None and (raw_store / name).is_dir()
        ]
        if target.exists():
            status[eb] = "present"
        elif stored:
            _copy_raw(stored[0], target)
            status[eb] = "copied"
        elif tool is None:
            status[eb] = "pending: asdmExportLight is not on PATH; run export_rawdata.sh"
        else:
            done = subprocess.run(
                [tool, "-d", "rawdata", eb], cwd=layout.mous_dir, capture_output=True, text=True
            )
            tarball_name = target.with_name(target.name + ".asdm.sdm")
            if done.returncode == 0 and not target.exists() and tarball_name.exists():
                tarball_name.rename(target)
            status[eb] = (
                "exported"
                if done.returncode == 0 and target.exists()
                else f"failed: {(done.stderr or done.stdout).strip()[-200:] or 'nothing written'}"
            )
    return status
