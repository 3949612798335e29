"""Restores as batch jobs: each prepared area's ``run_restore.sh`` submitted to Slurm or
HTCondor, the job ids kept in the area's ``working/restorekit.json``, and the state of each
area read back from the scheduler and from the pipeline's own markers in ``working/``.

The commands and submit descriptions are built by pure functions (tested by content); only
:func:`submit` and :func:`status` run ``sbatch``/``squeue``/``sacct`` or
``condor_submit``/``condor_q``/``condor_history``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from restorekit.errors import InputError, RestoreAreaError, RestorekitError, SchedulerError
from restorekit.fsutil import atomic_write
from restorekit.restore.layout import RestoreLayout
from restorekit.restore.ppr_reading import read_ppr
from restorekit.restore.record import submitted_jobs

Scheduler = Literal["slurm", "htcondor"]
TIMEOUT = 60.0
"""Seconds a scheduler command may take."""


@dataclass(frozen=True)
class JobOptions:
    """Resources of each restore job; ``None`` leaves the scheduler's default."""

    partition: str | None = None
    time: str | None = None
    memory: str | None = None
    cores: int | None = None

    @classmethod
    def of(cls, settings, **given) -> JobOptions:
        """The site settings' ``job_*`` values, overridden by those ``given`` (not None)."""
        cores = given.get("cores") or settings.job_cores
        if cores is not None and not (str(cores).isdigit() and int(cores) >= 1):
            raise InputError(
                f"job cores {cores!r} is not a whole number of at least 1; give e.g. 8"
            )
        return cls(
            partition=given.get("partition") or settings.job_partition,
            time=given.get("time") or settings.job_time,
            memory=given.get("memory") or settings.job_memory,
            cores=int(cores) if cores is not None else None,
        )


@dataclass(frozen=True)
class Area:
    """A prepared restore area, as a job needs it: its layout and its MOUS."""

    layout: RestoreLayout
    mous: str

    @property
    def root(self) -> Path:
        return self.layout.mous_dir

    @property
    def working(self) -> Path:
        return self.layout.working

    @property
    def logs(self) -> Path:
        return self.layout.logs

    @property
    def run_script(self) -> Path:
        return self.layout.run_script

    @property
    def record(self) -> Path:
        return self.layout.record

    @property
    def job_name(self) -> str:
        return f"restore-{self.layout.mous}"


def read_area(path: str | Path) -> Area:
    """The area ``path`` names; refused unless ``prepare`` wrote it.

    Raises
    ------
    InputError
        When ``path`` is not laid out as an area, or holds no ``working/restorekit.json`` and
        ``working/run_restore.sh``.
    """
    refusal = InputError(
        f"{str(path)!r} is not a prepared restore area (no working/run_restore.sh and "
        "restorekit.json); give the MOUS_uid___... directory restorekit prepare wrote"
    )
    try:
        layout = RestoreLayout.of_area(path)
    except InputError:
        raise refusal from None
    if not layout.run_script.is_file() or not layout.record.is_file():
        raise refusal
    try:
        mous = json.loads(layout.record.read_text())["mous"]
    except (OSError, ValueError, KeyError):
        raise InputError(f"{layout.record} cannot be read; prepare the area again") from None
    return Area(layout, mous)


def _resources(options: JobOptions) -> list[str]:
    words = []
    if options.partition:
        words.append(f"--partition={options.partition}")
    if options.time:
        words.append(f"--time={options.time}")
    if options.memory:
        words.append(f"--mem={options.memory}")
    if options.cores:
        words.append(f"--cpus-per-task={options.cores}")
    return words


def sbatch_command(area: Area, options: JobOptions) -> list[str]:
    """One ``sbatch`` for one area: named after the MOUS, logs in the area's ``logs/``."""
    return [
        "sbatch",
        "--parsable",
        f"--job-name={area.job_name}",
        f"--chdir={area.working}",
        f"--output={area.logs}/slurm-%j.out",
        f"--error={area.logs}/slurm-%j.err",
        *_resources(options),
        str(area.run_script),
    ]


def array_script(areas: list[Area]) -> str:
    """The driver of a job array: task N runs the N-th area's ``run_restore.sh`` with its
    output in that area's ``logs/``."""
    listing = "\n".join(f"  {shlex.quote(str(a.root))}" for a in areas)
    return f"""#!/usr/bin/env bash
# A Slurm job array of {len(areas)} restores, written by restorekit: task N restores area N.
set -euo pipefail
areas=(
{listing}
)
area="${{areas[$SLURM_ARRAY_TASK_ID]}}"
log="$area/logs/slurm-${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
mkdir -p -- "$area/logs"
cd -- "$area/working"
exec ./run_restore.sh > "$log.out" 2> "$log.err"
"""


