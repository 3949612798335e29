"""Tried as an attacker and a clumsy user would: nothing silently wrong, nothing executes,
nothing half-written, and every failure one clear line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from restorekit.demo import DEMO_MOUS, SEED_MOUS
from restorekit.errors import InputError, NgasError, RestoreAreaError
from restorekit.frontends.batch import execute
from restorekit.frontends.parameters import load_runs
from restorekit.restore.prepare import prepare_restore
from restorekit.settings import SiteSettings
from restorekit.sources.fetch import Product, fetch_products, read_document
from restorekit.sources.ngas import HttpNgas, LocalNgas

from .helpers import MemoryNgas, plan_for

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "restore_mous.ipynb"

# --- no injection -----------------------------------------------------------------------------

HOSTILE = "r $(touch PWNED1) `touch PWNED2` 'q\" x; touch PWNED3"


@pytest.fixture
def stub_casa(tmp_path):
    log = tmp_path / "casa-called.json"
    stub = tmp_path / "bin dir" / "stub casa"
    stub.parent.mkdir()
    stub.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'cwd': os.getcwd(), "
        f"'logdir': os.environ['SCIPIPE_LOGDIR']}}, open({str(log)!r}, 'w'))\n"
    )
    stub.chmod(0o755)
    return stub, log


def test_hostile_values_are_quoted_and_nothing_executes(engine, demo, tmp_path, stub_casa):
    stub, log = stub_casa
    root = tmp_path / HOSTILE
    hostile = f"{__import__('shlex').quote(str(stub))} --flag '$(touch PWNED4)'"
    settings = SiteSettings(
        casa=hostile,
        casa_versions={"5.1.1-5": hostile},  # the seed's CASA: the chosen command
        logdir=str(tmp_path / "log $(touch PWNED5) `touch PWNED6`"),
        runpipeline="run pipeline $(touch PWNED7).py",
    )
    prepared = prepare_restore(
        SEED_MOUS, root, engine=engine, store=LocalNgas(demo.ngas), settings=settings
    )
    layout = prepared.layout
    for route in ("ppr", "script"):
        done = subprocess.run(
            ["bash", str(layout.run_script), route], cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        called = json.loads(log.read_text())
        assert called["cwd"] == str(layout.working)
        assert called["logdir"] == settings.logdir
        expected = ["--flag", "$(touch PWNED4)", "--nogui", "--pipeline", "-c"]
        assert called["argv"][:5] == expected
        if route == "ppr":
            assert called["argv"][5:] == [settings.runpipeline, layout.ppr.name]
    # $CASA from the environment is split into words, never evaluated either.
    plain = tmp_path / "stubcasa"
    plain.symlink_to(stub)
    env = {**os.environ, "CASA": f"{plain} $(touch PWNED8)"}
    subprocess.run(["bash", str(layout.run_script)], cwd=tmp_path, env=env, check=True)
    assert json.loads(log.read_text())["argv"][0] == "$(touch"
    subprocess.run(["bash", "-n", str(layout.rawdata_script)], check=True)
    assert not list(tmp_path.rglob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))


def test_a_newline_in_a_path_is_refused_before_anything_is_written(engine, demo, tmp_path):
    with pytest.raises(InputError, match="newline"):
        prepare_restore(SEED_MOUS, tmp_path / "a\nb", engine=engine, store=LocalNgas(demo.ngas))
    assert not (tmp_path / "a\nb").exists()
    with pytest.raises(InputError, match="newline"):
        prepare_restore(
            SEED_MOUS,
            tmp_path / "ok",
            engine=engine,
            store=LocalNgas(demo.ngas),
            settings=SiteSettings(logdir="/tmp/x\nrm -rf ~"),
        )
    assert not (tmp_path / "ok").exists()


# --- resume, settings, links ------------------------------------------------------------------


class FlakyNgas(LocalNgas):
    """Fails every file once whose name contains ``flaky`` (a failure that survives retries)."""

    def __init__(self, directory, flaky: str):
        super().__init__(directory)
        self.flaky = flaky

    def stream(self, file_id, offset=0):
        if self.flaky and self.flaky in file_id:
            raise NgasError(f"{file_id}: NGAS answered HTTP 403")
        return super().stream(file_id, offset)


def test_a_failed_prepare_resumes_when_rerun(engine, demo, tmp_path):
    store = FlakyNgas(demo.ngas, "flagversions")
    with pytest.raises(NgasError, match="rerun to resume"):
        prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store)
    store.flaky = ""
    again = prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store)
    assert again.resumed and again.check.ok
    assert again.fetch.fetched == ["uid___A002_Xcf92df_X3453.ms.flagversions.tgz"]


def test_a_persistent_size_mismatch_does_not_say_rerun(tmp_path, demo):
    with pytest.raises(NgasError) as info:
        fetch_products(
            LocalNgas(demo.ngas),
            [Product("member.uid___A001_X12a3_X80e.scriptForPI.py", 3)],
            tmp_path,
            sleep=lambda s: None,
        )
    assert "rerun to resume" not in str(info.value)
    assert "report it to the archive" in str(info.value)


def test_settings_are_part_of_what_an_area_was_made_from(engine, demo, tmp_path):
    store = LocalNgas(demo.ngas)
    prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store)
    # The seed's CASA, so that the casa setting is the install chosen.
    casa = tmp_path / "opt" / "casa-release-5.1.1-5.el7" / "bin" / "casa"
    casa.parent.mkdir(parents=True)
    casa.write_text("#!/bin/sh\n")
    casa.chmod(0o755)
    other = SiteSettings(casa=str(casa))
    with pytest.raises(RestoreAreaError, match=r"other site settings \(casa\)"):
        prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store, settings=other)
    redone = prepare_restore(
        SEED_MOUS, tmp_path, engine=engine, store=store, settings=other, overwrite=True
    )
    assert str(casa) in redone.layout.run_script.read_text()
    assert prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store, settings=other).resumed


def test_no_write_goes_through_a_symbolic_link(engine, demo, tmp_path):
    store = LocalNgas(demo.ngas)
    first = prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    target = first.layout.products / "uid___A002_Xcf92df_X3453.ms.calapply.txt"
    target.unlink()
    target.symlink_to(victim)
    with pytest.raises(RestoreAreaError, match="symbolic link"):
        prepare_restore(SEED_MOUS, tmp_path, engine=engine, store=store)
    assert victim.read_text() == "precious"
    part = tmp_path / "p" / "x.tgz.part"
    part.parent.mkdir()
    part.symlink_to(victim)
    with pytest.raises(NgasError, match="symbolic link"):
        fetch_products(MemoryNgas({"x.tgz": b"abc"}), [Product("x.tgz", 3)], part.parent)
    assert victim.read_text() == "precious"


def test_a_full_disk_is_one_line_and_resumable(tmp_path, monkeypatch):
    import errno

    import restorekit.sources.fetch as fetch

    real = fetch._open_part

    def full(part, resume):
        handle = real(part, resume)

        class Full:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                handle.close()

            def write(self, data):
                raise OSError(errno.ENOSPC, "No space left on device")

            def seek(self, n):
                handle.seek(n)

            def tell(self):
                return handle.tell()

        return Full()

    monkeypatch.setattr(fetch, "_open_part", full)
    with pytest.raises(NgasError, match="No space left on device.*rerun to resume"):
        fetch_products(MemoryNgas({"a.tgz": b"abc"}), [Product("a.tgz", 3)], tmp_path)


# --- a hostile NGAS on loopback ---------------------------------------------------------------


class Hostile:
    """An HTTP server whose answer per file id is given by a function."""

    def __init__(self, behaviours):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.split("file_id=", 1)[-1]
                outer.requests.append((name, self.headers.get("Range")))
                behaviours[name](self)

        self.requests = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _send(handler, status, body, headers=()):
    handler.send_response(status)
    for key, value in headers:
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


DATA = bytes(range(256)) * 40


def test_a_206_for_another_range_restarts_the_file(tmp_path):
    def wrong_range(h):
        if h.headers.get("Range"):
            part = DATA[:100]  # claims a range from 0, not from where it was asked
            _send(
                h,
                206,
                part,
                [("Content-Range", f"bytes 0-99/{len(DATA)}"), ("Content-Length", "100")],
            )
        else:
            _send(h, 200, DATA, [("Content-Length", str(len(DATA)))])

    server = Hostile({"a.tgz": wrong_range})
    try:
        (tmp_path / "a.tgz.part").write_bytes(DATA[:1000])
        fetch_products(HttpNgas(server.url), [Product("a.tgz", len(DATA))], tmp_path)
        assert (tmp_path / "a.tgz").read_bytes() == DATA
    finally:
        server.close()


def test_an_html_error_page_is_not_a_product(tmp_path):
    page = b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"
    headers = [("Content-Type", "text/html"), ("Content-Length", str(len(page)))]
    server = Hostile({"a.tgz": lambda h: _send(h, 200, page, headers)})
    try:
        with pytest.raises(NgasError, match="HTML page"):
            fetch_products(
                HttpNgas(server.url), [Product("a.tgz", None)], tmp_path, sleep=lambda s: None
            )
        assert not (tmp_path / "a.tgz").exists()
    finally:
        server.close()


def test_without_a_size_the_content_length_must_be_there(tmp_path):
    def no_length(h):
        h.send_response(200)
        h.end_headers()
        h.wfile.write(DATA)
        h.close_connection = True

    server = Hostile({"a.tgz": no_length})
    try:
        with pytest.raises(NgasError, match="without a Content-Length"):
            fetch_products(HttpNgas(server.url), [Product("a.tgz", None)], tmp_path)
    finally:
        server.close()


def test_a_trickling_ngas_ends_at_the_deadline(tmp_path):
    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):
            try:
                h.wfile.write(b"x")
                h.wfile.flush()
            except OSError:
                return
            time.sleep(0.05)

    server = Hostile({"m.xml": trickle})
    try:
        started = time.monotonic()
        with pytest.raises(NgasError, match="took longer than 1 s"):
            read_document(HttpNgas(server.url, timeout=5), "m.xml", deadline=1.0)
        assert time.monotonic() - started < 10
    finally:
        server.close()


def test_redirects_stay_on_the_ngas_host(tmp_path):
    server = Hostile(
        {
            "away.tgz": lambda h: _send(h, 302, b"", [("Location", "http://127.0.0.2:9/x")]),
            "here.tgz": lambda h: _send(h, 302, b"", [("Location", "/RETRIEVE?file_id=ok.tgz")]),
            "ok.tgz": lambda h: _send(h, 200, b"abc", [("Content-Length", "3")]),
        }
    )
    try:
        with pytest.raises(NgasError, match="redirected to another host"):
            read_document(HttpNgas(server.url), "away.tgz")
        assert read_document(HttpNgas(server.url), "here.tgz") == b"abc"
    finally:
        server.close()


def test_documents_larger_than_their_archive_size_are_refused():
    store = MemoryNgas({"m.xml": b"<piperesults/>" * 100})
    with pytest.raises(NgasError, match="larger than 14 bytes"):
        read_document(store, "m.xml", size=14)
    with pytest.raises(NgasError, match="larger than 100 bytes"):
        read_document(store, "m.xml", cap=100)


# --- bounded by design ------------------------------------------------------------------------


def test_an_absurd_session_number_is_a_finding_not_an_allocation():
    spec = DEMO_MOUS["uid://A001/X1465/X5e0c"]
    shifted = type(spec)(**{**spec.__dict__, "manifest_session_shift": 99999999999999})
    plan = plan_for(shifted)
    assert "SESSION_NUMBER_UNREASONABLE" in plan.codes
    assert not plan.restorable and plan.sessions == {}


def test_yaml_aliases_are_refused(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text('a: &a ["x", "x"]\nb: &b [*a, *a]\nc: [*b, *b]\n')
    with pytest.raises(InputError, match="aliases"):
        load_runs([str(bomb)])
    with pytest.raises(InputError, match="aliases"):
        SiteSettings.load(bomb)


# --- batch runs do what the parameter file says -----------------------------------------------


def test_a_misspelt_parameter_fails_that_run_naming_it(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("mous_id: uid://A001/X1284/X265f\n")
    (run,) = load_runs([str(params)])
    outcome = execute(NOTEBOOK, run, tmp_path / "records")
    assert outcome.status == "failed"
    assert "unknown parameter 'mous_id'" in outcome.error and "mous_uid" in outcome.error


def test_a_parameter_file_that_includes_itself(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.write_text("runs: [loop.yaml]\n")
    with pytest.raises(InputError, match="includes itself"):
        load_runs([str(loop)])


def test_executed_records_have_the_html_records_permissions(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("mous_uid: uid://A001/X1296/X7c1\n")
    (run,) = load_runs([str(params)])
    outcome = execute(NOTEBOOK, run, tmp_path / "records", cwd=NOTEBOOK.parent.parent)
    mode = stat.S_IMODE(os.stat(outcome.notebook).st_mode)
    assert mode == stat.S_IMODE(os.stat(outcome.html).st_mode) == 0o644
    assert outcome.mous == "uid://A001/X1296/X7c1"


# --- no password anywhere, and a user's mistake is never an internal error --------------------


@pytest.fixture
def cli(monkeypatch, capsys):
    from restorekit.frontends.cli import main

    monkeypatch.setattr("restorekit.sources.fetch.time.sleep", lambda s: None)

    def run(*args):
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("oracle+oracledb:/scott:Tiger1secret@dbhost", "Tiger1secret"),
        ("oracle+oracledb://scott:p@ssW0rdX@dbhost:1521/?service_name=S", "ssW0rdX"),
        ("scott:NoScheme99@dbhost:1521/svc", "NoScheme99"),
        ("oracle+oracledb://scott:BadPort77@dbhost:15x1/svc", "BadPort77"),
    ],
)
def test_no_password_in_any_error_whatever_the_url_shape(cli, url, secret):
    code, out, err = cli("plan", SEED_MOUS, "--db", url)
    assert code in (1, 2) and err.count("\n") == 1 and "internal error" not in err
    assert secret not in out + err and secret[2:] not in out + err


def test_no_password_of_the_environment_or_an_ngas_url(cli, demo, monkeypatch):
    monkeypatch.setenv("RESTOREKIT_DB_PASSWORD", "EnvSecret42")
    code, _, err = cli(
        "plan", SEED_MOUS, "--db", demo.url, "--ngas", "http://u:NgasPw31@127.0.0.1:9"
    )
    assert code == 1 and "NgasPw31" not in err and "EnvSecret42" not in err
    from restorekit.sources.archive import mask_secrets

    assert mask_secrets("driver said EnvSecret42 was wrong") == "driver said *** was wrong"


def test_user_mistakes_are_one_line_errors(cli, demo, tmp_path):
    not_archive = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(not_archive).execute("CREATE TABLE t (x)").connection.close()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        ("plan", SEED_MOUS, "--db", f"sqlite:///{not_archive}"),
        ("prepare", SEED_MOUS, "--root", str(a_file), "--db", demo.url, "--ngas", str(demo.ngas)),
        ("plan", SEED_MOUS, "--db", demo.url, "--ngas", "http://host:99x9"),
        ("plan", SEED_MOUS, "--db", demo.url, "--ngas", "ftp://host/x"),
        ("plan", "uid://A001/X1/X2\x1b[31m", "--db", demo.url),
    ]
    for args in cases:
        code, _, err = cli(*args)
        assert code in (1, 2), (args, err)
        assert err.count("\n") == 1 and "internal error" not in err, (args, err)
        assert "\x1b" not in err, err
    code, out, _ = cli("plan", SEED_MOUS, "--db", demo.url, "--ngas", str(demo.ngas), "--debug")
    assert code == 0 and "restorable" in out


def test_control_characters_in_tables_are_shown_escaped():
    import pandas as pd

    from restorekit.frontends.render import format_table

    text = format_table(pd.DataFrame({"title": ["evil\x1b[2J\x07"], "n": [1]}))
    assert "\x1b" not in text and "\x07" not in text and "\\x1b[2J\\x07" in text
