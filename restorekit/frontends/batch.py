"""Batch runs: a notebook executed once per parameter set with papermill, kept as records.

Each run writes ``<records>/<MOUS file uid>/<notebook>.ipynb`` and an ``.html`` export with the
code hidden; a failing run is recorded too and the batch goes on. The summary (one row per
run) is printed by the CLI and saved as ``<records>/summary.csv``.

A password never reaches a notebook: one found in a ``db_url`` parameter is taken out of it
and handed to the kernels through ``RESTOREKIT_DB_PASSWORD`` instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from restorekit.errors import InputError, count_option
from restorekit.frontends.display import RESULT_MIME
from restorekit.frontends.parameters import (
    Run,
    load_runs,
    notebook_parameters,
    parameter_problems,
    password_in_environment,
    record_names,
    strip_passwords,
)
from restorekit.fsutil import atomic_write
from restorekit.sources.archive import mask_secrets
from restorekit.uids import is_uid, parse_uid

SUMMARY_COLUMNS = [
    "mous",
    "status",
    "findings",
    "route",
    "restore_area",
    "ppr",
    "failed_cell",
    "error",
    "worker",
    "seconds",
    "notebook",
    "html",
    "parameters",
]


@dataclass
class Outcome:
    mous: str
    status: str
    findings: int | None = None
    route: str | None = None
    restore_area: str | None = None
    ppr: str | None = None
    failed_cell: int | None = None
    error: str | None = None
    worker: str | None = None
    """The Dask worker that ran it (``local`` without a cluster)."""
    seconds: float = 0.0
    notebook: str | None = None
    html: str | None = None
    parameters: str = ""
    result: dict = field(default_factory=dict, repr=False)


def _result_of(notebook) -> dict:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULT_MIME in data:
                return dict(data[RESULT_MIME])
    return {}


TEMPLATES = Path(__file__).parent / "templates"


def export_html(notebook_path: Path, html_path: Path) -> None:
    """An HTML record of an executed notebook, code cells hidden, that loads nothing from the
    network (see ``templates/restorekit_record``)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="restorekit_record",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
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


def execute(
    notebook: Path,
    run: Run,
    records: Path,
    *,
    retries: int = 1,
    cwd: Path | None = None,
    name: str | None = None,
    root: str | Path | None = None,
) -> Outcome:
    """Execute one run; never raises for a failing notebook (the outcome says so).

    ``root`` is where the restore areas go when the run's parameters do not say
    (``root_dir``)."""
    folder = records / (name or run.name)
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"{notebook.stem}.ipynb"
    mous = run.parameters.get("mous_uid", run.name)
    outcome = Outcome(
        mous=parse_uid(mous).archive if is_uid(mous) else str(mous),
        status="ok",
        parameters=run.source,
    )
    started = time.perf_counter()
    if problems := parameter_problems(notebook, run.parameters):
        outcome.status = "failed"
        outcome.error = f"{run.source}: {'; '.join(problems)}"
        return outcome
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".ipynb", dir=folder)
    os.close(fd)
    try:
        parameters = {"interactive": False, **run.parameters}
        if root is not None and "root_dir" in notebook_parameters(notebook):
            parameters.setdefault("root_dir", str(Path(root).resolve()))
        _papermill(notebook, Path(tmp), parameters, outcome, retries=retries, cwd=cwd)
        if Path(tmp).stat().st_size:
            _keep_record(Path(tmp), output, outcome)
    finally:
        Path(tmp).unlink(missing_ok=True)
    _take_result(outcome)
    outcome.seconds = round(time.perf_counter() - started, 2)
    return outcome


