"""Table rows of the archive for a :class:`MousSpec`, in ``alma_schema.sql`` column order."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .documents import deliverables, ousstatus_xml
from .model import MousSpec

Rows = dict[str, list[tuple]]
TABLES = (
    "asa_project",
    "asa_science",
    "asa_product_files",
    "aqua_ous",
    "aqua_execblock",
    "obs_unit_set_status",
    "sched_block_status",
)


def empty_rows() -> Rows:
    return {t: [] for t in TABLES}


def add_mous(
    rows: Rows,
    spec: MousSpec,
    *,
    sizes: Callable[[str], int | None] | None = None,
    seen_projects: set[str] | None = None,
) -> None:
    """Append the rows of ``spec`` to ``rows``.

    ``sizes`` gives each product's ``STORED_SIZE`` by NGAS file id (``None``: unknown).
    ``seen_projects`` keeps projects and parent OUSes shared between MOUSes from repeating.
    """
    seen = seen_projects if seen_projects is not None else set()
    if spec.project_uid not in seen:
        seen.add(spec.project_uid)
        rows["asa_project"].append((spec.project_uid, spec.project_code, spec.title, spec.pi_name))
    for _, eb in spec.all_ebs():
        sb = spec.schedblocks[eb.schedblock]
        if eb.in_science:
            # One row per science dataset: two per EB here, as per field or spw in the archive.
            for k in range(2):
                rows["asa_science"].append(
                    (
                        f"{eb.uid}#{k}",
                        eb.uid,
                        spec.mous,
                        spec.gous,
                        spec.project_uid,
                        sb.uid,
                        sb.name,
                    )
                )
        rows["aqua_execblock"].append((eb.uid, sb.uid, eb.qa0, eb.start, eb.end))
    for product in deliverables(spec):
        size = sizes(product.name) if sizes else None
        rows["asa_product_files"].append((spec.mous, product.name, product.file_class, size))
    rows["aqua_ous"].append((spec.mous, spec.project_uid, spec.part_id, "Pass"))
    status = rows["obs_unit_set_status"]
    for uid, parent in ((spec.sous, None), (spec.gous, spec.sous)):
        if uid not in seen:
            seen.add(uid)
            status.append(
                (uid, None, spec.state, parent, spec.project_status, spec.project_uid, None)
            )
    status.append(
        (
            spec.mous,
            spec.part_id,
            spec.state,
            spec.gous,
            spec.project_status,
            spec.project_uid,
            ousstatus_xml(spec),
        )
    )
    for sb in spec.schedblocks:
        rows["sched_block_status"].append(
            (sb.status_uid, sb.uid, sb.state, spec.mous, spec.project_uid)
        )


def rows_for(specs: Iterable[MousSpec]) -> Rows:
    rows = empty_rows()
    seen: set[str] = set()
    for spec in specs:
        add_mous(rows, spec, seen_projects=seen)
    return rows
