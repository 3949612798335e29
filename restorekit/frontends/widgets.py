"""ipywidgets of the restore notebook in interactive mode: a session explorer, and an MOUS
picker that inspects another MOUS and can prepare its restore area.

Nothing here runs in a papermill record (``interactive=False``); the static tables are there.
The explorer shows the reconciliation table exactly as the record does (same columns, order
and colours), filtered by session.
"""

from __future__ import annotations

import html

from restorekit.errors import RestorekitError
from restorekit.frontends.display import (
    LEGEND,
    display_object,
    html_block,
    reconciliation_frame,
    table_html,
)
from restorekit.sources import archive, queries


def _filtered(plan, choice: str) -> str:
    table, classes = reconciliation_frame(plan)
    if choice == "all":
        keep = [True] * len(table)
    elif choice.startswith("session_"):
        keep = list(table.manifest_session == choice)
    else:
        keep = list(table.ousstatus_session == int(choice))
    rows = table[keep]
    if rows.empty:
        return '<p class="rk-note"><i>(no rows)</i></p>'
    return table_html(rows, [c for c, k in zip(classes, keep, strict=True) if k])


def session_explorer(plan):
    """A session chooser over the plan's EB table: all, an OUSStatus ordinal, a manifest
    session. Returns the widget (also displayed)."""
    import ipywidgets as widgets

    table = plan.eb_table()
    options = (
        ["all"]
        + sorted({str(s) for s in table.ousstatus_session.dropna()})
        + [name for name in plan.sessions]
    )
    chooser = widgets.Dropdown(options=options, description="session")
    view = widgets.HTML(_filtered(plan, "all"))
    chooser.observe(lambda change: setattr(view, "value", _filtered(plan, change["new"])),
                    names="value")  # fmt: skip
    title = widgets.HTML(
        f"<b>Explore the session/EB mapping of {html.escape(plan.mous)}</b> "
        "(OUSStatus ordinal or manifest session)" + LEGEND
    )
    box = widgets.VBox([title, chooser, view])
    box.add_class("rk-explorer")
    display_object(box)
    return box


def mous_picker(db=None, *, schema=None, root=None, settings=None):
    """Choose an MOUS of the archive (or type one): one view of it, labelled with its uid,
    replacing the one before; a button prepares its restore area under ``root``."""
    import ipywidgets as widgets

    from restorekit.frontends.notebook import RestoreNotebook

    engine = archive.connect(db, schema=schema)
    mouses = list(queries.listed_mouses(engine)[0].mous)
    box = widgets.Combobox(
        options=mouses, placeholder="uid://A001/...", description="MOUS", ensure_option=False
    )
    button = widgets.Button(description="Inspect", button_style="primary")
    out = widgets.Output()
    out.add_class("rk-picked")

    def inspect(*_):
        out.clear_output()
        with out:
            try:
                record = RestoreNotebook(box.value, db=db, schema=schema, root=root,
                                         settings=settings)  # fmt: skip
                record.reconciliation()
                record.show_plan()
                session_explorer(record.plan)
                _prepare_button(record)
            except RestorekitError as exc:
                html_block(f'<p class="rk-error">restorekit: error: {html.escape(str(exc))}</p>')

    button.on_click(inspect)
    picker = widgets.VBox([widgets.HBox([box, button]), out])
    picker.add_class("rk-picker")
    display_object(picker)
    return picker


def _prepare_button(record) -> None:
    import ipywidgets as widgets

    button = widgets.Button(
        description=f"Prepare {record.mous}",
        tooltip=f"write the restore area under {record.root}",
        layout=widgets.Layout(width="auto"),
        disabled=not record.plan.restorable,
    )
    where = widgets.HTML(f'<span class="rk-note">root: {html.escape(str(record.root))}</span>')
    out = widgets.Output()

    def prepare(*_):
        button.disabled = True
        with out:
            record.prepare()
            # An Output widget does not take display updates: the card is shown again.
            html_block(record.card_html())

    button.on_click(prepare)
    display_object(widgets.VBox([widgets.HBox([button, where]), out]))


def fixes_explorer(mouses):
    """The MOUSes with data fixes (:func:`restorekit.survey_table.fix_mouses`), grouped by
    fix, proposal cycle, CASA and pipeline, or project: choose a grouping, click a group, see
    its MOUSes. Returns the widget (also displayed)."""
    import ipywidgets as widgets

    from restorekit.survey_table import FIX_GROUPS, fix_group, fix_group_counts

    by = widgets.Dropdown(options=list(FIX_GROUPS), description="group by")
    groups = widgets.Select(rows=8, layout=widgets.Layout(width="28em"))
    view = widgets.HTML()

    def regroup(_=None) -> None:
        counts = fix_group_counts(mouses, by.value)
        groups.options = [
            (f"{name} ({n:,} MOUS{'es' if n != 1 else ''})", name) for name, n in counts
        ]
        groups.value = counts[0][0] if counts else None
        show_group()

    def show_group(_=None) -> None:
        if groups.value is None:
            view.value = '<p class="rk-note"><i>(no MOUSes)</i></p>'
            return
        view.value = table_html(fix_group(mouses, by.value, groups.value))

    by.observe(regroup, names="value")
    groups.observe(show_group, names="value")
    regroup()
    title = widgets.HTML(
        "<b>MOUSes with data fixes</b>: choose a grouping, click a group to list its MOUSes"
    )
    box = widgets.VBox([title, widgets.HBox([by, groups]), view])
    box.add_class("rk-explorer")
    display_object(box)
    return box
