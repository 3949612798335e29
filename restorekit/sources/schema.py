"""The archive tables restorekit reads, as SQLAlchemy metadata.

They mirror ``data/alma_schema.sql`` (a copy of the shared table contract) column for column;
a test keeps the two in step. Names are lower case so that SQL renders unquoted and reads the
same on SQLite and on Oracle, where ``schema_translate_map`` adds the ``ALMA.`` prefix.
"""

from __future__ import annotations

from importlib import resources

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

metadata = MetaData()

asa_project = Table(
    "asa_project",
    metadata,
    Column("project_uid", String(64), primary_key=True),
    Column("project_code", String(32), nullable=False),
    Column("title", String(256)),
    Column("pi_name", String(256)),
)

asa_science = Table(
    "asa_science",
    metadata,
    Column("dataset_id", String(64), primary_key=True),
    Column("asdm_uid", String(64), nullable=False),
    Column("member_ouss_id", String(64), nullable=False),
    Column("group_ouss_id", String(64)),
    Column("project_uid", String(64), nullable=False),
    Column("schedblock_uid", String(64)),
    Column("schedblock_name", String(128)),
)

asa_product_files = Table(
    "asa_product_files",
    metadata,
    Column("asa_mous_uid", String(64), primary_key=True),
    Column("ngas_file_id", String(256), primary_key=True),
    Column("file_class", String(32), nullable=False),
    Column("stored_size", Integer),
)

aqua_ous = Table(
    "aqua_ous",
    metadata,
    Column("ous_status_entity_id", String(64), primary_key=True),
    Column("obsunitsetuid", String(64), nullable=False),
    Column("obsunitsetpartid", String(32), nullable=False),
    Column("qa2status", String(32)),
)

aqua_execblock = Table(
    "aqua_execblock",
    metadata,
    Column("execblockuid", String(64), primary_key=True),
    Column("schedblockuid", String(64)),
    Column("qa0status", String(32)),
    Column("starttime", String(32)),
    Column("endtime", String(32)),
)

obs_unit_set_status = Table(
    "obs_unit_set_status",
    metadata,
    Column("status_entity_id", String(64), primary_key=True),
    Column("domain_entity_id", String(32)),
    Column("domain_entity_state", String(32)),
    Column("parent_obs_unit_set_status_id", String(64)),
    Column("obs_project_status_id", String(64)),
    Column("obs_project_id", String(64)),
    Column("xml", Text),
)

sched_block_status = Table(
    "sched_block_status",
    metadata,
    Column("status_entity_id", String(64), primary_key=True),
    Column("domain_entity_id", String(64), nullable=False),
    Column("domain_entity_state", String(32)),
    Column("parent_obs_unit_set_status_id", String(64)),
    Column("obs_project_id", String(64)),
)


def schema_ddl() -> str:
    """The table contract (``alma_schema.sql``) as shipped with the package."""
    return resources.files("restorekit").joinpath("data/alma_schema.sql").read_text()
