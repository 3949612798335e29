"""The text of the archive queries of an MOUS restore, each written once and named.

Every query is a SQLAlchemy statement with bind variables (``:mous``); nothing is ever formatted
into SQL text. The same statement runs on SQLite and on Oracle, and its SQL can be shown without
running it::

    >>> from restorekit.sources.sql import QUERIES
    >>> print(QUERIES["execution_blocks"].sql())      # doctest: +SKIP
    SELECT DISTINCT asa_science.asdm_uid ...

:mod:`restorekit.sources.queries` runs them and returns tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import oracle, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from restorekit.sources.archive import translate_errors
from restorekit.sources.schema import (
    aqua_execblock,
    aqua_ous,
    asa_product_files,
    asa_project,
    asa_science,
    obs_unit_set_status,
    sched_block_status,
)
from restorekit.uids import parse_uid

MOUS = sa.bindparam("mous", type_=sa.String)
CALIBRATION_CLASSES = ("calibration",)
# The seed writes 'scripts'; the schema says 'script'. Both are scripts.
SCRIPT_CLASSES = ("script", "scripts")
_DIALECTS = {"oracle": oracle.dialect(), "sqlite": sqlite.dialect()}
_MOUS_MARK = "mous-bind-placeholder"  # replaced by :mous in the shown SQL


@dataclass(frozen=True)
class Query:
    """A named archive query.

    Attributes
    ----------
    name
        Short identifier, e.g. ``"execution_blocks"``.
    title
        What the query answers, in words.
    statement
        The SQLAlchemy statement; bind variables only.
    """

    name: str
    title: str
    statement: Select | sa.CompoundSelect

    def sql(self, dialect: str = "oracle", schema: str | None = None) -> str:
        """SQL text that pastes into ``sqlite3`` or SQL Developer: the MOUS as the named bind
        ``:mous``, IN-lists written out, and for Oracle the tables under ``schema``."""
        statement = self.statement
        if "mous" in self._binds:
            statement = statement.params(mous=_MOUS_MARK)
        translate = {None: schema} if schema and dialect == "oracle" else None
        compiled = statement.compile(
            dialect=_DIALECTS[dialect],
            compile_kwargs={"literal_binds": True},
            schema_translate_map=translate,
        )
        text = str(compiled).replace(f"'{_MOUS_MARK}'", ":mous")
        return text.replace("__[SCHEMA__none].", f"{schema}." if translate else "")

    @property
    def _binds(self) -> set[str]:
        return {b.key for b in self.statement.compile().binds.values()}

    def run(self, engine: Engine, **params: Any) -> pd.DataFrame:
        """Run the query and return its rows as a DataFrame."""
        if "mous" in params:
            params["mous"] = parse_uid(params["mous"], what="MOUS uid").archive
        with translate_errors(engine), engine.connect() as conn:
            return pd.read_sql(self.statement, conn, params=params)


def _mous_ebs() -> Select:
    return sa.select(asa_science.c.asdm_uid).where(asa_science.c.member_ouss_id == MOUS)


def _mous_schedblocks() -> sa.CompoundSelect:
    return sa.union(
        sa.select(asa_science.c.schedblock_uid).where(asa_science.c.member_ouss_id == MOUS),
        sa.select(sched_block_status.c.domain_entity_id).where(
            sched_block_status.c.parent_obs_unit_set_status_id == MOUS
        ),
    )


def _product_files(classes: tuple[str, ...] | None) -> Select:
    t = asa_product_files
    stmt = sa.select(t.c.ngas_file_id, t.c.file_class, t.c.stored_size).where(
        t.c.asa_mous_uid == MOUS
    )
    if classes is not None:
        stmt = stmt.where(t.c.file_class.in_(classes))
    return stmt.order_by(t.c.file_class, t.c.ngas_file_id)


_m = obs_unit_set_status.alias("mous")
_g = obs_unit_set_status.alias("gous")
_s = obs_unit_set_status.alias("sous")
_sb = sched_block_status

QUERIES: dict[str, Query] = {
    q.name: q
    for q in [
        Query(
            "calibration_count",
            "Was it calibrated? Number of calibration products",
            sa.select(sa.func.count().label("calibration_files")).where(
                asa_product_files.c.asa_mous_uid == MOUS,
                asa_product_files.c.file_class.in_(CALIBRATION_CLASSES),
            ),
        ),
        Query(
            "execution_blocks",
            "Execution blocks (ASDMs) of the MOUS",
            sa.select(asa_science.c.asdm_uid)
            .distinct()
            .where(asa_science.c.member_ouss_id == MOUS)
            .order_by(asa_science.c.asdm_uid),
        ),
        Query("calibration_files", "Calibration products", _product_files(CALIBRATION_CLASSES)),
        Query("script_files", "Script products", _product_files(SCRIPT_CLASSES)),
        Query("product_files", "All products held in NGAS", _product_files(None)),
        Query(
            "project",
            "Project code and ObsProject",
            sa.select(
                asa_project.c.project_code,
                asa_project.c.project_uid,
                asa_project.c.title,
                asa_project.c.pi_name,
            )
            .distinct()
            .join_from(
                asa_project,
                asa_science,
                asa_project.c.project_uid == asa_science.c.project_uid,
            )
            .where(asa_science.c.member_ouss_id == MOUS)
            .order_by(asa_project.c.project_uid),
        ),
        Query(
            "obs_unit_set",
            "ObsProject uid and ObsUnitSet partId",
            sa.select(
                aqua_ous.c.obsunitsetuid, aqua_ous.c.obsunitsetpartid, aqua_ous.c.qa2status
            ).where(aqua_ous.c.ous_status_entity_id == MOUS),
        ),
        Query(
            "ous_status",
            "OUSStatus: state, ProjectStatus ref and containing OUS",
            sa.select(
                obs_unit_set_status.c.status_entity_id,
                obs_unit_set_status.c.domain_entity_id,
                obs_unit_set_status.c.domain_entity_state,
                obs_unit_set_status.c.obs_project_status_id,
                obs_unit_set_status.c.obs_project_id,
                obs_unit_set_status.c.parent_obs_unit_set_status_id,
            ).where(obs_unit_set_status.c.status_entity_id == MOUS),
        ),
        Query(
            "ousstatus_xml",
            "The OUSStatus XML document",
            sa.select(obs_unit_set_status.c.xml).where(
                obs_unit_set_status.c.status_entity_id == MOUS
            ),
        ),
        Query(
            "schedblocks",
            "SchedBlocks with their SBStatus and state (of the EBs, and of the MOUS's status)",
            sa.union(
                sa.select(
                    asa_science.c.schedblock_uid,
                    asa_science.c.schedblock_name,
                    _sb.c.status_entity_id.label("sbstatus_uid"),
                    _sb.c.domain_entity_state.label("sb_state"),
                )
                .join_from(
                    asa_science,
                    _sb,
                    _sb.c.domain_entity_id == asa_science.c.schedblock_uid,
                    isouter=True,
                )
                .where(asa_science.c.member_ouss_id == MOUS),
                sa.select(
                    _sb.c.domain_entity_id,
                    sa.null(),
                    _sb.c.status_entity_id,
                    _sb.c.domain_entity_state,
                ).where(
                    _sb.c.parent_obs_unit_set_status_id == MOUS,
                    _sb.c.domain_entity_id.not_in(
                        sa.select(asa_science.c.schedblock_uid).where(
                            asa_science.c.member_ouss_id == MOUS,
                            asa_science.c.schedblock_uid.is_not(None),
                        )
                    ),
                ),
            ).order_by("schedblock_uid", "sbstatus_uid"),
        ),
        Query(
            "qa0",
            "QA0 status of every EB of the MOUS (also EBs not in ASA_SCIENCE)",
            sa.select(
                aqua_execblock.c.execblockuid,
                aqua_execblock.c.schedblockuid,
                aqua_execblock.c.qa0status,
                aqua_execblock.c.starttime,
                aqua_execblock.c.endtime,
            )
            .where(
                sa.or_(
                    aqua_execblock.c.execblockuid.in_(_mous_ebs()),
                    aqua_execblock.c.schedblockuid.in_(_mous_schedblocks()),
                )
            )
            .order_by(aqua_execblock.c.starttime, aqua_execblock.c.execblockuid),
        ),
        Query(
            "parent_chain",
            "Containing OUSes: MOUS -> GOUS -> SOUS",
            sa.select(
                _m.c.status_entity_id.label("mous"),
                _m.c.parent_obs_unit_set_status_id.label("gous"),
                _g.c.parent_obs_unit_set_status_id.label("sous"),
                _m.c.domain_entity_state.label("mous_state"),
                _g.c.domain_entity_state.label("gous_state"),
                _s.c.domain_entity_state.label("sous_state"),
            )
            .select_from(
                _m.outerjoin(
                    _g, _g.c.status_entity_id == _m.c.parent_obs_unit_set_status_id
                ).outerjoin(_s, _s.c.status_entity_id == _g.c.parent_obs_unit_set_status_id)
            )
            .where(_m.c.status_entity_id == MOUS),
        ),
    ]
}

# Not per-MOUS questions of the seed, but what the tools around them need.
MOUS_COLUMNS = (
    asa_science.c.member_ouss_id,
    asa_product_files.c.asa_mous_uid,
    obs_unit_set_status.c.status_entity_id,
    aqua_ous.c.ous_status_entity_id,
)
"""Where the archive knows an MOUS: a row in any of these makes it one ``plan`` takes."""

PRESENCE = Query(
    "presence",
    "Rows that mention the MOUS, per table",
    sa.select(
        *(
            sa.select(sa.func.count())
            .where(column == MOUS)
            .scalar_subquery()
            .label(column.table.name)
            for column in MOUS_COLUMNS
        )
    ),
)

MOUS_LIST = Query(
    "mous_list",
    "Every MOUS with science data, with its project",
    sa.select(
        asa_science.c.member_ouss_id.label("mous"),
        asa_project.c.project_code,
        sa.func.count(sa.distinct(asa_science.c.asdm_uid)).label("ebs"),
    )
    .join_from(
        asa_science,
        asa_project,
        asa_project.c.project_uid == asa_science.c.project_uid,
        isouter=True,
    )
    .group_by(asa_science.c.member_ouss_id, asa_project.c.project_code)
    .order_by(asa_project.c.project_code, asa_science.c.member_ouss_id),
)