def array_command(script: Path, count: int, options: JobOptions, name: str) -> list[str]:
    return [
        "sbatch",
        "--parsable",
        f"--job-name={name}",
        f"--array=0-{count - 1}",
        f"--output={script.parent}/slurm-%A_%a.out",
        *_resources(options),
        str(script),
    ]


def condor_description(area: Area, options: JobOptions) -> str:
    """An HTCondor submit description for one area (``working/restore.sub``).

    Raises
    ------
    InputError
        For a path HTCondor cannot take literally (a newline, a control character).
    """
    if any(not c.isprintable() for c in str(area.root)):
        raise InputError(
            f"restore area {str(area.root)!r} has a control character in its path, which a "
            "submit description cannot hold; prepare it under another --root"
        )
    lines = [
        "# The restore of one MOUS, written by restorekit; submit with condor_submit.",
        "universe = vanilla",
        f"executable = {area.run_script}",
        f"initialdir = {area.working}",
        f"batch_name = {area.job_name}",
        f"output = {area.logs}/condor-$(Cluster).$(Process).out",
        f"error = {area.logs}/condor-$(Cluster).$(Process).err",
        f"log = {area.logs}/condor.log",
        "getenv = True",
    ]
    if options.cores:
        lines.append(f"request_cpus = {options.cores}")
    if options.memory:
        lines.append(f"request_memory = {options.memory}")
    if options.time:
        lines.append(f"+MaxRuntime = {_seconds(options.time)}")
    return "\n".join([*lines, "queue", ""])


