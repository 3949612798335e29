"""What the notebooks call: each section of a restore record, shown as tables and text.

Every table is emitted as static HTML (so an exported record reads well without a kernel);
with ``interactive=True`` ipywidgets are added to pick another MOUS and explore the
session/EB mapping. A :class:`~restorekit.errors.RestorekitError` raised in a cell shows as one
line (``restorekit: error: ...``), not a traceback, and still stops a papermill run.

The last cell calls :meth:`RestoreNotebook.result`, which emits a JSON summary under
:data:`RESULT_MIME` that ``restorekit run`` reads from the executed notebook.
"""

from __future__ import annotations

import html
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from restorekit import __version__
from restorekit.errors import NotRestorableError, PreflightError, RestorekitError
from restorekit.rules.findings import CODES, SEVERITY_ORDER
from restorekit.sources import archive, queries
from restorekit.sources.archive import mask_secrets
from restorekit.uids import read_uid_file

RESULT_MIME = "application/vnd.restorekit.result+json"
_ROW_COLOURS = {"error": "#f8d7da", "warning": "#fff3cd", "info": "#e7f1ff", "restore": "#d1e7dd"}
_CSS = """<style>
.rk-table { border-collapse: collapse; font-size: 0.85em; margin: 0.3em 0 1em 0; }
.rk-table th, .rk-table td { border: 1px solid #ccc; padding: 2px 6px;
  text-align: left !important; white-space: normal !important; vertical-align: top; }
pre.rk-code { white-space: pre-wrap; word-break: break-all; font-size: 0.85em; }
.rk-table th { background: #f2f2f2; }
.rk-note { color: #444; margin: 0.2em 0; }
.rk-error { color: #a00; font-weight: bold; }
</style>"""


def _display(obj, **kwargs) -> None:
    from IPython.display import display

    display(obj, **kwargs)


def html_block(text: str) -> None:
    from IPython.display import HTML

    _display(HTML(text))


def note(text: str) -> None:
    """A line of prose in the record."""
    html_block(f'<p class="rk-note">{html.escape(text)}</p>')


def show(frame: pd.DataFrame, *, caption: str | None = None, styler=None) -> None:
    """A table as static HTML (readable without a kernel)."""
    head = f"<p><b>{html.escape(caption)}</b></p>" if caption else ""
    if frame.empty:
        html_block(head + '<p class="rk-note"><i>(no rows)</i></p>')
        return
    body = (
        styler.to_html()
        if styler is not None
        else frame.to_html(index=False, na_rep="–", classes="rk-table", border=0)
    )
    html_block(_CSS + head + body)


def show_code(text: str, *, language: str = "") -> None:
    html_block(f'{_CSS}<pre class="rk-code language-{language}">{html.escape(text)}</pre>')


def _one_line_errors(shell, etype, evalue, tb, tb_offset=None):
    # Sent as the cell's error (name and value intact, so papermill and the batch summary
    # see them), with the message as its whole traceback.
    message = f"\x1b[0;31mrestorekit: error: {mask_secrets(str(evalue))}\x1b[0m"
    shell._showtraceback(etype, evalue, [message])
    return [message]


