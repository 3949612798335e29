"""Showing things in a notebook so that the executed record reads well without a kernel:
every table as static HTML that never hides a column (at 1024 px and printed on A4), archive
text escaped, code in monospace, missing values one way, errors in one line."""

from __future__ import annotations

import html
import re

import pandas as pd

from restorekit.errors import RestorekitError
from restorekit.rules.findings import SEVERITY_ORDER
from restorekit.sources.archive import mask_secrets

RESULT_MIME = "application/vnd.restorekit.result+json"
MISSING = "—"
"""How a missing value is shown in the record, everywhere."""
NUMBERED_FROM = 12
"""Code of more lines than this is shown with line numbers."""
ROW_CLASSES = ("error", "warning", "info", "restore")
NUMBER_CELL = '<td class="rk-num">'

_CSS = """<style>
.rk-table { border-collapse: collapse; font-size: 0.85em; margin: 0.3em 0 1em 0;
  width: auto; max-width: 100%; table-layout: auto; }
.rk-table th, .rk-table td { border: 1px solid #ccc; padding: 2px 6px;
  text-align: left !important; vertical-align: top; white-space: normal !important;
  overflow-wrap: break-word; word-break: normal; }
.rk-table th { background: #f2f2f2; }
.rk-table td.rk-num { text-align: right !important; white-space: nowrap !important; }
.rk-row-error td { background: #f8d7da; }
.rk-row-warning td { background: #fff3cd; }
.rk-row-info td { background: #e7f1ff; }
.rk-row-restore td { background: #d1e7dd; }
.rk-swatch { display: inline-block; padding: 0 0.4em; border: 1px solid #ccc; }
pre.rk-code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 0.8em; white-space: pre-wrap; overflow-wrap: anywhere; background: #f7f7f7;
  border: 1px solid #ddd; padding: 0.4em; counter-reset: rk-line; }
pre.rk-numbered .rk-line { display: block; padding-left: 3.2em; text-indent: -3.2em; }
pre.rk-numbered .rk-line::before { counter-increment: rk-line; content: counter(rk-line);
  display: inline-block; width: 2.6em; margin-right: 0.6em; text-align: right; color: #888; }
.rk-note { color: #444; margin: 0.2em 0; }
.rk-error { color: #a00; font-weight: bold; }
.rk-card { border: 2px solid #198754; border-radius: 6px; padding: 0.5em 0.9em;
  margin: 0.5em 0 1em 0; }
.rk-card.rk-card-no { border-color: #b02a37; }
.rk-card h3 { margin: 0 0 0.3em 0; overflow-wrap: anywhere; }
.rk-card dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.15em 1em;
  margin: 0; }
.rk-card dt { font-weight: bold; white-space: nowrap; }
.rk-card dd { margin: 0; overflow-wrap: anywhere; }
@media print {
  @page { size: A4 portrait; margin: 12mm; }
  table.rk-table { font-size: 6.5pt !important; } pre.rk-code { font-size: 6.5pt; }
  .rk-table th, .rk-table td { padding: 1px 3px; }
  .rk-table, .rk-code, .rk-card { break-inside: auto; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>"""


def display_object(obj, **kwargs) -> None:
    """Display ``obj`` in the notebook (no-op outside IPython)."""
    from IPython.display import display

    display(obj, **kwargs)


def html_block(text: str, **kwargs) -> None:
    from IPython.display import HTML

    display_object(HTML(_CSS + text), **kwargs)


def note(text: str) -> None:
    """A line of prose in the record."""
    html_block(f'<p class="rk-note">{html.escape(text)}</p>')


