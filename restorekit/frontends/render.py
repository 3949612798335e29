"""How the command line shows things: plain-text tables, plans, and only printable text."""

from __future__ import annotations

import shutil
import sys

import pandas as pd

MISSING = "-"
"""How a missing value is shown, everywhere."""
MIN_COLUMN = 8
wide = False
"""``--wide``: never shorten a column to the terminal's width."""


def table_width() -> int | None:
    """The width tables keep to: the terminal's, unless ``--wide`` or not a terminal."""
    if wide or not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def _cell(value) -> str:
    if value is None or (not isinstance(value, list | tuple | dict) and pd.isna(value)):
        return MISSING
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return printable(str(value)).replace("\n", " ")


def _fit(widths: list[int], limit: int) -> list[int]:
    """Narrow the widest columns until the row fits in ``limit`` (never below MIN_COLUMN)."""
    widths = list(widths)
    while sum(widths) + 2 * (len(widths) - 1) > limit:
        widest = max(range(len(widths)), key=widths.__getitem__)
        if widths[widest] <= MIN_COLUMN:
            break
        widths[widest] -= 1
    return widths


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(frame: pd.DataFrame, width: int | None = None) -> str:
    """A DataFrame as plain text: text left-aligned, numbers right-aligned, missing values as
    ``-``, whole numbers as integers; cut to ``width`` (default :func:`table_width`) with an
    ellipsis where a column must be shortened."""
    if frame.empty:
        return "(no rows)"
    width = width if width is not None else table_width()
    columns = [str(c) for c in frame.columns]
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and frame[c].dtype != bool for c in frame]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    if width:
        widths = _fit(widths, width)

    def line(cells: list[str]) -> str:
        out = []
        for text, w, right in zip(cells, widths, numeric, strict=True):
            text = _clip(text, w)
            out.append(text.rjust(w) if right else text.ljust(w))
        return "  ".join(out).rstrip()

    return "\n".join([line(columns), *(line(r) for r in rows)])


def print_plan(plan) -> None:
    call = ", ".join(f"{k}={v!r}" for k, v in plan.restore_parameters.items())
    route = f", route {plan.route or 'not chosen (the scripts could not be read)'}"
    route = route if plan.restorable else ""
    print(
        f"MOUS {plan.mous}: {'restorable' if plan.restorable else 'NOT restorable'}{route}, "
        f"{plan.task}({call})"
    )
    if plan.release is not None:
        print(f"  calls written for pipeline {plan.release.describe()}")
    if plan.casa is not None:
        print(f"  {casa_line(plan.casa)}")
    for problem in plan.degraded:
        print(f"  DEGRADED: {problem}")
    for name, ebs in plan.sessions.items():
        print(f"  {name}: {' | '.join(ebs)}")
    print("\n== EBs")
    print(format_table(plan.eb_table()))
    print("\n== Findings")
    print(format_table(plan.findings_table().drop(columns="eb")))


def printable(text: str) -> str:
    """Control characters from archive strings shown escaped, never sent raw to a terminal."""
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in text)


def casa_line(choice) -> str:
    """One line: the CASA wanted, the one chosen (or none) and why."""
    chosen = f"{choice.chosen.location} ({choice.chosen.command})" if choice.chosen else "none"
    return (
        f"CASA: calibrated with {choice.wanted.describe()} ({choice.wanted.basis}); "
        f"chosen: {chosen}, match {choice.match}: {choice.why}"
    )


def catalog_table(catalog):
    """The site's CASA installs as a table, each with what the release notes say of it."""
    import pandas as pd

    from restorekit.rules.casa import notes_for_pipeline

    rows = []
    for i in catalog.installs:
        notes = notes_for_pipeline(i.pipeline)
        rows.append(
            {
                "casa": i.casa,
                "pipeline": i.pipeline if i.with_pipeline else "(none)",
                "identified": i.identified,
                "release notes": notes[0].describe() if notes else None,
                "command": i.command,
                "location": i.location,
            }
        )
    columns = ["casa", "pipeline", "identified", "release notes", "command", "location"]
    return pd.DataFrame(rows, columns=columns)
