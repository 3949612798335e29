"""Evidence for many MOUSes at once, from whole rows of the archive tables.

The rows are tuples in ``alma_schema.sql`` column order, keyed by lower-case table name: what
one ``SELECT`` per table returns, or what :func:`restorekit.demo.rows.rows_for` makes. The
per-MOUS grouping mirrors the queries of :mod:`restorekit.queries` (a test holds the two
paths to the same evidence), so the survey applies the single-MOUS rules unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from .evidence import Evidence, SchedBlock, read_ousstatus
from .manifest import choose_manifest

Rows = Mapping[str, Sequence[tuple]]


def evidence_from_rows(rows: Rows, mouses: Iterable[str] | None = None) -> dict[str, Evidence]:
    """Build the :class:`Evidence` of every MOUS in ``mouses`` (default: all in ASA_SCIENCE)."""
    science = defaultdict(list)
    for row in rows["asa_science"]:
        science[row[2]].append(row)
    wanted = list(dict.fromkeys(mouses)) if mouses is not None else sorted(science)
    wanted_set = set(wanted)

    projects = {r[0]: r for r in rows["asa_project"]}
    products = defaultdict(list)
    for r in rows["asa_product_files"]:
        if r[0] in wanted_set:
            products[r[0]].append(r)
    aqua_ous = {r[0]: r for r in rows["aqua_ous"] if r[0] in wanted_set}
    status = {r[0]: r for r in rows["obs_unit_set_status"]}
    sbs_by_sb = defaultdict(list)
    sbs_by_parent = defaultdict(list)
    for r in rows["sched_block_status"]:
        sbs_by_sb[r[1]].append(r)
        sbs_by_parent[r[3]].append(r)
    execblocks = {}
    eb_by_sb = defaultdict(list)
    for r in rows["aqua_execblock"]:
        execblocks[r[0]] = r
        eb_by_sb[r[1]].append(r)

    out = {}
    for mous in wanted:
        ev = Evidence(mous=mous)
        mine = science.get(mous, [])
        ev.science_ebs = sorted({r[1] for r in mine})
        sb_names = sorted(
            {(r[5], r[6]) for r in mine if r[5] is not None}, key=lambda p: (p[0], p[1] or "")
        )
        for uid, name in sb_names:
            for s in sbs_by_sb.get(uid) or [(None, uid, None, None, None)]:
                ev.schedblocks.append(SchedBlock(uid, name, s[0], s[2]))
        sb_uids = {uid for uid, _ in sb_names} | {r[1] for r in sbs_by_parent.get(mous, [])}
        ebs = [execblocks[e] for e in ev.science_ebs if e in execblocks]
        ebs += [r for sb in sb_uids for r in eb_by_sb.get(sb, [])]
        for r in ebs:
            ev.qa0[r[0]] = r[2]
            ev.eb_start[r[0]] = r[3]
            ev.eb_schedblock[r[0]] = r[1]
        for r in products.get(mous, []):
            ev.products[r[1]] = r[2]
            ev.product_sizes[r[1]] = r[3]
        project_uids = sorted({r[4] for r in mine})
        if project_uids and project_uids[0] in projects:
            p = projects[project_uids[0]]
            ev.project = {"code": p[1], "uid": p[0], "title": p[2], "pi": p[3]}
        if mous in aqua_ous:
            a = aqua_ous[mous]
            ev.aqua_ous = {"obs_project": a[1], "part_id": a[2]}
        s = status.get(mous)
        xml = None
        if s is not None:
            ev.status = {
                "project_status": s[4],
                "parent": s[3],
                "obs_project": s[5],
                "part_id": s[1],
                "state": s[2],
            }
            xml = s[6]
            parent = status.get(s[3]) if s[3] else None
            ev.sous = parent[3] if parent else None
        ev.ousstatus, ev.ousstatus_problem = read_ousstatus(xml, mous)
        ev.manifest_name = choose_manifest(ev.products)
        out[mous] = ev
    return out
