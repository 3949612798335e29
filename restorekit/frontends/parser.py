"""The ``restorekit`` argument parser: global options, then one subcommand per workflow step.

Each subcommand names its handler in :mod:`restorekit.frontends.commands`.
"""

from __future__ import annotations

import argparse

from restorekit import __version__
from restorekit.compiled import build_name
from restorekit.frontends.commands import (
    cmd_casa,
    cmd_check,
    cmd_demo,
    cmd_demo_archive,
    cmd_list,
    cmd_ngas_serve,
    cmd_plan,
    cmd_prepare,
    cmd_query,
    cmd_run,
    cmd_sql,
    cmd_status,
    cmd_submit,
    cmd_survey,
)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        help="archive database: sqlite:///file.db, oracle+oracledb://user@host:port?service_name="
        "SVC, or 'demo' (default: $RESTOREKIT_DB, else the embedded demo archive); the password "
        "comes from $RESTOREKIT_DB_PASSWORD",
    )
    parser.add_argument(
        "--schema", metavar="NAME", help="Oracle owner of the tables (default: ALMA)"
    )


def _ngas_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ngas",
        metavar="DIR_OR_URL",
        help="NGAS store: a directory of files named by NGAS file id, or an http(s):// NGAS "
        "server (default: $RESTOREKIT_NGAS, else the demo archive's store)",
    )


def _settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settings",
        metavar="FILE",
        help="site settings (YAML): processing_site, operator, casa, pipeline_release, ...; "
        "default from RESTOREKIT_* variables",
    )
    parser.add_argument(
        "--pipeline-release",
        metavar="VERSION",
        help="the pipeline release the restore runs with (e.g. 2024.1.0.8); task calls are "
        "written for it (default: the settings', else the release that calibrated the data)",
    )


def _degraded_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-degraded",
        action="store_true",
        help="plan even when a delivered manifest or script cannot be read; the plan is marked "
        "degraded, and without the scripts no route is chosen",
    )


