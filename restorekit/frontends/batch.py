"""Batch runs: a notebook executed once per parameter set with papermill, kept as records.

Each run writes ``<records>/<MOUS file uid>/<notebook>.ipynb`` and an ``.html`` export with the
code hidden; a failing run is recorded too and the batch goes on. The summary (one row per
run) is printed by the CLI and saved as ``<records>/summary.csv``.

A password never reaches a notebook: one found in a ``db_url`` parameter is taken out of it
and handed to the kernels through ``RESTOREKIT_DB_PASSWORD`` instead.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from restorekit.errors import ConfigurationError, InputError
from restorekit.frontends.display import RESULT_MIME
from restorekit.fsutil import atomic_write
from restorekit.sources.archive import ENV_PASSWORD, mask_secrets
from restorekit.uids import is_uid, parse_uid
from restorekit.yamlsafe import load_yaml

SUMMARY_COLUMNS = [
    "mous",
    "status",
    "findings",
    "route",
    "ppr",
    "failed_cell",
    "error",
    "seconds",
    "notebook",
    "html",
    "parameters",
]
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


@dataclass
class Outcome:
    mous: str
    status: str
    findings: int | None = None
    route: str | None = None
    ppr: str | None = None
    failed_cell: int | None = None
    error: str | None = None
    seconds: float = 0.0
    notebook: str | None = None
    html: str | None = None
    parameters: str = ""
    result: dict = field(default_factory=dict, repr=False)


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
                    runs += load_runs(
                        [str(path.parent / entry)], (*_including, path.resolve())
                    )
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
def _password_in_environment(password: str | None):
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


def _result_of(notebook) -> dict:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULT_MIME in data:
                return dict(data[RESULT_MIME])
    return {}


def export_html(notebook_path: Path, html_path: Path) -> None:
    """An HTML record of an executed notebook, code cells hidden."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(nbformat.read(notebook_path, as_version=4))
    atomic_write(html_path, body)


def _ipc_kernel_manager(directory: str):
    """Kernels talk over local sockets in ``directory``: no TCP ports, nothing in plain text."""
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = os.path.join(directory, "kernel")

    return IpcKernelManager


@functools.cache
def _parameters_of(path: str, mtime: float) -> tuple[str, ...]:
    import papermill as pm

    return tuple(pm.inspect_notebook(path))


def notebook_parameters(notebook: Path) -> tuple[str, ...]:
    """The names the notebook's ``parameters`` cell defines (``interactive`` included)."""
    return _parameters_of(str(notebook), notebook.stat().st_mtime)


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


def execute(
    notebook: Path,
    run: Run,
    records: Path,
    *,
    retries: int = 1,
    cwd: Path | None = None,
    name: str | None = None,
) -> Outcome:
    """Execute one run; never raises for a failing notebook (the outcome says so)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    folder = records / (name or run.name)
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"{notebook.stem}.ipynb"
    html_path = output.with_suffix(".html")
    parameters = {"interactive": False, **run.parameters}
    mous = run.parameters.get("mous_uid", run.name)
    outcome = Outcome(
        mous=parse_uid(mous).archive if is_uid(mous) else str(mous),
        status="ok",
        parameters=run.source,
    )
    started = time.perf_counter()
    unknown = sorted(set(run.parameters) - set(notebook_parameters(notebook)))
    if unknown:
        outcome.status = "failed"
        outcome.error = (
            f"{run.source}: unknown parameter {', '.join(map(repr, unknown))}; "
            f"{notebook.name} takes {', '.join(notebook_parameters(notebook))}"
        )
        return outcome
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".ipynb", dir=folder)
    os.close(fd)
    sockets = tempfile.TemporaryDirectory(prefix="rk-kernel-")
    try:
        for attempt in range(retries + 1):
            try:
                executed = pm.execute_notebook(
                    str(notebook),
                    tmp,
                    parameters=parameters,
                    progress_bar=False,
                    log_output=False,
                    cwd=str(cwd) if cwd else None,
                    start_timeout=120,
                    kernel_manager_class=_ipc_kernel_manager(sockets.name),
                )
                outcome.result = _result_of(executed)
                break
            except PapermillExecutionError as exc:
                outcome.status = "failed"
                outcome.failed_cell = exc.exec_count
                outcome.error = mask_secrets(" ".join(f"{exc.ename}: {exc.evalue}".split()))[:500]
                break
            except Exception as exc:  # the kernel did not start or died: worth one retry
                if attempt == retries:
                    outcome.status = "failed"
                    text = " ".join(f"{type(exc).__name__}: {exc}".split())
                    outcome.error = mask_secrets(text)[:500]
        if Path(tmp).stat().st_size:
            os.chmod(tmp, 0o644)  # as the HTML record (mkstemp makes 0600)
            os.replace(tmp, output)
            outcome.notebook = str(output)
            export_html(output, html_path)
            outcome.html = str(html_path)
            if not outcome.result and outcome.status == "ok":
                import nbformat

                outcome.result = _result_of(nbformat.read(output, as_version=4))
    finally:
        Path(tmp).unlink(missing_ok=True)
        sockets.cleanup()
    result = outcome.result
    if result.get("mous"):
        outcome.mous = result["mous"]  # the MOUS that ran, whatever the file said
    outcome.findings = result.get("findings")
    outcome.route = result.get("route")
    outcome.ppr = result.get("ppr")
    if outcome.status == "ok" and result.get("error"):
        outcome.error = result["error"]
    outcome.seconds = round(time.perf_counter() - started, 2)
    return outcome


def run_batch(
    notebook: str | Path,
    parameter_files: list[str],
    *,
    jobs: int = 2,
    records: str | Path = "records",
    progress: bool | None = None,
    retries: int = 1,
) -> pd.DataFrame:
    """Execute ``notebook`` once per parameter set, ``jobs`` at a time; return the summary.

    Raises
    ------
    InputError
        For a missing notebook or unreadable parameter files (before anything runs).
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise InputError(f"notebook {str(notebook)!r} does not exist")
    runs = load_runs(parameter_files)
    password = strip_passwords(runs)
    records = Path(records)
    records.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    outcomes: list[Outcome] = []
    with (
        _password_in_environment(password),
        ThreadPoolExecutor(max_workers=max(1, jobs)) as pool,
        tqdm(total=len(runs), unit="run", disable=not show, file=sys.stderr) as bar,
    ):
        futures = [
            pool.submit(execute, notebook, run, records, retries=retries, name=name)
            for run, name in zip(runs, record_names(runs), strict=True)
        ]
        for future in as_completed(futures):
            outcomes.append(future.result())
            bar.update(1)
    rows = [asdict(o) for o in outcomes]
    for row in rows:
        row.pop("result")
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS).astype({"failed_cell": "Int64"})
    summary = summary.sort_values(
        ["status", "mous"], ignore_index=True
    )  # failures ("failed" < "ok") first
    atomic_write(records / "summary.csv", summary.to_csv(index=False))
    return summary
