"""How the command line shows things: plain-text tables, plans, and only printable text."""

from __future__ import annotations

import pandas as pd


def format_table(frame: pd.DataFrame) -> str:
    """A DataFrame as plain text for a terminal."""
    if frame.empty:
        return "(no rows)"
    return printable(frame.to_string(index=False, na_rep="-"))


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
    chosen = (
        f"{choice.chosen.location} ({choice.chosen.command})" if choice.chosen else "none"
    )
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