def install_error_display() -> None:
    """Show restorekit errors in one line in this kernel (they still stop the notebook)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((RestorekitError,), _one_line_errors)


def reconciliation_styler(frame: pd.DataFrame, findings: pd.DataFrame):
    """The EB table with each row coloured by its verdict and worst finding."""
    worst: dict[str, str] = {}
    for row in findings.itertuples():
        if row.eb:
            worst[row.eb] = min(
                worst.get(row.eb, row.severity), row.severity, key=SEVERITY_ORDER.__getitem__
            )

    def colour(row: pd.Series) -> list[str]:
        key = worst.get(row["eb"]) or ("restore" if row["restore"] else None)
        if row["restore"] and key == "info":
            key = "restore"
        css = f"background-color: {_ROW_COLOURS[key]}" if key else ""
        return [css] * len(row)

    return (
        frame.style.apply(colour, axis=1)
        .hide(axis="index")
        .set_table_attributes('class="rk-table"')
        .format(na_rep="–", escape="html")
    )


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
    ) -> None:
        from restorekit.inspection import inspect_mous
        from restorekit.settings import SiteSettings
        from restorekit.sources.ngas import open_store
        from restorekit.uids import parse_uid

        install_error_display()
        self.mous = parse_uid(mous, what="mous_uid").archive
        self.engine = archive.connect(db, schema=schema)
        archive.check_archive(self.engine)
        self.store = open_store(ngas)
        self.root = Path(root or "restore-area")
        self.db = db
        self.interactive = interactive
        self.started = datetime.now(UTC)
        self.settings = SiteSettings.load()
        inspection = inspect_mous(
            self.mous,
            engine=self.engine,
            store=self.store,
            pipeline_release=self.settings.pipeline_release,
            allow_degraded=allow_degraded,
        )
        self.evidence, self.plan = inspection.evidence, inspection.plan
        self.prepared = None
        self.error: str | None = None
        note(
            f"MOUS {self.mous} — archive {archive.describe(self.engine)}, "
            f"NGAS {self.store.location}"
        )

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
                ("Project code", p.get("code")),
                ("ObsProject uid", p.get("obs_project")),
                ("ObsUnitSet partId", p.get("part_id")),
                ("ProjectStatusRef", p.get("project_status")),
                ("OUSStatusRef", self.mous),
                ("GOUS", p.get("gous")),
                ("SOUS", p.get("sous")),
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
            f"{ev.manifest_name}: CASA {m.casa_version}, pipeline {m.pipeline_version}, "
            f"procedure {m.procedure}."
        )
        show(m.asdm_table(), caption="calibrated ASDMs by manifest session")

    def reconciliation(self) -> None:
        first = ["eb", "restore", "reason", "qa0", "ousstatus_session", "manifest_session"]
        table = self.plan.eb_table()
        table = table[first + [c for c in table.columns if c not in first]]
        findings = self.plan.findings_table()
        note(
            "One row per EB seen by any source. Green: restored; blue: left out for a "
            "known reason; yellow: a warning; red: an error."
        )
        show(table, caption="reconciliation", styler=reconciliation_styler(table, findings))
        show(findings, caption="findings")

    def show_plan(self) -> None:
        plan = self.plan
        call = ", ".join(f"{k}={v!r}" for k, v in plan.restore_parameters.items())
        route = f"; route '{plan.route}'" if plan.restorable else ""
        verdict = "Restorable" if plan.restorable else "NOT restorable"
        note(f"{verdict}{route}; {plan.task}({call}).")
        if plan.release is not None:
            note(f"Task calls are written for pipeline {plan.release.describe()}.")
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

    def prepare(self, *, fetch_raw: bool = False, overwrite: bool = False) -> None:
        """Write the restore area; an MOUS that cannot be restored is reported, not raised."""
        from restorekit.restore.ppr import read_ppr
        from restorekit.restore.prepare import prepare_restore

        try:
            self.prepared = prepare_restore(
                self.mous,
                self.root,
                engine=self.engine,
                store=self.store,
                inspection=self._inspection(),
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
        layout = self.prepared.layout
        note(
            f"Restore area {layout.mous_dir}"
            f"{' (resumed an earlier run)' if self.prepared.resumed else ''}."
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
            pd.DataFrame(sorted(self.prepared.rawdata.items()), columns=["EB", "raw data"]),
            caption="raw data",
        )
        self._show_check(self.prepared.check)
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

    def _inspection(self):
        from restorekit.inspection import Inspection

        return Inspection(self.evidence, self.plan)

    def provenance(self) -> None:
        versions = {"restorekit": __version__, "python": platform.python_version()}
        for package in ("pandas", "sqlalchemy", "lxml", "oracledb", "papermill"):
            try:
                versions[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                pass
        m = self.evidence.manifest
        rows = [
            ("prepared", self.started.isoformat(timespec="seconds")),
            ("database", archive.describe(self.engine)),
            ("NGAS", self.store.location),
            ("delivery CASA", m.casa_version if m else None),
            ("delivery pipeline", m.pipeline_version if m else None),
            *versions.items(),
        ]
        show(pd.DataFrame(rows, columns=["what", "value"]), caption="provenance")
        sql = "\n\n".join(
            f"-- {q.name}: {q.title}\n{q.sql(self.engine.dialect.name)};"
            for q in queries.QUERIES.values()
        )
        html_block(
            f"<details><summary>the SQL that ran</summary><pre>{html.escape(sql)}</pre></details>"
        )

    def explore(self) -> None:
        """Widgets (interactive mode only): pick a session to see its EBs and verdicts, and
        pick or type another MOUS to inspect."""
        if not self.interactive:
            return
        import ipywidgets as widgets

        picker(self.db)

        table = self.plan.eb_table()
        options = (
            ["all"]
            + sorted({str(s) for s in table.ousstatus_session.dropna()})
            + [name for name in self.plan.sessions]
        )
        chooser = widgets.Dropdown(options=options, description="session")
        out = widgets.Output()

        def refresh(*_):
            with out:
                out.clear_output()
                value = chooser.value
                if value == "all":
                    rows = table
                elif value.startswith("session_"):
                    rows = table[table.manifest_session == value]
                else:
                    rows = table[table.ousstatus_session == int(value)]
                _display(rows)

        chooser.observe(refresh, names="value")
        refresh()
        _display(
            widgets.VBox(
                [
                    widgets.HTML(
                        "<b>Explore the session/EB mapping</b> "
                        "(OUSStatus ordinal or manifest session)"
                    ),
                    chooser,
                    out,
                ]
            )
        )

    def result(self) -> dict:
        """The summary ``restorekit run`` reads; also shown as JSON in the record."""
        layout = self.prepared.layout if self.prepared else None
        summary = {
            "mous": self.mous,
            "restorable": self.plan.restorable,
            "route": self.plan.route,
            "sessions": self.plan.sessions,
            "findings": len(self.plan.findings),
            "codes": sorted(self.plan.codes),
            "ppr": str(layout.ppr) if layout else None,
            "restore_area": str(layout.mous_dir) if layout else None,
            "preflight": (
                None
                if self.prepared is None or self.prepared.check is None
                else "ok" if self.prepared.check.ok else "problems"
            ),
            "error": self.error,
        }
        _display({RESULT_MIME: summary, "text/plain": repr(summary)}, raw=True)
        return summary


def picker(db: str | None = None):
    """Interactive: choose an MOUS of the archive (or type one) and open its record."""
    import ipywidgets as widgets

    engine = archive.connect(db)
    mouses = list(queries.mous_list(engine).mous)
    box = widgets.Combobox(
        options=mouses, placeholder="uid://A001/...", description="MOUS", ensure_option=False
    )
    button = widgets.Button(description="Inspect", button_style="primary")
    out = widgets.Output()

    def run(*_):
        with out:
            out.clear_output()
            try:
                record = RestoreNotebook(box.value, db=db, interactive=True)
                for section in (
                    record.ousstatus,
                    record.manifest,
                    record.reconciliation,
                    record.show_plan,
                    record.explore,
                ):
                    section()
            except RestorekitError as exc:
                html_block(f'<p class="rk-error">restorekit: error: {html.escape(str(exc))}</p>')

    button.on_click(run)
    _display(widgets.VBox([widgets.HBox([box, button]), out]))


def survey_report(
    db: str | None = None,
    *,
    mous_file: str | None = None,
    deep: bool = False,
    ngas: str | None = None,
    out_csv: str | None = None,
    top: int = 20,
) -> dict:
    """The survey notebook's body: summary, chart, MOUSes per finding; returns the summary."""
    from restorekit.survey import survey

    install_error_display()
    engine = archive.connect(db)
    archive.check_archive(engine)
    store = None
    if deep:
        from restorekit.sources.ngas import open_store

        store = open_store(ngas)
    mouses = read_uid_file(mous_file, what="MOUS uid") if mous_file else None
    result = survey(engine, mouses, deep=deep, store=store)
    note(
        f"{len(result.table):,} MOUSes of {archive.describe(engine)} surveyed in "
        f"{result.seconds:.2f} s with {result.round_trips} round trips "
        f"({'manifests and scripts read' if deep else 'archive tables only'})."
    )
    if not deep:
        needs_documents = sorted(c for c, code in CODES.items() if not code.from_database)
        note(
            "Archive tables only: the columns route, and restore_ebs and restore_sessions "
            "where the product names alone cannot tell each EB's session, are left empty, and "
            f"these findings are not looked for: {', '.join(needs_documents)}. Run with "
            "deep=True to read the manifests and scripts."
        )
    if result.degraded:
        note(
            f"{len(result.degraded)} MOUSes are counted apart, not classified: a manifest or "
            f"script could not be read (e.g. {result.degraded[0]})."
        )
    show(result.summary, caption="how common is each finding")
    _chart(result.summary)
    per_code = [
        (code, len(ms), ", ".join(ms[:top]) + (" …" if len(ms) > top else ""))
        for code in result.summary.code
        if (ms := result.mouses_with(code))
    ]
    show(
        pd.DataFrame(per_code, columns=["code", "MOUSes", "which (first ones)"]),
        caption="MOUSes per finding",
    )
    show(result.table.head(top), caption=f"per-MOUS table (first {top} rows)")
    if out_csv:
        from restorekit.fsutil import atomic_write

        atomic_write(Path(out_csv), result.table.to_csv(index=False))
        note(f"per-MOUS table written to {out_csv}")
    summary = {
        "mouses": len(result.table),
        "round_trips": result.round_trips,
        "counts": dict(zip(result.summary.code, map(int, result.summary.mouses), strict=True)),
    }
    _display({RESULT_MIME: summary, "text/plain": repr(summary)}, raw=True)
    return summary


def _chart(summary: pd.DataFrame) -> None:
    # An explicit Agg canvas: the user's kernel keeps its own matplotlib backend.
    from IPython.display import Image
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    found = summary[summary.mouses > 0].sort_values("share_percent")
    if found.empty:
        note("No finding occurs.")
        return
    colours = {"error": "#c0392b", "warning": "#e0a800", "info": "#2f6fb2"}
    fig = Figure(figsize=(8, 0.35 * len(found) + 1))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.barh(found.code, found.share_percent, color=[colours[s] for s in found.severity])
    ax.set_xlabel("share of MOUSes (%)")
    ax.set_title("How common is each finding")
    fig.tight_layout()
    from io import BytesIO

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    _display(Image(data=buffer.getvalue(), format="png"))