def _seconds(duration: str) -> int:
    """Slurm's ``[days-]hours:minutes:seconds`` (or minutes) as seconds."""
    days, _, clock = duration.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    if len(parts) == 1:
        parts = [0, parts[0], 0]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, minutes, seconds = parts
    return ((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds


@dataclass
class Submission:
    """What :func:`submit` did (or, dry, would do) for each area."""

    scheduler: Scheduler
    commands: list[list[str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    jobs: dict[str, str] = field(default_factory=dict)
    """Area -> job id (``123`` or ``123_4`` for an array task)."""


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    except FileNotFoundError:
        raise SchedulerError(
            f"{command[0]} is not on PATH: run restorekit submit where the scheduler's "
            "commands are, or use --dry-run to write the files and print the commands"
        ) from None
    except subprocess.TimeoutExpired:
        raise SchedulerError(f"{command[0]} did not answer in {TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise SchedulerError(f"{shlex.join(command[:2])} failed: {message[-1] if message else ''}")
    return done.stdout.strip()


def _remember(area: Area, scheduler: Scheduler, job: str) -> None:
    """Add the job to the area's ``working/restorekit.json`` (read, add, write atomically)."""
    record = json.loads(area.record.read_text())
    record.setdefault("jobs", []).append(
        {
            "scheduler": scheduler,
            "id": job,
            "submitted": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    atomic_write(area.record, json.dumps(record, indent=2) + "\n")


def submit(
    paths: list[str | Path],
    scheduler: Scheduler,
    options: JobOptions = JobOptions(),
    *,
    array: bool = False,
    dry_run: bool = False,
) -> Submission:
    """Submit each area's ``run_restore.sh`` as a job (Slurm: one ``sbatch`` each, or one job
    array for all with ``array``; HTCondor: ``working/restore.sub`` and ``condor_submit``).

    With ``dry_run`` the files are written and the commands returned, nothing submitted.
    """
    if array and scheduler != "slurm":
        raise InputError(f"--array is for Slurm; {scheduler} submits each area's own job")
    areas = [read_area(p) for p in paths]
    _one_job_per_area(areas)
    result = Submission(scheduler)
    for area in areas:
        area.logs.mkdir(exist_ok=True)
    if scheduler == "htcondor":
        for area in areas:
            description = area.working / "restore.sub"
            atomic_write(description, condor_description(area, options))
            result.files.append(description)
            command = ["condor_submit", "-terse", str(description)]
            result.commands.append(command)
            if not dry_run:
                cluster = _run(command).split(".", 1)[0].strip()
                result.jobs[str(area.root)] = cluster
                _remember(area, scheduler, cluster)
        return result
    if array and len(areas) > 1:
        return _submit_array(areas, options, dry_run, result)
    for area in areas:
        command = sbatch_command(area, options)
        result.commands.append(command)
        if not dry_run:
            job = _run(command).split(";", 1)[0]
            result.jobs[str(area.root)] = job
            _remember(area, scheduler, job)
    return result


ACTIVE_STATES = frozenset(
    {
        # Slurm (squeue %T, sacct State)
        "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED",
        "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
        # HTCondor (JobStatus, named)
        "IDLE", "HELD", "TRANSFERRING_OUTPUT",
    }
)  # fmt: skip
"""Job states in which the job may still run in its area."""


def still_held(jobs: list[dict]) -> tuple[dict, str] | None:
    """The last of an area's ``jobs`` and its state, when the scheduler still holds it."""
    if not jobs:
        return None
    state = job_state(jobs[-1])
    return (jobs[-1], state) if state in ACTIVE_STATES else None


def job_state(job: dict) -> str | None:
    """The state of a recorded job as its scheduler reports it; ``None`` when it cannot say."""
    return (_slurm_state if job.get("scheduler") == "slurm" else _condor_state)(job["id"])


def held_message(where: Path, job: dict, state: str, then: str) -> str:
    cancel = "scancel" if job.get("scheduler") == "slurm" else "condor_rm"
    return (
        f"{where} has {job.get('scheduler')} job {job['id']} still {state}; wait for it to "
        f"end, or cancel it ({cancel} {job['id']}), then {then}"
    )


def _one_job_per_area(areas: list[Area]) -> None:
    """Refuse an area named twice, or one whose last job the scheduler still holds: two
    restores in one working/ would overwrite each other's measurement sets."""
    seen: dict[Path, Path] = {}
    for area in areas:
        key = area.root.resolve()
        if key in seen:
            raise RestoreAreaError(
                f"{area.root} is given twice (also as {seen[key]}); one job restores an area",
                path=str(area.root),
            )
        seen[key] = area.root
    for area in areas:
        if held := still_held(submitted_jobs(area.layout)):
            raise RestoreAreaError(
                held_message(area.root, *held, "submit again"), path=str(area.root)
            )


def _submit_array(
    areas: list[Area], options: JobOptions, dry_run: bool, result: Submission
) -> Submission:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = areas[0].root.parent / f"restorekit-array-{stamp}"
    folder.mkdir(exist_ok=True)
    script = folder / "array.sh"
    atomic_write(script, array_script(areas), executable=True)
    result.files.append(script)
    command = array_command(script, len(areas), options, f"restore-array-{len(areas)}")
    result.commands.append(command)
    if not dry_run:
        job = _run(command).split(";", 1)[0]
        for index, area in enumerate(areas):
            result.jobs[str(area.root)] = f"{job}_{index}"
            _remember(area, "slurm", f"{job}_{index}")
    return result


@dataclass(frozen=True)
class AreaStatus:
    """One area: its last job, the scheduler's word on it, and what ``working/`` shows."""

    area: str
    mous: str
    job: str | None
    scheduler_state: str | None
    restore: str
    """``restored`` (every MS of the PPR in working/, no error marker), ``failed`` (an
    ``errorexit-*.txt``), ``not restored: the job ended (STATE)`` when the scheduler says the
    last job is over but neither shows, or ``not finished``."""


def restore_state(area: Area) -> str:
    """What ``working/`` says: the pipeline writes ``errorexit-*.txt`` when it fails, and a
    restore that succeeded leaves each of the PPR's MSes there."""
    if list(area.working.glob("errorexit-*.txt")):
        return "failed"
    pprs = sorted(area.working.glob("PPR_*.xml"))
    try:
        names = [name for name, _ in read_ppr(pprs[0].read_bytes()).asdms] if pprs else []
    except (OSError, RestorekitError):
        names = []
    if names and all((area.working / f"{n}.ms").is_dir() for n in names):
        return "restored"
    return "not finished"


def _slurm_state(job: str) -> str | None:
    for command in (
        ["squeue", "--noheader", "--states=all", "--format=%T", f"--jobs={job}"],
        ["sacct", "--noheader", "--parsable2", "--format=State", f"--jobs={job}"],
    ):
        try:
            found = _run(command).splitlines()
        except SchedulerError:
            continue
        if found:
            return found[0].split()[0]
    return None


def _condor_state(cluster: str) -> str | None:
    names = {"1": "IDLE", "2": "RUNNING", "3": "REMOVED", "4": "COMPLETED", "5": "HELD",
             "6": "TRANSFERRING_OUTPUT", "7": "SUSPENDED"}  # fmt: skip
    for command in (
        ["condor_q", cluster, "-af", "JobStatus"],
        ["condor_history", cluster, "-af", "JobStatus", "-limit", "1"],
    ):
        try:
            found = _run(command).split()
        except SchedulerError:
            continue
        if found:
            return names.get(found[0], found[0])
    return None


def status(paths: list[str | Path]) -> list[AreaStatus]:
    """Each area's last job, its state as the scheduler reports it, and the restore's."""
    rows = []
    for path in paths:
        area = read_area(path)
        jobs = submitted_jobs(area.layout)
        last = jobs[-1] if jobs else None
        state = job_state(last) if last is not None else None
        restore = restore_state(area)
        if restore == "not finished" and state is not None and state not in ACTIVE_STATES:
            restore = f"not restored: the job ended ({state})"
        rows.append(
            AreaStatus(
                str(area.root),
                area.mous,
                f"{last['scheduler']} {last['id']}" if last else None,
                state,
                restore,
            )
        )
    return rows
