"""Parameter files of batch runs: reading them, and keeping passwords out of the notebooks.

A file with a ``runs:`` list is a batch: each entry is a mapping of parameters or the path
(relative to the batch file) of another parameter file. A password never reaches a notebook:
one found in a ``db_url`` parameter is taken out of it and handed to the kernels through
``RESTOREKIT_DB_PASSWORD`` instead.
"""

from __future__ import annotations

import functools
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from restorekit.errors import ConfigurationError, InputError
from restorekit.sources.archive import ENV_PASSWORD
from restorekit.uids import is_uid, parse_uid
from restorekit.yamlsafe import load_yaml

_env_lock = threading.Lock()


@dataclass
class Run:
    """One execution: its parameters and where they came from."""

    parameters: dict
    source: str

    @property
    def name(self) -> str:
        mous = self.parameters.get("mous_uid")
        if is_uid(mous):
            return parse_uid(mous).file
        return Path(self.source).stem


def load_runs(files: list[str], _including: tuple[Path, ...] = ()) -> list[Run]:
    """Read parameter files. A file with a ``runs:`` list is a batch: each entry is a mapping
    of parameters or the path (relative to the batch file) of another parameter file.

    Raises
    ------
    InputError
        Naming the file and what is wrong with it.
    """
    runs: list[Run] = []
    for name in files:
        path = Path(name)
        if path.resolve() in _including:
            raise InputError(f"parameter file {str(path)!r} includes itself; remove that entry")
        data = _yaml(path)
        if isinstance(data, dict) and "runs" in data:
            entries = data["runs"]
            if not isinstance(entries, list) or not entries:
                raise InputError(f"{path}: 'runs' must be a non-empty list")
            for entry in entries:
                if isinstance(entry, str):
                    runs += load_runs([str(path.parent / entry)], (*_including, path.resolve()))
                elif isinstance(entry, dict):
                    runs.append(Run(dict(entry), str(path)))
                else:
                    raise InputError(f"{path}: each run is a mapping or a file name, not {entry!r}")
        elif isinstance(data, dict):
            runs.append(Run(data, str(path)))
        else:
            raise InputError(f"{path}: expected a mapping of notebook parameters")
    return runs


def _yaml(path: Path):
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read parameter file {str(path)!r} ({exc.strerror})") from None
    return load_yaml(text, what=f"parameter file {str(path)!r}")


def strip_passwords(runs: list[Run]) -> str | None:
    """Take passwords out of ``db_url`` parameters; return the (single) password found."""
    from sqlalchemy.engine import make_url

    found = set()
    for run in runs:
        url = run.parameters.get("db_url")
        if not url or "://" not in str(url):
            continue
        try:
            parsed = make_url(str(url))
        except Exception:
            continue
        if parsed.password:
            found.add(parsed.password)
            run.parameters["db_url"] = parsed._replace(password=None).render_as_string()
    if len(found) > 1:
        raise ConfigurationError(
            "the runs name databases with different passwords; run them as separate batches "
            f"with {ENV_PASSWORD} set for each"
        )
    return found.pop() if found else None


@contextmanager
def password_in_environment(password: str | None):
    if password is None:
        yield
        return
    with _env_lock:
        previous = os.environ.get(ENV_PASSWORD)
        os.environ[ENV_PASSWORD] = password
    try:
        yield
    finally:
        with _env_lock:
            if previous is None:
                os.environ.pop(ENV_PASSWORD, None)
            else:
                os.environ[ENV_PASSWORD] = previous


@functools.cache
def _declared(path: str, mtime: float) -> dict[str, str]:
    import papermill as pm

    return {name: p["inferred_type_name"] for name, p in pm.inspect_notebook(path).items()}


def notebook_parameters(notebook: Path) -> tuple[str, ...]:
    """The names the notebook's ``parameters`` cell defines (``interactive`` included)."""
    return tuple(_declared(str(notebook), notebook.stat().st_mtime))


_KINDS = {
    "str": (lambda v: isinstance(v, str), "text"),
    "Optional[str]": (lambda v: v is None or isinstance(v, str), "text (or null)"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
}


def parameter_problems(notebook: Path, parameters: dict) -> list[str]:
    """What keeps ``parameters`` from running ``notebook``, each in a few words: names its
    parameters cell does not define, values of another kind than it declares, and empty text
    (a path or URL left blank, which would not mean the default)."""
    declared = _declared(str(notebook), notebook.stat().st_mtime)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        return [
            f"unknown parameter {', '.join(map(repr, unknown))}; {notebook.name} takes "
            f"{', '.join(declared)}"
        ]
    problems = []
    for name, value in parameters.items():
        fits, kind = _KINDS.get(declared[name], (lambda v: True, ""))
        if not fits(value):
            problems.append(f"{name} {value!r} is not {kind}")
        elif isinstance(value, str) and not value.strip():
            problems.append(f"{name} is empty; leave it out for its default")
    return problems


def record_names(runs: list[Run]) -> list[str]:
    """Folder names of the records: the MOUS file uid, made unique where a batch repeats it."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.name] = counts.get(run.name, 0) + 1
    names, used = [], set()
    for run in runs:
        name = run.name if counts[run.name] == 1 else f"{run.name}--{Path(run.source).stem}"
        while name in used:
            name += "-"
        used.add(name)
        names.append(name)
    return names
