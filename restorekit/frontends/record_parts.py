"""Parts of the restore record that summarise it: the card it opens with, and its provenance.

The card is shown when the record starts and updated in place (a display id) as the record
learns more: the preflight result comes from ``prepare``, near the end.
"""

from __future__ import annotations

import getpass
import html
import platform
import socket
import subprocess
from collections import Counter
from datetime import datetime
from importlib import metadata
from pathlib import Path

from restorekit import __version__
from restorekit.frontends.display import MISSING, cell_text
from restorekit.sources.archive import mask_secrets, mask_url_text


def findings_count(plan) -> str:
    counts = Counter(f.severity for f in plan.findings)
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
             for s in ("error", "warning", "info") if counts[s]]  # fmt: skip
    return ", ".join(parts) or "none"


def preflight_text(prepared, error: str | None) -> str:
    if prepared is not None and prepared.check is not None:
        check = prepared.check
        return "passes" if check.ok else f"{len(check.problems)} problem(s): {check.problems[0]}"
    if error:
        return f"not run: {error}"
    return "not run yet (the restore area is written by section 8)"


def casa_to_use(plan) -> str:
    choice = plan.casa
    if choice is None:
        return MISSING
    if choice.chosen is None:
        return f"none on this site: install {choice.wanted.install_name()} ({choice.why})"
    return (
        f"{choice.chosen.location} — CASA {cell_text(choice.chosen.casa)}, pipeline "
        f"{cell_text(choice.chosen.pipeline)} ({choice.match} match for "
        f"{choice.wanted.describe()})"
    )


def card_rows(
    plan, prepared=None, error: str | None = None, archive: str | None = None
) -> list[tuple[str, str]]:
    reason = plan.not_restorable_because
    rows = [("archive", archive)] if archive else []
    rows += [
        ("project", cell_text(plan.project.code)),
        ("restorable", "yes" if reason is None else f"no — {reason}"),
    ]
    if reason is None:
        rows.append(("route", cell_text(plan.route or "not chosen: the scripts were not read")))
    rows += [
        ("findings", findings_count(plan)),
        ("preflight", preflight_text(prepared, error)),
        ("CASA to use", casa_to_use(plan)),
    ]
    return rows


def card_html(plan, prepared=None, error: str | None = None, archive: str | None = None) -> str:
    """The summary card: MOUS, project, restorable (and why not), route, findings, preflight,
    the CASA to use."""
    good = plan.restorable and (prepared is None or prepared.check is None or prepared.check.ok)
    title = f"MOUS {plan.mous}: {'restorable' if plan.restorable else 'NOT restorable'}"
    items = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>"
        for k, v in card_rows(plan, prepared, error, archive)
    )
    cls = "rk-card" if good else "rk-card rk-card-no"
    return f'<div class="{cls}"><h3>{html.escape(title)}</h3><dl>{items}</dl></div>'


def card_text(plan, prepared=None, error: str | None = None) -> str:
    title = f"MOUS {plan.mous}: {'restorable' if plan.restorable else 'NOT restorable'}"
    return "\n".join([title, *(f"  {k}: {v}" for k, v in card_rows(plan, prepared, error))])


def git_revision() -> str | None:
    """The restorekit checkout's revision (``+`` when modified), when it runs from a clone."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+" if dirty else "")


def provenance_rows(
    parameters: dict, database: str, ngas: str, started: datetime, finished: datetime
) -> list[tuple[str, str]]:
    """Who ran the record where, with what, on which archive, and when (passwords masked)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = MISSING
    versions = [("restorekit", __version__), ("python", platform.python_version())]
    for package in ("pandas", "sqlalchemy", "lxml", "oracledb", "papermill"):
        try:
            versions.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            pass
    shown = {k: mask_url_text(mask_secrets(cell_text(v))) for k, v in parameters.items()}
    return [
        *((f"parameter {k}", v) for k, v in shown.items()),
        ("run by", f"{user} on {socket.gethostname()}"),
        ("restorekit revision", git_revision() or "not a git checkout"),
        *versions,
        ("database", database),
        ("NGAS", mask_url_text(ngas)),
        ("started", started.isoformat(timespec="seconds")),
        ("finished", finished.isoformat(timespec="seconds")),
        ("took", f"{(finished - started).total_seconds():.1f} s"),
    ]
