"""Evidence for many MOUSes at once, from whole rows of the archive tables.

Rows are tuples in ``alma_schema.sql`` column order, keyed by lower-case table name: what one
``SELECT`` per table returns, or what :func:`restorekit.demo.rows.rows_for` makes. They are
grouped by MOUS in an :class:`ArchiveIndex` (the driver's tuples kept as they come, so that
grouping costs little more than reading), from which the evidence of each MOUS is assembled
exactly as :func:`restorekit.evidence.gather.gather` assembles it from the per-MOUS queries; a
test holds the two paths to the same evidence, so the survey applies the single-MOUS rules
unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from restorekit.evidence.gather import (
    AquaOusRow,
    Evidence,
    ProjectRow,
    SchedBlock,
    StatusRow,
    read_ousstatus,
)
from restorekit.sources import schema
from restorekit.sources.archive import lob_text, translate_errors
from restorekit.sources.bulk_queries import (
    STREAMED_TABLES,
    Bounds,
    select_all,
    stream_rows,
    within_bounds,
)
from restorekit.sources.manifest import choose_manifest
from restorekit.uids import is_archive_uid

Rows = Mapping[str, Sequence[tuple]]


class ArchiveIndex:
    """Archive rows grouped for per-MOUS look-up. Feed it with :meth:`add`."""

    def __init__(self) -> None:
        self.science: dict[str, list[tuple]] = defaultdict(list)
        self.projects: dict[str, tuple] = {}
        self.products: dict[str, tuple[dict[str, str], dict[str, int | None]]] = {}
        """MOUS -> (file id -> class, file id -> size): the Evidence's own dicts, handed over
        by :meth:`evidence`."""
        self.aqua_ous: dict[str, tuple] = {}
        self.status: dict[str, tuple] = {}
        self.xml: dict[str, str | None] = {}
        self.sbs_by_sb: dict[str, list[tuple]] = defaultdict(list)
        self.sbs_by_parent: dict[str, list[tuple]] = defaultdict(list)
        self.execblocks: dict[str, tuple] = {}
        self.eb_by_sb: dict[str, list[tuple]] = defaultdict(list)
        self._classes: dict[str, str] = {}

    def add_science(self, rows: Iterable[tuple]) -> None:
        """ASA_SCIENCE rows reduced to ``(mous, asdm, project, schedblock, name)``."""
        science = self.science
        for mous, asdm, project, sb, name in rows:
            science[mous].append((asdm, project, sb, name))

    @classmethod
    def from_rows(cls, rows: Rows, *, keep_xml: bool = True) -> ArchiveIndex:
        index = cls()
        for table, values in rows.items():
            index.add(table, values, keep_xml=keep_xml)
        return index

    def add(self, table: str, rows: Iterable[tuple], *, keep_xml: bool = True) -> None:
        """Group ``rows`` of ``table`` (full rows in contract column order)."""
        if table == "asa_science":
            self.add_science((r[2], r[1], r[4], r[5], r[6]) for r in rows)
        elif table == "asa_project":
            for r in rows:
                self.projects[r[0]] = (r[1], r[2], r[3])
        elif table == "asa_product_files":
            products, classes = self.products, self._classes
            for mous, name, file_class, size in rows:
                mine = products.get(mous)
                if mine is None:
                    mine = products[mous] = ({}, {})
                # one str per class: a driver returns a new one for every row
                mine[0][name] = classes.setdefault(file_class, file_class)
                mine[1][name] = size
        elif table == "aqua_ous":
            for r in rows:
                self.aqua_ous[r[0]] = (r[1], r[2])
        elif table == "obs_unit_set_status":
            # (part id, state, parent, project status, obs project) by OUS status uid
            status, xml = self.status, self.xml
            for r in rows:
                status[r[0]] = r[1:6]
                if keep_xml and len(r) > 6:
                    xml[r[0]] = r[6]
        elif table == "sched_block_status":
            by_sb, by_parent = self.sbs_by_sb, self.sbs_by_parent
            for r in rows:
                by_sb[r[1]].append(r)
                by_parent[r[3]].append(r)
        elif table == "aqua_execblock":
            execblocks, eb_by_sb = self.execblocks, self.eb_by_sb
            for r in rows:
                execblocks[r[0]] = r
                eb_by_sb[r[1]].append(r)
        else:
            raise ValueError(f"not a table of the contract: {table!r}")

    def mouses(self) -> list[str]:
        """Every MOUS with science data, sorted."""
        return sorted(self.science)

    def evidence(self, mous: str, xml: str | None = None) -> Evidence:
        """The evidence of ``mous``; ``xml`` is its OUSStatus document (``None``: NULL).

        Once per MOUS: its product dicts are handed to the evidence, not copied.
        """
        mine = self.science.get(mous, ())
        science_ebs = sorted({r[0] for r in mine})
        schedblocks, sb_uids = self._schedblocks(mous, mine)
        products, sizes = self.products.pop(mous, ({}, {}))
        ousstatus, problem = read_ousstatus(xml, mous)
        status, sous = self._status(mous)
        ev = Evidence(
            mous,
            science_ebs,
            schedblocks=schedblocks,
            products=products,
            product_sizes=sizes,
            project=self._project(mine),
            status=status,
            aqua_ous=AquaOusRow(*self.aqua_ous[mous]) if mous in self.aqua_ous else AquaOusRow(),
            sous=sous,
            ousstatus=ousstatus,
            ousstatus_problem=problem,
            manifest_name=choose_manifest(products),
        )
        self._add_execblocks(ev, sb_uids)
        return ev

    def _schedblocks(self, mous: str, mine: Sequence[tuple]) -> tuple[list[SchedBlock], set]:
        """The MOUS's SchedBlocks (those its EBs name, then those whose SBStatus names it as
        parent), and the uids of all of them."""
        sb_names = sorted(
            {(r[2], r[3]) for r in mine if r[2] is not None}, key=lambda p: (p[0], p[1] or "")
        )
        schedblocks = []
        for uid, name in sb_names:
            for s in self.sbs_by_sb.get(uid) or ((None, uid, None, None),):
                schedblocks.append(SchedBlock(uid, name, s[0], s[2]))
        named = {uid for uid, _ in sb_names}
        parented = self.sbs_by_parent.get(mous, ())
        for r in parented:
            if r[1] not in named:
                schedblocks.append(SchedBlock(r[1], None, r[0], r[2]))
        if len(schedblocks) > 1:
            schedblocks.sort(key=lambda sb: (sb.uid, sb.status_uid or ""))
        return schedblocks, named.union(r[1] for r in parented)

    def _add_execblocks(self, ev: Evidence, sb_uids: set) -> None:
        """QA0, start and SchedBlock of the MOUS's EBs and of every EB of its SchedBlocks."""
        execblocks, eb_by_sb = self.execblocks, self.eb_by_sb
        ebs = [execblocks[e] for e in ev.science_ebs if e in execblocks]
        for sb in sb_uids:
            ebs.extend(eb_by_sb.get(sb, ()))
        qa0, start, eb_sb = ev.qa0, ev.eb_start, ev.eb_schedblock
        for r in ebs:
            qa0[r[0]] = r[2]
            start[r[0]] = r[3]
            eb_sb[r[0]] = r[1]

    def _project(self, mine: Sequence[tuple]) -> ProjectRow:
        """The first (by uid) of the MOUS's projects that ASA_PROJECT holds, as the project
        query joins them."""
        known = sorted({r[1] for r in mine if r[1] in self.projects})
        if not known:
            return ProjectRow()
        code, title, pi = self.projects[known[0]]
        return ProjectRow(code, known[0], title, pi)

    def _status(self, mous: str) -> tuple[StatusRow, str | None]:
        """The MOUS's OBS_UNIT_SET_STATUS row, and its SOUS (the parent of its GOUS)."""
        s = self.status.get(mous)
        if s is None:
            return StatusRow(), None
        part_id, state, parent, project_status, obs_project = s
        grand = self.status.get(parent) if parent else None
        return (
            StatusRow(project_status, parent, obs_project, part_id, state),
            grand[2] if grand else None,
        )


