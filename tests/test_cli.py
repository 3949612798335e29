import pytest

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
    assert "WHERE asa_science.member_ouss_id = ?" in capsys.readouterr().out


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
    uses_demo = args[0] != "sql" and "--db" not in args
    assert [n for n in notes if "embedded demo archive" in n] == (notes if uses_demo else [])
    assert bool(notes) == uses_demo
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


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