def _papermill(
    notebook: Path, output: Path, parameters: dict, outcome: Outcome, *, retries: int, cwd
) -> None:
    """Run papermill into ``output``; a kernel that did not start or died is tried again."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    with tempfile.TemporaryDirectory(prefix="rk-kernel-") as sockets:
        for attempt in range(retries + 1):
            try:
                executed = pm.execute_notebook(
                    str(notebook),
                    str(output),
                    parameters=parameters,
                    progress_bar=False,
                    log_output=False,
                    cwd=str(cwd) if cwd else None,
                    start_timeout=120,
                    kernel_manager_class=_ipc_kernel_manager(sockets),
                )
                outcome.result = _result_of(executed)
                return
            except PapermillExecutionError as exc:
                outcome.status = "failed"
                outcome.failed_cell = exc.exec_count
                outcome.error = mask_secrets(" ".join(f"{exc.ename}: {exc.evalue}".split()))[:500]
                return
            except Exception as exc:  # the kernel did not start or died: worth one retry
                if attempt == retries:
                    outcome.status = "failed"
                    text = " ".join(f"{type(exc).__name__}: {exc}".split())
                    outcome.error = mask_secrets(text)[:500]


def _keep_record(executed: Path, output: Path, outcome: Outcome) -> None:
    """Move the executed notebook into place and export its HTML record beside it."""
    os.chmod(executed, 0o644)  # as the HTML record (mkstemp makes 0600)
    os.replace(executed, output)
    outcome.notebook = str(output)
    html_path = output.with_suffix(".html")
    export_html(output, html_path)
    outcome.html = str(html_path)
    if not outcome.result and outcome.status == "ok":
        import nbformat

        outcome.result = _result_of(nbformat.read(output, as_version=4))


def _take_result(outcome: Outcome) -> None:
    """Fill the summary columns from the result the notebook published."""
    result = outcome.result
    if result.get("mous"):
        outcome.mous = result["mous"]  # the MOUS that ran, whatever the file said
    outcome.findings = result.get("findings")
    outcome.route = result.get("route")
    outcome.restore_area = result.get("restore_area")
    outcome.ppr = result.get("ppr")
    if outcome.status == "ok" and result.get("error"):
        outcome.error = result["error"]


def _execute(notebook, run, records, retries, name, root, password=None) -> Outcome:
    """:func:`execute` where it runs (a thread here, or a Dask worker), noting which."""
    from restorekit.frontends.cluster import worker_address

    with password_in_environment(password):
        outcome = execute(notebook, run, records, retries=retries, name=name, root=root)
    outcome.worker = worker_address() or "local"
    return outcome


def _lost(run: Run, error: BaseException) -> Outcome:
    """The outcome of a run whose task was lost with its workers."""
    mous = run.parameters.get("mous_uid", run.name)
    text = mask_secrets(" ".join(f"{type(error).__name__}: {error}".split()))[:500]
    return Outcome(str(mous), "failed", error=text, parameters=run.source)


def run_batch(
    notebook: str | Path,
    parameter_files: list[str],
    *,
    jobs: int = 2,
    records: str | Path = "records",
    progress: bool | None = None,
    retries: int = 1,
    root: str | Path | None = None,
    cluster: str | None = None,
    clusters: dict | None = None,
) -> pd.DataFrame:
    """Execute ``notebook`` once per parameter set, ``jobs`` at a time; return the summary.

    With ``cluster`` (a Dask scheduler address, or a name in ``clusters``: the site
    settings' ``dask_clusters``) each run is a task on that cluster instead
    (:mod:`restorekit.frontends.cluster`); the records directory must be shared with its
    workers.

    Raises
    ------
    InputError
        For a missing notebook, unreadable parameter files or ``jobs`` below 1 (before
        anything runs).
    """
    count_option(jobs, "jobs")
    notebook = Path(notebook)
    if not notebook.is_file():
        raise InputError(f"notebook {str(notebook)!r} does not exist")
    runs = load_runs(parameter_files)
    password = strip_passwords(runs)
    records = Path(records)
    records.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    calls = [
        (notebook, run, records, retries, name, root)
        for run, name in zip(runs, record_names(runs), strict=True)
    ]
    with tqdm(total=len(runs), unit="run", disable=not show, file=sys.stderr) as bar:
        if cluster is None:
            with (
                password_in_environment(password),
                ThreadPoolExecutor(max_workers=jobs) as pool,
            ):
                futures = [pool.submit(_execute, *call) for call in calls]
                outcomes = []
                for future in as_completed(futures):
                    outcomes.append(future.result())
                    bar.update(1)
        else:
            from restorekit.frontends.cluster import client_for, run_on_cluster

            with client_for(cluster, clusters) as client:
                done = run_on_cluster(
                    client, _execute, [(*c, password) for c in calls], lambda: bar.update(1)
                )
            outcomes = [_lost(call[1], r) if isinstance(r, BaseException) else r
                        for call, r in zip(calls, done, strict=True)]  # fmt: skip
    rows = [asdict(o) for o in outcomes]
    for row in rows:
        row.pop("result")
    integers = {"failed_cell": "Int64", "findings": "Int64"}  # counts, also beside a failed run
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS).astype(integers)
    summary = summary.sort_values(
        ["status", "mous"], ignore_index=True
    )  # failures ("failed" < "ok") first
    atomic_write(records / "summary.csv", summary.to_csv(index=False))
    return summary
