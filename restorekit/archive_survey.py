"""How common is each oddity? Every MOUS classified with the findings of the single-MOUS rules.

Set-based: the archive is read with a fixed number of queries whatever the number of MOUSes
(one ``SELECT`` per table for a whole-archive survey; IN-lists of at most 1000 uids, as Oracle
allows, for a list of MOUSes), then each MOUS's evidence is assembled in memory and passed to
:func:`restorekit.rules.reconcile.reconcile`, the same function ``restorekit plan`` uses.

Without ``deep`` only the archive tables are read, so findings that need the delivered
documents (``from_database=False`` in :data:`restorekit.rules.findings.CODES`) are not reported;
``deep=True`` fetches each manifest and script through the NGAS store, concurrently.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from restorekit.evidence.bulk import iter_evidence, stream_archive
from restorekit.evidence.gather import Evidence, read_documents
from restorekit.rules.casa import Install
from restorekit.rules.plan import RestorePlan
from restorekit.rules.reconcile import reconcile
from restorekit.sources.archive import RoundTrips
from restorekit.sources.bulk_queries import (
    IN_LIST_LIMIT,
    Bounds,
    partition_bounds,
    read_tables,
)
from restorekit.sources.document_cache import DocumentCache
from restorekit.sources.ngas import NgasStore
from restorekit.survey_table import (
    SURVEY_COLUMNS,
    classify,
    summarize,
    survey_codes,
)
from restorekit.uids import parse_uid

__all__ = ["IN_LIST_LIMIT", "SurveyResult", "survey", "survey_of"]
WHOLE_TABLE_THRESHOLD = 5000
"""Above this many MOUSes, whole tables are read and filtered in memory."""



@dataclass
class SurveyResult:
    """Per-MOUS table, summary per finding, and what it cost."""

    table: pd.DataFrame
    summary: pd.DataFrame
    round_trips: int
    seconds: float
    deep: bool
    processes: int = 1
    worker_peak_mb: list[float] = field(default_factory=list)
    """Peak memory of each worker process (MB), when the survey forked workers."""
    archive: str = ""
    """The archive surveyed, safe to show."""
    documents_cached: int = 0
    """With a document cache: documents it served instead of NGAS."""
    documents_stored: int = 0
    """With a document cache: documents fetched from NGAS and kept."""

    @property
    def degraded(self) -> list[str]:
        """MOUSes whose delivered documents could not be read: counted apart, not classified."""
        if "degraded" not in self.table:
            return []
        return list(self.table.loc[self.table["degraded"], "mous"])

    @property
    def mous_per_second(self) -> float:
        return len(self.table) / self.seconds if self.seconds else float("inf")

    def mouses_with(self, code: str) -> list[str]:
        return list(self.table.loc[self.table[code], "mous"]) if code in self.table else []


PlanOf = Callable[[Evidence], RestorePlan]


def _plans(
    evidence: Iterator[Evidence],
    store: NgasStore | None,
    jobs: int,
    plan_of: PlanOf,
    cache: DocumentCache | None = None,
):
    if store is None:
        for ev in evidence:
            yield ev, plan_of(ev)
        return
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        batch: list[Evidence] = []
        for ev in evidence:
            batch.append(ev)
            if len(batch) == 4 * jobs:
                yield from _deep_batch(pool, batch, store, plan_of, cache)
                batch = []
        yield from _deep_batch(pool, batch, store, plan_of, cache)


def _deep_batch(pool, batch: list[Evidence], store: NgasStore, plan_of: PlanOf, cache=None):
    list(pool.map(lambda ev: read_documents(ev, store, cache), batch))
    for ev in batch:
        yield ev, plan_of(ev)


_FORKED: tuple[Engine, list[str], PlanOf] | None = None
"""What forked survey workers inherit (an engine cannot be pickled)."""


def _classify_part(engine: Engine, codes: list[str], bounds: Bounds, plan_of: PlanOf):
    return [
        tuple(classify(plan_of(ev), ev, codes).values()) for ev in stream_archive(engine, bounds)
    ]


def _survey_part(bounds: Bounds) -> tuple[list[tuple], int, float]:
    """In a forked worker: classify the MOUSes within ``bounds``; rows, round trips, peak MB."""
    engine, codes, plan_of = _FORKED  # type: ignore[misc]
    engine.dispose(close=False)  # never reuse the parent's connections
    gc.disable()
    with RoundTrips(engine) as trips:
        records = _classify_part(engine, codes, bounds, plan_of)
    return records, trips.count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _survey_forked(engine: Engine, codes: list[str], processes: int, plan_of: PlanOf):
    """Classify the whole archive in ``processes`` ranges of MOUS uids: this process takes the
    first, forked workers the others. ``None`` where fork is not available."""
    global _FORKED
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    with RoundTrips(engine) as trips:
        first, *rest = partition_bounds(engine, processes)
    _FORKED = (engine, codes, plan_of)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=max(1, len(rest)), mp_context=context) as pool:
            others = [pool.submit(_survey_part, bounds) for bounds in rest]
            with trips:
                mine = _classify_part(engine, codes, first, plan_of)
            parts = [(mine, 0, None)] + [f.result() for f in others]
    finally:
        _FORKED = None
    records = [record for rows, _, _ in parts for record in rows]
    return (
        records,
        trips.count + sum(n for _, n, _ in parts),
        [mb for _, _, mb in parts if mb is not None],
    )


def default_processes() -> int:
    return min(2, os.cpu_count() or 1)


def survey(
    engine: Engine,
    mouses: Iterable[str] | None = None,
    *,
    deep: bool = False,
    store: NgasStore | None = None,
    jobs: int = 8,
    processes: int | None = None,
    casa: Sequence[Install] | None = None,
    cache: str | Path | None = None,
) -> SurveyResult:
    """Classify every MOUS (default: all in ASA_SCIENCE) with the reconciliation's findings.

    Parameters
    ----------
    mouses
        MOUS uids in either spelling; validated before any query.
    deep
        Also fetch and read each MOUS's manifest and scripts through ``store`` (default:
        :func:`restorekit.sources.ngas.open_store`), ``jobs`` at a time.
    processes
        Worker processes for a whole-archive survey (default: up to 2, the cores of the
        machines this was measured on); each reads the tables and keeps its share of MOUSes.
    casa
        The site's CASA installs: each MOUS's ``casa_match`` says how well they restore it
        (see :func:`casa_needs`). ``casa_wanted`` and ``pipeline_wanted`` are reported without.
    cache
        With ``deep``, a directory keeping each fetched document under its file id and archive
        size (:class:`~restorekit.sources.document_cache.DocumentCache`): a rerun fetches only
        what is new or changed.
    """
    wanted = (
        None
        if mouses is None
        else list(dict.fromkeys(parse_uid(m, what="MOUS uid").archive for m in mouses))
    )
    if deep and store is None:
        from restorekit.sources.ngas import open_store

        store = open_store()
    started = time.perf_counter()
    codes = survey_codes(deep)
    processes = default_processes() if processes is None else processes
    columns = [*SURVEY_COLUMNS, *codes]
    plan_of = functools.partial(reconcile, casa=casa)
    worker_peaks: list[float] = []
    documents = DocumentCache(cache) if deep and cache is not None else None
    with _without_cyclic_gc():
        forked = None
        if wanted is None and not deep and processes > 1:
            forked = _survey_forked(engine, codes, processes, plan_of)
        if forked is not None:
            tuples, round_trips, worker_peaks = forked
            records = [dict(zip(columns, t, strict=True)) for t in tuples]
        else:
            store = store if deep else None
            records, round_trips = _survey_here(
                engine, wanted, codes, store, jobs, plan_of, documents
            )
    records.sort(key=lambda r: r["mous"])
    table = pd.DataFrame(records, columns=columns)
    table = table.astype({"ousstatus_sessions": "Int64"})
    seconds = time.perf_counter() - started
    return SurveyResult(
        table,
        summarize(table, codes),
        round_trips,
        seconds,
        deep,
        processes=len(worker_peaks) + 1,
        worker_peak_mb=worker_peaks,
        documents_cached=documents.hits if documents else 0,
        documents_stored=documents.stored if documents else 0,
    )


@contextmanager
def _without_cyclic_gc():
    """The index holds millions of objects and no reference cycles; cyclic GC passes over
    it would cost a sixth of the run."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _survey_here(
    engine: Engine,
    wanted: list[str] | None,
    codes: list[str],
    store,
    jobs: int,
    plan_of: PlanOf,
    documents: DocumentCache | None = None,
) -> tuple[list[dict], int]:
    """Classify in this process: the whole archive streamed, or the wanted MOUSes' rows read."""
    with RoundTrips(engine) as trips:
        if wanted is None or len(wanted) > WHOLE_TABLE_THRESHOLD:
            evidence = stream_archive(engine)
            if wanted is not None:
                chosen = set(wanted)
                evidence = (ev for ev in evidence if ev.mous in chosen)
        else:
            evidence = iter_evidence(read_tables(engine, wanted), wanted)
        planned = _plans(evidence, store, jobs, plan_of, documents)
        records = [classify(plan, ev, codes) for ev, plan in planned]
    return records, trips.count


def survey_of(
    db: str | None = None,
    *,
    schema: str | None = None,
    mous_file: str | None = None,
    deep: bool = False,
    ngas: str | None = None,
    jobs: int = 8,
    casa: Sequence[Install] | None = None,
    cache: str | None = None,
) -> SurveyResult:
    """:func:`survey` from settings as the front ends have them: an archive URL, a file of MOUS
    uids, an NGAS location when ``deep``. One place for the CLI and the survey notebook."""
    from restorekit.sources.archive import check_archive, connect, describe
    from restorekit.sources.ngas import open_store
    from restorekit.uids import read_uid_file

    engine = connect(db, schema=schema)
    check_archive(engine)
    mouses = read_uid_file(mous_file, what="MOUS uid") if mous_file else None
    store = open_store(ngas) if deep else None
    result = survey(engine, mouses, deep=deep, store=store, jobs=jobs, casa=casa, cache=cache)
    result.archive = describe(engine)
    return result


