"""Fetching products from NGAS into a directory: several at once, resumable, verified.

A file is written as ``<name>.part`` and renamed to ``<name>`` only once complete and of the
size the archive records, so a final name never holds half a file. An interrupted run leaves
the ``.part`` behind and the next run continues it where the server allows ranges.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from restorekit.errors import NgasError, RestorekitError, count_option, seconds_option
from restorekit.sources.document_cache import DocumentCache
from restorekit.sources.ngas import NgasStore, TransientNgasError, check_file_id, seconds_setting

PART = ".part"
log = logging.getLogger("restorekit.fetch")


@dataclass(frozen=True)
class Product:
    name: str
    size: int | None = None
    """``STORED_SIZE`` from the archive; ``None`` when unknown."""


@dataclass
class FetchReport:
    fetched: list[str] = field(default_factory=list)
    """Files transferred in this run (fully or resumed)."""
    present: list[str] = field(default_factory=list)
    """Files that were already complete and were not transferred again."""
    resumed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0

    @property
    def names(self) -> list[str]:
        return sorted(self.fetched + self.present)


SIZE_MISMATCH = "the archive's size disagrees"


class LocalWriteError(RestorekitError):
    """A product could not be written into the restore area (full disk, permissions, a link)."""


class SizeMismatchError(NgasError):
    """A complete transfer does not have the size the archive records."""


def fetch_products(
    store: NgasStore,
    products: Sequence[Product],
    directory: Path,
    *,
    jobs: int = 4,
    retries: int = 4,
    backoff: float = 0.5,
    progress: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> FetchReport:
    """Fetch ``products`` from ``store`` into ``directory``.

    Parameters
    ----------
    jobs
        Transfers at once.
    retries, backoff
        A transient failure (timeout, reset, HTTP 5xx) is retried ``retries`` times, waiting
        ``backoff * 2**attempt`` seconds; the transfer resumes from what it already has.
    progress
        Show a progress bar; by default only when stderr is a terminal.
    deadline
        Seconds the whole fetch may take; what is not complete by then is left to resume.

    Raises
    ------
    NgasError
        After every transfer has been tried, if any failed: naming them and what to do.
    """
    count_option(jobs, "jobs")
    deadline = seconds_option(deadline, "deadline")
    for product in products:
        check_file_id(product.name)
    directory.mkdir(parents=True, exist_ok=True)
    report = FetchReport()
    lock = threading.Lock()
    show = sys.stderr.isatty() if progress is None else progress
    total = sum(p.size or 0 for p in products)
    started = time.perf_counter()
    with _byte_bar(total, show) as bar:

        def advance(n: int) -> None:
            with lock:
                report.bytes += n
                bar.update(n)

        ends = time.monotonic() + deadline if deadline is not None else None

        def one(product: Product) -> None:
            try:
                outcome = _fetch_one(
                    store, product, directory, retries, backoff, sleep, advance, ends
                )
            except (NgasError, LocalWriteError) as exc:
                with lock:
                    report.failed[product.name] = str(exc)
                return
            with lock:
                getattr(report, outcome if outcome != "resumed" else "fetched").append(product.name)
                if outcome == "resumed":
                    report.resumed.append(product.name)
                if outcome == "present":
                    bar.update(product.size or 0)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(one, products))
    report.seconds = time.perf_counter() - started
    if report.failed:
        raise _failures(report.failed, len(products))
    return report


def _byte_bar(total: int, show: bool) -> tqdm:
    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=not show,
        desc="products",
        file=sys.stderr,
    )


def _failures(failed: dict[str, str], of: int) -> NgasError:
    """One error naming the first failed transfers and what to do about them."""
    listing = "; ".join(f"{n}: {why}" for n, why in sorted(failed.items())[:3])
    more = len(failed) - 3
    mismatched = all(SIZE_MISMATCH in why for why in failed.values())
    advice = (
        "the archive's STORED_SIZE disagrees with what NGAS serves, which a rerun will not "
        "change: report it to the archive"
        if mismatched
        else "rerun to resume"
    )
    return NgasError(
        f"{len(failed)} of {of} products could not be fetched ({listing}"
        f"{f'; and {more} more' if more > 0 else ''}); {advice}"
    )


DOCUMENT_CAP = 64 * 2**20
"""The largest manifest or script restorekit reads (64 MiB): real ones are kilobytes."""
DOCUMENT_DEADLINE = 180.0
"""Seconds a document read may take in all, retries included."""


def read_document(
    store: NgasStore,
    name: str,
    *,
    size: int | None = None,
    cap: int = DOCUMENT_CAP,
    deadline: float | None = None,
    retries: int = 4,
    backoff: float = 0.5,
    sleep: Callable[[float], None] | None = None,
    cache: DocumentCache | None = None,
) -> bytes:
    """A manifest or script, fetched with the same retries and back-off as products (or taken
    from ``cache``, and kept there, when its archive ``size`` is known).

    Refused when larger than its archive ``size`` (when known) or than ``cap``, and when the
    whole read takes longer than ``deadline`` seconds (default ``$RESTOREKIT_DOCUMENT_DEADLINE``,
    else 180).

    Raises
    ------
    NgasError
        Naming the document and the cause.
    """
    if cache is not None and (cached := cache.get(name, size)) is not None:
        return cached
    limit = min(cap, size) if size is not None else cap
    if deadline is None:
        deadline = seconds_setting("RESTOREKIT_DOCUMENT_DEADLINE", DOCUMENT_DEADLINE)
    ends = time.monotonic() + deadline
    data = _retrying(
        lambda: _read_bounded(store, name, limit, ends, deadline),
        name,
        retries,
        backoff,
        sleep or time.sleep,
        ends,
    )
    if size is not None and len(data) != size:
        raise NgasError(f"{name} arrived with {len(data)} bytes but the archive records {size}")
    if cache is not None:
        cache.put(name, size, data)
    return data


def _retrying(
    attempt: Callable[[], object],
    name: str,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None],
    ends: float | None = None,
):
    """``attempt()``, again after a transient failure, waiting ``backoff * 2**n`` seconds, at
    most ``retries`` times and never past the deadline ``ends`` (``time.monotonic()``)."""
    for n in itertools.count():
        try:
            return attempt()
        except TransientNgasError as exc:
            wait = backoff * 2**n
            if n == retries or (ends is not None and time.monotonic() + wait > ends):
                raise
            log.info("retrying %s in %.1f s: %s", name, wait, exc)
            sleep(wait)


def _read_bounded(store: NgasStore, name: str, limit: int, ends: float, deadline: float) -> bytes:
    chunks, _, _ = store.stream(name, 0)
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) > limit:
            raise NgasError(f"{name} is larger than {limit} bytes; refused as a document")
        if time.monotonic() > ends:
            raise NgasError(f"reading {name} took longer than {deadline:.0f} s; NGAS is too slow")
    return bytes(buffer)


def _fetch_one(store, product, directory, retries, backoff, sleep, advance, ends) -> str:
    final = directory / product.name
    part = directory / (product.name + PART)
    for path in (final, part):
        if path.is_symlink():
            raise LocalWriteError(
                f"{path} is a symbolic link; restorekit never writes through links: remove it"
            )
    if final.exists() and (product.size is None or final.stat().st_size == product.size):
        return "present"
    resumed = part.exists() and part.stat().st_size > 0
    transfer = functools.partial(_transfer, store, product, part, advance, ends)
    _retrying(transfer, product.name, retries, backoff, sleep)
    size = part.stat().st_size
    if product.size is not None and size != product.size:
        part.unlink()
        raise SizeMismatchError(
            f"{product.name} arrived with {size} bytes but the archive records {product.size} "
            f"({SIZE_MISMATCH})"
        )
    os.replace(part, final)
    return "resumed" if resumed else "fetched"


def _open_part(part: Path, resume: bool):
    """The ``.part`` file for writing, never through a symbolic link."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    if not resume:
        flags |= os.O_TRUNC
    return os.fdopen(os.open(part, flags, 0o644), "wb")


def _transfer(
    store: NgasStore,
    product: Product,
    part: Path,
    advance: Callable[[int], None],
    ends: float | None = None,
) -> None:
    offset = part.stat().st_size if part.exists() else 0
    if product.size is not None and offset > product.size:
        offset = 0
    chunks, total, honoured = store.stream(product.name, offset)
    if product.size is None and total is None:
        raise NgasError(
            f"NGAS sent {product.name} without a Content-Length and the archive records no size: "
            "its completeness cannot be checked"
        )
    resume = bool(offset and honoured)
    try:
        with _open_part(part, resume) as handle:
            if resume:
                handle.seek(offset)
            for chunk in chunks:
                handle.write(chunk)
                advance(len(chunk))
                if ends is not None and time.monotonic() > ends:
                    raise NgasError(
                        f"the fetch passed its deadline while {product.name} was arriving; "
                        "rerun to resume"
                    )
            written = handle.tell()
    except OSError as exc:
        raise LocalWriteError(
            f"cannot write {part} ({exc.strerror or exc}); free space or fix the directory, "
            "then rerun to resume"
        ) from None
    if total is not None and written < total:
        raise TransientNgasError(f"transfer of {product.name} stopped at {written} of {total}")