def iter_evidence(rows: Rows, mouses: Iterable[str] | None = None) -> Iterator[Evidence]:
    """The evidence of each MOUS in ``mouses`` (default: all in ASA_SCIENCE), one at a time."""
    index = ArchiveIndex.from_rows(rows)
    for mous in list(dict.fromkeys(mouses)) if mouses is not None else index.mouses():
        yield index.evidence(mous, index.xml.get(mous))


def _partition_filter(index: ArchiveIndex, wanted: set[str]):
    """Keep only the SchedBlock and EB rows a worker's MOUSes need (those tables have no MOUS
    column to bound in SQL), so that workers split the memory too."""
    ebs = {r[0] for rows in index.science.values() for r in rows}
    schedblocks = {r[2] for rows in index.science.values() for r in rows if r[2]}

    def keep(table: str, rows: list[tuple]) -> list[tuple]:
        if table == "sched_block_status":
            kept = [r for r in rows if r[3] in wanted or r[1] in schedblocks]
            schedblocks.update(r[1] for r in kept)
            return kept
        if table == "aqua_execblock":
            return [r for r in rows if r[0] in ebs or r[1] in schedblocks]
        return rows

    return keep


def stream_archive(
    engine: Engine, bounds: Bounds = (None, None), not_mouses: list[str] | None = None
) -> Iterator[Evidence]:
    """The evidence of every MOUS in ASA_SCIENCE, reading each table once, in batches.

    Eight statements in all: one per table, and the OUSStatus table twice (its small columns
    first, then the XML, which is parsed and dropped MOUS by MOUS so that the documents of
    the whole archive are never in memory together). With ``bounds`` (low, high) only the
    MOUSes whose uid falls in ``[low, high)`` are read, so that workers share the load.
    MEMBER_OUSS_ID values that are not uids as the archive writes them name no MOUS: they
    get no evidence, and are appended to ``not_mouses`` when given.
    """
    index = ArchiveIndex()
    status = schema.obs_unit_set_status
    bounded = bounds != (None, None)
    with translate_errors(engine), engine.connect() as conn:
        science = schema.asa_science.c
        distinct = (
            sa.select(
                science.member_ouss_id,
                science.asdm_uid,
                science.project_uid,
                science.schedblock_uid,
                science.schedblock_name,
            )
            .where(*within_bounds(science.member_ouss_id, bounds))
            .distinct()
        )
        for rows in stream_rows(conn, distinct):
            index.add_science(rows)
        for value in [m for m in index.science if not is_archive_uid(m)]:
            del index.science[value]
            if not_mouses is not None:
                not_mouses.append(value)
        wanted = set(index.science)
        keep = _partition_filter(index, wanted) if bounded else None
        for name in STREAMED_TABLES:
            table = schema.metadata.tables[name]
            stmt = select_all(table)
            if name in ("asa_product_files", "aqua_ous"):
                stmt = stmt.where(*within_bounds(table.columns[0], bounds))
            for rows in stream_rows(conn, stmt):
                index.add(name, keep(name, rows) if keep else rows)
        meta = sa.select(*[c for c in status.columns if c.name != "xml"])
        for rows in stream_rows(conn, meta):
            index.add("obs_unit_set_status", rows, keep_xml=False)
        documents = sa.select(status.c.status_entity_id, status.c.xml).where(
            status.c.xml.is_not(None), *within_bounds(status.c.status_entity_id, bounds)
        )
        for rows in stream_rows(conn, documents, batch=2_000):  # a few MB of XML at a time
            mine = []
            for uid, xml in rows:
                if uid in wanted:
                    wanted.discard(uid)
                    mine.append((uid, xml))
            # A batch at a time, not MOUS by MOUS: the interpreter then runs one step's code
            # over many MOUSes, which measured about a tenth faster.
            yield from [index.evidence(uid, lob_text(xml)) for uid, xml in mine]
    for uid in sorted(wanted):
        yield index.evidence(uid, None)
