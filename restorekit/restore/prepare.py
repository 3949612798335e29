"""From an MOUS uid to a restore area a processing site can run as it stands."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from restorekit import __version__
from restorekit.errors import NotRestorableError, PreflightError, RestoreAreaError
from restorekit.fsutil import atomic_link, atomic_write
from restorekit.inspection import Inspection, inspect_mous
from restorekit.restore.check import CheckReport, check_area
from restorekit.restore.layout import RestoreLayout
from restorekit.restore.ppr import build_ppr, check_ppr
from restorekit.restore.scriptgen import rawdata_script, restore_script, run_script
from restorekit.settings import SiteSettings
from restorekit.sources.archive import describe, mask_secrets
from restorekit.sources.fetch import FetchReport, Product, fetch_products
from restorekit.sources.ngas import LocalNgas, NgasStore, check_file_id
from restorekit.sources.queries import CALIBRATION_CLASSES, SCRIPT_CLASSES
from restorekit.uids import parse_uid

log = logging.getLogger("restorekit.prepare")
FETCHED_CLASSES = set(CALIBRATION_CLASSES) | set(SCRIPT_CLASSES)


@dataclass
class PreparedRestore:
    """A written restore area and what went into it."""

    inspection: Inspection
    layout: RestoreLayout
    fetch: FetchReport
    resumed: bool
    rawdata: dict[str, str] = field(default_factory=dict)
    """EB -> ``present``, ``exported``, ``failed: ...`` or ``pending`` (script written)."""
    check: CheckReport | None = None
    """The preflight of the written area."""

    @property
    def plan(self):
        return self.inspection.plan

    def to_dict(self) -> dict:
        out = self.plan.to_dict()
        out.update(
            {
                "root": str(self.layout.root),
                "relative_path": self.layout.relative_path,
                "restore_area": str(self.layout.mous_dir),
                "ppr": str(self.layout.ppr),
                "restore_script": str(self.layout.restore_script),
                "run_script": str(self.layout.run_script),
                "rawdata_script": str(self.layout.rawdata_script),
                "products": self.fetch.names,
                "products_transferred": sorted(self.fetch.fetched),
                "rawdata": self.rawdata,
                "resumed": self.resumed,
                "check": self.check.to_dict() if self.check else None,
            }
        )
        return out


def plan_key(plan) -> str:
    return hashlib.sha256(json.dumps(plan.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def not_restorable_reason(plan) -> str:
    errors = [f.message for f in plan.findings if f.severity == "error"]
    return errors[0] if errors else "no EB can be restored"


def settings_key(settings: SiteSettings) -> str:
    return hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode()).hexdigest()[:16]


def _claim(layout: RestoreLayout, plan, settings: SiteSettings, overwrite: bool) -> bool:
    """Decide whether the area may be written; True when this run resumes an earlier one.

    An area is this run's when ``working/restorekit.json`` names the same MOUS, plan and site
    settings; the claim is written before the first byte, so a run that failed in any way
    resumes. ``overwrite`` rewrites the PPR and scripts (complete products are kept).
    """
    if not layout.mous_dir.exists():
        return False
    _refuse_symlinks(layout)
    try:
        record = json.loads(layout.record.read_text())
    except (OSError, ValueError):
        record = {}
    same_plan = record.get("mous") == plan.mous and record.get("plan_key") == plan_key(plan)
    if overwrite:
        return False
    if same_plan and record.get("settings_key") == settings_key(settings):
        return True
    if same_plan:
        before = record.get("settings") or {}
        changed = sorted(k for k, v in asdict(settings).items() if before.get(k) != v)
        why = f"was prepared with other site settings ({', '.join(changed) or 'unknown'})"
    elif record.get("mous") == plan.mous:
        why = "was prepared from a different plan"
    else:
        why = "was not made by restorekit for this MOUS"
    raise RestoreAreaError(
        f"restore area {layout.mous_dir} exists and {why}; rerun with --overwrite to rewrite "
        "its PPR and scripts (complete products are kept)",
        mous=plan.mous,
        path=str(layout.mous_dir),
    )


def _refuse_symlinks(layout: RestoreLayout) -> None:
    """A symbolic link where restorekit writes a file could send the write anywhere."""
    for directory in (layout.working, layout.products, layout.rawdata, layout.mous_dir):
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            if path.is_symlink():
                raise RestoreAreaError(
                    f"restore area {layout.mous_dir} holds a symbolic link, {path}; restorekit "
                    "never writes through links: remove it and rerun"
                )


def _write(path: Path, data: str | bytes, *, keep: bool, executable: bool = False) -> None:
    if keep and path.exists():
        return
    atomic_write(path, data, executable=executable)


def _record(the_plan, settings: SiteSettings, status: str, created: datetime, **more) -> str:
    """``working/restorekit.json``: what the area was made from (never a password)."""
    record = {
        "mous": the_plan.mous,
        "status": status,
        "plan_key": plan_key(the_plan),
        "settings_key": settings_key(settings),
        "restorekit": __version__,
        "prepared": created.isoformat(timespec="seconds"),
        "settings": asdict(settings),
        **more,
    }
    return mask_secrets(json.dumps(record, indent=2)) + "\n"


def link_manifest_names(plan, layout: RestoreLayout) -> None:
    """Make ``products/`` hold each product also under the name the manifest gives it.

    ``hifa_restoredata`` copies ``products/<manifest name>``; the archive may hold the same file
    as ``member.<manifest name>`` (or the reverse). The second name is a hard link (a copy where
    the file system has none), so no space is spent twice.
    """
    for manifest_name, archive_name in plan.product_names.items():
        check_file_id(manifest_name)
        atomic_link(layout.products / archive_name, layout.products / manifest_name)


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


def prepare_restore(
    mous: str,
    root: str | Path,
    *,
    db: str | None = None,
    ngas: str | None = None,
    engine: Engine | None = None,
    store: NgasStore | None = None,
    settings: SiteSettings | None = None,
    fetch_raw: bool = False,
    overwrite: bool = False,
    jobs: int = 4,
    progress: bool | None = None,
    inspection: Inspection | None = None,
    allow_degraded: bool = False,
    deadline: float | None = None,
    schema: str | None = None,
) -> PreparedRestore:
    """Plan the restore of ``mous`` and write its area under ``root``.

    Raises
    ------
    NotRestorableError
        Before anything is written, when the plan says the MOUS cannot be restored.
    RestoreAreaError
        When the area exists from something else and ``overwrite`` is not set.
    NgasError
        When products could not be fetched (what was fetched is kept; a rerun resumes).
    """
    from restorekit.sources.archive import connect
    from restorekit.sources.ngas import open_store

    engine = engine if engine is not None else connect(db, schema=schema)
    store = store if store is not None else open_store(ngas)
    settings = settings or SiteSettings.load()
    inspection = inspection or inspect_mous(
        mous,
        engine=engine,
        store=store,
        pipeline_release=settings.pipeline_release,
        allow_degraded=allow_degraded,
    )
    plan = inspection.plan
    if not plan.restorable:
        raise NotRestorableError(
            f"{plan.mous} cannot be restored: {not_restorable_reason(plan)}", mous=plan.mous
        )
    layout = RestoreLayout.for_plan(plan, root)
    created = datetime.now(UTC)
    # Everything is rendered (and refused, for unsafe values) before anything is written.
    ppr = build_ppr(plan, layout, settings, created=created)
    check_ppr(ppr, plan)
    texts = {
        layout.restore_script: (restore_script(plan, created=created), False),
        layout.run_script: (run_script(plan, layout, settings), True),
        layout.rawdata_script: (rawdata_script(plan, layout), True),
    }
    resumed = _claim(layout, plan, settings, overwrite)
    try:
        layout.create()
        claim = _record(plan, settings, "preparing", created, plan=plan.to_dict())
        atomic_write(layout.record, claim)
    except OSError as exc:
        raise RestoreAreaError(
            f"cannot write the restore area under {layout.root} ({exc.strerror}); choose a "
            "writable --root"
        ) from None

    ev = inspection.evidence
    products = [
        Product(name, ev.product_sizes.get(name))
        for name, cls in sorted(ev.products.items())
        if cls in FETCHED_CLASSES
    ]
    with _run_log(layout):
        return _write_area(
            inspection, layout, store, engine, settings, ppr, texts, products=products,
            resumed=resumed, created=created, fetch_raw=fetch_raw, jobs=jobs,
            progress=progress, deadline=deadline,
        )


class _MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


@contextmanager
def _run_log(layout: RestoreLayout):
    """``working/restorekit.log``: what this run decided, fetched, retried and checked."""
    handler = logging.FileHandler(layout.working / "restorekit.log", encoding="utf-8")
    handler.setFormatter(_MaskingFormatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("restorekit")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level or logging.INFO, logging.INFO))
    try:
        yield
    except Exception as exc:
        log.error("stopped: %s", exc)
        raise
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()


def _write_area(
    inspection, layout, store, engine, settings, ppr, texts, *, products, resumed, created,
    fetch_raw, jobs, progress, deadline,
) -> PreparedRestore:
    """The I/O of :func:`prepare_restore` once the area is claimed."""
    plan, ev = inspection.plan, inspection.evidence
    log.info(
        "prepare %s: route %s, %s, sessions %s%s",
        plan.mous, plan.route, plan.task, plan.sessions, " (resumed)" if resumed else "",
    )
    report = fetch_products(
        store, products, layout.products, jobs=jobs, progress=progress, deadline=deadline
    )
    log.info(
        "products: %d transferred, %d present, %d resumed, %d bytes",
        len(report.fetched), len(report.present), len(report.resumed), report.bytes,
    )
    link_manifest_names(plan, layout)

    _write(layout.ppr, ppr, keep=resumed)
    check_ppr(layout.ppr.read_bytes(), plan)
    for path, (text, executable) in texts.items():
        _write(path, text, keep=resumed, executable=executable)
    rawdata = (
        export_rawdata(plan, layout, raw_store_for(settings, store))
        if fetch_raw
        else {
            eb: "pending: run export_rawdata.sh (or prepare with --fetch-raw)"
            for eb, _ in plan.restore_ebs
        }
    )
    prepared = PreparedRestore(inspection, layout, report, resumed, rawdata)
    record = _record(
        plan,
        settings,
        "prepared",
        created,
        database=describe(engine),
        ngas=store.location,
        plan=plan.to_dict(),
        products=report.names,
        product_sizes=_sizes(ev.product_sizes, plan.product_names, report.names),
    )
    atomic_write(layout.record, record)
    raw_in_place = fetch_raw and all(
        v in ("present", "exported", "copied") for v in rawdata.values()
    )
    prepared.check = check_area(layout.mous_dir, rawdata=raw_in_place)
    log.info("%s", prepared.check.summary())
    for problem in prepared.check.problems:
        log.warning("preflight: %s", problem)
    if not prepared.check.ok:
        problems = prepared.check.problems
        raise PreflightError(
            f"the restore area {layout.mous_dir} would fail in the pipeline: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            + f"; see restorekit check {layout.mous_dir}",
            prepared.check,
            mous=plan.mous,
            path=str(layout.mous_dir),
        )
    return prepared


def _sizes(
    archive: dict[str, int | None], mapped: dict[str, str], names: list[str]
) -> dict[str, int | None]:
    """The archive size of each product in ``products/``, under both its names."""
    sizes = {name: archive.get(name) for name in names}
    sizes.update({m: archive.get(a) for m, a in mapped.items()})
    return sizes
