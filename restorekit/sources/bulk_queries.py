"""The archive read whole, for many MOUSes at once: the survey's SQL.

A fixed number of statements whatever the archive's size: whole tables streamed in batches
(bounded by MOUS uid ranges so that workers share them), or IN-lists of at most 1000 uids for a
list of MOUSes (Oracle's limit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from restorekit.sources import schema
from restorekit.sources.archive import lob_text, translate_errors
from restorekit.sources.sql import MOUS_COLUMNS

IN_LIST_LIMIT = 1000


def select_all(table: sa.Table) -> sa.Select:
    return sa.select(*table.columns)


def _fetch(conn, stmt, **params) -> list[tuple]:
    return [tuple(r) for r in conn.execute(stmt, params)]


def stream_rows(conn, stmt, batch: int = 20_000) -> Iterator[list[tuple]]:
    """Rows as plain tuples straight from the driver's cursor, a batch at a time: no
    per-row SQLAlchemy objects, so reading costs what the raw floor costs."""
    result = conn.execute(stmt)
    try:
        while rows := result.cursor.fetchmany(batch):
            yield rows
    finally:
        result.close()


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), IN_LIST_LIMIT):
        yield list(values[start : start + IN_LIST_LIMIT])


STREAMED_TABLES = (
    "asa_project",
    "asa_product_files",
    "aqua_ous",
    "aqua_execblock",
    "sched_block_status",
)


Bounds = tuple[str | None, str | None]


def partition_bounds(engine: Engine, parts: int) -> tuple[list[Bounds], int]:
    """Split the MOUS uids of ASA_SCIENCE into ``parts`` ranges of equal size (one query);
    also the number of MOUSes."""
    column = schema.asa_science.c.member_ouss_id
    with translate_errors(engine), engine.connect() as conn:
        # Sorted here: an ORDER BY took twice as long as the DISTINCT itself (SQLite, 100,000
        # MOUSes), and Python's order is the binary order the range conditions compare in.
        distinct = sa.select(column).distinct()
        mouses = sorted(r[0] for rows in stream_rows(conn, distinct) for r in rows)
    cuts = [mouses[len(mouses) * k // parts] for k in range(1, parts) if mouses]
    edges = [None, *cuts, None] if len(cuts) == parts - 1 else [None, None]
    return list(zip(edges[:-1], edges[1:], strict=True)), len(mouses)


def within_bounds(column: sa.Column, bounds: Bounds) -> list:
    low, high = bounds
    conditions = []
    if low is not None:
        conditions.append(column >= sa.literal(low, sa.String))
    if high is not None:
        conditions.append(column < sa.literal(high, sa.String))
    return conditions


def known_mouses(engine: Engine, mouses: Sequence[str]) -> set[str]:
    """Those of ``mouses`` that the archive mentions where the single-MOUS presence check
    looks (:data:`restorekit.sources.sql.MOUS_COLUMNS`), by IN-lists."""
    ids: sa.BindParameter[list[str]] = sa.bindparam("ids", expanding=True)
    known: set[str] = set()
    with translate_errors(engine), engine.connect() as conn:
        for column in MOUS_COLUMNS:
            stmt = sa.select(column).where(column.in_(ids)).distinct()
            for chunk in _chunks(sorted(set(mouses) - known)):
                known.update(r[0] for r in _fetch(conn, stmt, ids=chunk))
    return known


def read_tables(engine: Engine, mouses: Sequence[str]) -> dict[str, list[tuple]]:
    """The rows a survey of ``mouses`` needs, by IN-lists of at most 1000 uids.

    The number of statements grows only with ``len(mouses) / 1000``.
    """
    t = schema
    ids: sa.BindParameter[list[str]] = sa.bindparam("ids", expanding=True)
    rows: dict[str, list[tuple]] = {name: [] for name in schema.metadata.tables}
    with translate_errors(engine), engine.connect() as conn:

        def read(table: sa.Table, column: sa.Column, values: Iterable[str]) -> None:
            stmt = select_all(table).where(column.in_(ids))
            for chunk in _chunks(sorted(values)):
                rows[table.name] += _fetch(conn, stmt, ids=chunk)

        read(t.asa_science, t.asa_science.c.member_ouss_id, mouses)
        read(t.asa_product_files, t.asa_product_files.c.asa_mous_uid, mouses)
        read(t.aqua_ous, t.aqua_ous.c.ous_status_entity_id, mouses)
        read(t.obs_unit_set_status, t.obs_unit_set_status.c.status_entity_id, mouses)
        read(t.sched_block_status, t.sched_block_status.c.parent_obs_unit_set_status_id, mouses)
        science = rows["asa_science"]
        read(t.asa_project, t.asa_project.c.project_uid, {r[4] for r in science})
        read(
            t.sched_block_status,
            t.sched_block_status.c.domain_entity_id,
            {r[5] for r in science if r[5]} - {r[1] for r in rows["sched_block_status"]},
        )
        read(
            t.obs_unit_set_status,
            t.obs_unit_set_status.c.status_entity_id,
            {r[3] for r in rows["obs_unit_set_status"] if r[3]} - set(mouses),
        )
        read(t.aqua_execblock, t.aqua_execblock.c.execblockuid, {r[1] for r in science})
        read(
            t.aqua_execblock,
            t.aqua_execblock.c.schedblockuid,
            {r[5] for r in science if r[5]} | {r[1] for r in rows["sched_block_status"]},
        )
    rows["aqua_execblock"] = list(dict.fromkeys(rows["aqua_execblock"]))
    rows["sched_block_status"] = list(dict.fromkeys(rows["sched_block_status"]))
    rows["obs_unit_set_status"] = [tuple(map(lob_text, r)) for r in rows["obs_unit_set_status"]]
    return rows