class _Version(argparse.Action):
    """``--version``: the version and the build (pure Python, or which modules are compiled),
    looked up only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="show the version and build, and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"restorekit {__version__}, {build_name()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The parser: global options, then one subcommand per step, in the order of the workflow."""
    parser = argparse.ArgumentParser(
        prog="restorekit",
        description="Restore the calibrated data of an ALMA member ObsUnitSet (MOUS).",
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    parser.add_argument(
        "--wide", action="store_true", help="print tables whole, wider than the terminal"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (
        _list_command,
        _query_command,
        _plan_command,
        _prepare_command,
        _check_command,
        _casa_command,
        _submit_command,
        _status_command,
        _run_command,
        _survey_command,
        _sql_command,
        _demo_command,
        _demo_archive_command,
        _ngas_serve_command,
    ):
        add(sub)
    return parser


def _list_command(sub) -> None:
    p = sub.add_parser(
        "list",
        help="list the MOUSes of the archive",
        description="List every MOUS with science data, with project and EB count.",
    )
    _db_option(p)
    p.set_defaults(handler=cmd_list)


def _query_command(sub) -> None:
    p = sub.add_parser(
        "query",
        help="run every archive query of a restore for one MOUS",
        description="Run every archive query of a restore for one MOUS and print "
        "each result as a table.",
    )
    p.add_argument("mous", metavar="MOUS", help="MOUS uid, e.g. uid://A001/X12a3/X80e")
    _db_option(p)
    p.add_argument(
        "--sql",
        nargs="?",
        const="auto",
        choices=["auto", "oracle", "sqlite"],
        help="also print the SQL of each query (for the connected database, or the dialect named)",
    )
    p.set_defaults(handler=cmd_query)


def _plan_command(sub) -> None:
    p = sub.add_parser(
        "plan",
        help="reconcile the sources of an MOUS and plan its restore",
        description="Reconcile the archive, OUSStatus, manifest, QA0 and restore script of an "
        "MOUS; print the EB table, the findings and the plan (exit 0 whenever a plan is made).",
    )
    p.add_argument("mous", metavar="MOUS", help="MOUS uid, e.g. uid://A001/X12a3/X80e")
    _db_option(p)
    _ngas_option(p)
    _settings_options(p)
    _degraded_option(p)
    p.add_argument("--json", action="store_true", help="print the plan as one JSON object")
    p.set_defaults(handler=cmd_plan)


def _prepare_command(sub) -> None:
    p = sub.add_parser(
        "prepare",
        help="write the restore area: layout, products, PPR, restore script, run helper",
        description="Plan the restore of an MOUS and write its area under --root: "
        "<project>/SOUS_*/GOUS_*/MOUS_*/{rawdata,working,products}, the products from NGAS, "
        "the PPR (checked by reading it back as the pipeline does), the restore script and "
        "working/run_restore.sh. Exit 3, writing nothing, when the MOUS cannot be restored.",
    )
    p.add_argument("mous", metavar="MOUS", help="MOUS uid, e.g. uid://A001/X12a3/X80e")
    p.add_argument("--root", required=True, metavar="DIR", help="root of the restore areas")
    _db_option(p)
    _ngas_option(p)
    p.add_argument(
        "--fetch-raw",
        action="store_true",
        help="run asdmExportLight for the EBs to restore (when it is on PATH)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace the PPR and scripts of an existing area"
    )
    p.add_argument("--jobs", type=int, default=4, metavar="N", help="transfers at once (4)")
    p.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="give up fetching products after this long (what arrived is kept; rerun resumes)",
    )
    _settings_options(p)
    _degraded_option(p)
    p.add_argument(
        "--progress",
        action="store_true",
        help="show the transfer progress bar even when stderr is not a terminal",
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(handler=cmd_prepare)


def _check_command(sub) -> None:
    p = sub.add_parser(
        "check",
        help="preflight a restore area: what the pipeline's restore will read, before CASA",
        description="Check a restore area against what the pipeline's restore reads: the "
        "manifest, every file it names (present, complete, readable), the sessions restored, "
        "Pipeline_Final flags, caltables per MS, the tables each calapply.txt applies, the raw "
        "data and the PPR as the pipeline reads it. One line per problem; exit 1 when any.",
    )
    p.add_argument("area", metavar="AREA", help="the MOUS_uid___... directory prepare wrote")
    p.add_argument(
        "--no-rawdata",
        action="store_true",
        help="accept ASDMs not in rawdata/ yet when export_rawdata.sh writes them",
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(handler=cmd_check)


def _casa_command(sub) -> None:
    p = sub.add_parser(
        "casa",
        help="list the site's CASA installs and the versions restorekit identified",
        description="List the CASA installs of the site settings (casa_versions, "
        "casa_installs, and the casa command), each with its CASA and pipeline versions, how "
        "they were identified (name, asked, casa_versions, release notes) and what the "
        "pipeline's release notes say of it.",
    )
    p.add_argument("--settings", metavar="FILE", help="site settings (YAML)")
    p.add_argument("--json", action="store_true", help="print the catalog as JSON")
    p.set_defaults(handler=cmd_casa)


def _submit_command(sub) -> None:
    p = sub.add_parser(
        "submit",
        help="submit prepared restore areas as batch jobs (Slurm or HTCondor)",
        description="Submit each area's working/run_restore.sh (its route, its chosen CASA) as "
        "a job: Slurm, one sbatch per area or one job array (--array); HTCondor, "
        "working/restore.sub and condor_submit. Job ids go into working/restorekit.json. "
        "Resources come from the site settings (job_partition, job_time, job_memory, "
        "job_cores) or these options.",
    )
    p.add_argument("areas", nargs="+", metavar="AREA", help="MOUS_uid___... directories")
    p.add_argument("--scheduler", required=True, choices=["slurm", "htcondor"])
    p.add_argument("--array", action="store_true", help="Slurm: one job array for all areas")
    p.add_argument("--dry-run", action="store_true", help="write the files, print the commands")
    p.add_argument("--partition", metavar="NAME")
    p.add_argument("--time", metavar="LIMIT", help="e.g. 24:00:00")
    p.add_argument("--mem", metavar="SIZE", help="e.g. 16G")
    p.add_argument("--cores", metavar="N")
    p.add_argument("--settings", metavar="FILE", help="site settings (YAML)")
    p.set_defaults(handler=cmd_submit)


def _status_command(sub) -> None:
    p = sub.add_parser(
        "status",
        help="the job state and the restore state of prepared areas",
        description="For each area: its last job (from working/restorekit.json), the state the "
        "scheduler reports (squeue/sacct, condor_q/condor_history), and whether the restore "
        "finished (every MS of the PPR in working/, no errorexit-*.txt from the pipeline).",
    )
    p.add_argument("areas", nargs="+", metavar="AREA", help="MOUS_uid___... directories")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=cmd_status)


def _run_command(sub) -> None:
    p = sub.add_parser(
        "run",
        help="execute a notebook once per parameter file with papermill; keep the records",
        description="Execute NOTEBOOK once per parameter set (a YAML file of parameters, or a "
        "batch file with a 'runs:' list), JOBS at a time. Each run writes "
        "RECORDS/<MOUS>/<notebook>.ipynb and .html; failing runs are recorded and the batch "
        "goes on. Exit 1 if any run failed.",
    )
    p.add_argument("notebook", metavar="NOTEBOOK")
    p.add_argument(
        "-f",
        "--parameters",
        action="append",
        required=True,
        metavar="PARAMS.yaml",
        help="parameter file (repeatable)",
    )
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="runs at once (2)")
    p.add_argument("--records", default="records", metavar="DIR", help="records directory")
    p.add_argument(
        "--root",
        metavar="DIR",
        help="root of the restore areas for every run that does not set root_dir itself",
    )
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run on Dask: a scheduler address (tcp://host:8786) or a cluster named in the "
        "site settings (dask_clusters); the records directory must be shared with the workers",
    )
    p.add_argument("--settings", metavar="FILE", help="site settings (YAML), for --cluster NAME")
    p.add_argument(
        "--schema", metavar="NAME", help="Oracle owner of the tables for every run (ALMA)"
    )
    p.set_defaults(handler=cmd_run)


def _survey_command(sub) -> None:
    p = sub.add_parser(
        "survey",
        help="how common is each oddity: classify every MOUS with the plan's findings",
        description="Classify every MOUS of the archive (or those in --mous-file) with the "
        "findings of the reconciliation, set-based; print the count and share per finding and "
        "write the per-MOUS table with --out.",
    )
    _db_option(p)
    p.add_argument("--mous-file", metavar="FILE", help="MOUS uids, one per line (# comments)")
    p.add_argument(
        "--deep",
        action="store_true",
        help="also read every manifest and script from NGAS (finds data fixes)",
    )
    _ngas_option(p)
    p.add_argument(
        "--jobs",
        type=int,
        default=32,
        metavar="N",
        help="NGAS requests in flight with --deep (32: a remote NGAS mostly waits)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show a progress bar with the rate on stderr (default: when stderr is a terminal)",
    )
    p.add_argument("--out", metavar="FILE.csv", help="write the per-MOUS table as CSV")
    p.add_argument(
        "--settings",
        metavar="FILE",
        help="site settings (YAML) naming the CASA installs (casa_installs, casa_versions)",
    )
    p.add_argument(
        "--cache",
        metavar="DIR",
        help="with --deep: keep fetched documents here (by file id and size); a rerun fetches "
        "only what is new or changed",
    )
    p.set_defaults(handler=cmd_survey)


def _sql_command(sub) -> None:
    p = sub.add_parser(
        "sql",
        help="show the SQL of the archive queries without running them",
        description="Print the SQL text of the named queries (default: all).",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="query names (default: all)")
    p.add_argument("--dialect", choices=["oracle", "sqlite"], default="oracle")
    p.add_argument(
        "--schema",
        metavar="NAME",
        help="Oracle owner of the tables, written before each (default: $RESTOREKIT_DB_SCHEMA "
        "or ALMA)",
    )
    p.set_defaults(handler=cmd_sql)


def _demo_command(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the restore notebook on the seed's MOUS in the demo archive (make demo)",
        description="Execute notebooks/restore_mous.ipynb on uid://A001/X12a3/X80e against "
        "the embedded demo archive; print where the record, PPR and restore area are.",
    )
    p.add_argument("--records", default="records", metavar="DIR")
    p.add_argument(
        "--root",
        default="restore-area",
        metavar="DIR",
        help="root of the restore area (restore-area)",
    )
    p.set_defaults(handler=cmd_demo)


def _demo_archive_command(sub) -> None:
    p = sub.add_parser(
        "demo-archive",
        help="build the demo archive and NGAS store into DIR (or a synthetic one with --mous)",
        description="Build the embedded demo archive (SQLite, following "
        "alma_schema.sql) and its NGAS store into DIR; safe to repeat. With --mous N, build a "
        "synthetic archive of N MOUSes with realistic shapes and oddities instead.",
    )
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--mous", type=int, metavar="N", help="synthetic archive of N MOUSes")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic archive (0)")
    p.add_argument(
        "--with-files",
        nargs="?",
        const="documents",
        choices=["documents", "all"],
        help="also write a synthetic archive's NGAS files: the manifests and scripts a deep "
        "survey reads (documents, the default), or every product (all: slow for large N)",
    )
    p.add_argument(
        "--rate",
        action="append",
        metavar="NAME=P",
        help="change how often a synthetic shape occurs, e.g. --rate fixes=0.2 (repeatable; "
        "an unknown NAME lists them all)",
    )
    p.set_defaults(handler=cmd_demo_archive)


def _ngas_serve_command(sub) -> None:
    p = sub.add_parser(
        "ngas-serve",
        help="serve a directory as an NGAS server on loopback (tests, demos, benchmarks)",
        description="Answer GET /RETRIEVE?file_id=ID from DIR (default: the demo store) on "
        "127.0.0.1, with byte ranges. Not for production.",
    )
    p.add_argument("directory", metavar="DIR", nargs="?")
    p.add_argument("--port", type=int, default=7777)
    p.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="wait this long before each answer, as a distant NGAS would (benchmarks)",
    )
    p.add_argument("--cut-after", type=int, metavar="BYTES", help=argparse.SUPPRESS)
    p.add_argument("--cut-transfers", type=int, default=0, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_ngas_serve)
