"""From an MOUS uid to a restore area a processing site can run as it stands."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from restorekit.errors import (
    NotRestorableError,
    PreflightError,
    RestoreAreaError,
    count_option,
    seconds_option,
)
from restorekit.fsutil import atomic_link, atomic_write
from restorekit.inspection import Inspection, inspect_mous
from restorekit.restore.check import CheckReport, check_area
from restorekit.restore.jobs import held_message, still_held
from restorekit.restore.layout import RestoreLayout
from restorekit.restore.ppr import build_ppr
from restorekit.restore.ppr_reading import check_ppr
from restorekit.restore.rawdata import export_rawdata, raw_store_for
from restorekit.restore.record import (
    area_lock,
    area_record,
    claim_area,
    submitted_jobs,
    unwritable,
)
from restorekit.restore.runlog import run_log
from restorekit.restore.scriptgen import rawdata_script, restore_script, run_script
from restorekit.rules.casa import Install
from restorekit.settings import SiteSettings
from restorekit.sources.archive import describe
from restorekit.sources.casa_installs import read_catalog
from restorekit.sources.fetch import FetchReport, Product, fetch_products
from restorekit.sources.ngas import NgasStore, check_file_id
from restorekit.sources.queries import CALIBRATION_CLASSES, SCRIPT_CLASSES

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


def _write(path: Path, data: str | bytes, *, keep: bool, executable: bool = False) -> None:
    if keep and path.exists():
        return
    atomic_write(path, data, executable=executable)


def link_manifest_names(plan, layout: RestoreLayout) -> None:
    """Make ``products/`` hold each product also under the name the manifest gives it.

    ``hifa_restoredata`` copies ``products/<manifest name>``; the archive may hold the same file
    as ``member.<manifest name>`` (or the reverse). The second name is a hard link (a copy where
    the file system has none), so no space is spent twice.
    """
    for manifest_name, archive_name in plan.product_names.items():
        check_file_id(manifest_name)
        atomic_link(layout.products / archive_name, layout.products / manifest_name)


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
    casa: Sequence[Install] | None = None,
) -> PreparedRestore:
    """Plan the restore of ``mous`` and write its area under ``root``.

    ``casa`` is the site's CASA catalog (default: read from ``settings``); ``run_restore.sh``
    starts the install the plan chooses from it.

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

    count_option(jobs, "jobs")
    seconds_option(deadline, "deadline")
    engine = engine if engine is not None else connect(db, schema=schema)
    store = store if store is not None else open_store(ngas)
    settings = settings or SiteSettings.load()
    if inspection is None:
        inspection = inspect_mous(
            mous,
            engine=engine,
            store=store,
            pipeline_release=settings.pipeline_release,
            allow_degraded=allow_degraded,
            casa=casa if casa is not None else read_catalog(settings).installs,
        )
    plan = inspection.plan
    if not plan.restorable:
        raise NotRestorableError(
            f"{plan.mous} cannot be restored: {plan.not_restorable_because}", mous=plan.mous
        )
    layout = RestoreLayout.for_plan(plan, root)
    texts = _render(plan, layout, settings)
    # Held until the area is complete: a second prepare of it (a batch naming the MOUS
    # twice) would truncate the products this one is writing.
    with area_lock(layout):
        submitted = submitted_jobs(layout)
        if held := still_held(submitted):
            raise RestoreAreaError(
                held_message(layout.mous_dir, *held, "prepare again"), mous=plan.mous
            )
        kept = {"jobs": submitted} if submitted else {}
        resumed = _start_area(layout, plan, settings, texts, overwrite, kept)
        with run_log(layout):
            log.info(
                "prepare %s: route %s, %s, sessions %s%s",
                plan.mous,
                plan.route,
                plan.task,
                plan.sessions,
                " (resumed)" if resumed else "",
            )
            report = _fetch(
                inspection, layout, store, jobs=jobs, progress=progress, deadline=deadline
            )
            for path, (text, executable) in texts.files.items():
                _write(path, text, keep=resumed, executable=executable)
            check_ppr(layout.ppr.read_bytes(), plan)
            rawdata = _rawdata(plan, layout, settings, store, fetch_raw)
            prepared = PreparedRestore(inspection, layout, report, resumed, rawdata)
            sizes = _sizes(inspection.evidence.product_sizes, plan.product_names, report.names)
            record = area_record(
                plan, settings, "prepared", texts.created,
                database=describe(engine), ngas=store.location, plan=plan.to_dict(),
                products=report.names, product_sizes=sizes, **kept,
            )  # fmt: skip
            atomic_write(layout.record, record)
            return _preflight(prepared, fetch_raw)


