"""ipywidgets of the restore notebook in interactive mode: an MOUS picker and a session explorer.

Nothing here runs in a papermill record (``interactive=False``); the static tables are there.
"""

from __future__ import annotations

import html

from restorekit.errors import RestorekitError
from restorekit.frontends.display import display_object, html_block
from restorekit.sources import archive, queries


def session_explorer(plan) -> None:
    """A session chooser over the plan's EB table: all, an OUSStatus ordinal, a manifest session."""
    import ipywidgets as widgets

    table = plan.eb_table()
    options = (
        ["all"]
        + sorted({str(s) for s in table.ousstatus_session.dropna()})
        + [name for name in plan.sessions]
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
            display_object(rows)

    chooser.observe(refresh, names="value")
    refresh()
    title = "<b>Explore the session/EB mapping</b> (OUSStatus ordinal or manifest session)"
    display_object(widgets.VBox([widgets.HTML(title), chooser, out]))


def mous_picker(db: str | None = None, *, schema: str | None = None) -> None:
    """Choose an MOUS of the archive (or type one) and show its record below."""
    import ipywidgets as widgets

    from restorekit.frontends.notebook import RestoreNotebook

    engine = archive.connect(db, schema=schema)
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
                record = RestoreNotebook(box.value, db=db, schema=schema, interactive=False)
                for section in (record.ousstatus, record.manifest, record.reconciliation,
                                record.show_plan):  # fmt: skip
                    section()
                session_explorer(record.plan)
            except RestorekitError as exc:
                html_block(f'<p class="rk-error">restorekit: error: {html.escape(str(exc))}</p>')

    button.on_click(run)
    display_object(widgets.VBox([widgets.HBox([box, button]), out]))
