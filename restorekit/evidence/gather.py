"""Everything the archive and NGAS say about one MOUS, gathered once (the I/O edge).

:func:`gather` runs the archive queries and reads the delivered documents; the result feeds
the pure rules of :mod:`restorekit.rules.reconcile`. The survey builds the same :class:`Evidence`
for many MOUSes at once from whole-table reads.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy.engine import Engine

from restorekit.errors import DocumentError, NgasError
from restorekit.sources import queries
from restorekit.sources.document_cache import DocumentCache, ParsedForm
from restorekit.sources.fetch import read_document
from restorekit.sources.manifest import (
    Manifest,
    choose_manifest,
    first_named,
    manifest_from_plain,
    manifest_to_plain,
    parse_manifest,
    product_name,
)
from restorekit.sources.ngas import NgasStore
from restorekit.sources.ousstatus import OusStatus, parse_ousstatus
from restorekit.sources.scripts import (
    DeliveredScript,
    parse_script,
    script_from_plain,
    script_to_plain,
)

MISSING = "missing"


_Row = TypeVar("_Row", "ProjectRow", "StatusRow", "AquaOusRow")


@dataclass(frozen=True)
class SchedBlock:
    uid: str
    name: str | None = None
    status_uid: str | None = None
    state: str | None = None


@dataclass(slots=True)
class ProjectRow:
    """ASA_PROJECT of the MOUS's project."""

    code: str | None = None
    uid: str | None = None
    title: str | None = None
    pi: str | None = None


@dataclass(slots=True)
class StatusRow:
    """OBS_UNIT_SET_STATUS of the MOUS."""

    project_status: str | None = None
    parent: str | None = None
    """The GOUS (PARENT_OBS_UNIT_SET_STATUS_ID)."""
    obs_project: str | None = None
    part_id: str | None = None
    state: str | None = None


@dataclass(slots=True)
class AquaOusRow:
    """AQUA_OUS of the MOUS: its ObsProject and ObsUnitSet partId."""

    obs_project: str | None = None
    part_id: str | None = None


@dataclass
class Evidence:
    """What is known about one MOUS. Plain Python values, so that rules run fast in bulk."""

    mous: str
    science_ebs: list[str] = field(default_factory=list)
    qa0: dict[str, str | None] = field(default_factory=dict)
    eb_start: dict[str, str | None] = field(default_factory=dict)
    eb_schedblock: dict[str, str | None] = field(default_factory=dict)
    schedblocks: list[SchedBlock] = field(default_factory=list)
    products: dict[str, str] = field(default_factory=dict)
    """NGAS file id -> file class."""
    product_sizes: dict[str, int | None] = field(default_factory=dict)
    project: ProjectRow = field(default_factory=ProjectRow)
    status: StatusRow = field(default_factory=StatusRow)
    aqua_ous: AquaOusRow = field(default_factory=AquaOusRow)
    sous: str | None = None
    ousstatus: OusStatus | None = None
    ousstatus_problem: str | None = None
    """``"missing"`` when the XML is NULL, else the parse error."""
    documents_read: bool = False
    document_problems: dict[str, str] = field(default_factory=dict)
    """Delivered documents (manifest, scripts) that exist but could not be read: name -> why."""
    manifest_name: str | None = None
    manifest: Manifest | None = None
    restore_script: DeliveredScript | None = None
    pipescript: DeliveredScript | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    """The query results, as DataFrames, for display."""

    @property
    def script_problems(self) -> dict[str, str]:
        """Delivered scripts (restore script, pipescript) that could not be read: name -> why."""
        if not self.document_problems:
            return {}
        return {n: why for n, why in self.document_problems.items() if n.endswith(".py")}

    @property
    def last_observed(self) -> str | None:
        """The latest start time of the MOUS's EBs (``YYYY-MM-DD HH:MM:SS``), if any is known."""
        return max(filter(None, self.eb_start.values()), default=None)

    @property
    def manifest_problem(self) -> str | None:
        """Why the manifest could not be read, if it could not."""
        return self.document_problems.get(self.manifest_name or "")


def read_ousstatus(xml: str | None, mous: str) -> tuple[OusStatus | None, str | None]:
    if not xml or xml.isspace():  # not strip(): that copies the whole document
        return None, MISSING
    try:
        return parse_ousstatus(xml, mous=mous), None
    except DocumentError as exc:
        return None, str(exc)


