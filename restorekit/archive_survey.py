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

import collections
import dataclasses
import functools
import gc
import itertools
import multiprocessing
import operator
import os
import resource
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from restorekit.errors import UnknownMousError, count_option
from restorekit.evidence.bulk import iter_evidence, stream_archive
from restorekit.evidence.gather import Evidence, read_documents
from restorekit.rules.casa import Install
from restorekit.rules.plan import RestorePlan
from restorekit.rules.reconcile import reconcile
from restorekit.sources.archive import RoundTrips
from restorekit.sources.bulk_queries import (
    IN_LIST_LIMIT,
    Bounds,
    known_mouses,
    partition_bounds,
    read_tables,
)
from restorekit.sources.document_cache import DocumentCache
from restorekit.sources.ngas import NgasStore, NgasUnreachableError
from restorekit.survey_table import (
    SURVEY_COLUMNS,
    classify,
    first_few,
    not_mouses_note,
    summarize,
    survey_codes,
)
from restorekit.uids import parse_uid

__all__ = ["IN_LIST_LIMIT", "SurveyResult", "survey", "survey_of"]
WHOLE_TABLE_THRESHOLD = 5000
"""Above this many MOUSes, whole tables are read and filtered in memory."""
FAST_CHUNK = 1000
"""MOUSes planned together in a fast survey: each rule's code then runs over many MOUSes in
turn (about a tenth faster than MOUS by MOUS), and progress is counted per chunk."""
DEEP_CHUNK = 100
"""The same in a deep survey, smaller: one that fetches its documents plans a few hundred
MOUSes a second, and its progress should not move by seconds at a time."""
STOPS_A_DEEP_SURVEY = (NgasUnreachableError,)
"""Failures of NGAS itself, not of one document: a deep survey stops on the first (after its
retries) instead of counting every MOUS after it apart; with a cache, a rerun resumes."""
MOST_REQUESTS = 256
"""The most NGAS requests a deep survey keeps in flight (``--jobs``): one thread each, and no
NGAS serves more at once; a typo of 100,000 would start a thread per MOUS."""


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
    documents_fetched: int = 0
    """Requests to NGAS (retries included): the deep survey's round trips to NGAS."""
    not_mouses: list[str] = field(default_factory=list)
    """MEMBER_OUSS_ID values of ASA_SCIENCE that are not MOUS uids (``'N/A'``, a uid with a
    blank): not surveyed, and not in the table, since no MOUS can be planned under them."""

    @property
    def degraded(self) -> list[str]:
        """MOUSes whose delivered documents could not be read: counted apart, not classified."""
        if "degraded" not in self.table:
            return []
        return list(self.table.loc[self.table["degraded"], "mous"])

    @property
    def mous_per_second(self) -> float:
        return len(self.table) / self.seconds if self.seconds else float("inf")

    def unclassified(self) -> list[str]:
        """What the survey did not classify, one sentence each, to say before any share."""
        lines = [not_mouses_note(self.not_mouses) or ""]
        if n := len(self.degraded):
            lines.append(
                f"{n:,} MOUS{'' if n == 1 else 'es'} not classified, counted apart: a manifest "
                f"or script could not be read (e.g. {self.degraded[0]}); the table's 'degraded' "
                "column marks them"
            )
        return [line for line in lines if line]

    def mouses_with(self, code: str) -> list[str]:
        return list(self.table.loc[self.table[code], "mous"]) if code in self.table else []


PlanOf = Callable[[Evidence], RestorePlan]
Progress = Callable[[int, int, int], None]
"""``progress(mouses done, mouses in all, documents fetched from NGAS)``, called about twice
a second while a survey runs."""


