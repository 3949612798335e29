"""The commands of the ``restorekit`` command line: each parses nothing, builds the
configuration from its arguments, calls one library function and renders the result."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from restorekit.errors import InputError
from restorekit.frontends.render import catalog_table, format_table, print_plan


def cmd_query(args: argparse.Namespace) -> int:
    from restorekit.sources import archive, queries

    engine = archive.connect(args.db, schema=args.schema)
    mous = queries.require_known_mous(engine, args.mous)
    print(f"MOUS {mous} in {archive.describe(engine)}\n")
    for query in queries.QUERIES.values():
        print(f"== {query.title} [{query.name}]")
        if args.sql:
            dialect = engine.dialect.name if args.sql == "auto" else args.sql
            print(query.sql(dialect, archive.schema_of(engine)), "\n")
        if query.name == "ousstatus_xml":
            xml = queries.ousstatus_xml(engine, mous)
            print(xml if xml is not None else "(NULL: the archive holds no OUSStatus document)")
        else:
            print(format_table(query.run(engine, mous=mous)))
        print()
    return 0


def _settings(args: argparse.Namespace):
    from dataclasses import replace

    from restorekit.settings import SiteSettings

    settings = SiteSettings.load(args.settings)
    if args.pipeline_release:
        settings = replace(settings, pipeline_release=args.pipeline_release)
    return settings


def cmd_plan(args: argparse.Namespace) -> int:
    from restorekit.inspection import plan_mous
    from restorekit.sources.casa_installs import read_catalog

    settings = _settings(args)
    plan = plan_mous(
        args.mous,
        db=args.db,
        ngas=args.ngas,
        pipeline_release=settings.pipeline_release,
        allow_degraded=args.allow_degraded,
        schema=args.schema,
        casa=read_catalog(settings).installs,
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


def cmd_casa(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from restorekit.settings import SiteSettings
    from restorekit.sources.casa_installs import read_catalog

    catalog = read_catalog(SiteSettings.load(args.settings))
    if args.json:
        out = {"installs": [asdict(i) for i in catalog], "problems": catalog.problems}
        print(json.dumps(out, indent=2))
        return 0
    if catalog.installs:
        print(format_table(catalog_table(catalog)))
    else:
        print("no CASA installs: set casa_installs (or casa_versions) in the site settings")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    import shlex

    from restorekit.restore.jobs import JobOptions, submit
    from restorekit.settings import SiteSettings

    options = JobOptions.of(
        SiteSettings.load(args.settings),
        partition=args.partition, time=args.time, memory=args.mem, cores=args.cores,
    )  # fmt: skip
    done = submit(args.areas, args.scheduler, options, array=args.array, dry_run=args.dry_run)
    for path in done.files:
        print(f"# wrote {path}")
    for command in done.commands:
        print(shlex.join(command))
    for area, job in done.jobs.items():
        print(f"submitted {area}: {args.scheduler} job {job}")
    if args.dry_run:
        print("(dry run: nothing submitted)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    import pandas as pd

    from restorekit.restore.jobs import status

    rows = status(args.areas)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(format_table(pd.DataFrame([asdict(r) for r in rows])))
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
    if not Path(directory).is_dir():
        raise InputError(
            f"{str(directory)!r} is not a directory; give the directory of files to serve "
            "(default: the demo archive's)"
        )
    if args.latency < 0:
        raise InputError(f"--latency {args.latency:g} must be 0 or more milliseconds")
    with NgasServer(
        directory,
        port=args.port,
        fail_after=args.cut_after,
        cut_transfers=args.cut_transfers,
        latency=args.latency / 1000,
    ) as server:
        delay = f", {args.latency:g} ms added to each request" if args.latency else ""
        print(f"serving {directory} as NGAS at {server.url}{delay} (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def cmd_survey(args: argparse.Namespace) -> int:
    from restorekit.archive_survey import survey_of
    from restorekit.fsutil import atomic_write, output_file
    from restorekit.settings import SiteSettings
    from restorekit.sources.casa_installs import read_catalog
    from restorekit.survey_table import casa_needs, fixes_answer

    out = output_file(args.out, what="--out") if args.out else None
    catalog = read_catalog(SiteSettings.load(args.settings))
    with survey_bar(args.progress, args.deep) as progress:
        try:
            result = survey_of(
                args.db,
                schema=args.schema,
                mous_file=args.mous_file,
                deep=args.deep,
                ngas=args.ngas,
                jobs=args.jobs,
                casa=catalog.installs,
                cache=args.cache,
                progress=progress,
            )
        except KeyboardInterrupt:
            resume = (
                f"; the documents read so far are kept in {args.cache}: rerun the same command "
                "to go on from there"
                if args.cache
                else ""
            )
            print(f"restorekit: survey interrupted{resume}", file=sys.stderr)
            return 130
    if out is not None:  # first: a reader of the printout may stop reading (| head)
        atomic_write(out, result.table.to_csv(index=False))
    print(
        f"{len(result.table):,} MOUSes surveyed in {result.seconds:.2f} s "
        f"({result.mous_per_second:,.0f} MOUS/s, {result.round_trips} round trips, "
        f"{'deep: manifests and scripts read' if result.deep else 'archive tables only'})"
    )
    if result.deep:
        print(
            f"documents: {result.documents_fetched:,} requests to NGAS "
            f"({result.documents_fetched / result.seconds:,.0f}/s)"
            + (
                f"; cache {args.cache}: {result.documents_cached:,} served, "
                f"{result.documents_stored:,} fetched and kept"
                if args.cache
                else ""
            )
        )
    # What was not classified comes before the shares that leave it out.
    for line in result.unclassified():
        print(line)
    if out is not None:
        print(f"per-MOUS table: {out}")
    print(format_table(result.summary.drop(columns="meaning")))
    for title, table in fixes_answer(result.table).items():
        print(f"\n== Data fixes (the script route), {title}")
        print(format_table(table))
    needs = casa_needs(result.table)
    if not needs.empty:
        print(f"\n== CASA versions needed; what the site's {len(catalog)} installs restore")
        print(format_table(needs))
    return 0


@contextlib.contextmanager
def survey_bar(show: bool | None, deep: bool):
    """A progress callable for :func:`~restorekit.archive_survey.survey` drawing a bar on
    stderr (MOUSes, their rate, NGAS requests and theirs); ``None`` when not shown."""
    from tqdm.auto import tqdm

    if show is None:
        show = sys.stderr.isatty()
    if not show:
        yield None
        return
    with tqdm(unit="MOUS", desc="survey", file=sys.stderr, dynamic_ncols=True) as bar:
        started = time.monotonic()

        def progress(done: int, total: int, fetched: int) -> None:
            bar.total = total or None
            bar.update(done - bar.n)
            if deep:
                rate = fetched / max(time.monotonic() - started, 1e-9)
                bar.set_postfix_str(f"{fetched:,} NGAS requests, {rate:,.0f}/s", refresh=False)

        yield progress


def cmd_sql(args: argparse.Namespace) -> int:
    import os

    from restorekit.sources import queries
    from restorekit.sources.archive import DEFAULT_ORACLE_SCHEMA, ENV_SCHEMA

    schema = args.schema or os.environ.get(ENV_SCHEMA) or DEFAULT_ORACLE_SCHEMA
    names = args.names or list(queries.QUERIES)
    for name in names:
        if name not in queries.QUERIES:
            raise InputError(f"no query named {name!r}; choose from {', '.join(queries.QUERIES)}")
        query = queries.QUERIES[name]
        print(f"-- {query.name}: {query.title}\n{query.sql(args.dialect, schema)};\n")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from restorekit.sources import archive, queries
    from restorekit.survey_table import not_mouses_note

    engine = archive.connect(args.db, schema=args.schema)
    mouses, not_mouses = queries.listed_mouses(engine)
    print(format_table(mouses))
    if message := not_mouses_note(not_mouses, "the list"):
        print(message)
    return 0


def cmd_demo_archive(args: argparse.Namespace) -> int:
    import time

    from restorekit.demo import DEMO_SPECS, build_archive
    from restorekit.errors import InputError

    started = time.perf_counter()
    if args.mous is None:
        if args.rate or args.with_files:
            raise InputError("--rate and --with-files describe a synthetic archive; add --mous N")
        built = build_archive(args.directory, DEMO_SPECS)
        what = f"the demo archive ({len(DEMO_SPECS)} MOUSes)"
    else:
        from restorekit.demo.synthetic import parse_rates, synthetic_specs

        if args.mous < 1:
            raise InputError(f"--mous {args.mous} must be at least 1")
        specs = synthetic_specs(args.mous, args.seed, parse_rates(args.rate))
        built = build_archive(args.directory, specs, files=args.with_files or "none")
        what = f"a synthetic archive of {args.mous:,} MOUSes (seed {args.seed})"
    print(f"built {what} in {time.perf_counter() - started:.1f} s")
    print(f"archive: {built.database}\nNGAS store: {built.ngas}\nuse it with --db {built.url}")
    return 0


def find_notebook(name: str) -> str:
    """A notebook of the project: under ./notebooks, else beside the package (a clone)."""

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

    clusters = None
    if args.cluster:
        from restorekit.settings import SiteSettings

        clusters = SiteSettings.load(args.settings).dask_clusters
    summary = run_batch(
        args.notebook,
        args.parameters,
        jobs=args.jobs,
        records=args.records,
        progress=None,
        root=args.root,
        cluster=args.cluster,
        clusters=clusters,
    )
    shown = summary.drop(columns=["notebook", "html", "parameters", "ppr"])
    print(format_table(shown))
    failed = int((summary.status != "ok").sum())
    records = os.path.abspath(args.records)
    print(
        f"\n{len(summary) - failed} of {len(summary)} runs ok; records in {records}/, "
        f"summary in {records}/summary.csv"
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
