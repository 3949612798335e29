"""The ``restorekit`` command line.

Every failure a user can cause ends in one line on stderr (``restorekit: error: ...``) and an exit
status: 2 bad input, 1 environment (database, network, files), 3 not restorable. ``--debug``
shows the traceback of an unexpected failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import pandas as pd

from restorekit import __version__
from restorekit.errors import RestorekitError

Handler = Callable[[argparse.Namespace], int]


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


def format_table(frame: pd.DataFrame) -> str:
    """A DataFrame as plain text for a terminal."""
    if frame.empty:
        return "(no rows)"
    return _printable(frame.to_string(index=False, na_rep="-"))


def cmd_query(args: argparse.Namespace) -> int:
    from restorekit.sources import archive, queries

    engine = archive.connect(args.db, schema=args.schema)
    mous = queries.require_known_mous(engine, args.mous)
    print(f"MOUS {mous} in {archive.describe(engine)}\n")
    for query in queries.QUERIES.values():
        print(f"== {query.title} [{query.name}]")
        if args.sql:
            print(query.sql(engine.dialect.name if args.sql == "auto" else args.sql), "\n")
        if query.name == "ousstatus_xml":
            xml = queries.ousstatus_xml(engine, mous)
            print(xml if xml is not None else "(NULL: the archive holds no OUSStatus document)")
        else:
            print(format_table(query.run(engine, mous=mous)))
        print()
    return 0


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


def _settings(args: argparse.Namespace):
    from dataclasses import replace

    from restorekit.settings import SiteSettings

    settings = SiteSettings.load(args.settings)
    if args.pipeline_release:
        settings = replace(settings, pipeline_release=args.pipeline_release)
    return settings


def print_plan(plan) -> None:
    call = ", ".join(f"{k}={v!r}" for k, v in plan.restore_parameters.items())
    route = f", route {plan.route or 'not chosen (the scripts could not be read)'}"
    route = route if plan.restorable else ""
    print(
        f"MOUS {plan.mous}: {'restorable' if plan.restorable else 'NOT restorable'}{route}, "
        f"{plan.task}({call})"
    )
    if plan.release is not None:
        print(f"  calls written for pipeline {plan.release.describe()}")
    for problem in plan.degraded:
        print(f"  DEGRADED: {problem}")
    for name, ebs in plan.sessions.items():
        print(f"  {name}: {' | '.join(ebs)}")
    print("\n== EBs")
    print(format_table(plan.eb_table()))
    print("\n== Findings")
    print(format_table(plan.findings_table().drop(columns="eb")))


def cmd_plan(args: argparse.Namespace) -> int:
    from restorekit.inspection import plan_mous

    settings = _settings(args)
    plan = plan_mous(
        args.mous,
        db=args.db,
        ngas=args.ngas,
        pipeline_release=settings.pipeline_release,
        allow_degraded=args.allow_degraded,
        schema=args.schema,
    )
    if args.json:
        print(plan.to_json())
    else:
        print_plan(plan)
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    import json

    from restorekit.restore.prepare import prepare_restore

    prepared = prepare_restore(
        args.mous,
        args.root,
        db=args.db,
        ngas=args.ngas,
        fetch_raw=args.fetch_raw,
        overwrite=args.overwrite,
        jobs=args.jobs,
        settings=_settings(args),
        allow_degraded=args.allow_degraded,
        deadline=args.deadline,
        schema=args.schema,
        progress=True if args.progress else (False if args.json else None),
    )
    if args.json:
        print(json.dumps(prepared.to_dict(), indent=2))
        return 0
    print_plan(prepared.plan)
    print(f"\nrestore area: {prepared.layout.mous_dir}{' (resumed)' if prepared.resumed else ''}")
    print(f"PPR:            {prepared.layout.ppr}")
    print(f"restore script: {prepared.layout.restore_script}")
    print(f"run:            {prepared.layout.run_script} (route {prepared.plan.route})")
    print(f"raw data:       {prepared.layout.rawdata_script}")
    fetch = prepared.fetch
    print(
        f"products:       {len(fetch.names)} in products/ ({len(fetch.fetched)} transferred, "
        f"{len(fetch.present)} already there, {fetch.bytes / 1e6:.1f} MB in "
        f"{fetch.seconds:.1f} s)"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import json

    from restorekit.restore.check import check_area

    report = check_area(args.area, rawdata=not args.no_rawdata)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for problem in report.problems:
            print(problem)
        print(report.summary(), file=sys.stderr)
    return 0 if report.ok else 1


def cmd_ngas_serve(args: argparse.Namespace) -> int:
    import time

    from restorekit.testing.ngas_server import NgasServer

    directory = args.directory
    if directory is None:
        from restorekit.demo import demo_archive

        directory = demo_archive().ngas
    with NgasServer(
        directory, port=args.port, fail_after=args.cut_after, cut_transfers=args.cut_transfers
    ) as server:
        print(f"serving {directory} as NGAS at {server.url} (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def cmd_survey(args: argparse.Namespace) -> int:
    from restorekit.archive_survey import survey_of
    from restorekit.fsutil import atomic_write

    result = survey_of(
        args.db,
        schema=args.schema,
        mous_file=args.mous_file,
        deep=args.deep,
        ngas=args.ngas,
        jobs=args.jobs,
    )
    print(
        f"{len(result.table):,} MOUSes surveyed in {result.seconds:.2f} s "
        f"({result.mous_per_second:,.0f} MOUS/s, {result.round_trips} round trips, "
        f"{'deep: manifests and scripts read' if result.deep else 'archive tables only'})"
    )
    print(format_table(result.summary.drop(columns="meaning")))
    if result.degraded:
        print(
            f"{len(result.degraded):,} MOUSes not classified: a manifest or script could not be "
            f"read (e.g. {result.degraded[0]}); see the 'degraded' column of --out"
        )
    if args.out:
        from pathlib import Path

        atomic_write(Path(args.out), result.table.to_csv(index=False))
        print(f"per-MOUS table: {args.out}")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from restorekit.sources import queries

    names = args.names or list(queries.QUERIES)
    for name in names:
        if name not in queries.QUERIES:
            raise _usage(f"no query named {name!r}; choose from {', '.join(queries.QUERIES)}")
        query = queries.QUERIES[name]
        print(f"-- {query.name}: {query.title}\n{query.sql(args.dialect)};\n")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from restorekit.sources import archive, queries

    engine = archive.connect(args.db, schema=args.schema)
    print(format_table(queries.mous_list(engine)))
    return 0


def cmd_demo_archive(args: argparse.Namespace) -> int:
    import time

    from restorekit.demo import DEMO_SPECS, build_archive
    from restorekit.errors import InputError

    started = time.perf_counter()
    if args.mous is None:
        built = build_archive(args.directory, DEMO_SPECS)
        what = f"the demo archive ({len(DEMO_SPECS)} MOUSes)"
    else:
        from restorekit.demo.synthetic import synthetic_specs

        if args.mous < 1:
            raise InputError(f"--mous {args.mous} must be at least 1")
        built = build_archive(
            args.directory, synthetic_specs(args.mous, args.seed), with_files=args.with_files
        )
        what = f"a synthetic archive of {args.mous:,} MOUSes (seed {args.seed})"
    print(f"built {what} in {time.perf_counter() - started:.1f} s")
    print(f"archive: {built.database}\nNGAS store: {built.ngas}\nuse it with --db {built.url}")
    return 0


def find_notebook(name: str) -> str:
    """A notebook of the project: under ./notebooks, else beside the package (a clone)."""
    from pathlib import Path

    from restorekit.errors import InputError

    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = base / "notebooks" / name
        if candidate.is_file():
            return str(candidate)
    raise InputError(f"notebook {name} not found under ./notebooks; run from a restorekit clone")


def cmd_run(args: argparse.Namespace) -> int:
    import os

    from restorekit.frontends.batch import run_batch

    if args.schema:
        os.environ["RESTOREKIT_DB_SCHEMA"] = args.schema  # the kernels inherit it

    summary = run_batch(
        args.notebook, args.parameters, jobs=args.jobs, records=args.records, progress=None
    )
    shown = summary.drop(columns=["notebook", "html", "parameters"]).copy()
    shown["ppr"] = [os.path.basename(p) if isinstance(p, str) else p for p in shown.ppr]
    shown["error"] = [
        e if not isinstance(e, str) or len(e) < 70 else e[:67] + "..." for e in shown.error
    ]
    shown["failed_cell"] = shown.failed_cell.astype("Int64")
    print(format_table(shown))
    failed = int((summary.status != "ok").sum())
    print(
        f"\n{len(summary) - failed} of {len(summary)} runs ok; records in {args.records}/, "
        f"summary in {args.records}/summary.csv"
    )
    return 1 if failed else 0


def cmd_demo(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from restorekit.demo import SEED_MOUS, demo_archive
    from restorekit.frontends.batch import run_batch
    from restorekit.uids import to_file_form

    demo_archive()  # built once, before the kernel starts
    fd, params = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as handle:
        handle.write(
            f"mous_uid: {SEED_MOUS}\ninteractive: false\noverwrite: true\n"
            f"root_dir: {os.path.abspath(args.root)}\n"
        )
    try:
        summary = run_batch(
            find_notebook("restore_mous.ipynb"),
            [params],
            jobs=1,
            records=args.records,
            progress=False,
        )
    finally:
        os.unlink(params)
    row = summary.iloc[0]
    if row.status != "ok":
        from restorekit.errors import RestorekitError

        raise RestorekitError(f"the demo notebook failed in cell {row.failed_cell}: {row.error}")
    print(
        f"restore of {SEED_MOUS} on the embedded demo archive: route {row.route}, "
        f"{row.findings} findings"
    )
    print(f"  executed notebook : {row.notebook}")
    print(f"  HTML record       : {row.html}")
    print(f"  PPR               : {row.ppr}")
    area = os.path.dirname(os.path.dirname(row.ppr)) if isinstance(row.ppr, str) else None
    print(f"  restore area      : {area}")
    print(f"  (all MOUSes: restorekit list; plan one: restorekit plan {to_file_form(SEED_MOUS)})")
    return 0


def _usage(message: str) -> RestorekitError:
    from restorekit.errors import InputError

    return InputError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restorekit",
        description="Restore the calibrated data of an ALMA member ObsUnitSet (MOUS).",
    )
    parser.add_argument("--version", action="version", version=f"restorekit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
        "--jobs", type=int, default=8, metavar="N", help="concurrent NGAS reads with --deep (8)"
    )
    p.add_argument("--out", metavar="FILE.csv", help="write the per-MOUS table as CSV")
    p.set_defaults(handler=cmd_survey)

    p = sub.add_parser(
        "ngas-serve",
        help="serve a directory as an NGAS server on loopback (tests, demos, benchmarks)",
        description="Answer GET /RETRIEVE?file_id=ID from DIR (default: the demo store) on "
        "127.0.0.1, with byte ranges. Not for production.",
    )
    p.add_argument("directory", metavar="DIR", nargs="?")
    p.add_argument("--port", type=int, default=7777)
    p.add_argument("--cut-after", type=int, metavar="BYTES", help=argparse.SUPPRESS)
    p.add_argument("--cut-transfers", type=int, default=0, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_ngas_serve)

    p = sub.add_parser(
        "sql",
        help="show the SQL of the archive queries without running them",
        description="Print the SQL text of the named queries (default: all).",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="query names (default: all)")
    p.add_argument("--dialect", choices=["oracle", "sqlite"], default="oracle")
    p.set_defaults(handler=cmd_sql)

    p = sub.add_parser(
        "list",
        help="list the MOUSes of the archive",
        description="List every MOUS with science data, with project and EB count.",
    )
    _db_option(p)
    p.set_defaults(handler=cmd_list)

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
        action="store_true",
        help="also write the NGAS files of a synthetic archive (slow for large N)",
    )
    p.set_defaults(handler=cmd_demo_archive)

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
        "--schema", metavar="NAME", help="Oracle owner of the tables for every run (ALMA)"
    )
    p.set_defaults(handler=cmd_run)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    from restorekit.sources.archive import mask_secrets

    parser = build_parser()
    logger = logging.getLogger("restorekit")
    if not logger.handlers:  # notes from the library, one line each on stderr
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("restorekit: note: %(message)s"))
        handler.setLevel(logging.WARNING)  # details go to the run log of the area
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words  # accepted anywhere on the line, not only before the command
    args = parser.parse_args([w for w in words if w != "--debug"])
    args.debug = debug
    try:
        return args.handler(args)
    except RestorekitError as exc:
        print(f"restorekit: error: {_printable(mask_secrets(str(exc)))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("restorekit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so in one line unless asked for more
        if args.debug:
            raise
        message = _printable(mask_secrets(" ".join(str(exc).split())))[:300]
        print(
            f"restorekit: internal error: {type(exc).__name__}: {message} "
            "(rerun with --debug for the traceback, and report it)",
            file=sys.stderr,
        )
        return 1


def _printable(text: str) -> str:
    """Control characters from archive strings shown escaped, never sent raw to a terminal."""
    return "".join(c if c.isprintable() or c == "\n" else repr(c)[1:-1] for c in text)


if __name__ == "__main__":
    sys.exit(main())
