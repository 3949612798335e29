"""The site's CASA installs: found from the site settings and identified once.

An install is identified from its directory name as the release tarballs spell it
(``casa-6.5.4-9-pipeline-2023.1.0.124-py3.8.el8``, ``casa-pipeline-release-5.4.0-70.el7``,
``casa-release-4.7.2-el7``, ``casa-6.5.3-28-py3.8``), or else by asking ``bin/casa --version``
(with a timeout) and reading the version file of a bundled pipeline. What was asked is
remembered in ``$RESTOREKIT_CACHE/casa-installs.json``, keyed by the executable's size and
mtime, so each install is asked once. ``casa_versions`` entries (often container commands)
are taken as the operator wrote them and never run.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

from restorekit.config import cache_root
from restorekit.fsutil import StatCache
from restorekit.rules.casa import Install, bundled_pipeline, normal_casa
from restorekit.settings import SiteSettings

log = logging.getLogger("restorekit.casa")
ASK_TIMEOUT = 60.0
"""Seconds ``bin/casa --version`` may take (CASA 5 starts slowly)."""
CACHE_NAME = "casa-installs.json"

_CASA6 = re.compile(
    r"casa-(?P<casa>\d+\.\d+\.\d+[-.]\d+)(?:-pipeline-(?P<pipeline>\d{4}\.\d+\.\d+\.\d+))?"
    r"(?=$|[-.](?:py|el|\d+\.\d+-py))"
)
_CASA5 = re.compile(
    r"casa-(?P<kind>pipeline-release|release|prerelease|pipeline-prerelease)-"
    r"(?P<casa>\d+\.\d+\.\d+(?:-\d+)?)(?=$|[.-]el\d)"
)
_ASKED_CASA = re.compile(r"(?<![\d.])(\d\.\d+\.\d+(?:[-.]\d+)?)(?![\d.])")
_ASKED_PIPELINE = re.compile(r"(?<![\d.])(\d{4}\.\d+\.\d+\.\d+|(?<=r)\d{5})(?![\d.])")
_VERSION_FILE = re.compile(r"""^version\s*=\s*['"]([^'"]+)['"]""", re.M)


def versions_from_name(name: str) -> tuple[str | None, str | None, bool] | None:
    """``(casa, pipeline, with_pipeline)`` from a tarball-style name, or ``None``.

    CASA 5 and 4 builds do not name their pipeline: the release notes do, when they pair the
    CASA build with one release.
    """
    if m := _CASA6.fullmatch(name) or _CASA6.match(name):
        casa = normal_casa(m["casa"])
        return casa, m["pipeline"], m["pipeline"] is not None
    if m := _CASA5.match(name):
        casa = normal_casa(m["casa"])
        bundled = bundled_pipeline(casa)
        # CASA 4 and early 5 releases carried the pipeline; the notes name those builds.
        with_pipeline = m["kind"].startswith("pipeline") or bundled is not None
        return casa, bundled if with_pipeline else None, with_pipeline
    return None


def versions_from_answer(text: str) -> tuple[str | None, str | None]:
    """The CASA and pipeline versions in what ``casa --version`` printed."""
    pipeline = _ASKED_PIPELINE.search(text)
    found = pipeline.group(1) if pipeline else None
    if found and len(found) == 5:
        found = f"r{found}"
    casa = _ASKED_CASA.search(text)
    return (normal_casa(casa.group(1)) if casa else None), found


@dataclass
class Catalog:
    """The installs of a site, and what could not be made of its settings."""

    installs: list[Install] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter(self.installs)

    def __len__(self) -> int:
        return len(self.installs)


class _Answers:
    """What each executable answered, kept across runs."""

    def __init__(self, path: Path) -> None:
        self.cache = StatCache(path)

    def ask(self, executable: Path, timeout: float, words: list[str] | None = None) -> str | None:
        """What ``words --version`` (default: the executable alone) printed."""
        argv = [*(words or [str(executable)]), "--version"]
        try:
            stat = executable.stat()
        except OSError:
            return None
        key = shlex.join([str(executable.resolve()), *argv[1:]])
        hit = self.cache.get(key, stat)
        if hit is not None:
            return hit
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
            answer = (done.stdout + "\n" + done.stderr)[-4000:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("could not ask %s for its version: %s", executable, exc)
            return None
        self.cache.put(key, stat, answer)
        return answer

    def save(self) -> None:
        self.cache.save()


def _bundled_pipeline_version(root: Path) -> str | None:
    """The version file a pipeline wheel installs (``pipeline/_version.py``), if any."""
    for name in glob.glob(str(root / "lib/py/lib/python3*/site-packages/pipeline/_version.py")):
        try:
            if m := _VERSION_FILE.search(Path(name).read_text(errors="replace")):
                return m.group(1)
        except OSError:
            continue
    return None


def identify(
    root: Path,
    answers: _Answers,
    timeout: float = ASK_TIMEOUT,
    executable: Path | None = None,
    words: list[str] | None = None,
) -> Install:
    """One install directory: from its name, else by asking its ``bin/casa`` (or ``words``,
    the command line that starts it)."""
    executable = executable or root / "bin" / "casa"
    command = shlex.join(words or [str(executable)])
    named = versions_from_name(root.name)
    if named is not None:
        casa, pipeline, with_pipeline = named
        how = "name+notes" if pipeline and not re.search(r"pipeline-\d", root.name) else "name"
        return Install(command, casa, pipeline, with_pipeline, how, str(root))
    answer = answers.ask(executable, timeout, words)
    casa, pipeline = versions_from_answer(answer) if answer else (None, None)
    pipeline = pipeline or _bundled_pipeline_version(root)
    how = "asked" if casa else "unknown"
    if casa and not pipeline and (bundled := bundled_pipeline(casa)):
        pipeline, how = bundled, "asked+notes"
    with_pipeline = pipeline is not None
    return Install(command, casa, pipeline, with_pipeline, how, str(root))


def _from_versions_map(key: str, command: str) -> Install | None:
    named = versions_from_name(key if key.startswith("casa-") else f"casa-{key}")
    if named is None:
        return None
    casa, pipeline, _ = named
    if pipeline is None:
        pipeline = bundled_pipeline(casa)
    return Install(command, casa, pipeline, True, "casa_versions", key)


def _directories(patterns: tuple[str, ...], problems: list[str]) -> list[Path]:
    found: list[Path] = []
    for pattern in patterns:
        expanded = os.path.expanduser(pattern)
        matches = sorted(glob.glob(expanded)) if glob.has_magic(expanded) else [expanded]
        dirs = [Path(m) for m in matches if (Path(m) / "bin" / "casa").is_file()]
        if not dirs:
            problems.append(f"casa_installs entry {pattern!r} names no directory with bin/casa")
        found += [d for d in dirs if d not in found]
    return found


def read_catalog(
    settings: SiteSettings, *, timeout: float = ASK_TIMEOUT, cache: Path | None = None
) -> Catalog:
    """The site's installs: ``casa_versions`` first (the operator's word), then
    ``casa_installs``, then the ``casa`` setting's command when it names an install."""
    catalog = Catalog()
    for key, command in settings.casa_versions.items():
        install = _from_versions_map(key, command)
        if install is None:
            catalog.problems.append(
                f"casa_versions key {key!r} is not a CASA version; write it as 6.5.4-9 or "
                "6.5.4-9-pipeline-2023.1.0.124"
            )
        else:
            catalog.installs.append(install)
    answers = _Answers((cache or cache_root()) / CACHE_NAME)
    for root in _directories(settings.casa_installs, catalog.problems):
        catalog.installs.append(identify(root, answers, timeout))
    default = _default_install(settings, answers, timeout)
    if default is not None and all(i.location != default.location for i in catalog.installs):
        catalog.installs.append(default)
    answers.save()
    for problem in catalog.problems:
        log.warning("%s", problem)
    return catalog


def _default_install(settings: SiteSettings, answers: _Answers, timeout: float) -> Install | None:
    """The install the ``casa`` setting starts, when it is on this machine: identified by the
    name of the directory it is in, else by asking the command line."""
    try:
        words = shlex.split(settings.casa)
    except ValueError:
        return None
    found = shutil.which(words[0]) if words else None
    if found is None:
        return None
    executable = Path(found).resolve()
    install = identify(executable.parent.parent, answers, timeout, executable, words)
    return replace(install, command=settings.casa)
