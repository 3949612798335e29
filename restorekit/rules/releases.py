"""Pipeline releases: which one a delivery comes from, and what its tasks accept.

Task parameters change between releases (``pipelinemode`` left in 2023, ``dryrun`` and
``acceptresults`` in 2024; ``hif_restoredata`` gave way to ``hifa_restoredata`` in November 2016;
``hsd_restoredata`` arrived in April 2017). ``data/pipeline_tasks.json`` holds the parameter list
of every import and restore task at each change, read from the pipeline's own ``cli``
definitions; each entry names the commit or tag it was read from.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources

LEGACY_TASKS = {"hif_restoredata": "hifa_restoredata", "hif_importdata": "hifa_importdata"}
"""A task of older pipelines -> the one that took over its work."""

_SVN = re.compile(r"\s*r?(\d{4,6})M?\b")
_TAG = re.compile(r"\s*(\d{4})\.(\d+)\.(\d+)\.(\d+)\b")

VersionKey = tuple[int, ...]


@functools.lru_cache(maxsize=1024)
def version_key(version: str | None) -> VersionKey | None:
    """A sortable key for a pipeline version as manifests and the table write it.

    ``42254M (Pipeline-CASA54-P1-B)`` and ``r42254`` (SVN builds) sort before every
    ``2022.2.0.64`` (release tags). ``None`` for anything else.
    """
    if not version:
        return None
    if m := _TAG.match(version):
        return (1, *(int(g) for g in m.groups()))
    if m := _SVN.match(version):
        return (0, int(m.group(1)))
    return None


@dataclass(frozen=True)
class Epoch:
    """The task parameters from one version until the next entry's."""

    start: str
    date: str
    source: str
    tasks: dict[str, tuple[str, ...]]
    accepted: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    """``tasks`` as sets, made once: every plan asks what its tasks accept."""

    def __post_init__(self) -> None:
        accepted = {task: frozenset(names) for task, names in self.tasks.items()}
        object.__setattr__(self, "accepted", accepted)


@dataclass(frozen=True)
class Release:
    """The pipeline release a plan writes task calls for.

    Attributes
    ----------
    version
        The version as found (``42254M (Pipeline-CASA54-P1-B)``), or ``None`` when only a
        date told it.
    epoch
        The table entry whose parameters apply.
    basis
        ``"manifest"``, ``"setting"`` or ``"observing date"``: where the version came from.
    exact
        False when the version is outside the table's range (the nearest entry is used).
    """

    version: str | None
    epoch: Epoch
    basis: str
    exact: bool

    def has(self, task: str) -> bool:
        return task in self.epoch.tasks

    def parameters(self, task: str) -> tuple[str, ...]:
        return self.epoch.tasks.get(task, ())

    def accepts(self, task: str) -> frozenset[str]:
        """The parameters of ``task`` (none when the release lacks it)."""
        return self.epoch.accepted.get(task, frozenset())

    @property
    def casa_generation(self) -> int:
        """6 for the release tags (CASA 6, from 2020), 5 for the SVN builds before them."""
        return 6 if version_key(self.epoch.start)[0] == 1 else 5  # type: ignore[index]

    @property
    def name(self) -> str:
        return self.version or f"the release of {self.epoch.date} ({self.epoch.start})"

    def describe(self) -> str:
        return f"{self.name}, task parameters as of {self.epoch.source}"

    def to_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "basis": self.basis,
            "exact": self.exact,
            "parameters_from": self.epoch.source,
        }


@functools.cache
def _table() -> tuple[list[VersionKey], list[Epoch], VersionKey, VersionKey]:
    data = json.loads(
        resources.files("restorekit").joinpath("data/pipeline_tasks.json").read_text()
    )
    parameters = {k: tuple(v) for k, v in data["parameters"].items()}
    epochs = [
        Epoch(e["from"], e["date"], e["source"], {t: parameters[p] for t, p in e["tasks"].items()})
        for e in data["epochs"]
    ]
    epochs.sort(key=lambda e: version_key(e.start))  # type: ignore[arg-type, return-value]
    keys = [version_key(e.start) for e in epochs]
    return keys, epochs, version_key(data["svn_until"]), version_key(data["tags_until"])  # type: ignore[return-value]


def epochs() -> list[Epoch]:
    return list(_table()[1])


def _covered(key: VersionKey) -> bool:
    keys, _, svn_until, tags_until = _table()
    if key < keys[0]:
        return False
    if key[0] == 0:
        return key <= svn_until
    # A tag of a later series than the table knows has unknown parameters.
    return key[:3] <= tags_until[:3]


@functools.lru_cache(maxsize=4096)
def for_version(version: str, *, basis: str = "manifest") -> Release | None:
    """The release of a version string, or ``None`` when it is not a pipeline version."""
    key = version_key(version)
    if key is None:
        return None
    keys, table, _, _ = _table()
    i = max(bisect.bisect_right(keys, key) - 1, 0)
    return Release(version, table[i], basis, _covered(key))


@functools.cache
def newest() -> Release:
    """The newest release the table knows (its parameters hold for later builds of its series)."""
    epoch = _table()[1][-1]
    return Release(epoch.start, epoch, "newest known", True)


def for_date(date: str) -> Release | None:
    """The release in force on ``date`` (``YYYY-MM-DD...``): for deliveries whose manifest
    names no version (those written before August 2018)."""
    days, newest = _by_date()
    i = bisect.bisect_right(days, date[:10])
    return Release(None, newest[i - 1], "observing date", True) if i else None


@functools.cache
def _by_date() -> tuple[list[str], list[Epoch]]:
    """Epoch dates in order, and for each, the newest release published by then (tags of
    several series interleave in time; the newest series wins)."""
    _, table, _, _ = _table()
    days, newest, best = [], [], None
    for epoch in sorted(table, key=lambda e: e.date):
        if best is None or version_key(epoch.start) > version_key(best.start):  # type: ignore[operator]
            best = epoch
        days.append(epoch.date)
        newest.append(best)
    return days, newest


def restore_task_for(task: str, release: Release) -> str | None:
    """``task`` if ``release`` has it, else its successor if that exists there, else ``None``."""
    if release.has(task):
        return task
    successor = LEGACY_TASKS.get(task)
    return successor if successor and release.has(successor) else None


def import_task_for(restore_task: str, release: Release | None = None) -> str:
    """The import task to run before fixes: the one of the restore task's package
    (``hifa_restoredata`` -> ``hifa_importdata``), or its successor where ``release`` lacks it."""
    task = restore_task.replace("_restoredata", "_importdata")
    if release is None or release.has(task):
        return task
    return restore_task_for(task, release) or task
