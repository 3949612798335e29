import sqlite3

import pytest
import sqlalchemy as sa

from restorekit.errors import ArchiveError, ConfigurationError
from restorekit.sources import archive

SECRET = "s3cr3t-Pa55"


def test_explicit_url_then_environment_then_demo(demo, tmp_path, monkeypatch):
    assert archive.connect().url.database == str(demo.database)
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    monkeypatch.setenv("RESTOREKIT_DB", f"sqlite:///{other}")
    assert archive.connect().url.database == str(other)
    assert archive.connect(demo.url).url.database == str(demo.database)
    assert archive.connect("demo").url.database == str(demo.database)


def test_sqlite_archive_is_opened_read_only(engine):
    with pytest.raises(ArchiveError):
        with archive.translate_errors(engine), engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM asa_project"))


def test_missing_sqlite_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.db"
    with pytest.raises(ConfigurationError, match="no archive database at .*nope.db"):
        archive.connect(f"sqlite:///{missing}")
    assert not missing.exists()


@pytest.mark.parametrize("url", ["not a url", "postgresql://u@h/db", "://"])
def test_unusable_urls(url):
    with pytest.raises(ConfigurationError) as info:
        archive.connect(url)
    assert "\n" not in str(info.value)


def test_oracle_password_never_in_url_repr_or_errors(monkeypatch):
    monkeypatch.setenv("RESTOREKIT_DB_PASSWORD", SECRET)
    engine = archive.connect("oracle+oracledb://almaro@127.0.0.1:1?service_name=ALMA")
    assert SECRET not in repr(engine)
    assert SECRET not in str(engine.url)
    assert SECRET not in archive.describe(engine)
    assert engine.url.password is None
    with pytest.raises(ArchiveError) as info:
        archive.check_archive(engine)
    message = str(info.value)
    assert SECRET not in message and "\n" not in message
    assert "127.0.0.1" in message


def test_password_in_url_is_moved_out_of_it():
    engine = archive.connect(f"oracle+oracledb://almaro:{SECRET}@db.example:1521?service_name=A")
    assert SECRET not in repr(engine) and SECRET not in archive.describe(engine)
    assert engine.url.password is None
    assert SECRET not in engine.url.render_as_string(hide_password=False)


def test_oracle_schema_prefix(monkeypatch):
    engine = archive.connect("oracle+oracledb://u@h:1521?service_name=S")
    assert engine.get_execution_options()["schema_translate_map"] == {None: "ALMA"}
    engine = archive.connect("oracle+oracledb://u@h:1521?service_name=S", schema="ALMA_RO")
    assert engine.get_execution_options()["schema_translate_map"] == {None: "ALMA_RO"}
    monkeypatch.setenv("RESTOREKIT_DB_SCHEMA", "OTHER")
    engine = archive.connect("oracle+oracledb://u@h:1521?service_name=S")
    assert engine.get_execution_options()["schema_translate_map"] == {None: "OTHER"}
    with pytest.raises(ConfigurationError, match="ALMA; DROP"):
        archive.connect("oracle+oracledb://u@h:1521?service_name=S", schema="ALMA; DROP")


def test_schema_prefix_reaches_the_sql():
    from restorekit.sources.queries import QUERIES

    engine = archive.connect("oracle+oracledb://u@h:1521?service_name=S")
    stmt = QUERIES["execution_blocks"].statement
    compiled = stmt.compile(
        dialect=engine.dialect,
        schema_translate_map=engine.get_execution_options()["schema_translate_map"],
        render_schema_translate=True,
    )
    assert '"ALMA".asa_science' in str(compiled)


def test_tns_alias_and_config_dir_go_to_the_driver():
    engine = archive.connect("oracle+oracledb://almaro@ALMA_RO?config_dir=/etc/tns")
    assert "config_dir" not in str(engine.url)
    assert engine.url.host == "ALMA_RO"


def test_driver_errors_are_scrubbed_of_the_password(monkeypatch, engine):
    monkeypatch.setenv("RESTOREKIT_DB_PASSWORD", SECRET)
    orig = Exception(f"ORA-01017: invalid username/password {SECRET}\nsecond line")
    with pytest.raises(ArchiveError) as info:
        with archive.translate_errors(engine):
            raise sa.exc.DatabaseError("SELECT 1", {}, orig)
    message = str(info.value)
    assert SECRET not in message and "second line" not in message and "ORA-01017" in message


def test_mask_url_text():
    assert archive.mask_url_text("oracle://u:pw@h/x") == "oracle://u:***@h/x"


def test_archive_missing_a_table_is_named(tmp_path):
    path = tmp_path / "partial.db"
    from restorekit.sources.schema import schema_ddl

    conn = sqlite3.connect(path)
    conn.executescript(schema_ddl().replace("PI_NAME       VARCHAR(256)", "PI VARCHAR(256)"))
    conn.close()
    with pytest.raises(ArchiveError, match="no usable table ASA_PROJECT .*pi_name"):
        archive.check_archive(archive.connect(f"sqlite:///{path}"))


def test_round_trips_are_counted(engine):
    from restorekit.sources import queries

    with archive.RoundTrips(engine) as trips:
        queries.execution_blocks(engine, "uid://A001/X12a3/X80e")
        queries.project(engine, "uid://A001/X12a3/X80e")
    assert trips.count == 2
