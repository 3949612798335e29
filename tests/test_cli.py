import pytest

from restorekit.demo import SEED_MOUS as SEED
from restorekit.frontends.cli import main

from .helpers import run_cli


def test_query_prints_the_seed_tables(capsys, demo):
    assert main(["query", "uid://A001/X12a3/X80e", "--db", demo.url]) == 0
    out = capsys.readouterr().out
    for value in [
        "2017.1.01347.S",
        "uid://A001/X1221/Xdf8",
        "X659301709",
        "uid://A001/X1221/Xdfc",
        "uid://A001/X12a3/X804",
        "uid://A001/X12a3/X80f",
        "SemiPass",
        "uid://A002/Xcf92df/X3453",
        "session_2.caltables.tgz",
    ]:
        assert value in out


def test_query_can_show_its_sql(capsys, demo):
    assert main(["query", "uid://A001/X12a3/X80e", "--db", demo.url, "--sql"]) == 0
    assert "WHERE asa_science.member_ouss_id = :mous" in capsys.readouterr().out


def test_sql_command_shows_oracle_sql(capsys):
    assert main(["sql", "execution_blocks"]) == 0
    assert ":mous" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["query", "uid://A001/X12a3"], 2, "'uid://A001/X12a3' is not an ALMA UID"),
        (["query", "uid://A001/X1/X1"], 2, "uid://A001/X1/X1 is not in the archive"),
        (
            ["query", "uid://A001/X12a3/X80e", "--db", "sqlite:////nonexistent/a.db"],
            2,
            "no archive database at",
        ),
        (
            [
                "query",
                "uid://A001/X12a3/X80e",
                "--db",
                "oracle+oracledb://u:hunter2@127.0.0.1:1?service_name=X",
            ],
            1,
            "127.0.0.1",
        ),
        (["sql", "nope"], 2, "no query named 'nope'"),
        # a file that is no database: the driver's words, not the SQL that met them
        (["list", "--db", __file__], 1, "failed: file is not a database"),
        (["plan", "uid://A001/X12a3/X80e", "--db", __file__], 1, "failed: file is not a database"),
        (["ngas-serve", "/nonexistent/ngas"], 2, "'/nonexistent/ngas' is not a directory"),
        # counts and durations that cannot be: said before anything is written
        (
            ["prepare", "uid://A001/X12a3/X80e", "--db", "demo", "--root", "/x", "--jobs", "0"],
            2,
            "jobs 0 must be a whole number of at least 1",
        ),
        (
            [
                "prepare",
                "uid://A001/X12a3/X80e",
                "--db",
                "demo",
                "--root",
                "/x",
                "--deadline",
                "nan",
            ],
            2,
            "deadline nan must be a number of seconds above 0",
        ),
        # one thread per request in flight: a typo must not start one per MOUS
        (
            ["survey", "--db", "demo", "--deep", "--jobs", "100000"],
            2,
            "jobs 100000 must be a whole number from 1 to 256",
        ),
        (
            [
                "run",
                "notebooks/restore_mous.ipynb",
                "-f",
                "parameters/demo-batch.yaml",
                "--jobs",
                "0",
            ],
            2,
            "jobs 0 must be a whole number of at least 1",
        ),
    ],
)
def test_bad_input_is_one_line_without_traceback(args, code, needle):
    result = run_cli(*args)
    assert result.returncode == code, result.stderr
    notes = [ln for ln in result.stderr.splitlines() if ln.startswith("restorekit: note: ")]
    lines = [ln for ln in result.stderr.strip().splitlines() if ln not in notes]
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    # Without --db the embedded demo archive is used, and said so; never otherwise.
    uses_demo = args[0] not in ("sql", "ngas-serve", "run") and "--db" not in args
    assert [n for n in notes if "embedded demo archive" in n] == (notes if uses_demo else [])
    assert bool(notes) == uses_demo
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr
    assert "[SQL:" not in result.stderr


def test_every_command_has_help():
    for command in ["query", "sql", "list", "demo-archive", "demo"]:
        result = run_cli(command, "--help")
        assert result.returncode == 0 and "usage: restorekit" in result.stdout


def test_demo_archive_command(tmp_path, capsys):
    assert main(["demo-archive", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "archive.db").is_file()
    assert "sqlite:///" in capsys.readouterr().out


def test_list(capsys, demo):
    assert main(["list", "--db", demo.url]) == 0
    assert "uid://A001/X12a3/X80e" in capsys.readouterr().out


def test_tables_align_fit_the_terminal_and_show_counts_as_integers():
    import pandas as pd

    from restorekit.frontends.render import format_table

    frame = pd.DataFrame(
        {
            "mous": ["uid://A001/X12a3/X80e", "uid://A001/X1296/X7c1"],
            "findings": [5.0, None],
            "note": ["a long message " * 6, "short"],
        }
    )
    text = format_table(frame, width=60)
    lines = text.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[1].startswith("uid://A001/X12a3/X80e  ")  # text left-aligned
    assert "      5  " in lines[1] and "      -  " in lines[2]  # integers, right; missing "-"
    assert "…" in lines[1]
    whole = format_table(frame, width=None)
    assert "a long message " * 5 in whole and "5.0" not in whole


def test_wide_is_accepted_anywhere_and_db_takes_a_plain_path(demo, capsys, monkeypatch):
    from restorekit.frontends import render

    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    assert main(["list", "--db", str(demo.database), "--wide"]) == 0
    assert "uid://A001/X12a3/X80e" in capsys.readouterr().out
    assert render.wide is True
    assert main(["list", "--db", str(demo.database)]) == 0
    assert render.wide is False
    assert main(["list", "--db", "/no/such/archive.db"]) == 2
    assert "/no/such/archive.db" in capsys.readouterr().err


def test_sql_pastes_into_sqlite3_and_names_the_oracle_schema(engine, capsys):
    import re
    import sqlite3

    from restorekit.demo import demo_archive
    from restorekit.sources.sql import MOUS_LIST, PRESENCE, QUERIES

    connection = sqlite3.connect(demo_archive().database)
    for query in [*QUERIES.values(), PRESENCE, MOUS_LIST]:
        text = query.sql("sqlite")
        assert "POSTCOMPILE" not in text and "?" not in text
        params = {"mous": SEED} if ":mous" in text else {}
        pasted = connection.execute(text, params).fetchall()
        ran = query.run(engine, **params)
        assert len(pasted) == len(ran), query.name
        oracle = query.sql("oracle", "ALMA")
        tables = re.findall(r"\b(?:FROM|JOIN)\s+([\w.]+)", oracle)
        assert tables and all(t.startswith("ALMA.") for t in tables if t != "DUAL"), query.name
        assert "__[" not in oracle, query.name
    assert main(["sql", "calibration_count", "--schema", "ALMA_RO"]) == 0
    out = capsys.readouterr().out
    assert "FROM ALMA_RO.asa_product_files" in out and "IN ('calibration')" in out
