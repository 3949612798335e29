"""Showing things in a notebook so that the executed record reads well without a kernel:
every table as static HTML, archive text escaped, errors in one line."""

from __future__ import annotations

import html

import pandas as pd

from restorekit.errors import RestorekitError
from restorekit.rules.findings import SEVERITY_ORDER
from restorekit.sources.archive import mask_secrets

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


def display_object(obj, **kwargs) -> None:
    """Display ``obj`` in the notebook (no-op outside IPython)."""
    from IPython.display import display

    display(obj, **kwargs)


def html_block(text: str) -> None:
    from IPython.display import HTML

    display_object(HTML(text))


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