class Tally:
    """Counts shared by the survey's processes: forked workers inherit the shared values."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork") if _can_fork() else multiprocessing
        self._mouses = context.Value("q", 0)
        self._fetched = context.Value("q", 0)
        self.total = 0

    def mous_done(self, count: int = 1) -> None:
        with self._mouses.get_lock():
            self._mouses.value += count

    def fetched_one(self) -> None:
        with self._fetched.get_lock():
            self._fetched.value += 1

    @property
    def mouses(self) -> int:
        return self._mouses.value

    @property
    def fetched(self) -> int:
        return self._fetched.value


class _CountingStore:
    """An NGAS store that counts its requests (retries and resumed reads included)."""

    def __init__(self, store: NgasStore, tally: Tally) -> None:
        self.store, self.tally = store, tally
        self.location = getattr(store, "location", "")

    def read_bytes(self, file_id: str) -> bytes:
        self.tally.fetched_one()
        return self.store.read_bytes(file_id)

    def stream(self, file_id: str, offset: int = 0):
        self.tally.fetched_one()
        return self.store.stream(file_id, offset)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


@dataclass(frozen=True)
class _Deep:
    """How a deep survey reads documents; ``None`` in its place means a fast survey."""

    store: NgasStore
    jobs: int
    cache: DocumentCache | None
    """Each forked worker counts its hits and stores in its own copy."""

    def cache_counts(self) -> tuple[int, int]:
        return (self.cache.hits, self.cache.stored) if self.cache else (0, 0)


def _plans(evidence: Iterator[Evidence], deep: _Deep | None, plan_of: PlanOf, tally: Tally):
    """``(evidence, plan)`` per MOUS, its documents read first when ``deep``.

    Plans are made a chunk of MOUSes at a time (see stream_archive), which also spares the
    shared counter's lock for every MOUS. Documents are read by ``deep.jobs`` threads over a
    sliding window of MOUSes ahead of the chunk being planned, so one slow document holds back
    only its own chunk, and the threads keep fetching while a chunk is planned.
    """
    if deep is None:
        evidence = iter(evidence)
        while chunk := list(itertools.islice(evidence, FAST_CHUNK)):
            yield from _planned(chunk, plan_of, tally)
        return
    store = _CountingStore(deep.store, tally)
    pool = ThreadPoolExecutor(max_workers=deep.jobs)
    pending: collections.deque = collections.deque()
    cache = deep.cache
    ahead = 4 * deep.jobs
    try:
        for ev in evidence:
            name = ev.manifest_name
            if cache is not None and name and cache.has(name, ev.product_sizes.get(name)):
                # Read here: the cache holds it (and, as a rule, the scripts), and threads
                # would only contend for the interpreter over parsing.
                read_documents(ev, store, cache, fatal=STOPS_A_DEEP_SURVEY)
                pending.append((ev, None))
            else:
                reading = pool.submit(read_documents, ev, store, cache, fatal=STOPS_A_DEEP_SURVEY)
                pending.append((ev, reading))
            if len(pending) >= ahead + DEEP_CHUNK:
                chunk = _read([pending.popleft() for _ in range(DEEP_CHUNK)])
                yield from _planned(chunk, plan_of, tally)
        yield from _planned(_read(pending), plan_of, tally)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read(pending: Iterable[tuple[Evidence, Future | None]]) -> list[Evidence]:
    """The evidence of ``pending`` once the reading of its documents has ended."""
    chunk = []
    for ev, reading in pending:
        if reading is not None:
            reading.result()
        chunk.append(ev)
    return chunk


def _planned(chunk: list[Evidence], plan_of: PlanOf, tally: Tally):
    plans = [plan_of(ev) for ev in chunk]
    tally.mous_done(len(chunk))
    return zip(chunk, plans, strict=True)


_FORKED: tuple[Engine, list[str], PlanOf, _Deep | None, Tally] | None = None
"""What forked survey workers inherit (an engine cannot be pickled)."""


Classified = tuple[list[tuple], list[str]]
"""The survey rows of :func:`_classify`, and the values that name no MOUS (see
SurveyResult.not_mouses)."""


def _classify(evidence: Iterator[Evidence], codes, plan_of, deep, tally) -> list[tuple]:
    """One survey row per MOUS, as a tuple in the order of the table's columns."""
    planned = _plans(evidence, deep, plan_of, tally)
    return [tuple(classify(plan, ev, codes).values()) for ev, plan in planned]


def _classify_part(engine, codes, bounds: Bounds, plan_of, deep, tally) -> Classified:
    not_mouses: list[str] = []
    records = _classify(stream_archive(engine, bounds, not_mouses), codes, plan_of, deep, tally)
    tally.mous_done(len(not_mouses))
    return records, not_mouses