def gather(engine: Engine, mous: str, store: NgasStore | None = None) -> Evidence:
    """Run the archive queries for ``mous`` and, with a ``store``, read its documents.

    Raises
    ------
    UnknownMousError
        If no archive table mentions the MOUS.
    """
    uid = queries.require_known_mous(engine, mous)
    tables = {
        name: queries.run(name, engine, uid) for name in queries.QUERIES if name != "ousstatus_xml"
    }
    xml = queries.ousstatus_xml(engine, uid)
    ev = Evidence(mous=uid, tables=tables)
    ev.science_ebs = list(tables["execution_blocks"].asdm_uid)
    qa0 = tables["qa0"]
    ev.qa0 = dict(zip(qa0.execblockuid, _column(qa0, "qa0status"), strict=True))
    ev.eb_start = dict(zip(qa0.execblockuid, _column(qa0, "starttime"), strict=True))
    ev.eb_schedblock = dict(zip(qa0.execblockuid, _column(qa0, "schedblockuid"), strict=True))
    ev.schedblocks = [
        SchedBlock(
            r.schedblock_uid, _none(r.schedblock_name), _none(r.sbstatus_uid), _none(r.sb_state)
        )
        for r in tables["schedblocks"].itertuples()
        if isinstance(r.schedblock_uid, str)
    ]
    products = tables["product_files"]
    ev.products = dict(zip(products.ngas_file_id, products.file_class, strict=True))
    ev.product_sizes = {
        n: _size(s) for n, s in zip(products.ngas_file_id, products.stored_size, strict=True)
    }
    ev.project = _first(
        tables["project"],
        ProjectRow,
        code="project_code",
        uid="project_uid",
        title="title",
        pi="pi_name",
    )
    ev.status = _first(
        tables["ous_status"],
        StatusRow,
        project_status="obs_project_status_id",
        parent="parent_obs_unit_set_status_id",
        obs_project="obs_project_id",
        part_id="domain_entity_id",
        state="domain_entity_state",
    )
    ev.aqua_ous = _first(
        tables["obs_unit_set"], AquaOusRow, obs_project="obsunitsetuid", part_id="obsunitsetpartid"
    )
    chain = tables["parent_chain"]
    ev.sous = None if chain.empty else _none(chain.iloc[0]["sous"])
    ev.ousstatus, ev.ousstatus_problem = read_ousstatus(xml, uid)
    ev.manifest_name = choose_manifest(ev.products)
    if store is not None:
        read_documents(ev, store)
    return ev


Fatal = tuple[type[Exception], ...]


def read_documents(
    ev: Evidence, store: NgasStore, cache: DocumentCache | None = None, *, fatal: Fatal = ()
) -> None:
    """Fetch and parse the manifest and delivered scripts named by the product list.

    Each is read with retries, a size cap and a deadline
    (:func:`restorekit.sources.fetch.read_document`); one that still cannot be read is recorded
    in ``ev.document_problems``, unless its error is one of ``fatal``, which is raised (a
    survey stops when NGAS cannot be reached at all rather than count every MOUS apart).
    """
    ev.documents_read = True
    name = ev.manifest_name
    if name:
        try:
            parse = functools.partial(parse_manifest, name=name)
            ev.manifest = _read_parsed(ev, store, name, cache, _MANIFEST, parse)
        except fatal:
            raise
        except (NgasError, DocumentError) as exc:
            ev.document_problems[name] = str(exc)
    manifest = ev.manifest
    restore = _script(ev, manifest.restorescript if manifest else None, "piperestorescript")
    ev.restore_script = _read_script(ev, store, restore, cache, fatal)
    pipescript = _script(ev, manifest.pipescript if manifest else None, "pipescript")
    ev.pipescript = _read_script(ev, store, pipescript, cache, fatal)


def _script(ev: Evidence, pointer: str | None, kind: str) -> str | None:
    """The delivered script the manifest points to; without a manifest (or a pointer the
    archive lacks), the product named ``*.casa_<kind>.py``."""
    found = product_name(pointer, ev.products) if pointer else None
    return found or first_named(ev.products, f".casa_{kind}.py")


def _read_script(
    ev: Evidence,
    store: NgasStore,
    name: str | None,
    cache: DocumentCache | None = None,
    fatal: Fatal = (),
) -> DeliveredScript | None:
    """A delivered script; ``None`` when there is none, or when it could not be read (then
    ``ev.document_problems`` says why)."""
    if not name:
        return None
    try:
        return _read_parsed(ev, store, name, cache, _SCRIPT, functools.partial(_script_of, name))
    except fatal:
        raise
    except (NgasError, DocumentError) as exc:
        ev.document_problems[name] = str(exc)
        return None


_MANIFEST = ParsedForm(
    "manifest", ("manifest", "xmlsafe"), manifest_to_plain, manifest_from_plain, exact=True
)
_SCRIPT = ParsedForm("script", ("scripts",), script_to_plain, script_from_plain)


def _script_of(name: str, data: bytes) -> DeliveredScript:
    return parse_script(data.decode(errors="replace"), name=name)


def _read_parsed(ev: Evidence, store, name: str, cache, form: ParsedForm, parse):
    """``parse`` of the document ``name``, or its reading kept in ``cache``."""
    size = ev.product_sizes.get(name)
    if cache is not None and (kept := cache.get_parsed(name, size, form)) is not None:
        return kept
    value = parse(read_document(store, name, size=size, cache=cache))
    if cache is not None:
        cache.put_parsed(name, size, form, value)
    return value


def _none(value: object):
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def _size(value: Any) -> int | None:
    """A STORED_SIZE as an int: pandas reads an integer column that holds a NULL as floats."""
    return None if _none(value) is None else int(value)


def _column(frame: pd.DataFrame, name: str) -> list:
    """A column's values with NULLs as ``None`` (pandas reads a NULL string as NaN, which is
    true, and neither compares nor sorts with strings)."""
    return [_none(v) for v in frame[name]]


def _first(frame: pd.DataFrame, row_type: type[_Row], **columns: str) -> _Row:
    """The first row of ``frame`` as ``row_type``, its fields from the named columns."""
    if frame.empty:
        return row_type()
    row = frame.iloc[0]
    return row_type(**{key: _none(row[col]) for key, col in columns.items()})