@dataclass(frozen=True)
class _Texts:
    """Every file of the area restorekit writes itself, rendered before any is written."""

    created: datetime
    files: dict[Path, tuple[str | bytes, bool]]
    """path -> (content, executable)."""


def _render(plan, layout: RestoreLayout, settings: SiteSettings) -> _Texts:
    """Render (and refuse, for unsafe values) the PPR and scripts before anything is written."""
    created = datetime.now(UTC)
    ppr = build_ppr(plan, layout, settings, created=created)
    check_ppr(ppr, plan)
    return _Texts(
        created,
        {
            layout.ppr: (ppr, False),
            layout.restore_script: (restore_script(plan, created=created), False),
            layout.run_script: (run_script(plan, layout, settings), True),
            layout.rawdata_script: (rawdata_script(plan, layout), True),
        },
    )


def _start_area(
    layout, plan, settings: SiteSettings, texts: _Texts, overwrite: bool, kept: dict
) -> bool:
    """Claim the area (True when resuming) and write the claim before the first product;
    ``kept``: what the area's record keeps from before (its jobs)."""
    resumed = claim_area(layout, plan, settings, overwrite)
    try:
        layout.create()
        claim = area_record(plan, settings, "preparing", texts.created, plan=plan.to_dict(), **kept)
        atomic_write(layout.record, claim)
    except OSError as exc:
        raise unwritable(layout, exc) from None
    return resumed


def _fetch(inspection: Inspection, layout, store, **options) -> FetchReport:
    ev, plan = inspection.evidence, inspection.plan
    products = [
        Product(name, ev.product_sizes.get(name))
        for name, cls in sorted(ev.products.items())
        if cls in FETCHED_CLASSES
    ]
    report = fetch_products(store, products, layout.products, **options)
    log.info(
        "products: %d transferred, %d present, %d resumed, %d bytes",
        len(report.fetched), len(report.present), len(report.resumed), report.bytes,
    )  # fmt: skip
    link_manifest_names(plan, layout)
    return report


def _rawdata(plan, layout, settings: SiteSettings, store, fetch_raw: bool) -> dict[str, str]:
    if fetch_raw:
        return export_rawdata(plan, layout, raw_store_for(settings, store))
    pending = "pending: run export_rawdata.sh (or prepare with --fetch-raw)"
    return {eb: pending for eb, _ in plan.restore_ebs}


def _preflight(prepared: PreparedRestore, fetch_raw: bool) -> PreparedRestore:
    """Check the written area as the pipeline will read it; refuse it when that would fail."""
    layout = prepared.layout
    raw_in_place = fetch_raw and all(
        v in ("present", "exported", "copied") for v in prepared.rawdata.values()
    )
    check = prepared.check = check_area(layout.mous_dir, rawdata=raw_in_place)
    log.info("%s", check.summary())
    for problem in check.problems:
        log.warning("preflight: %s", problem)
    if not check.ok:
        problems = check.problems
        raise PreflightError(
            f"the restore area {layout.mous_dir} would fail in the pipeline: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            + f"; see restorekit check {layout.mous_dir}",
            check,
            mous=prepared.plan.mous,
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
