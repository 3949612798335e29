"""The archive queries of an MOUS restore, run and returned as tables.

Query functions take an engine and an MOUS uid in either spelling and return a DataFrame; the
statements themselves, and their SQL text, are in :mod:`restorekit.sources.sql`.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine

from restorekit.errors import InputError, UnknownMousError
from restorekit.sources.archive import lob_text
from restorekit.sources.sql import (  # noqa: F401  (re-exported: the query catalog)
    CALIBRATION_CLASSES,
    MOUS_LIST,
    PRESENCE,
    QUERIES,
    SCRIPT_CLASSES,
    Query,
)
from restorekit.uids import is_archive_uid, parse_uid


def run(name: str, engine: Engine, mous: str) -> pd.DataFrame:
    """Run the query called ``name`` for ``mous``."""
    return QUERIES[name].run(engine, mous=mous)


def calibration_count(engine: Engine, mous: str) -> int:
    """Number of ``calibration`` products: greater than zero means the MOUS was calibrated."""
    return int(run("calibration_count", engine, mous).iloc[0, 0])


def execution_blocks(engine: Engine, mous: str) -> pd.DataFrame:
    """The EB (ASDM) uids of the MOUS, one row each."""
    return run("execution_blocks", engine, mous)


_CLASS_QUERIES = {
    None: "product_files",
    "calibration": "calibration_files",
    "script": "script_files",
    "scripts": "script_files",
}


def product_files(engine: Engine, mous: str, file_class: str | None = None) -> pd.DataFrame:
    """Products in NGAS: ``file_class`` ``"calibration"``, ``"script"`` or ``None`` for all."""
    if file_class not in _CLASS_QUERIES:
        raise InputError(
            f"file class {file_class!r} is not known; use 'calibration', 'script' or None"
        )
    return run(_CLASS_QUERIES[file_class], engine, mous)


def project(engine: Engine, mous: str) -> pd.DataFrame:
    """Project code, ObsProject uid, title and PI."""
    return run("project", engine, mous)


def obs_unit_set(engine: Engine, mous: str) -> pd.DataFrame:
    """ObsProject uid (``obsunitsetuid``) and ObsUnitSet ``partId``."""
    return run("obs_unit_set", engine, mous)


def ous_status(engine: Engine, mous: str) -> pd.DataFrame:
    """The MOUS's status row: state, ProjectStatus ref, containing OUS."""
    return run("ous_status", engine, mous)


def ousstatus_xml(engine: Engine, mous: str) -> str | None:
    """The OUSStatus XML document, or ``None`` when the archive holds none."""
    frame = run("ousstatus_xml", engine, mous)
    if frame.empty or pd.isna(frame.iloc[0, 0]):
        return None
    return str(lob_text(frame.iloc[0, 0]))


def schedblocks(engine: Engine, mous: str) -> pd.DataFrame:
    """SchedBlock uids of the MOUS's EBs, with SBStatus uid and state."""
    return run("schedblocks", engine, mous)


def qa0(engine: Engine, mous: str) -> pd.DataFrame:
    """QA0 status per EB, including EBs of the MOUS's SchedBlocks absent from ASA_SCIENCE."""
    return run("qa0", engine, mous)


def parent_chain(engine: Engine, mous: str) -> pd.DataFrame:
    """One row: the MOUS, its GOUS and SOUS uids, and their states."""
    return run("parent_chain", engine, mous)


def mous_list(engine: Engine) -> pd.DataFrame:
    """Every MOUS with science data in the archive."""
    return MOUS_LIST.run(engine)


def listed_mouses(engine: Engine) -> tuple[pd.DataFrame, list[str]]:
    """:func:`mous_list` split: the rows whose MEMBER_OUSS_ID is an MOUS uid, and (sorted) the
    values that are not, which no MOUS can be planned under."""
    listed = mous_list(engine)
    named = listed.mous.map(is_archive_uid).astype(bool)
    return listed[named], sorted(listed.mous[~named])


def require_known_mous(engine: Engine, mous: str) -> str:
    """Return the MOUS uid in archive form, or raise if no table mentions it.

    Raises
    ------
    InvalidUidError
        If ``mous`` is not a UID.
    UnknownMousError
        If the archive has no row for it.
    """
    uid = parse_uid(mous, what="MOUS uid").archive
    counts = PRESENCE.run(engine, mous=uid)
    if int(counts.iloc[0].sum()) == 0:
        raise UnknownMousError(
            f"MOUS {uid} is not in the archive; check the uid, or list the known ones with "
            "`restorekit list`",
            mous=uid,
        )
    return uid
