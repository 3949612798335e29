"""The restore record of one MOUS: what the restore notebook calls, section by section.

Every table is emitted as static HTML (so an exported record reads well without a kernel);
with ``interactive=True`` ipywidgets are added to pick another MOUS and explore the
session/EB mapping. A :class:`~restorekit.errors.RestorekitError` raised in a cell shows as one
line (``restorekit: error: ...``), not a traceback, and still stops a papermill run.

The last cell calls :meth:`RestoreNotebook.result`, which emits a JSON summary under
:data:`RESULT_MIME` that ``restorekit run`` reads from the executed notebook.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from restorekit.errors import NotRestorableError, PreflightError
from restorekit.frontends.display import (
    LEGEND,
    RESULT_MIME,
    cell_text,
    code_html,
    display_object,
    html_block,
    install_error_display,
    note,
    reconciliation_frame,
    severity_classes,
    show,
    show_code,
)
from restorekit.frontends.record_parts import card_html, card_text, provenance_rows
from restorekit.sources import archive, queries
from restorekit.sources.archive import mask_url_text

if TYPE_CHECKING:
    from restorekit.restore.prepare import PreparedRestore

__all__ = ["RESULT_MIME", "RestoreNotebook"]


class RestoreNotebook:
    """The state of one restore record: archive, NGAS store, evidence, plan, restore area."""

    def __init__(
        self,
        mous: str,
        *,
        db: str | None = None,
        ngas: str | None = None,
        root: str | None = None,
        interactive: bool = False,
        allow_degraded: bool = False,
        schema: str | None = None,
        settings: str | None = None,
    ) -> None:
        from restorekit.inspection import inspect_mous
        from restorekit.settings import SiteSettings
        from restorekit.sources.casa_installs import read_catalog
        from restorekit.sources.ngas import open_store
        from restorekit.uids import parse_uid

        install_error_display()
        self.mous = parse_uid(mous, what="mous_uid").archive
        with archive.demo_notice_silenced():  # the card says it instead, first
            self.engine = archive.connect(db, schema=schema)
        archive.check_archive(self.engine)
        self.store = open_store(ngas)
        self.root = Path(root or "restore-area").resolve()
        self.db, self.schema = db, schema
        self.interactive = interactive
        self.started = datetime.now(UTC)
        self.settings = SiteSettings.load(settings)
        self.catalog = read_catalog(self.settings)
        inspection = inspect_mous(
            self.mous,
            engine=self.engine,
            store=self.store,
            pipeline_release=self.settings.pipeline_release,
            allow_degraded=allow_degraded,
            casa=self.catalog.installs,
        )
        self.inspection = inspection
        self.prepared: PreparedRestore | None = None
        self.error: str | None = None
        self.parameters: dict = {
            "mous_uid": mous, "db_url": db, "ngas": ngas, "root_dir": root,
            "interactive": interactive, "allow_degraded": allow_degraded, "schema": schema,
            "settings": settings,
        }  # fmt: skip
        self._card_id = f"rk-card-{parse_uid(self.mous).file}"
        described = archive.describe(self.engine)
        demo = db is None and described.startswith("the embedded demo archive")
        self._archive = described + (" — no db_url and no RESTOREKIT_DB is set" if demo else "")
        html_block(card_html(self.plan, archive=self._archive), display_id=self._card_id)
        note(f"NGAS: {mask_url_text(self.store.location)}.")

    @property
    def evidence(self):
        return self.inspection.evidence

    @property
    def plan(self):
        return self.inspection.plan

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return self.evidence.tables

    # -- the seed's questions, in order -----------------------------------------------------

    def calibration(self) -> None:
        count = len([c for c in self.evidence.products.values() if c == "calibration"])
        verdict = (
            "calibrated: a restore is possible"
            if count
            else "NOT calibrated: there is nothing to restore"
        )
        note(f"{count} calibration products in NGAS — {verdict}.")
        show(self.tables["calibration_count"], caption="calibration products")

    def execution_blocks(self) -> None:
        show(self.tables["execution_blocks"], caption="EBs in ASA_SCIENCE")
        show(self.tables["qa0"], caption="QA0 per EB (AQUA_EXECBLOCK)")

    def products(self) -> None:
        show(self.tables["product_files"], caption="products in NGAS (ASA_PRODUCT_FILES)")

    def references(self) -> None:
        p = self.plan.project
        refs = pd.DataFrame(
            [
                ("Project code", p.code),
                ("ObsProject uid", p.obs_project),
                ("ObsUnitSet partId", p.part_id),
                ("ProjectStatusRef", p.project_status),
                ("OUSStatusRef", self.mous),
                ("GOUS", p.gous),
                ("SOUS", p.sous),
                ("SchedBlockRef", self.plan.schedblock),
                ("SBStatusRef", self.plan.sbstatus),
            ],
            columns=["reference", "value"],
        )
        show(refs, caption="what the PPR needs")
        show(self.tables["schedblocks"], caption="SchedBlocks of the MOUS")
        show(self.tables["parent_chain"], caption="containing OUSes")

    def ousstatus(self) -> None:
        ev = self.evidence
        if ev.ousstatus is None:
            note(
                "No usable OUSStatus XML: "
                + (
                    "the archive holds none (NULL)."
                    if ev.ousstatus_problem == "missing"
                    else f"{ev.ousstatus_problem}."
                )
            )
            return
        show(ev.ousstatus.table(), caption="sessions in the OUSStatus XML (document order)")
        show(ev.ousstatus.refs_table(), caption="references in the OUSStatus XML")

    def manifest(self) -> None:
        ev = self.evidence
        if ev.manifest is None:
            note(
                f"Manifest {ev.manifest_name or '(none among the products)'}: "
                f"{ev.manifest_problem or 'not read'}."
            )
            return
        m = ev.manifest
        note(
            f"{ev.manifest_name}: CASA {cell_text(m.casa_version)}, pipeline "
            f"{cell_text(m.pipeline_version)}, "
            f"procedure {m.procedure}."
        )
        show(m.asdm_table(), caption="calibrated ASDMs by manifest session")

    def reconciliation(self) -> None:
        table, classes = reconciliation_frame(self.plan)
        findings = self.plan.findings_table()
        html_block(LEGEND)
        show(table, caption="reconciliation", row_classes=classes)
        show(findings, caption="findings", row_classes=severity_classes(findings))

    def show_plan(self) -> None:
        plan = self.plan
        call = ", ".join(f"{k}={v!r}" for k, v in plan.restore_parameters.items())
        route = f"; route '{plan.route}'" if plan.restorable else ""
        verdict = "Restorable" if plan.restorable else "NOT restorable"
        note(f"{verdict}{route}; {plan.task}({call}).")
        if plan.release is not None:
            note(f"Task calls are written for pipeline {plan.release.describe()}.")
        self._show_casa()
        rows = [(name, " | ".join(ebs)) for name, ebs in plan.sessions.items()]
        show(pd.DataFrame(rows, columns=["session", "EBs in restore order"]), caption="the plan")
        if plan.fixes:
            show(
                pd.DataFrame(
                    [(f.text, f.render()) for f in plan.fixes],
                    columns=["delivered fix call", "repeated in the restore script as"],
                ),
                caption="data fixes (the reason for the script route)",
            )
        if plan.product_names:
            show(
                pd.DataFrame(
                    sorted(plan.product_names.items()),
                    columns=["name in the manifest", "name in the archive"],
                ),
                caption="products laid out under both names",
            )

    def _show_casa(self) -> None:
        choice = self.plan.casa
        if choice is None:
            return
        chosen = choice.chosen
        versions = f"CASA {chosen.casa}, pipeline {chosen.pipeline}" if chosen else None
        rows = [
            ("calibrated with", choice.wanted.describe()),
            ("known from", choice.wanted.basis),
            ("chosen", f"{chosen.location} ({chosen.command})" if chosen else None),
            ("chosen versions", versions),
            ("match", choice.match),
            ("why", choice.why),
            ("site catalog", f"{len(self.catalog)} installs"),
            *(("catalog problem", p) for p in self.catalog.problems),
        ]
        show(pd.DataFrame(rows, columns=["CASA", "value"]), caption="the CASA to restore with")

    def prepare(self, *, fetch_raw: bool = False, overwrite: bool = False) -> None:
        """Write the restore area; an MOUS that cannot be restored is reported, not raised."""
        self.parameters.update(fetch_raw=fetch_raw, overwrite=overwrite)
        try:
            self._prepare(fetch_raw, overwrite)
        finally:
            self._update_card()

    def _update_card(self) -> None:
        html_block(self.card_html(), display_id=self._card_id, update=True)

    def card_html(self) -> str:
        """The summary card as it stands now."""
        return card_html(self.plan, self.prepared, self.error, self._archive)

    def _prepare(self, fetch_raw: bool, overwrite: bool) -> None:
        from restorekit.restore.ppr_reading import read_ppr
        from restorekit.restore.prepare import prepare_restore

        try:
            prepared = prepare_restore(
                self.mous,
                self.root,
                engine=self.engine,
                store=self.store,
                inspection=self.inspection,
                settings=self.settings,
                fetch_raw=fetch_raw,
                overwrite=overwrite,
                progress=False,
            )
        except NotRestorableError as exc:
            self.error = str(exc)
            note(f"Nothing written: {exc}")
            return
        except PreflightError as exc:
            self.error = str(exc)
            note(f"The area was written but would fail in the pipeline: {exc}")
            self._show_check(exc.report)
            return
        self.prepared = prepared
        layout = prepared.layout
        note(
            f"Restore area {layout.mous_dir}"
            f"{' (resumed an earlier run)' if prepared.resumed else ''}."
        )
        reading = read_ppr(layout.ppr.read_bytes())
        show(
            pd.DataFrame(
                {
                    "AsdmDiskName": [a for a, _ in reading.asdms],
                    "session (as the pipeline reads the PPR)": reading.sessions,
                }
            ),
            caption=f"PPR read back: {layout.ppr.name} passes its check",
        )
        show_code(layout.ppr.read_text(), language="xml")
        note(
            f"Restore script {layout.restore_script.name}"
            f"{' (with the data fixes: the route is script)' if self.plan.fixes else ''}:"
        )
        show_code(layout.restore_script.read_text(), language="python")
        show(
            pd.DataFrame(sorted(prepared.rawdata.items()), columns=["EB", "raw data"]),
            caption="raw data",
        )
        self._show_check(prepared.check)
        show_code(layout.tree())

    def _show_check(self, report) -> None:
        if report is None:
            return
        if report.ok:
            note(
                f"Preflight (restorekit check): the area passes — {report.files} files the "
                "manifest names, their archives, sessions, Pipeline_Final flags and calapply "
                "tables, as the pipeline's restore reads them."
            )
            return
        show(
            pd.DataFrame(
                [(p.path, p.message) for p in report.problems], columns=["file", "problem"]
            ),
            caption="preflight (restorekit check): what the pipeline's restore would fail on",
        )

    def provenance(self) -> None:
        """Who ran this record where, with which parameters, software and archive, and when."""
        m = self.evidence.manifest
        rows = provenance_rows(
            self.parameters,
            archive.describe(self.engine),
            self.store.location,
            self.started,
            datetime.now(UTC),
        )
        rows += [
            ("delivery CASA", cell_text(m.casa_version if m else None)),
            ("delivery pipeline", cell_text(m.pipeline_version if m else None)),
        ]
        show(pd.DataFrame(rows, columns=["what", "value"]), caption="provenance")
        sql = "\n\n".join(
            f"-- {q.name}: {q.title}\n"
            f"{q.sql(self.engine.dialect.name, archive.schema_of(self.engine))};"
            for q in queries.QUERIES.values()
        )
        html_block(f"<details><summary>the SQL that ran</summary>{code_html(sql)}</details>")

    def explore(self) -> None:
        """Widgets (interactive mode only): pick a session to see its EBs and verdicts, and
        pick or type another MOUS to inspect."""
        if not self.interactive:
            return
        from restorekit.frontends.widgets import mous_picker, session_explorer

        settings = self.parameters["settings"]
        mous_picker(self.db, schema=self.schema, root=self.root, settings=settings)
        session_explorer(self.plan)

    def result(self) -> dict:
        """The summary ``restorekit run`` reads; also shown as JSON in the record."""
        layout = self.prepared.layout if self.prepared else None
        check = self.prepared.check if self.prepared else None
        summary = {
            "mous": self.mous,
            "restorable": self.plan.restorable,
            "route": self.plan.route if self.plan.restorable else None,
            "sessions": self.plan.sessions,
            "findings": len(self.plan.findings),
            "codes": sorted(self.plan.codes),
            "ppr": str(layout.ppr) if layout else None,
            "restore_area": str(layout.mous_dir) if layout else None,
            "casa": self.plan.casa.to_dict() if self.plan.casa else None,
            "preflight": None if check is None else "ok" if check.ok else "problems",
            "error": self.error,
        }
        self._update_card()
        text = card_text(self.plan, self.prepared, self.error)
        shown = f'<p class="rk-note">{html.escape(text).replace(chr(10), "<br>")}</p>'
        display_object({RESULT_MIME: summary, "text/plain": text, "text/html": shown}, raw=True)
        return summary
