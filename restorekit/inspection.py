"""One call from an MOUS uid to everything known about it and the plan to restore it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from restorekit.errors import DegradedEvidenceError
from restorekit.evidence.gather import Evidence, gather
from restorekit.rules.casa import Install
from restorekit.rules.plan import RestorePlan
from restorekit.rules.reconcile import reconcile
from restorekit.sources.archive import connect
from restorekit.sources.ngas import NgasStore, open_store


@dataclass
class Inspection:
    """The evidence gathered for an MOUS and the plan the rules make of it."""

    evidence: Evidence
    plan: RestorePlan


def inspect_mous(
    mous: str,
    *,
    db: str | None = None,
    ngas: str | None = None,
    engine: Engine | None = None,
    store: NgasStore | None = None,
    pipeline_release: str | None = None,
    allow_degraded: bool = False,
    schema: str | None = None,
    casa: Sequence[Install] | None = None,
) -> Inspection:
    """Gather the archive rows and delivered documents of ``mous`` and reconcile them.

    Parameters
    ----------
    mous
        The MOUS uid, ``uid://A001/X12a3/X80e`` or ``uid___A001_X12a3_X80e``.
    db, ngas
        Archive URL and NGAS location (see :func:`restorekit.sources.archive.connect` and
        :func:`restorekit.sources.ngas.open_store`); ignored when ``engine``/``store`` are given.
    pipeline_release
        The release the restore will run with; default: the delivery's own.
    schema
        Oracle owner of the tables (see :func:`restorekit.sources.archive.connect`).
    casa
        The site's CASA installs (:func:`restorekit.sources.casa_installs.read_catalog`): the
        plan then chooses the one to restore with. ``None``: no choice is made.
    allow_degraded
        Plan even when a delivered document could not be read (the plan says so in
        ``plan.degraded``, and chooses no route when the scripts are missing).

    Raises
    ------
    DegradedEvidenceError
        When a document could not be read and ``allow_degraded`` is not set.
    """
    engine = engine if engine is not None else connect(db, schema=schema)
    store = store if store is not None else open_store(ngas)
    evidence = gather(engine, mous, store)
    plan = reconcile(evidence, pipeline_release=pipeline_release, casa=casa)
    if plan.degraded and not allow_degraded:
        raise DegradedEvidenceError(
            f"{plan.mous}: {plan.degraded[0]}; restorekit will not plan from partial evidence: "
            "rerun when NGAS serves it, or pass --allow-degraded",
            mous=plan.mous,
            file_id=min(evidence.document_problems),
        )
    return Inspection(evidence, plan)


def plan_mous(mous: str, **kwargs) -> RestorePlan:
    """The restore plan of ``mous``; keyword arguments as for :func:`inspect_mous`."""
    return inspect_mous(mous, **kwargs).plan