def cell_text(value) -> str:
    """A value as the record writes it: missing as :data:`MISSING`, whole numbers as integers,
    booleans as yes/no."""
    if value is None or (not isinstance(value, list | tuple | dict) and pd.isna(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    return str(value)


_LONG = re.compile(r"\S{10,}")


def _breakable(text: str) -> str:
    """Escaped ``text`` whose long tokens (uids, paths, file names, codes) may wrap after
    ``/``, ``_``, ``.``, ``-`` or ``:``; words wrap only between them."""
    return _LONG.sub(lambda m: re.sub(r"([/_.:-])(?=.)", r"\1<wbr>", m.group(0)), html.escape(text))


def table_html(frame: pd.DataFrame, row_classes: list[str | None] | None = None) -> str:
    """A table that wraps instead of scrolling; ``row_classes`` colour rows (see
    :data:`ROW_CLASSES`)."""
    numeric = [
        pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        for c in frame.columns
    ]
    head = "".join(f"<th>{_breakable(str(c))}</th>" for c in frame.columns)
    rows = []
    for i, values in enumerate(frame.itertuples(index=False, name=None)):
        kind = row_classes[i] if row_classes else None
        cls = f' class="rk-row-{kind}"' if kind else ""
        cells = "".join(
            (NUMBER_CELL if num else "<td>") + _breakable(cell_text(v)) + "</td>"
            for v, num in zip(values, numeric, strict=True)
        )
        rows.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<table class="rk-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def show(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    row_classes: list[str | None] | None = None,
) -> None:
    """A table as static HTML (readable without a kernel)."""
    head = f"<p><b>{html.escape(caption)}</b></p>" if caption else ""
    if frame.empty:
        html_block(head + '<p class="rk-note"><i>(no rows)</i></p>')
        return
    html_block(head + table_html(frame, row_classes))


def code_html(text: str, *, language: str = "") -> str:
    """Code or XML in monospace, numbered when long."""
    lines = text.splitlines()
    if len(lines) > NUMBERED_FROM:
        body = "".join(f'<span class="rk-line">{html.escape(line)}</span>' for line in lines)
        return f'<pre class="rk-code rk-numbered language-{language}">{body}</pre>'
    return f'<pre class="rk-code language-{language}">{html.escape(text)}</pre>'


def show_code(text: str, *, language: str = "") -> None:
    html_block(code_html(text, language=language))


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


def eb_row_classes(plan, table: pd.DataFrame, findings: pd.DataFrame) -> list[str | None]:
    """Each EB row's colour: its worst finding, else green when restored; when nothing can be
    restored, the MOUS's own error colours every EB left out."""
    worst: dict[str, str] = {}
    for row in findings.itertuples():
        if row.eb:
            worst[row.eb] = min(
                worst.get(row.eb, row.severity), row.severity, key=SEVERITY_ORDER.__getitem__
            )
    mous_error = not plan.restorable and any(
        f.severity == "error" and not f.eb for f in plan.findings
    )
    classes: list[str | None] = []
    for eb, restored in zip(table["eb"], table["restore"], strict=True):
        kind = worst.get(eb)
        if restored and kind in (None, "info"):
            kind = "restore"
        elif not restored and mous_error:
            kind = "error"
        classes.append(kind)
    return classes


def severity_classes(findings: pd.DataFrame) -> list[str | None]:
    return list(findings["severity"]) if "severity" in findings else []


LEGEND = (
    '<p class="rk-note">One row per EB seen by any source. '
    '<span class="rk-swatch rk-row-restore" style="background:#d1e7dd">restored</span> '
    '<span class="rk-swatch" style="background:#e7f1ff">left out for a known reason</span> '
    '<span class="rk-swatch" style="background:#fff3cd">a warning</span> '
    '<span class="rk-swatch" style="background:#f8d7da">an error (the EB\'s, or the MOUS\'s '
    "when nothing can be restored)</span></p>"
)

RECONCILIATION_FIRST = ["eb", "restore", "reason", "qa0", "ousstatus_session", "manifest_session"]


def reconciliation_frame(plan) -> tuple[pd.DataFrame, list[str | None]]:
    """The EB table as the record shows it (verdict first) and each row's colour: one
    definition for the static table and the interactive explorer."""
    table = plan.eb_table()
    table = table[RECONCILIATION_FIRST + [c for c in table if c not in RECONCILIATION_FIRST]]
    return table, eb_row_classes(plan, table, plan.findings_table())