def _survey_part(bounds: Bounds) -> tuple[Classified, int, float, tuple[int, int]]:
    """In a forked worker: classify the MOUSes within ``bounds``; rows, round trips, peak MB
    and the document cache's counts."""
    engine, codes, plan_of, deep, tally = _FORKED  # type: ignore[misc]
    engine.dispose(close=False)  # never reuse the parent's connections
    gc.disable()
    with RoundTrips(engine) as trips:
        classified = _classify_part(engine, codes, bounds, plan_of, deep, tally)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return classified, trips.count, peak, deep.cache_counts() if deep else (0, 0)


def _survey_forked(engine, codes, processes: int, plan_of, deep, tally, progress):
    """Classify the whole archive in ``processes`` ranges of MOUS uids: this process takes the
    first, forked workers the others. ``None`` where fork is not available."""
    global _FORKED
    if not _can_fork():
        return None
    with RoundTrips(engine) as trips:
        (first, *rest), tally.total = partition_bounds(engine, processes)
    if deep is not None:
        # --jobs bounds the requests in flight in all, whatever the number of processes.
        deep = dataclasses.replace(deep, jobs=max(1, deep.jobs // processes))
    _FORKED = (engine, codes, plan_of, deep, tally)
    try:
        context = multiprocessing.get_context("fork")
        with (
            _reporting(progress, tally),
            ProcessPoolExecutor(max_workers=max(1, len(rest)), mp_context=context) as pool,
        ):
            others = [pool.submit(_survey_part, bounds) for bounds in rest]
            with trips:
                mine = _classify_part(engine, codes, first, plan_of, deep, tally)
            counts = deep.cache_counts() if deep else (0, 0)
            parts = [(mine, 0, None, counts)] + [f.result() for f in others]
    finally:
        _FORKED = None
    return (
        (
            [record for (rows, _), *_ in parts for record in rows],
            [value for (_, values), *_ in parts for value in values],
        ),
        trips.count + sum(n for _, n, _, _ in parts),
        [mb for _, _, mb, _ in parts if mb is not None],
        (sum(c[0] for *_, c in parts), sum(c[1] for *_, c in parts)),
    )


@contextmanager
def _reporting(progress: Progress | None, tally: Tally, every: float = 0.5):
    """Call ``progress`` from a thread every ``every`` seconds while the block runs, and once
    at its end."""
    if progress is None:
        yield
        return
    done = threading.Event()

    def report() -> None:
        while not done.wait(every):
            progress(tally.mouses, tally.total, tally.fetched)

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        progress(tally.mouses, tally.total, tally.fetched)


def default_processes() -> int:
    return min(2, os.cpu_count() or 1)


def survey(
    engine: Engine,
    mouses: Iterable[str] | None = None,
    *,
    deep: bool = False,
    store: NgasStore | None = None,
    jobs: int = 32,
    processes: int | None = None,
    casa: Sequence[Install] | None = None,
    cache: str | Path | None = None,
    progress: Progress | None = None,
) -> SurveyResult:
    """Classify every MOUS (default: all in ASA_SCIENCE) with the reconciliation's findings.

    Parameters
    ----------
    mouses
        MOUS uids in either spelling; validated before any query.
    deep
        Also fetch and read each MOUS's manifest and scripts through ``store`` (default:
        :func:`restorekit.sources.ngas.open_store`), ``jobs`` requests in flight in all (the
        default suits a remote NGAS, where each request mostly waits).
    processes
        Worker processes for a whole-archive survey (default: up to 2, the cores of the
        machines this was measured on); each reads the tables and keeps its share of MOUSes.
    casa
        The site's CASA installs: each MOUS's ``casa_match`` says how well they restore it
        (see :func:`casa_needs`). ``casa_wanted`` and ``pipeline_wanted`` are reported without.
    cache
        With ``deep``, a directory keeping each fetched document under its file id and archive
        size (:class:`~restorekit.sources.document_cache.DocumentCache`): a rerun fetches only
        what is new or changed, so an interrupted survey resumes where it stopped.
    progress
        Called about twice a second with the MOUSes done, the MOUSes in all (0 when not yet
        known) and the documents fetched from NGAS so far.
    """
    wanted = (
        None
        if mouses is None
        else list(dict.fromkeys(parse_uid(m, what="MOUS uid").archive for m in mouses))
    )
    count_option(jobs, "jobs", most=MOST_REQUESTS)
    started = time.perf_counter()
    codes = survey_codes(deep)
    processes = default_processes() if processes is None else processes
    columns = [*SURVEY_COLUMNS, *codes]
    plan_of = functools.partial(reconcile, casa=casa)
    tally = Tally()
    reading = None
    if deep:
        if store is None:
            from restorekit.sources.ngas import open_store

            store = open_store()
        reading = _Deep(store, jobs, DocumentCache(cache) if cache is not None else None)
    worker_peaks: list[float] = []
    with _without_cyclic_gc():
        forked = None
        if wanted is None and processes > 1:
            forked = _survey_forked(engine, codes, processes, plan_of, reading, tally, progress)
        if forked is not None:
            (records, not_mouses), round_trips, worker_peaks, (hits, stored) = forked
        else:
            with _reporting(progress, tally):
                (records, not_mouses), round_trips = _survey_here(
                    engine, wanted, codes, reading, plan_of, tally
                )
            hits, stored = reading.cache_counts() if reading else (0, 0)
    records.sort(key=operator.itemgetter(0))  # the mous column
    table = pd.DataFrame.from_records(records, columns=columns)
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
        documents_cached=hits,
        documents_stored=stored,
        documents_fetched=tally.fetched,
        not_mouses=sorted(not_mouses),
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
    deep: _Deep | None,
    plan_of: PlanOf,
    tally: Tally,
) -> tuple[Classified, int]:
    """Classify in this process: the whole archive streamed, or the wanted MOUSes' rows read."""
    with RoundTrips(engine) as trips:
        not_mouses: list[str] = []
        if wanted:
            _require_known(engine, wanted)
        if wanted is None:
            evidence = stream_archive(engine, not_mouses=not_mouses)
        elif len(wanted) > WHOLE_TABLE_THRESHOLD:
            evidence = _chosen(engine, stream_archive(engine), wanted)
        else:
            evidence = iter_evidence(read_tables(engine, wanted), wanted)
        tally.total = len(wanted) if wanted is not None else 0
        records = _classify(evidence, codes, plan_of, deep, tally)
        tally.mous_done(len(not_mouses))  # only a whole-archive survey finds any
    return (records, not_mouses), trips.count


def _chosen(engine: Engine, evidence: Iterator[Evidence], wanted: list[str]):
    """The evidence of the ``wanted`` MOUSes among the whole archive's; then, read as for a
    short list, that of those without science rows (every EB failed QA0), which the archive's
    stream does not hold."""
    chosen, seen = set(wanted), set()
    for ev in evidence:
        if ev.mous in chosen:
            seen.add(ev.mous)
            yield ev
    rest = [m for m in wanted if m not in seen]
    if rest:
        yield from iter_evidence(read_tables(engine, rest), rest)


def _require_known(engine: Engine, wanted: list[str]) -> None:
    """Raise unless the archive mentions each MOUS asked for, as ``restorekit plan`` does."""
    known = known_mouses(engine, wanted)
    unknown = [m for m in wanted if m not in known]
    if not unknown:
        return
    verb = "is" if len(unknown) == 1 else "are"
    raise UnknownMousError(
        f"{len(unknown):,} of the {len(wanted):,} MOUSes asked for {verb} not in the archive "
        f"({first_few(unknown)}); check the uids, or list the known ones with `restorekit list`"
    )


def survey_of(
    db: str | None = None,
    *,
    schema: str | None = None,
    mous_file: str | None = None,
    deep: bool = False,
    ngas: str | None = None,
    jobs: int = 32,
    casa: Sequence[Install] | None = None,
    cache: str | None = None,
    progress: Progress | None = None,
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
    result = survey(
        engine,
        mouses,
        deep=deep,
        store=store,
        jobs=jobs,
        casa=casa,
        cache=cache,
        progress=progress,
    )
    result.archive = describe(engine)
    return result
