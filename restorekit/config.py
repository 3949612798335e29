"""Every setting restorekit reads, in one place: environment variables and site settings.

Command-line options override these; site settings come from ``--settings FILE`` (YAML), else
``RESTOREKIT_<SETTING>`` variables, else their defaults. The README's table is
:func:`markdown_table`, checked by a test.
"""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

from restorekit.settings import SiteSettings


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str


ENVIRONMENT = [
    Variable("RESTOREKIT_DB", "the embedded demo archive (said on stderr)", "archive URL (--db)"),
    Variable("RESTOREKIT_DB_PASSWORD", "none", "the database password; never shown or written"),
    Variable("RESTOREKIT_DB_SCHEMA", "ALMA", "Oracle owner of the tables (--schema)"),
    Variable("RESTOREKIT_WALLET_PASSWORD", "none", "the Oracle wallet's password"),
    Variable("RESTOREKIT_NGAS", "the demo archive's store", "NGAS directory or URL (--ngas)"),
    Variable("RESTOREKIT_NGAS_TIMEOUT", "60", "seconds an NGAS request may wait for data"),
    Variable("RESTOREKIT_NGAS_REDIRECT_HOSTS", "none", "hosts NGAS may redirect to (a,b,...)"),
    Variable("RESTOREKIT_DOCUMENT_DEADLINE", "180", "seconds a manifest or script read may take"),
    Variable(
        "RESTOREKIT_CACHE",
        "~/.cache/restorekit",
        "where the demo archive is built and CASA versions are remembered",
    ),
]
"""Environment variables, besides ``RESTOREKIT_<SETTING>`` for each site setting."""


def site_settings() -> list[Variable]:
    """Each site setting as ``RESTOREKIT_<NAME>``, with its default and meaning."""
    return [
        Variable(
            f"RESTOREKIT_{f.name.upper()}",
            _default(f),
            f"site setting `{f.name}`: {f.metadata['meaning']}",
        )
        for f in fields(SiteSettings)
    ]


def _default(f) -> str:
    if f.default is None or f.default is MISSING:
        return "none"
    return str(f.default)


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for v in ENVIRONMENT + site_settings():
        rows.append(f"| `{v.name}` | {v.default} | {v.meaning} |")
    return "\n".join(rows)


def cache_root() -> Path:
    """``$RESTOREKIT_CACHE``, else ``$XDG_CACHE_HOME/restorekit`` (``~/.cache/restorekit``)."""
    explicit = os.environ.get("RESTOREKIT_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "restorekit"
